// api/connect_proxy.h: the typed Proxy, its validation, the connect
// destination and the sidecar expansion (Consul's sidecarServiceFromNodeService).
#include "api/connect_proxy.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "api/json.h"
#include "api/validate.h"

namespace cairn::api {
namespace {

ServiceDefinition def(std::string_view body) {
  auto d = decode_service_definition(body);
  EXPECT_TRUE(d.ok()) << (d.ok() ? "" : d.error().message());
  return d.ok() ? *d : ServiceDefinition{};
}

TEST(ConnectProxy, ParsesConsulAndSnakeCaseNames) {
  auto p = parse_connect_proxy(R"({"destination_service_name":"web","DestinationServiceID":"web1",
    "local_service_port":8080,"Upstreams":[{"destination_name":"db","local_bind_port":9191,
    "Config":{"balance":"p2c"}},{"DestinationName":"cache","Datacenter":"dc2","LocalBindAddress":"127.0.0.2",
    "LocalBindPort":9192}],"Config":{"bind_port":21000}})");
  ASSERT_TRUE(p.ok()) << p.error().message();
  EXPECT_EQ(p->destination_service_name, "web");
  EXPECT_EQ(p->destination_service_id, "web1");
  EXPECT_EQ(p->local_service_port, 8080);
  ASSERT_EQ(p->upstreams.size(), 2u);
  EXPECT_EQ(p->upstreams[0].destination_name, "db");
  EXPECT_EQ(p->upstreams[0].destination_type, "service");
  EXPECT_EQ(p->upstreams[0].local_bind_port, 9191);
  EXPECT_EQ(nlohmann::json::parse(p->upstreams[0].config_json)["balance"], "p2c");
  EXPECT_EQ(p->upstreams[1].datacenter, "dc2");
  EXPECT_EQ(p->upstreams[1].local_bind_address, "127.0.0.2");
  EXPECT_EQ(nlohmann::json::parse(p->config_json)["bind_port"], 21000);
}

TEST(ConnectProxy, ErrorsNameTheField) {
  auto p = parse_connect_proxy(R"({"Upstreams":[{"DestinationName":"db","LocalBindPort":"x"}]})");
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.error().message().find("Proxy.Upstreams[0].LocalBindPort"), std::string::npos) << p.error().message();
  EXPECT_FALSE(parse_connect_proxy(R"({"Upstreams":{}})").ok());
}

TEST(ConnectProxy, CanonicalFormKeepsUnmodelledMembers) {
  auto text = canonical_proxy_json(
      R"({"destination_service_name":"web","Expose":{"Checks":true},"Upstreams":[{"destination_name":"db","local_bind_port":1}]})");
  ASSERT_TRUE(text.ok());
  auto j = nlohmann::json::parse(*text);
  EXPECT_EQ(j["DestinationServiceName"], "web");
  EXPECT_FALSE(j.contains("destination_service_name"));
  EXPECT_EQ(j["Expose"]["Checks"], true);
  EXPECT_EQ(j["MeshGateway"], nlohmann::json::object());
  EXPECT_EQ(j["Upstreams"][0]["DestinationName"], "db");
  EXPECT_EQ(j["Upstreams"][0]["DestinationType"], "service");
  EXPECT_EQ(j["Upstreams"][0]["LocalBindPort"], 1);
}

struct ValidationCase {
  std::string name;
  std::string body;
  std::string error;  // "" : valid
};

