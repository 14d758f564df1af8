// The examples of Consul's "Filtering" API docs page
// (website/content/api-docs/features/filtering.mdx), each against the
// response shape the page shows, answering what the page says it answers.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/filter/filter.h"

namespace cairn::filter {
namespace {

using nlohmann::json;

json agent_service(const char* id, int port, std::vector<std::string> tags, json meta) {
  return {{"ID", id}, {"Service", "redis"}, {"Tags", tags}, {"Meta", meta}, {"Port", port},
          {"Address", ""}, {"Weights", {{"Passing", 1}, {"Warning", 1}}}, {"EnableTagOverride", false}};
}

json catalog_entry(const char* node, const char* address, json node_meta, std::vector<std::string> tags,
                   const char* environment, int index) {
  return {{"Node", node}, {"Address", address}, {"Datacenter", "dc1"}, {"TaggedAddresses", nullptr},
          {"NodeMeta", node_meta}, {"ServiceKind", ""}, {"ServiceID", "api-internal"},
          {"ServiceName", "api-internal"}, {"ServiceTags", tags}, {"ServiceAddress", ""},
          {"ServiceWeights", {{"Passing", 1}, {"Warning", 1}}},
          {"ServiceMeta", {{"environment", environment}}}, {"ServicePort", 9090},
          {"ServiceEnableTagOverride", false}, {"ServiceProxy", json::object()},
          {"ServiceConnect", json::object()}, {"CreateIndex", index}, {"ModifyIndex", index}};
}

json node_check(const char* id, const char* status, const char* service_name) {
  return {{"Node", "node-1"}, {"CheckID", id}, {"Name", id}, {"Status", status}, {"Notes", ""},
          {"Output", ""}, {"ServiceID", ""}, {"ServiceName", service_name},
          {"ServiceTags", json::array()}, {"Definition", json::object()}};
}

TEST(ConsulDocsExamples, AgentServicesFilteredByMetaEnvKeepOnlyTheQaService) {
  json services = {
      {"redis1", agent_service("redis1", 1234, {"primary", "production"}, {{"env", "production"}, {"foo", "bar"}})},
      {"redis2", agent_service("redis2", 1235, {"secondary", "production"}, {{"env", "production"}, {"foo", "bar"}})},
      {"redis3", agent_service("redis3", 1234, {"primary", "qa"}, {{"env", "qa"}})},
  };
  json expected = {{"redis3", services["redis3"]}};
  auto out = apply_filter(R"(Meta.env == "qa")", services);
  ASSERT_TRUE(out.ok()) << out.error().message();
  EXPECT_EQ(*out, expected);
}

TEST(ConsulDocsExamples, CatalogServiceFilteredByNodeMetaOsKeepsOnlyTheLinuxNode) {
  json list = json::array({
      catalog_entry("node-1", "198.18.0.1", {{"agent", "true"}, {"arch", "i386"}, {"os", "darwin"}}, {"tag"}, "qa", 30),
      catalog_entry("node-2", "198.18.0.2", {{"arch", "arm"}, {"os", "linux"}}, {"test", "tag"}, "production", 29),
      catalog_entry("node-4", "198.18.0.4", {{"arch", "i386"}, {"os", "freebsd"}}, {}, "qa", 28),
  });
  auto out = apply_filter(R"(NodeMeta.os == "linux")", list);
  ASSERT_TRUE(out.ok()) << out.error().message();
  EXPECT_EQ(*out, json::array({list[1]}));
}

TEST(ConsulDocsExamples, HealthNodeChecksFilteredByServiceNameDropTheNodeCheck) {
  json checks = json::array({node_check("node-health", "critical", ""),
                             node_check("svc-web-health", "warning", "web")});
  auto out = apply_filter(R"(ServiceName != "")", checks);
  ASSERT_TRUE(out.ok()) << out.error().message();
  EXPECT_EQ(*out, json::array({checks[1]}));
}

TEST(ConsulDocsExamples, DottedAndBracketedMapSelectorsSelectTheSameKey) {
  json entry = catalog_entry("node-1", "198.18.0.1", json::object(), {}, "qa", 1);
  entry["ServiceMeta"]["foo"] = "bar";
  for (const char* expr : {R"(ServiceMeta.foo == "bar")", R"(ServiceMeta["foo"] == "bar")"}) {
    auto f = Filter::parse(expr);
    ASSERT_TRUE(f.ok()) << expr;
    EXPECT_TRUE(f->matches(entry)) << expr;
  }
}

TEST(ConsulDocsExamples, PrecedenceExampleEqualsItsParenthesizedForm) {
  // "<E1> and not <E2> or <E3>" is "(<E1> and (not <E2>)) or <E3>", for every truth assignment.
  const char* plain = "A == 1 and not B == 1 or C == 1";
  const char* grouped = "( A == 1 and (not B == 1 )) or C == 1";
  auto f1 = Filter::parse(plain);
  auto f2 = Filter::parse(grouped);
  ASSERT_TRUE(f1.ok() && f2.ok());
  for (int bits = 0; bits < 8; ++bits) {
    json doc = {{"A", bits & 1}, {"B", (bits >> 1) & 1}, {"C", (bits >> 2) & 1}};
    EXPECT_EQ(f1->matches(doc), f2->matches(doc)) << doc.dump();
    const bool a = bits & 1, b = (bits >> 1) & 1, c = (bits >> 2) & 1;
    EXPECT_EQ(f1->matches(doc), (a && !b) || c) << doc.dump();
  }
}

TEST(ConsulDocsExamples, BacktickValuesDoNotExpandEscapes) {
  auto f = Filter::parse(R"(Output == `a\nb`)");
  ASSERT_TRUE(f.ok());
  EXPECT_TRUE(f->matches(json{{"Output", "a\\nb"}}));
  EXPECT_FALSE(f->matches(json{{"Output", "a\nb"}}));
}

TEST(ConsulDocsExamples, NumbersMayBeIntegersOrFloats) {
  auto f = Filter::parse("Port == 9090 and Weight == 0.5");
  ASSERT_TRUE(f.ok());
  EXPECT_TRUE(f->matches(json{{"Port", 9090}, {"Weight", 0.5}}));
}

}  // namespace
}  // namespace cairn::filter
