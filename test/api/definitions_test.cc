#include <gtest/gtest.h>

#include "api/json.h"
#include "api/validate.h"

namespace cairn::api {
namespace {

TEST(DecodeServiceDefinition, PythonConsulRegisterBody) {
  // Captured from python3-consul 0.7.1 (shared/reference/consul-api.md §2).
  auto r = decode_service_definition(R"({"name": "web", "enabletagoverride": true, "id": "web1", "port": 80,
      "tags": ["a"], "check": {"http": "http://x/", "interval": "5s", "DeregisterCriticalServiceAfter": "90s"}})");
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->service.service, "web");
  EXPECT_EQ(r->service.id, "web1");
  EXPECT_TRUE(r->service.enable_tag_override);
  ASSERT_EQ(r->checks.size(), 1u);
  EXPECT_EQ(r->checks[0].definition.http, "http://x/");
  EXPECT_EQ(r->checks[0].definition.interval, std::chrono::seconds(5));
  EXPECT_EQ(r->checks[0].definition.deregister_critical_service_after, std::chrono::seconds(90));
}

TEST(DecodeServiceDefinition, CheckComesBeforeChecks) {
  auto r = decode_service_definition(
      R"({"Name": "db", "Checks": [{"TTL": "10s"}, {"TCP": "localhost:5432", "Interval": "10s"}],
          "Check": {"Name": "first", "TTL": "30s"}})");
  ASSERT_TRUE(r.ok()) << r.error().message();
  ASSERT_EQ(r->checks.size(), 3u);
  EXPECT_EQ(r->checks[0].name, "first");
  EXPECT_EQ(r->checks[2].definition.tcp, "localhost:5432");
}

TEST(DecodeServiceDefinition, WrongTypeInANestedCheckNamesIt) {
  auto r = decode_service_definition(R"({"Name": "db", "Checks": [{"TTL": true}]})");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(), "Request decode failed: Checks[0].TTL: expected a duration, got bool");
}

TEST(DecodeCheckDefinition, NodeConsulBodyWithSnakeCaseAliases) {
  auto r = decode_check_definition(R"({"Name": "mem", "ID": "mem1", "ServiceID": "web1", "Notes": "n",
      "Args": ["/bin/check"], "Interval": "10s", "Timeout": "1s", "docker_container_id": "abc", "Shell": "/bin/sh",
      "tls_skip_verify": true, "output_max_size": 4096, "FailuresBeforeCritical": 3})");
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->id, "mem1");
  EXPECT_EQ(r->service_id, "web1");
  EXPECT_EQ(r->definition.script_args, (std::vector<std::string>{"/bin/check"}));
  EXPECT_EQ(r->definition.docker_container_id, "abc");
  EXPECT_EQ(r->definition.output_max_size, 4096u);
  EXPECT_EQ(r->failures_before_critical, 3);
  EXPECT_TRUE(r->definition.tls_skip_verify);
}

TEST(DecodeCheckDefinition, PythonConsulLowercaseServiceId) {
  auto r = decode_check_definition(R"({"name": "c", "id": "c1", "notes": "", "serviceid": "web1", "ttl": "15s"})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->service_id, "web1");
  EXPECT_EQ(r->definition.ttl, std::chrono::seconds(15));
}

CheckDefinition check(std::string_view json) {
  auto r = decode_check_definition(json);
  EXPECT_TRUE(r.ok());
  return r.ok() ? *r : CheckDefinition{};
}

TEST(ValidateCheckDefinition, AcceptsEachKindOnItsOwn) {
  EXPECT_TRUE(validate_check_definition(check(R"({"TTL": "10s"})")).ok());
  EXPECT_TRUE(validate_check_definition(check(R"({"HTTP": "http://x", "Interval": "10s"})")).ok());
  EXPECT_TRUE(validate_check_definition(check(R"({"AliasService": "web"})")).ok());
}

TEST(ValidateCheckDefinition, PolledKindsNeedAnInterval) {
  auto st = validate_check_definition(check(R"({"TCP": "localhost:80"})"));
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().message(), "Interval must be > 0 for Script, HTTP, H2PING, or TCP checks");
}

TEST(ValidateCheckDefinition, RefusesNoKindAndTwoKinds) {
  EXPECT_FALSE(validate_check_definition(check(R"({"Name": "nothing"})")).ok());
  EXPECT_FALSE(validate_check_definition(check(R"({"TTL": "10s", "HTTP": "http://x", "Interval": "1s"})")).ok());
}

TEST(ToHealthCheck, FillsConsulsDefaults) {
  auto h = to_health_check(check(R"({"Name": "mem", "HTTP": "http://x", "Interval": "1s"})"), "n1");
  EXPECT_EQ(h.node, "n1");
  EXPECT_EQ(h.check_id, "mem");
  EXPECT_EQ(h.status, "critical");
  EXPECT_EQ(h.type, "http");
}

TEST(ServiceDefinitionChecks, NumberIdsWhenThereAreSeveral) {
  auto d = decode_service_definition(R"({"Name": "web", "ID": "web1", "Checks": [{"TTL": "10s"}, {"TTL": "20s"}]})");
  ASSERT_TRUE(d.ok());
  auto checks = service_definition_checks(*d, "n1");
  ASSERT_EQ(checks.size(), 2u);
  EXPECT_EQ(checks[0].check_id, "service:web1:1");
  EXPECT_EQ(checks[1].check_id, "service:web1:2");
  EXPECT_EQ(checks[0].name, "Service 'web' check");
  EXPECT_EQ(checks[0].service_id, "web1");
  EXPECT_EQ(checks[0].type, "ttl");
}

TEST(ServiceDefinitionChecks, ASingleCheckIsServiceColonId) {
  auto d = decode_service_definition(R"({"Name": "web", "ID": "web1", "Check": {"TTL": "10s"}})");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(service_definition_checks(*d, "n1").at(0).check_id, "service:web1");
}

}  // namespace
}  // namespace cairn::api
