// agent/dns/resolver.h over a catalog in memory: every name form and record
// type, health filtering, truncation, EDNS sizes, TTLs.
#include "agent/dns/resolver.h"

#include <gtest/gtest.h>

#include <set>

#include "test/agent/dns/dns_test_util.h"

namespace cairn::agent::dns {
namespace {

using test::FakeCatalog;
using test::query_bytes;

class ResolverTest : public ::testing::Test {
 protected:
  ResolverTest() {
    config = defaults(false);
    config.datacenter = "dc1";
    config.node_name = "agent1";
    catalog = std::make_shared<FakeCatalog>();
  }

  Reply raw(const std::vector<uint8_t>& bytes, Transport t = Transport::udp) {
    Resolver r(config, catalog, clock, 7);
    Reply out;
    bool called = false;
    r.resolve(bytes, t, [&](Reply rep) {
      out = std::move(rep);
      called = true;
    });
    EXPECT_TRUE(called);
    return out;
  }
  Message ask(const std::string& name, uint16_t qtype, std::optional<uint16_t> edns = std::nullopt,
              Transport t = Transport::udp) {
    Reply rep = raw(query_bytes(name, qtype, edns), t);
    EXPECT_EQ(rep.action, Reply::Action::send);
    auto p = parse(rep.bytes);
    EXPECT_TRUE(std::holds_alternative<Message>(p));
    if (!std::holds_alternative<Message>(p)) return {};
    return std::get<Message>(p);
  }
  static std::set<std::string> a_records(const Message& m) {
    std::set<std::string> out;
    for (const auto& r : m.answers)
      if (auto* a = std::get_if<std::array<uint8_t, 4>>(&r.data))
        out.insert(std::to_string((*a)[0]) + "." + std::to_string((*a)[1]) + "." + std::to_string((*a)[2]) + "." +
                   std::to_string((*a)[3]));
    return out;
  }

