// The sidecar's pure parts (proxy/sidecar/mapping.h, backoff.h): Consul JSON
// -> ProxyConfig, health rows -> endpoints, intentions match -> decisions,
// the retry schedule.
#include <gtest/gtest.h>

#include "proxy/sidecar/backoff.h"
#include "proxy/sidecar/mapping.h"

namespace cairn::proxy::sidecar {
namespace {

using namespace std::chrono_literals;

std::string registration_json(const std::string& config = "{}", const std::string& upstream_config = "{}") {
  return R"({"Kind":"connect-proxy","ID":"web-sidecar-proxy","Service":"web-sidecar-proxy","Port":21000,
    "Address":"","ContentHash":"abc","Datacenter":"dc1",
    "Proxy":{"DestinationServiceName":"web","DestinationServiceID":"web1","LocalServiceAddress":"127.0.0.2",
             "LocalServicePort":8080,
             "Upstreams":[{"DestinationName":"db","LocalBindPort":9191,"Datacenter":"dc2","Config":)" +
         upstream_config + R"(}],
             "Config":)" + config + "}}";
}

Result<ProxyConfig> config_of(const std::string& config, const std::string& upstream_config = "{}",
                              std::vector<std::string>* ignored = nullptr) {
  auto reg = parse_registration(registration_json(config, upstream_config));
  if (!reg) return reg.error();
  return proxy_config_of(*reg, "11111111-2222.consul", ignored);
}

TEST(SidecarRegistration, ParsesConsulsWireForm) {
  auto reg = parse_registration(registration_json());
  ASSERT_TRUE(reg.ok()) << reg.error().detail();
  EXPECT_EQ(reg->id, "web-sidecar-proxy");
  EXPECT_EQ(reg->port, 21000);
  EXPECT_EQ(reg->content_hash, "abc");
  EXPECT_EQ(reg->proxy.destination_service_name, "web");
  EXPECT_EQ(reg->proxy.destination_service_id, "web1");
  EXPECT_EQ(reg->proxy.local_service_address, "127.0.0.2");
  EXPECT_EQ(reg->proxy.local_service_port, 8080);
  ASSERT_EQ(reg->proxy.upstreams.size(), 1u);
  EXPECT_EQ(reg->proxy.upstreams[0].destination_name, "db");
  EXPECT_EQ(reg->proxy.upstreams[0].datacenter, "dc2");
  EXPECT_EQ(reg->proxy.upstreams[0].local_bind_port, 9191);
}

TEST(SidecarRegistration, AcceptsLowerAndSnakeCaseProxyFields) {
  auto reg = parse_registration(R"({"Kind":"connect-proxy","ID":"p","Port":1,
    "Proxy":{"destination_service_name":"web","local_service_port":80,
             "upstreams":[{"destination_name":"db","local_bind_port":9000}]}})");
  ASSERT_TRUE(reg.ok()) << reg.error().detail();
  EXPECT_EQ(reg->proxy.destination_service_name, "web");
  EXPECT_EQ(reg->proxy.destination_service_id, "web");  // defaults to the name
  EXPECT_EQ(reg->proxy.local_service_port, 80);
  ASSERT_EQ(reg->proxy.upstreams.size(), 1u);
  EXPECT_EQ(reg->proxy.upstreams[0].local_bind_port, 9000);
}

TEST(SidecarRegistration, RefusesAServiceThatIsNotAProxy) {
  auto reg = parse_registration(R"({"Kind":"","ID":"web","Port":80})");
  ASSERT_FALSE(reg.ok());
  EXPECT_NE(reg.error().detail().find("Kind"), std::string::npos);
  auto noname = parse_registration(R"({"Kind":"connect-proxy","ID":"p","Proxy":{}})");
  ASSERT_FALSE(noname.ok());
  EXPECT_NE(noname.error().detail().find("Proxy.DestinationServiceName"), std::string::npos);
  auto badport = parse_registration(R"({"Kind":"connect-proxy","ID":"p","Proxy":{"DestinationServiceName":"w","LocalServicePort":"x"}})");
  ASSERT_FALSE(badport.ok());
  EXPECT_NE(badport.error().detail().find("Proxy.LocalServicePort"), std::string::npos);
}

