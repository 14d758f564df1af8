// The proxy's pure layers: SPIFFE IDs, load balancing, the static
// authorizer, config parsing, and the TLS contexts made from PEM.
#include <gtest/gtest.h>

#include <map>

#include "proxy/authorizer.h"
#include "proxy/balancer.h"
#include "proxy/config.h"
#include "proxy/intention_authorizer.h"
#include "proxy/spiffe.h"
#include "proxy/tls.h"
#include "test/proxy/mesh_certs.h"

namespace cairn::proxy {
namespace {

TEST(SpiffeId, ParsesAConsulServiceId) {
  auto id = parse_spiffe_id("spiffe://1111.consul/ns/default/dc/dc1/svc/web");
  ASSERT_TRUE(id.ok()) << id.error().detail();
  EXPECT_EQ(id->trust_domain, "1111.consul");
  EXPECT_EQ(id->ns, "default");
  EXPECT_EQ(id->datacenter, "dc1");
  EXPECT_EQ(id->service, "web");
  EXPECT_EQ(id->uri(), "spiffe://1111.consul/ns/default/dc/dc1/svc/web");
}

TEST(SpiffeId, KeepsAnAdminPartition) {
  auto id = parse_spiffe_id("spiffe://td/ap/part1/ns/ns1/dc/dc2/svc/api");
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(id->partition, "part1");
  EXPECT_EQ(id->ns, "ns1");
  EXPECT_EQ(id->uri(), "spiffe://td/ap/part1/ns/ns1/dc/dc2/svc/api");
}

TEST(SpiffeId, RejectsMalformedIdsWithAReason) {
  for (const char* bad : {"", "http://td/ns/default/dc/dc1/svc/web", "spiffe://td", "spiffe://td/ns/default/dc/dc1",
                          "spiffe://td/ns/default/dc/dc1/svc/", "spiffe:///ns/default/dc/dc1/svc/web",
                          "spiffe://td/ns/default/dc/dc1/agent/web", "spiffe://td/ns/default/dc/dc1/svc/web/x",
                          "spiffe://td/ns/default//dc1/svc/web"}) {
    auto id = parse_spiffe_id(bad);
    ASSERT_FALSE(id.ok()) << bad;
    EXPECT_NE(id.error().detail().find("spiffe id"), std::string::npos);
  }
}

std::vector<size_t> picks(Balancer& b, const std::vector<Candidate>& c, int n, Rng& rng) {
  std::vector<size_t> out;
  for (int i = 0; i < n; ++i) out.push_back(*b.pick(c, rng));
  return out;
}

TEST(Balancer, RoundRobinSkipsIneligibleInstances) {
  SeededRng rng(1);
  Balancer b(BalancePolicy::round_robin);
  std::vector<Candidate> c{{true, 0}, {false, 0}, {true, 0}};
  EXPECT_EQ(picks(b, c, 4, rng), (std::vector<size_t>{0, 2, 0, 2}));
}

TEST(Balancer, NoEligibleInstanceGivesNothing) {
  SeededRng rng(1);
  for (auto p : {BalancePolicy::round_robin, BalancePolicy::least_connections, BalancePolicy::power_of_two}) {
    Balancer b(p);
    EXPECT_FALSE(b.pick({{false, 0}, {false, 3}}, rng).has_value());
    EXPECT_FALSE(b.pick({}, rng).has_value());
  }
}

TEST(Balancer, LeastConnectionsPicksTheLeastLoaded) {
  SeededRng rng(1);
  Balancer b(BalancePolicy::least_connections);
  EXPECT_EQ(*b.pick({{true, 5}, {true, 1}, {true, 3}}, rng), 1u);
  EXPECT_EQ(*b.pick({{true, 5}, {false, 0}, {true, 3}}, rng), 2u);
}

TEST(Balancer, LeastConnectionsSpreadsTies) {
  SeededRng rng(1);
  Balancer b(BalancePolicy::least_connections);
  std::vector<Candidate> c{{true, 0}, {true, 0}, {true, 0}};
  auto p = picks(b, c, 3, rng);
  std::sort(p.begin(), p.end());
  EXPECT_EQ(p, (std::vector<size_t>{0, 1, 2}));
}

TEST(Balancer, PowerOfTwoNeverPicksTheMostLoadedOfThree) {
  SeededRng rng(7);
  Balancer b(BalancePolicy::power_of_two);
  std::vector<Candidate> c{{true, 1}, {true, 9}, {true, 2}};
  std::map<size_t, int> seen;
  for (size_t i : picks(b, c, 300, rng)) ++seen[i];
  EXPECT_EQ(seen[1], 0);  // any pair holding 1 has a less loaded other
  EXPECT_GT(seen[0], seen[2]);
  EXPECT_GT(seen[2], 0);
}

TEST(Balancer, ParsesPolicyNamesAndNamesTheFieldOnError) {
  EXPECT_EQ(*parse_balance_policy("p2c", "f"), BalancePolicy::power_of_two);
  EXPECT_EQ(*parse_balance_policy("least_connections", "f"), BalancePolicy::least_connections);
  auto bad = parse_balance_policy("random", "upstreams[0].load_balancer");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().detail().find("upstreams[0].load_balancer"), std::string::npos);
}

TEST(StaticAuthorizer, ExactSourceBeatsWildcardAndDefault) {
  StaticAuthorizer a({{"*", false}, {"web", true}}, true);
  SpiffeId web{.service = "web"}, db{.service = "db"};
  EXPECT_TRUE(a.authorize(web).allow);
  auto d = a.authorize(db);
  EXPECT_FALSE(d.allow);
  EXPECT_EQ(d.reason, "rule * (deny)");
  StaticAuthorizer none({}, false);
  EXPECT_EQ(none.authorize(web).reason, "default deny");
}

TEST(StaticAuthorizer, SetRulesNotifiesTheListener) {
  StaticAuthorizer a({}, true);
  int calls = 0;
  a.set_change_listener([&] { ++calls; });
  a.set_rules({{"web", false}}, true);
  EXPECT_EQ(calls, 1);
  EXPECT_FALSE(a.authorize(SpiffeId{.service = "web"}).allow);
}

api::ConfigEntry intentions_for(const std::string& body) {
  auto norm = api::normalize_service_intentions(body);
  EXPECT_TRUE(norm.ok());
  api::ConfigEntry e;
  e.kind = "service-intentions";
  e.name = "api";
  e.body = norm.ok() ? *norm : "";
  return e;
}

TEST(IntentionAuthorizer, DecidesByIntentionsThenTheDefault) {
  auto index = std::make_shared<const api::IntentionIndex>(api::IntentionIndex::build({intentions_for(
      R"({"Kind":"service-intentions","Name":"api","Sources":[{"Name":"web","Action":"allow"},{"Name":"*","Action":"deny"}]})")}));
  IntentionAuthorizer a("api", true, index);
  auto web = a.authorize(SpiffeId{.service = "web"});
  EXPECT_TRUE(web.allow);
  EXPECT_EQ(web.reason, "intention default/web => default/api (allow)");
  EXPECT_FALSE(a.authorize(SpiffeId{.service = "db"}).allow);
  IntentionAuthorizer none("billing", false, index);
  EXPECT_EQ(none.authorize(SpiffeId{.service = "web"}).reason, "default deny");
}

TEST(IntentionAuthorizer, L7PermissionsDoNotAllowATcpConnection) {
  auto index = std::make_shared<const api::IntentionIndex>(api::IntentionIndex::build({intentions_for(
      R"({"Kind":"service-intentions","Name":"api","Sources":[{"Name":"web","Permissions":[{"Action":"allow","HTTP":{"PathPrefix":"/v1"}}]}]})")}));
  IntentionAuthorizer a("api", true, index);
  EXPECT_FALSE(a.authorize(SpiffeId{.service = "web"}).allow);
}

TEST(IntentionAuthorizer, SetIndexRevokesThroughTheListener) {
  IntentionAuthorizer a("api", true);
  int calls = 0;
  a.set_change_listener([&] { ++calls; });
  EXPECT_TRUE(a.authorize(SpiffeId{.service = "web"}).allow);
  a.set_index(nullptr, false);
  EXPECT_EQ(calls, 1);
  EXPECT_FALSE(a.authorize(SpiffeId{.service = "web"}).allow);
}

TEST(ProxyConfig, ParsesJsonWithUpstreams) {
  auto c = parse_config_json(R"({"service":"web","bind_port":21000,"local_service_port":8080,
    "handshake_timeout":"2s","max_connections":10,"stats_bind_port":0,"handshake_turns":4,
    "upstreams":[{"destination_name":"api","local_bind_port":9191,"load_balancer":"least_conn","connect_timeout":"250ms"}]})");
  ASSERT_TRUE(c.ok()) << c.error().detail();
  EXPECT_EQ(c->service, "web");
  EXPECT_EQ(c->bind_port, 21000);
  EXPECT_EQ(c->handshake_timeout, std::chrono::seconds(2));
  EXPECT_EQ(c->handshake_turns, 4);
  EXPECT_TRUE(c->stats_enabled);
  ASSERT_EQ(c->upstreams.size(), 1u);
  EXPECT_EQ(c->upstreams[0].policy, BalancePolicy::least_connections);
  EXPECT_EQ(c->upstreams[0].connect_timeout, std::chrono::milliseconds(250));
}

