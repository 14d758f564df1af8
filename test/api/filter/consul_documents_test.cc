// apply_filter over the documents Consul's endpoints return, with the
// expressions Consul's docs and users write against them.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/filter/filter.h"
#include "test/api/filter/sample.h"

namespace cairn::filter {
namespace {

using nlohmann::json;

// /v1/health/service/web: three instances on three nodes.
json health_service_web() {
  auto entry = [](const char* node, const char* id, int port, std::vector<std::string> tags,
                  json meta, const char* status, json node_meta) {
    return json{
        {"Node", {{"Node", node}, {"Address", "10.0.0.1"}, {"Datacenter", "dc1"}, {"Meta", node_meta}}},
        {"Service", {{"ID", id}, {"Service", "web"}, {"Tags", tags}, {"Meta", meta}, {"Port", port},
                     {"Weights", {{"Passing", 1}, {"Warning", 1}}}, {"Kind", ""}}},
        {"Checks", json::array({
            {{"CheckID", "serfHealth"}, {"Name", "Serf Health Status"}, {"Status", "passing"}, {"ServiceName", ""}},
            {{"CheckID", std::string("service:") + id}, {"Name", "web check"}, {"Status", status}, {"ServiceName", "web"}},
        })},
    };
  };
  return json::array({
      entry("n1", "web-1", 8080, {"v1", "primary"}, {{"env", "prod"}, {"version", "1.2.3"}}, "passing", {{"os", "linux"}}),
      entry("n2", "web-2", 8081, {"v2"}, {{"env", "qa"}}, "critical", {{"os", "linux"}}),
      entry("n3", "web-3", 8082, {}, json::object(), "warning", {{"os", "windows"}}),
  });
}

// /v1/agent/services: a map from service ID to AgentService.
json agent_services() {
  return json::parse(R"({
    "redis": {"ID": "redis", "Service": "redis", "Tags": [], "Meta": {"redis_version": "4.0", "env": "qa"},
              "Port": 8000, "Address": "", "EnableTagOverride": false, "Datacenter": "dc1",
              "Weights": {"Passing": 10, "Warning": 1}, "Kind": ""},
    "web-sidecar-proxy": {"ID": "web-sidecar-proxy", "Service": "web-sidecar-proxy", "Tags": ["proxy"],
              "Meta": {"env": "prod"}, "Port": 21000, "Kind": "connect-proxy",
              "Proxy": {"DestinationServiceName": "web", "LocalServicePort": 8080,
                        "Upstreams": [{"DestinationName": "redis", "LocalBindPort": 6379}]},
              "Datacenter": "dc1"},
    "web": {"ID": "web", "Service": "web", "Tags": ["v1", "primary"], "Meta": {"env": "prod"},
            "Port": 8080, "Kind": "", "Datacenter": "dc1"}
  })");
}

std::vector<std::string> ids(const json& list) {
  std::vector<std::string> out;
  for (const auto& e : list) out.push_back(e["Service"]["ID"]);
  return out;
}

std::vector<std::string> keys(const json& map) {
  std::vector<std::string> out;
  for (auto it = map.begin(); it != map.end(); ++it) out.push_back(it.key());
  return out;
}

std::vector<std::string> health(const char* expr) {
  auto out = apply_filter(expr, health_service_web());
  EXPECT_TRUE(out.ok()) << expr << ": " << out.error().message();
  return out.ok() ? ids(*out) : std::vector<std::string>{"<error>"};
}

std::vector<std::string> services(const char* expr) {
  auto out = apply_filter(expr, agent_services());
  EXPECT_TRUE(out.ok()) << expr << ": " << out.error().message();
  return out.ok() ? keys(*out) : std::vector<std::string>{"<error>"};
}

using Ids = std::vector<std::string>;

TEST(HealthServiceFilter, SelectsInstancesByServiceMeta) {
  EXPECT_EQ(health(R"(Service.Meta.env == "prod")"), (Ids{"web-1"}));
}

TEST(HealthServiceFilter, ServiceMetaInequalityKeepsInstancesWithoutTheKey) {
  EXPECT_EQ(health(R"(Service.Meta.env != "prod")"), (Ids{"web-2", "web-3"}));
}

TEST(HealthServiceFilter, CombinesMetaWithACheckStatus) {
  // The brief's example: any check that is not critical qualifies (bexpr's ANY over lists).
  EXPECT_EQ(health(R"(Service.Meta.env == "prod" and Checks.Status != "critical")"), (Ids{"web-1"}));
}

TEST(HealthServiceFilter, ExcludesInstancesWithACriticalCheckUsingNot) {
  EXPECT_EQ(health(R"(not Checks.Status == "critical")"), (Ids{"web-1", "web-3"}));
}

TEST(HealthServiceFilter, SelectsInstancesByTag) {
  EXPECT_EQ(health(R"(Service.Tags contains "primary")"), (Ids{"web-1"}));
  EXPECT_EQ(health(R"("v2" in Service.Tags)"), (Ids{"web-2"}));
}

TEST(HealthServiceFilter, SelectsInstancesWithoutTags) {
  EXPECT_EQ(health("Service.Tags is empty"), (Ids{"web-3"}));
}

TEST(HealthServiceFilter, SelectsInstancesByNodeMeta) {
  EXPECT_EQ(health("Node.Meta.os == linux"), (Ids{"web-1", "web-2"}));
}

TEST(HealthServiceFilter, SelectsInstancesByPortRange) {
  EXPECT_EQ(health("Service.Port == 8080 or Service.Port == 8082"), (Ids{"web-1", "web-3"}));
}

TEST(HealthServiceFilter, SelectsInstancesByIdPattern) {
  EXPECT_EQ(health(R"(Service.ID matches "^web-[12]$")"), (Ids{"web-1", "web-2"}));
}

TEST(HealthServiceFilter, SelectsInstancesByVersionPattern) {
  EXPECT_EQ(health(R"(Service.Meta.version matches `^1\.2\.`)"), (Ids{"web-1"}));
}

TEST(AgentServicesFilter, AnUnquotedValueSelectsServicesByMeta) {
  EXPECT_EQ(services("Meta.env == qa"), (Ids{"redis"}));
}

TEST(AgentServicesFilter, SelectsConnectProxiesByKind) {
  EXPECT_EQ(services(R"(Kind == "connect-proxy")"), (Ids{"web-sidecar-proxy"}));
}

TEST(AgentServicesFilter, SelectsProxiesByUpstream) {
  EXPECT_EQ(services(R"(Proxy.Upstreams.DestinationName == redis)"), (Ids{"web-sidecar-proxy"}));
}

TEST(AgentServicesFilter, SelectsServicesByWeights) {
  EXPECT_EQ(services("Weights.Passing == 10"), (Ids{"redis"}));
}

TEST(AgentServicesFilter, SelectsServicesWithABracketedMetaKey) {
  EXPECT_EQ(services(R"(Meta["redis_version"] is not empty)"), (Ids{"redis"}));
}

TEST(AgentServicesFilter, NegatedGroupsSelectTheRest) {
  EXPECT_EQ(services(R"(not (Service == web or Kind == "connect-proxy"))"), (Ids{"redis"}));
}

TEST(SingleEntryFilter, DocsSelectorFormsAgreeOnAMapKey) {
  const json entry = testing::health_entry();
  for (const char* expr : {R"(Service.Meta.env == "prod")", R"(Service.Meta["env"] == "prod")"}) {
    auto f = Filter::parse(expr);
    ASSERT_TRUE(f.ok()) << expr;
    EXPECT_TRUE(f->matches(entry)) << expr;
  }
}

}  // namespace
}  // namespace cairn::filter