TEST(SidecarConfig, DefaultsComeFromTheRegistration) {
  auto c = config_of("{}");
  ASSERT_TRUE(c.ok()) << c.error().detail();
  EXPECT_EQ(c->service, "web");
  EXPECT_EQ(c->trust_domain, "11111111-2222.consul");
  EXPECT_EQ(c->bind_address, "0.0.0.0");  // no Address: every interface
  EXPECT_EQ(c->bind_port, 21000);
  EXPECT_EQ(c->local_service_address, "127.0.0.2");
  EXPECT_EQ(c->local_service_port, 8080);
  ProxyConfig defaults;
  EXPECT_EQ(c->max_connections, defaults.max_connections);
  EXPECT_EQ(c->handshake_timeout, defaults.handshake_timeout);
  EXPECT_EQ(c->idle_timeout, defaults.idle_timeout);
  EXPECT_EQ(c->local_connect_timeout, defaults.local_connect_timeout);
  EXPECT_FALSE(c->stats_enabled);
  ASSERT_EQ(c->upstreams.size(), 1u);
  const auto& u = c->upstreams[0];
  EXPECT_EQ(u.destination_name, "db");
  EXPECT_EQ(u.datacenter, "dc2");
  EXPECT_EQ(u.local_bind_address, "127.0.0.1");
  EXPECT_EQ(u.local_bind_port, 9191);
  EXPECT_EQ(u.policy, BalancePolicy::round_robin);
  EXPECT_EQ(u.max_attempts, UpstreamConfig{}.max_attempts);
}

TEST(SidecarConfig, AddressOfTheRegistrationIsTheBindAddress) {
  auto reg = parse_registration(registration_json());
  ASSERT_TRUE(reg.ok());
  reg->address = "10.0.0.5";
  auto c = proxy_config_of(*reg, "");
  ASSERT_TRUE(c.ok()) << c.error().detail();
  EXPECT_EQ(c->bind_address, "10.0.0.5");
}

TEST(SidecarConfig, EveryProxyConfigKeyIsApplied) {
  auto c = config_of(R"({"bind_address":"127.0.0.9","bind_port":"22000","local_service_address":"127.0.0.3",
    "local_connect_timeout_ms":250,"handshake_timeout_ms":1500,"idle_timeout_ms":60000,"max_connections":77,
    "stats_bind_addr":"127.0.0.1:9102"})");
  ASSERT_TRUE(c.ok()) << c.error().detail();
  EXPECT_EQ(c->bind_address, "127.0.0.9");
  EXPECT_EQ(c->bind_port, 22000);
  EXPECT_EQ(c->local_service_address, "127.0.0.3");
  EXPECT_EQ(c->local_connect_timeout, 250ms);
  EXPECT_EQ(c->handshake_timeout, 1500ms);
  EXPECT_EQ(c->idle_timeout, 60s);
  EXPECT_EQ(c->max_connections, 77);
  EXPECT_TRUE(c->stats_enabled);
  EXPECT_EQ(c->stats_bind_address, "127.0.0.1");
  EXPECT_EQ(c->stats_bind_port, 9102);
}

TEST(SidecarConfig, EveryUpstreamConfigKeyIsApplied) {
  for (auto [name, policy] : {std::pair{"round_robin", BalancePolicy::round_robin},
                              std::pair{"least_conn", BalancePolicy::least_connections},
                              std::pair{"p2c", BalancePolicy::power_of_two}}) {
    auto c = config_of("{}", std::string(R"({"balance":")") + name +
                                 R"(","connect_timeout_ms":300,"idle_timeout_ms":4000,"max_attempts":5})");
    ASSERT_TRUE(c.ok()) << c.error().detail();
    const auto& u = c->upstreams[0];
    EXPECT_EQ(u.policy, policy) << name;
    EXPECT_EQ(u.connect_timeout, 300ms);
    EXPECT_EQ(u.idle_timeout, 4s);
    EXPECT_EQ(u.max_attempts, 5);
  }
}

TEST(SidecarConfig, UnknownKeysAreIgnoredAndListed) {
  std::vector<std::string> ignored;
  auto c = config_of(R"({"protocol":"http","envoy_foo":1})", R"({"mesh":"x"})", &ignored);
  ASSERT_TRUE(c.ok()) << c.error().detail();
  std::sort(ignored.begin(), ignored.end());
  EXPECT_EQ(ignored, (std::vector<std::string>{"Proxy.Config.envoy_foo", "Proxy.Config.protocol",
                                               "Proxy.Upstreams[0].Config.mesh"}));
}