TEST(ProxyConfig, ErrorsNameTheField) {
  auto expect_field = [](const char* json, const char* field) {
    auto c = parse_config_json(json);
    ASSERT_FALSE(c.ok()) << json;
    EXPECT_EQ(c.error().detail().rfind(field, 0), 0u) << c.error().detail();
  };
  expect_field(R"({"bind_port":70000})", "bind_port");
  expect_field(R"({"handshake_timeout":"soon"})", "handshake_timeout");
  expect_field(R"({"max_connections":0})", "max_connections");
  expect_field(R"({"service":"web","handshake_turns":-1})", "handshake_turns");
  expect_field(R"({"upstreams":[{"local_bind_port":1}]})", "upstreams[0].destination_name");
  expect_field(R"({"upstreams":[{"destination_name":"a","colour":1}]})", "upstreams[0].colour");
  expect_field(R"({"nope":1})", "nope");
  EXPECT_FALSE(parse_config_json("{").ok());
}

TEST(TlsContexts, MakesContextsAndReadsOurIdentity) {
  auto ca = test::MeshCerts::ca("root");
  auto leaf = test::MeshCerts::leaf(ca, test::MeshCerts::spiffe("web"));
  auto ctx = TlsContexts::make({leaf.cert_pem, leaf.key_pem}, {ca.cert_pem});
  ASSERT_TRUE(ctx.ok()) << ctx.error().detail();
  EXPECT_EQ((*ctx)->identity().service, "web");
  EXPECT_EQ(*spiffe_uri_of_pem(leaf.cert_pem), test::MeshCerts::spiffe("web"));
}

TEST(TlsContexts, RefusesMismatchedKeysAndMissingPem) {
  auto ca = test::MeshCerts::ca("root");
  auto a = test::MeshCerts::leaf(ca, test::MeshCerts::spiffe("web"));
  auto b = test::MeshCerts::leaf(ca, test::MeshCerts::spiffe("api"));
  auto mismatch = TlsContexts::make({a.cert_pem, b.key_pem}, {ca.cert_pem});
  ASSERT_FALSE(mismatch.ok());
  EXPECT_NE(mismatch.error().detail().find("leaf.key_pem"), std::string::npos);
  auto no_roots = TlsContexts::make({a.cert_pem, a.key_pem}, {"not pem"});
  ASSERT_FALSE(no_roots.ok());
  EXPECT_NE(no_roots.error().detail().find("trust_bundle"), std::string::npos);
  auto no_id = TlsContexts::make({ca.cert_pem, ca.key_pem}, {ca.cert_pem});
  ASSERT_FALSE(no_id.ok());
  EXPECT_NE(no_id.error().detail().find("SPIFFE"), std::string::npos);
}

}  // namespace
}  // namespace cairn::proxy