TEST(ConnectProxy, ValidationRulesAsConsul) {
  std::vector<ValidationCase> cases = {
      {"proxy ok", R"({"Kind":"connect-proxy","Name":"p","Port":21000,"Proxy":{"DestinationServiceName":"web"}})", ""},
      {"proxy without destination", R"({"Kind":"connect-proxy","Name":"p","Port":21000,"Proxy":{}})",
       "Proxy.DestinationServiceName must be non-empty"},
      {"proxy with wildcard destination",
       R"({"Kind":"connect-proxy","Name":"p","Port":1,"Proxy":{"DestinationServiceName":"*"}})", "wildcard"},
      {"proxy without port", R"({"Kind":"connect-proxy","Name":"p","Proxy":{"DestinationServiceName":"web"}})",
       "Port or SocketPath must be set"},
      {"native proxy",
       R"({"Kind":"connect-proxy","Name":"p","Port":1,"Proxy":{"DestinationServiceName":"web"},"Connect":{"Native":true}})",
       "cannot also be Connect Native"},
      {"upstream without name",
       R"({"Kind":"connect-proxy","Name":"p","Port":1,"Proxy":{"DestinationServiceName":"w","Upstreams":[{"LocalBindPort":1}]}})",
       "upstream destination name cannot be empty"},
      {"upstream without port",
       R"({"Kind":"connect-proxy","Name":"p","Port":1,"Proxy":{"DestinationServiceName":"w","Upstreams":[{"DestinationName":"db"}]}})",
       "Proxy.Upstreams[0].LocalBindPort"},
      {"duplicate bind",
       R"({"Kind":"connect-proxy","Name":"p","Port":1,"Proxy":{"DestinationServiceName":"w","Upstreams":[
         {"DestinationName":"a","LocalBindPort":5},{"DestinationName":"b","LocalBindPort":5}]}})",
       "\"127.0.0.1:5\" is specified twice"},
      {"duplicate upstream",
       R"({"Kind":"connect-proxy","Name":"p","Port":1,"Proxy":{"DestinationServiceName":"w","Upstreams":[
         {"DestinationName":"a","LocalBindPort":5},{"DestinationName":"a","LocalBindPort":6}]}})",
       "duplicates of a"},
      {"bad destination type",
       R"({"Kind":"connect-proxy","Name":"p","Port":1,"Proxy":{"DestinationServiceName":"w","Upstreams":[
         {"DestinationType":"x","DestinationName":"a","LocalBindPort":5}]}})",
       "Proxy.Upstreams[0].DestinationType"},
      {"native without port", R"({"Name":"web","Connect":{"Native":true}})", "Connect native service"},
      {"sidecar with ID", R"({"Name":"web","Port":1,"Connect":{"SidecarService":{"ID":"x"}}})",
       "cannot specify an ID"},
      {"nested sidecar", R"({"Name":"web","Port":1,"Connect":{"SidecarService":{"Connect":{"SidecarService":{}}}}})",
       "nested SidecarService"},
      {"sidecar with bad field", R"({"Name":"web","Port":1,"Connect":{"SidecarService":{"Port":"x"}}})",
       "Connect.SidecarService.Port"},
      {"sidecar ok", R"({"Name":"web","Port":1,"Connect":{"SidecarService":{}}})", ""},
  };
  for (const auto& c : cases) {
    auto d = def(c.body);
    Status st = validate_connect(d.service, true);
    if (c.error.empty()) {
      EXPECT_TRUE(st.ok()) << c.name << ": " << (st.ok() ? "" : st.error().message());
    } else {
      ASSERT_FALSE(st.ok()) << c.name;
      EXPECT_NE(st.error().message().find(c.error), std::string::npos) << c.name << ": " << st.error().message();
      EXPECT_EQ(st.error().code(), errc::invalid_argument) << c.name;
    }
  }
}

TEST(ConnectProxy, ConnectDestination) {
  EXPECT_EQ(connect_destination(def(R"({"Kind":"connect-proxy","Name":"p","Proxy":{"DestinationServiceName":"web"}})")
                                    .service),
            "web");
  EXPECT_EQ(connect_destination(def(R"({"Name":"api","Port":1,"Connect":{"Native":true}})").service), "api");
  EXPECT_EQ(connect_destination(def(R"({"Name":"plain","Port":1})").service), "");
  EXPECT_EQ(connect_destination(def(R"({"Name":"plain","Port":1,"Connect":{"SidecarService":{}}})").service), "");
}

TEST(Sidecar, DefaultsFromTheParent) {
  auto parent = def(R"({"ID":"web1","Name":"web","Address":"10.0.0.5","Port":8080,"Tags":["v1"],"Meta":{"a":"b"},
    "Connect":{"SidecarService":{"Proxy":{"Upstreams":[{"DestinationName":"db","LocalBindPort":9191}]}}}})");
  auto plan = split_sidecar(parent);
  ASSERT_TRUE(plan.ok()) << plan.error().message();
  ASSERT_TRUE(plan->has_value());
  const NodeService& s = (*plan)->sidecar.service;
  EXPECT_EQ(s.kind, "connect-proxy");
  EXPECT_EQ(s.id, "web1-sidecar-proxy");
  EXPECT_EQ(s.service, "web-sidecar-proxy");
  EXPECT_EQ(s.address, "10.0.0.5");
  EXPECT_EQ(s.port, 0);  // the agent allocates
  EXPECT_EQ(s.tags, std::vector<std::string>{"v1"});
  EXPECT_EQ(s.meta.at("a"), "b");
  EXPECT_TRUE((*plan)->default_checks);
  EXPECT_FALSE((*plan)->supervised);
  auto p = parse_connect_proxy(s.proxy_json);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->destination_service_name, "web");
  EXPECT_EQ(p->destination_service_id, "web1");
  EXPECT_EQ(p->local_service_address, "127.0.0.1");
  EXPECT_EQ(p->local_service_port, 8080);
  ASSERT_EQ(p->upstreams.size(), 1u);
  EXPECT_EQ(p->upstreams[0].destination_name, "db");
  // The parent no longer carries the sidecar.
  EXPECT_EQ(parent.service.connect_json, "");
}