TEST(SidecarConfig, BadValuesNameTheField) {
  struct Case {
    std::string config, upstream, field;
  };
  std::vector<Case> cases = {
      {R"({"bind_port":-1})", "{}", "Proxy.Config.bind_port"},
      {R"({"bind_port":0,"protocol":"tcp"})", "{}", "Proxy.Config.bind_port"},
      {R"({"bind_port":"http"})", "{}", "Proxy.Config.bind_port"},
      {R"({"bind_address":7})", "{}", "Proxy.Config.bind_address"},
      {R"({"local_service_address":"","bind_port":1})", "{}", "Proxy.Config.local_service_address"},
      {R"({"local_connect_timeout_ms":-1})", "{}", "Proxy.Config.local_connect_timeout_ms"},
      {R"({"handshake_timeout_ms":-5})", "{}", "Proxy.Config.handshake_timeout_ms"},
      {R"({"idle_timeout_ms":"soon"})", "{}", "Proxy.Config.idle_timeout_ms"},
      {R"({"max_connections":0,"protocol":"tcp"})", "{}", "Proxy.Config.max_connections"},
      {R"({"stats_bind_addr":"9102"})", "{}", "Proxy.Config.stats_bind_addr"},
      {R"({"stats_bind_addr":"127.0.0.1:99999"})", "{}", "Proxy.Config.stats_bind_addr"},
      {"{}", R"({"balance":"random"})", "Proxy.Upstreams[0].Config.balance"},
      {"{}", R"({"connect_timeout_ms":-1})", "Proxy.Upstreams[0].Config.connect_timeout_ms"},
      {"{}", R"({"idle_timeout_ms":true})", "Proxy.Upstreams[0].Config.idle_timeout_ms"},
      {"{}", R"({"max_attempts":101})", "Proxy.Upstreams[0].Config.max_attempts"},
  };
  // (A Config whose values are all zero reads back as no Config at all —
  // api's raw-object rule — so zeros come with a non-zero neighbour.)
  for (const auto& k : cases) {
    auto c = config_of(k.config, k.upstream);
    ASSERT_FALSE(c.ok()) << k.field;
    EXPECT_EQ(c.error().detail().rfind(k.field + ":", 0), 0u) << c.error().detail();
  }
}

TEST(SidecarConfig, UpstreamsNeedAPortAndAServiceDestination) {
  auto reg = parse_registration(registration_json());
  ASSERT_TRUE(reg.ok());
  auto noport = *reg;
  noport.proxy.upstreams[0].local_bind_port = 0;
  auto c = proxy_config_of(noport, "");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().detail().rfind("Proxy.Upstreams[0].LocalBindPort:", 0), 0u);
  auto query = *reg;
  query.proxy.upstreams[0].destination_type = "prepared_query";
  c = proxy_config_of(query, "");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().detail().rfind("Proxy.Upstreams[0].DestinationType:", 0), 0u);
  auto twice = *reg;
  twice.proxy.upstreams.push_back(twice.proxy.upstreams[0]);
  twice.proxy.upstreams[1].local_bind_port = 9192;
  c = proxy_config_of(twice, "");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().detail().rfind("Proxy.Upstreams[1].DestinationName:", 0), 0u);
}