  Config config;
  ManualClock clock;
  std::shared_ptr<FakeCatalog> catalog;
};

TEST_F(ResolverTest, ServiceARecordsUseBothDomainsAndIgnoreCase) {
  catalog->add("web", "n1", "10.0.0.1");
  catalog->add("web", "n2", "10.0.0.2");
  for (const char* name : {"web.service.cairn", "WEB.Service.Consul", "web.service.dc1.cairn"}) {
    auto m = ask(name, type::A);
    EXPECT_EQ(m.header.rcode, Rcode::noerror) << name;
    EXPECT_TRUE(m.header.aa);
    EXPECT_EQ(a_records(m), (std::set<std::string>{"10.0.0.1", "10.0.0.2"})) << name;
    EXPECT_EQ(m.answers[0].name, name);
  }
}

TEST_F(ResolverTest, CriticalInstancesAreLeftOutAndWarningOnlyWithOnlyPassing) {
  catalog->add("web", "n1", "10.0.0.1");
  catalog->add("web", "n2", "10.0.0.2", {"passing", "warning"});
  catalog->add("web", "n3", "10.0.0.3", {"passing", "critical"});
  EXPECT_EQ(a_records(ask("web.service.cairn", type::A)), (std::set<std::string>{"10.0.0.1", "10.0.0.2"}));
  config.dns_config.only_passing = true;
  EXPECT_EQ(a_records(ask("web.service.cairn", type::A)), (std::set<std::string>{"10.0.0.1"}));
}

TEST_F(ResolverTest, NoHealthyInstanceIsNxdomainWithSoa) {
  catalog->add("web", "n1", "10.0.0.1", {"critical"});
  auto m = ask("web.service.cairn", type::A);
  EXPECT_EQ(m.header.rcode, Rcode::nxdomain);
  ASSERT_EQ(m.authority.size(), 1u);
  EXPECT_EQ(m.authority[0].rtype, type::SOA);
  EXPECT_EQ(std::get<Soa>(m.authority[0].data).mname, "ns.cairn");
  EXPECT_EQ(std::get<Soa>(m.authority[0].data).refresh, 3600u);
  auto unknown = ask("nope.service.consul", type::A);
  EXPECT_EQ(unknown.header.rcode, Rcode::nxdomain);
  EXPECT_EQ(std::get<Soa>(unknown.authority[0].data).rname, "hostmaster.consul");
}

TEST_F(ResolverTest, TagFilterAndRfc2782Names) {
  catalog->add("db", "n1", "10.0.0.1").service.tags = {"primary"};
  catalog->add("db", "n2", "10.0.0.2").service.tags = {"replica"};
  EXPECT_EQ(a_records(ask("primary.db.service.cairn", type::A)), (std::set<std::string>{"10.0.0.1"}));
  auto srv = ask("_db._replica.service.cairn", type::SRV);
  ASSERT_EQ(srv.answers.size(), 1u);
  EXPECT_EQ(std::get<Srv>(srv.answers[0].data).target, "n2.node.dc1.cairn");
  // _tcp means no tag filter; the .service label is optional.
  EXPECT_EQ(ask("_db._tcp.service.cairn", type::SRV).answers.size(), 2u);
  EXPECT_EQ(ask("_db._tcp.cairn", type::SRV).answers.size(), 2u);
  auto* hs = std::get_if<api::rpc::HealthService>(&catalog->asked.back());
  ASSERT_NE(hs, nullptr);
  EXPECT_TRUE(hs->tags.empty());
}

TEST_F(ResolverTest, SrvAnswersCarryTargetsAddressesAndNodeMeta) {
  auto& e = catalog->add("web", "n1", "10.0.0.1", {"passing"}, 9090);
  e.node.meta = {{"rack", "r1"}, {"rfc1035-raw", "plain"}};
  e.service.weights = {5, 2};
  catalog->add("web", "n2", "10.0.0.2", {"warning"}, 9091).service.weights = {5, 2};
  auto m = ask("web.service.cairn", type::SRV);
  ASSERT_EQ(m.answers.size(), 2u);
  for (const auto& a : m.answers) {
    const auto& s = std::get<Srv>(a.data);
    EXPECT_EQ(s.priority, 1);
    if (s.target == "n1.node.dc1.cairn") {
      EXPECT_EQ(s.port, 9090);
      EXPECT_EQ(s.weight, 5);
    } else {
      EXPECT_EQ(s.target, "n2.node.dc1.cairn");
      EXPECT_EQ(s.weight, 2);  // warning: Weights.Warning
    }
  }
  std::set<std::string> txt;
  int a = 0;
  for (const auto& r : m.additional) {
    if (r.rtype == type::A) ++a;
    if (r.rtype == type::TXT) txt.insert(std::get<Txt>(r.data)[0]);
  }
  EXPECT_EQ(a, 2);
  EXPECT_EQ(txt, (std::set<std::string>{"rack=r1", "plain"}));
}

TEST_F(ResolverTest, ServiceWithItsOwnAddressUsesAddrTarget) {
  catalog->add("web", "n1", "10.0.0.1").service.address = "192.168.1.9";
  auto m = ask("web.service.consul", type::SRV);
  ASSERT_EQ(m.answers.size(), 1u);
  EXPECT_EQ(std::get<Srv>(m.answers[0].data).target, "c0a80109.addr.dc1.consul");
  ASSERT_EQ(m.additional.size(), 1u);
  EXPECT_EQ(a_records(ask("c0a80109.addr.dc1.consul", type::A)), (std::set<std::string>{"192.168.1.9"}));
  EXPECT_EQ(a_records(ask("web.service.consul", type::A)), (std::set<std::string>{"192.168.1.9"}));
}

TEST_F(ResolverTest, AaaaAndAddrForIpv6) {
  catalog->add("web", "n1", "2001:db8::1");
  auto m = ask("web.service.cairn", type::AAAA);
  ASSERT_EQ(m.answers.size(), 1u);
  EXPECT_EQ(m.answers[0].rtype, type::AAAA);
  auto nodata = ask("web.service.cairn", type::A);
  EXPECT_EQ(nodata.header.rcode, Rcode::noerror);
  EXPECT_TRUE(nodata.answers.empty());
  ASSERT_EQ(nodata.authority.size(), 1u);
  auto addr = ask("20010db8000000000000000000000001.addr.cairn", type::AAAA);
  ASSERT_EQ(addr.answers.size(), 1u);
  EXPECT_EQ((std::get<std::array<uint8_t, 16>>(addr.answers[0].data)[15]), 1);
  EXPECT_EQ(ask("zz.addr.cairn", type::A).header.rcode, Rcode::nxdomain);
}

TEST_F(ResolverTest, HostnameAddressesAnswerCname) {
  catalog->add("ext", "n1", "10.0.0.1").service.address = "db.example.com";
  auto m = ask("ext.service.cairn", type::A);
  ASSERT_EQ(m.answers.size(), 1u);
  EXPECT_EQ(m.answers[0].rtype, type::CNAME);
  EXPECT_EQ(std::get<NameData>(m.answers[0].data).name, "db.example.com");
  EXPECT_EQ(std::get<Srv>(ask("ext.service.cairn", type::SRV).answers[0].data).target, "db.example.com");
}

TEST_F(ResolverTest, NodeLookupsAnswerAddressAndMeta) {
  catalog->add("web", "host.one", "10.0.0.7").node.meta = {{"env", "prod"}};
  auto a = ask("host.one.node.cairn", type::A);
  EXPECT_EQ(a_records(a), (std::set<std::string>{"10.0.0.7"}));
  auto* q = std::get_if<api::rpc::CatalogNodeServices>(&catalog->asked.back());
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q->node, "host.one");
  auto txt = ask("host.one.node.dc1.consul", type::TXT);
  ASSERT_EQ(txt.answers.size(), 1u);
  EXPECT_EQ(std::get<Txt>(txt.answers[0].data)[0], "env=prod");
  EXPECT_EQ(ask("host.one.node.cairn", type::ANY).answers.size(), 2u);
  auto nodata = ask("host.one.node.cairn", type::AAAA);
  EXPECT_EQ(nodata.header.rcode, Rcode::noerror);
  EXPECT_EQ(nodata.authority.size(), 1u);
  EXPECT_EQ(ask("ghost.node.cairn", type::A).header.rcode, Rcode::nxdomain);
}

TEST_F(ResolverTest, ApexAnswersSoaAndNs) {
  catalog->add("consul", "server1", "10.0.0.9");
  auto soa = ask("cairn", type::SOA);
  ASSERT_EQ(soa.answers.size(), 1u);
  EXPECT_EQ(soa.answers[0].rtype, type::SOA);
  EXPECT_EQ(std::get<Soa>(soa.answers[0].data).serial, 1'700'000'000u);
  auto ns = ask("consul", type::NS);
  ASSERT_EQ(ns.answers.size(), 1u);
  EXPECT_EQ(std::get<NameData>(ns.answers[0].data).name, "server1.node.dc1.consul");
  ASSERT_EQ(ns.additional.size(), 1u);
  EXPECT_EQ(ask("cairn", type::A).header.rcode, Rcode::noerror);
}

TEST_F(ResolverTest, PtrFindsNodesByAddressInThePrimaryDomain) {
  catalog->add("web", "n1", "10.0.0.1");
  auto m = ask("1.0.0.10.in-addr.arpa", type::PTR);
  ASSERT_EQ(m.answers.size(), 1u);
  EXPECT_EQ(std::get<NameData>(m.answers[0].data).name, "n1.node.dc1.cairn");
  EXPECT_EQ(ask("2.0.0.10.in-addr.arpa", type::PTR).header.rcode, Rcode::nxdomain);
}

TEST_F(ResolverTest, OtherDatacentersAndUnknownNamesAreNxdomain) {
  catalog->add("web", "n1", "10.0.0.1");
  EXPECT_EQ(ask("web.service.dc2.cairn", type::A).header.rcode, Rcode::nxdomain);
  EXPECT_EQ(ask("web.connect.cairn", type::A).header.rcode, Rcode::nxdomain);  // no proxy in front of web
  EXPECT_EQ(ask("web.ingress.cairn", type::A).header.rcode, Rcode::nxdomain);
  EXPECT_EQ(ask("what.cairn", type::A).header.rcode, Rcode::nxdomain);
}

TEST_F(ResolverTest, QueryNamesAnswerThePreparedQueryExecutionInItsOrderWithItsTtl) {
  // The execution (done by the servers) chose and ordered these instances.
  api::PreparedQueryExecuteResult result;
  result.service = "web";
  result.dns.ttl = "42s";
  result.nodes.push_back(catalog->add("web", "n2", "10.0.0.2", {"passing"}, 8082));
  result.nodes.push_back(catalog->add("web", "n1", "10.0.0.1", {"warning"}, 8081));
  catalog->prepared["geo-web"] = result;
  auto a = ask("geo-web.query.cairn", type::A);
  EXPECT_EQ(a.header.rcode, Rcode::noerror);
  ASSERT_EQ(a.answers.size(), 2u);
  EXPECT_EQ(a.answers[0].ttl, 42u);
  auto* pq = std::get_if<api::rpc::PreparedQueryExecute>(&catalog->asked.back());
  ASSERT_NE(pq, nullptr);
  EXPECT_EQ(pq->id_or_name, "geo-web");
  auto srv = ask("_geo-web._tcp.query.dc1.consul", type::SRV);
  ASSERT_EQ(srv.answers.size(), 2u);
  EXPECT_EQ(std::get<Srv>(srv.answers[0].data).port, 8082);  // not reshuffled
  EXPECT_EQ(std::get<Srv>(srv.answers[1].data).port, 8081);
  // No DNS.TTL: the service's TTL (dns_config.service_ttl, 0 here).
  catalog->prepared["geo-web"].dns.ttl.clear();
  EXPECT_EQ(ask("geo-web.query.cairn", type::A).answers.at(0).ttl, 0u);
  // An execution with no instance is NXDOMAIN too.
  catalog->prepared["empty"] = api::PreparedQueryExecuteResult{};
  EXPECT_EQ(ask("empty.query.cairn", type::A).header.rcode, Rcode::nxdomain);
}

TEST_F(ResolverTest, ConnectNamesAnswerTheProxiesInFrontOfAService) {
  catalog->add("web", "n1", "10.0.0.1");
  auto& proxy = catalog->add("web-sidecar-proxy", "n2", "10.0.0.2");
  proxy.service.kind = "connect-proxy";
  proxy.service.port = 21000;
  proxy.service.proxy_json = R"({"DestinationServiceName":"web"})";
  auto& critical = catalog->add("web-sidecar-proxy", "n3", "10.0.0.3", {"critical"});
  critical.service.kind = "connect-proxy";
  critical.service.proxy_json = R"({"DestinationServiceName":"web"})";
  EXPECT_EQ(a_records(ask("web.connect.cairn", type::A)), (std::set<std::string>{"10.0.0.2"}));
  auto* hs = std::get_if<api::rpc::HealthService>(&catalog->asked.back());
  ASSERT_NE(hs, nullptr);
  EXPECT_TRUE(hs->connect);
  EXPECT_EQ(hs->service, "web");
  auto srv = ask("web.connect.consul", type::SRV);
  ASSERT_EQ(srv.answers.size(), 1u);
  EXPECT_EQ(std::get<Srv>(srv.answers[0].data).port, 21000);
  EXPECT_EQ(std::get<Srv>(srv.answers[0].data).target, "n2.node.dc1.consul");
  EXPECT_EQ(ask("db.connect.cairn", type::A).header.rcode, Rcode::nxdomain);
}

TEST_F(ResolverTest, OutsideNamesAreRefusedOrForwarded) {
  auto m = ask("example.com", type::A);
  EXPECT_EQ(m.header.rcode, Rcode::refused);
  EXPECT_FALSE(m.header.ra);
  config.recursors = {"127.0.0.1:5353"};
  EXPECT_EQ(raw(query_bytes("example.com", type::A)).action, Reply::Action::forward);
  EXPECT_EQ(raw(query_bytes("9.9.9.9.in-addr.arpa", type::PTR)).action, Reply::Action::forward);
  Resolver r(config, catalog, clock, 1);
  auto fail = parse(r.recursion_failed(query_bytes("example.com", type::A)));
  ASSERT_TRUE(std::holds_alternative<Message>(fail));
  EXPECT_EQ(std::get<Message>(fail).header.rcode, Rcode::servfail);
  EXPECT_TRUE(std::get<Message>(fail).header.ra);
}

TEST_F(ResolverTest, CatalogErrorsAreServfail) {
  catalog->fail = true;
  EXPECT_EQ(ask("web.service.cairn", type::A).header.rcode, Rcode::servfail);
}

TEST_F(ResolverTest, UdpWithoutEdnsKeepsThreeAnswers) {
  for (int i = 0; i < 10; ++i) catalog->add("web", "n" + std::to_string(i), "10.0.1." + std::to_string(i));
  auto m = ask("web.service.cairn", type::A);
  EXPECT_EQ(m.answers.size(), 3u);
  EXPECT_FALSE(m.header.tc);
  config.dns_config.enable_truncate = true;
  EXPECT_TRUE(ask("web.service.cairn", type::A).header.tc);
  // EDNS0 lifts the count cap; TCP too.
  auto edns = ask("web.service.cairn", type::A, 4096);
  EXPECT_EQ(edns.answers.size(), 10u);
  ASSERT_TRUE(edns.edns);
  EXPECT_FALSE(edns.header.tc);
  EXPECT_EQ(ask("web.service.cairn", type::A, std::nullopt, Transport::tcp).answers.size(), 10u);
}

TEST_F(ResolverTest, UdpAnswersAreTrimmedToTheAdvertisedSize) {
  for (int i = 0; i < 100; ++i) catalog->add("web", "node-with-a-long-name-" + std::to_string(i), "10.0.2." + std::to_string(i));
  config.dns_config.enable_truncate = true;
  Reply rep = raw(query_bytes("web.service.cairn", type::SRV, 1232));
  EXPECT_LE(rep.bytes.size(), 1232u);
  auto m = std::get<Message>(parse(rep.bytes));
  EXPECT_TRUE(m.header.tc);
  EXPECT_GT(m.answers.size(), 3u);
  EXPECT_LT(m.answers.size(), 100u);
  // Every kept SRV still has its target's address.
  size_t a = 0;
  for (const auto& r : m.additional) a += r.rtype == type::A;
  EXPECT_EQ(a, m.answers.size());
  Reply tcp = raw(query_bytes("web.service.cairn", type::SRV), Transport::tcp);
  EXPECT_EQ(std::get<Message>(parse(tcp.bytes)).answers.size(), 100u);
}

TEST_F(ResolverTest, ARecordLimitCapsAddressAnswersOnly) {
  for (int i = 0; i < 5; ++i) catalog->add("web", "n" + std::to_string(i), "10.0.3." + std::to_string(i));
  config.dns_config.a_record_limit = 2;
  EXPECT_EQ(ask("web.service.cairn", type::A, std::nullopt, Transport::tcp).answers.size(), 2u);
  EXPECT_EQ(ask("web.service.cairn", type::SRV, std::nullopt, Transport::tcp).answers.size(), 5u);
}

TEST_F(ResolverTest, AnswersAreShuffled) {
  for (int i = 0; i < 8; ++i) catalog->add("web", "n" + std::to_string(i), "10.0.4." + std::to_string(i));
  std::set<std::string> firsts;
  Resolver r(config, catalog, clock, 99);
  for (int i = 0; i < 50; ++i) {
    r.resolve(query_bytes("web.service.cairn", type::A, 4096), Transport::udp, [&](Reply rep) {
      auto m = std::get<Message>(parse(rep.bytes));
      firsts.insert(std::to_string(std::get<std::array<uint8_t, 4>>(m.answers[0].data)[3]));
    });
  }
  EXPECT_GT(firsts.size(), 3u);
}

TEST_F(ResolverTest, ServiceTtlPrefersExactThenLongestPrefixThenStar) {
  config.dns_config.service_ttl = {{"*", std::chrono::seconds(5)},
                                   {"we*", std::chrono::seconds(7)},
                                   {"web*", std::chrono::seconds(9)},
                                   {"web", std::chrono::seconds(11)}};
  config.dns_config.node_ttl = std::chrono::seconds(3);
  Resolver r(config, catalog, clock, 1);
  EXPECT_EQ(r.service_ttl("web"), 11u);
  EXPECT_EQ(r.service_ttl("webapp"), 9u);
  EXPECT_EQ(r.service_ttl("wet"), 7u);
  EXPECT_EQ(r.service_ttl("db"), 5u);
  catalog->add("webapp", "n1", "10.0.0.1");
  EXPECT_EQ(ask("webapp.service.cairn", type::A).answers[0].ttl, 9u);
  EXPECT_EQ(ask("n1.node.cairn", type::A).answers[0].ttl, 3u);
}

TEST_F(ResolverTest, MalformedRequestsGetFormErrOrAreDropped) {
  EXPECT_EQ(raw({1, 2, 3}).action, Reply::Action::drop);
  auto b = query_bytes("web.service.cairn", type::A);
  b[5] = 2;  // QDCOUNT 2 with one question
  Reply r = raw(b);
  ASSERT_EQ(r.action, Reply::Action::send);
  auto m = std::get<Message>(parse(r.bytes));
  EXPECT_EQ(m.header.rcode, Rcode::formerr);
  EXPECT_EQ(m.header.id, 0x4242);
  EXPECT_TRUE(m.header.qr);
  // A response is never answered.
  b = query_bytes("web.service.cairn", type::A);
  b[2] |= 0x80;
  EXPECT_EQ(raw(b).action, Reply::Action::drop);
  // No question at all: FORMERR.
  b = query_bytes("web.service.cairn", type::A);
  b.resize(12);
  b[5] = 0;
  EXPECT_EQ(std::get<Message>(parse(raw(b).bytes)).header.rcode, Rcode::formerr);
  // Other opcodes: NOTIMP. Zone transfers: NOTIMP.
  b = query_bytes("web.service.cairn", type::A);
  b[2] |= 0x10;  // opcode 2 (STATUS)
  EXPECT_EQ(std::get<Message>(parse(raw(b).bytes)).header.rcode, Rcode::notimp);
  EXPECT_EQ(ask("cairn", type::AXFR).header.rcode, Rcode::notimp);
}

}  // namespace
}  // namespace cairn::agent::dns