TEST(Sidecar, GivenValuesWinAndManagedIsRead) {
  auto parent = def(R"({"ID":"web1","Name":"web","Port":8080,"Tags":["v1"],"Connect":{"Native":false,
    "ManagedSidecar":true,"sidecar_service":{"Name":"edge","Port":21555,"Tags":["px"],"Token":"t1",
    "Check":{"Name":"mine","TTL":"10s"},"Proxy":{"LocalServicePort":9000}}}})");
  auto plan = split_sidecar(parent);
  ASSERT_TRUE(plan.ok()) << plan.error().message();
  ASSERT_TRUE(plan->has_value());
  const auto& sc = (*plan)->sidecar;
  EXPECT_EQ(sc.service.service, "edge");
  EXPECT_EQ(sc.service.port, 21555);
  EXPECT_EQ(sc.service.tags, std::vector<std::string>{"px"});
  EXPECT_EQ((*plan)->token, "t1");
  EXPECT_TRUE((*plan)->supervised);
  EXPECT_FALSE((*plan)->default_checks);
  ASSERT_EQ(sc.checks.size(), 1u);
  EXPECT_EQ(sc.checks[0].name, "mine");
  auto p = parse_connect_proxy(sc.service.proxy_json);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->local_service_port, 9000);
  EXPECT_EQ(p->local_service_address, "127.0.0.1");
  // Native stays on the parent; the sidecar members go.
  EXPECT_EQ(nlohmann::json::parse(parent.service.connect_json), nlohmann::json({{"Native", false}}));
}

TEST(Sidecar, NoneAndRefusals) {
  auto plain = def(R"({"Name":"web","Port":1})");
  auto none = split_sidecar(plain);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  // An empty SidecarService still asks for a sidecar (a Go pointer, not a zero value).
  auto empty = def(R"({"ID":"w","Name":"web","Port":80,"Connect":{"SidecarService":{}}})");
  auto plan = split_sidecar(empty);
  ASSERT_TRUE(plan.ok());
  ASSERT_TRUE(plan->has_value());
  EXPECT_EQ((*plan)->sidecar.service.id, "w-sidecar-proxy");
  auto bad_kind = def(R"({"Name":"web","Port":1,"Connect":{"SidecarService":{"Kind":"mesh-gateway"}}})");
  auto r = split_sidecar(bad_kind);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("Connect.SidecarService.Kind"), std::string::npos);
  auto with_id = def(R"({"Name":"web","Port":1,"Connect":{"SidecarService":{"ID":"x"}}})");
  EXPECT_FALSE(split_sidecar(with_id).ok());
}

TEST(ConnectProxy, AConfigOfZeroValuesIsKeptNotDropped) {
  // Proxy.Config is a Go map: {"bind_port":0} is set, never read as an
  // absent Proxy.
  auto d = def(R"({"Name":"p","Kind":"connect-proxy","Port":21000,
    "Proxy":{"Config":{"bind_port":0}}})");
  ASSERT_FALSE(d.service.proxy_json.empty());
  auto p = parse_connect_proxy(d.service.proxy_json);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(nlohmann::json::parse(p->config_json), nlohmann::json({{"bind_port", 0}}));
  // An empty Config, like the rest of Consul's zero shape, still reads as unset.
  auto zero = def(R"({"Name":"web","Port":1,"Proxy":{"Mode":"","MeshGateway":{},"Expose":{},"Config":{}}})");
  EXPECT_TRUE(zero.service.proxy_json.empty());
}

TEST(Sidecar, DefaultChecks) {
  NodeService s;
  s.port = 21000;
  s.proxy_json = R"({"LocalServiceAddress":"127.0.0.9"})";
  auto checks = sidecar_default_checks(s, "web1");
  ASSERT_EQ(checks.size(), 2u);
  EXPECT_EQ(checks[0].name, "Connect Sidecar Listening");
  EXPECT_EQ(checks[0].definition.tcp, "127.0.0.9:21000");
  EXPECT_EQ(checks[0].definition.interval, std::chrono::seconds(10));
  EXPECT_EQ(checks[1].name, "Connect Sidecar Aliasing web1");
  EXPECT_EQ(checks[1].definition.alias_service, "web1");
  s.address = "::1";
  EXPECT_EQ(sidecar_default_checks(s, "web1")[0].definition.tcp, "[::1]:21000");
  EXPECT_EQ(sidecar_parent_id("web1-sidecar-proxy"), "web1");
  EXPECT_EQ(sidecar_parent_id("-sidecar-proxy"), "");
  EXPECT_EQ(sidecar_parent_id("web1"), "");
}

TEST(ConnectProxy, CatalogRegisterChecksAndCanonicalizesProxies) {
  auto req = decode_register_request(R"({"Node":"n1","Address":"10.0.0.1","Service":{"Kind":"connect-proxy",
    "Service":"p","Port":21000,"Proxy":{"destination_service_name":"web"}}})");
  ASSERT_TRUE(req.ok());
  ASSERT_TRUE(prepare_register(*req).ok());
  EXPECT_EQ(nlohmann::json::parse(req->service->proxy_json)["DestinationServiceName"], "web");
  auto bad = decode_register_request(
      R"({"Node":"n1","Address":"10.0.0.1","Service":{"Kind":"connect-proxy","Service":"p","Port":21000}})");
  ASSERT_TRUE(bad.ok());
  Status st = prepare_register(*bad);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message().find("Proxy.DestinationServiceName"), std::string::npos);
}

}  // namespace
}  // namespace cairn::api