TEST(SidecarServices, FindsTheProxyForAServiceID) {
  std::string services = R"({
    "web1": {"Kind":"","ID":"web1","Service":"web"},
    "web1-sidecar-proxy": {"Kind":"connect-proxy","ID":"web1-sidecar-proxy","Proxy":{"DestinationServiceID":"web1"}},
    "db-sidecar-proxy": {"Kind":"connect-proxy","ID":"db-sidecar-proxy","Proxy":{"DestinationServiceID":"db"}},
    "db-proxy-2": {"Kind":"connect-proxy","ID":"db-proxy-2","Proxy":{"DestinationServiceID":"db"}}})";
  auto web = proxy_ids_for(services, "web1");
  ASSERT_TRUE(web.ok());
  EXPECT_EQ(*web, std::vector<std::string>{"web1-sidecar-proxy"});
  auto db = proxy_ids_for(services, "db");
  ASSERT_TRUE(db.ok());
  EXPECT_EQ(*db, (std::vector<std::string>{"db-proxy-2", "db-sidecar-proxy"}));
  auto none = proxy_ids_for(services, "web");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST(SidecarEndpoints, ServiceAddressElseNodeAddress) {
  std::vector<api::HealthServiceEntry> rows(3);
  rows[0].node.address = "10.0.0.1";
  rows[0].service.port = 21000;
  rows[1].node.address = "10.0.0.2";
  rows[1].service.address = "192.168.1.2";
  rows[1].service.port = 21001;
  rows[2].node.address = "10.0.0.3";  // no port: not an instance we can dial
  auto eps = endpoints_of(rows);
  ASSERT_EQ(eps.size(), 2u);
  EXPECT_EQ(eps[0], (Endpoint{"10.0.0.1", 21000, true}));
  EXPECT_EQ(eps[1], (Endpoint{"192.168.1.2", 21001, true}));
}

TEST(SidecarCertificates, BundleHoldsEveryRootActiveFirst) {
  api::CARoots roots;
  roots.roots.resize(2);
  roots.roots[0].root_cert = "OLD";
  roots.roots[1].root_cert = "NEW\n";
  roots.roots[1].active = true;
  auto b = trust_bundle_of(roots);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->roots_pem, "NEW\nOLD\n");
  EXPECT_FALSE(trust_bundle_of(api::CARoots{}).ok());
  api::IssuedCert cert;
  cert.cert_pem = "C";
  EXPECT_EQ(leaf_of(cert).error().detail().rfind("PrivateKeyPEM:", 0), 0u);
  cert.private_key_pem = "K";
  EXPECT_EQ(leaf_of(cert)->key_pem, "K");
}

TEST(SidecarIntentions, MatchAnswerBecomesAnIndex) {
  std::string match = R"({"db":[
    {"SourceNS":"default","SourceName":"web","DestinationNS":"default","DestinationName":"db","SourceType":"consul","Action":"allow","Precedence":9},
    {"SourceNS":"default","SourceName":"*","DestinationNS":"default","DestinationName":"*","SourceType":"consul","Action":"deny","Precedence":1}]})";
  auto idx = intention_index_of(match, "db");
  ASSERT_TRUE(idx.ok()) << idx.error().detail();
  EXPECT_EQ((*idx)->all().size(), 2u);
  api::IntentionTarget db{"default", "db"};
  EXPECT_TRUE((*idx)->decide({"default", "web"}, db, false, false).allowed);
  auto other = (*idx)->decide({"default", "api"}, db, true, false);
  EXPECT_FALSE(other.allowed);  // */* deny beats the default allow
  ASSERT_NE(other.intention, nullptr);
  auto empty = intention_index_of(R"({"db":[]})", "db");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE((*empty)->decide({"default", "web"}, db, true, false).allowed);
  EXPECT_FALSE(intention_index_of("[]", "db").ok());
}

TEST(SidecarIntentions, AuthorizeRequestAndAnswer) {
  EXPECT_EQ(authorize_body("db", "spiffe://t/ns/default/dc/dc1/svc/x"),
            R"({"ClientCertURI":"spiffe://t/ns/default/dc/dc1/svc/x","Target":"db"})");
  EXPECT_EQ(*authorized_of(R"({"Authorized":true,"Reason":"r"})"), true);
  EXPECT_EQ(*authorized_of(R"({"Authorized":false})"), false);
  EXPECT_FALSE(authorized_of(R"({"Reason":"r"})").ok());
  EXPECT_EQ(unmatched_source_uri("td.consul", "dc1").rfind("spiffe://td.consul/ns/default/dc/dc1/svc/", 0), 0u);
}

TEST(SidecarBackoff, DoublesFromOneSecondToThirtyAndResets) {
  Backoff b;
  std::vector<Duration> got;
  for (int i = 0; i < 7; ++i) got.push_back(b.next());
  EXPECT_EQ(got, (std::vector<Duration>{1s, 2s, 4s, 8s, 16s, 30s, 30s}));
  b.reset();
  EXPECT_EQ(b.next(), 1s);
}

}  // namespace
}  // namespace cairn::proxy::sidecar
