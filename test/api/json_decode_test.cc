#include <gtest/gtest.h>

#include "api/json.h"

namespace cairn::api {
namespace {

TEST(DecodeRegister, ReadsConsulsFieldNames) {
  auto r = decode_register_request(R"({
    "Datacenter": "dc1", "ID": "40e4a748-2192-161a-0510-9bf59fe950b5", "Node": "foobar",
    "Address": "192.168.10.10", "TaggedAddresses": {"lan": "192.168.10.10", "wan": "10.0.10.10"},
    "NodeMeta": {"somekey": "somevalue"},
    "Service": {"ID": "redis1", "Service": "redis", "Tags": ["primary", "v1"], "Address": "127.0.0.1",
                "TaggedAddresses": {"lan": {"address": "127.0.0.1", "port": 8000}},
                "Meta": {"redis_version": "4.0"}, "Port": 8000, "Weights": {"Passing": 10, "Warning": 1},
                "EnableTagOverride": true},
    "Check": {"Node": "foobar", "CheckID": "service:redis1", "Name": "Redis health check",
              "Notes": "Script based health check", "Status": "passing", "ServiceID": "redis1",
              "Definition": {"TCP": "localhost:8888", "Interval": "5s", "Timeout": "1s",
                             "DeregisterCriticalServiceAfter": "30s"}},
    "SkipNodeUpdate": false
  })");
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->node, "foobar");
  EXPECT_EQ(r->tagged_addresses.at("wan"), "10.0.10.10");
  EXPECT_EQ(r->node_meta.at("somekey"), "somevalue");
  ASSERT_TRUE(r->service.has_value());
  EXPECT_EQ(r->service->tags, (std::vector<std::string>{"primary", "v1"}));
  EXPECT_EQ(r->service->tagged_addresses.at("lan").port, 8000);
  EXPECT_EQ(r->service->weights.passing, 10);
  EXPECT_TRUE(r->service->enable_tag_override);
  ASSERT_TRUE(r->check.has_value());
  EXPECT_EQ(r->check->definition.tcp, "localhost:8888");
  EXPECT_EQ(r->check->definition.interval, std::chrono::seconds(5));
  EXPECT_EQ(r->check->definition.deregister_critical_service_after, std::chrono::seconds(30));
}

TEST(DecodeRegister, FieldNamesAreCaseInsensitive) {
  auto r = decode_register_request(
      R"({"node": "n1", "ADDRESS": "10.0.0.1", "service": {"service": "web", "PORT": 80, "id": "w1"}})");
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->node, "n1");
  EXPECT_EQ(r->address, "10.0.0.1");
  EXPECT_EQ(r->service->port, 80);
  EXPECT_EQ(r->service->id, "w1");
}

TEST(DecodeRegister, AcceptsSnakeCaseAliases) {
  auto r = decode_register_request(R"({"node": "n1", "address": "a", "node_meta": {"k": "v"}, "skip_node_update": true,
      "service": {"service": "web", "enable_tag_override": true, "tagged_addresses": {"wan": {"Address": "x", "Port": 1}}},
      "check": {"check_id": "c1", "service_id": "web",
                "definition": {"deregister_critical_service_after": "90s", "tls_skip_verify": true}}})");
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->node_meta.at("k"), "v");
  EXPECT_TRUE(r->skip_node_update);
  EXPECT_TRUE(r->service->enable_tag_override);
  EXPECT_EQ(r->service->tagged_addresses.at("wan").address, "x");
  EXPECT_EQ(r->check->check_id, "c1");
  EXPECT_EQ(r->check->service_id, "web");
  EXPECT_EQ(r->check->definition.deregister_critical_service_after, std::chrono::seconds(90));
  EXPECT_TRUE(r->check->definition.tls_skip_verify);
}

TEST(DecodeRegister, LastOfTwoSpellingsWins) {
  auto r = decode_register_request(R"({"Node": "first", "node": "second"})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->node, "second");
}

TEST(DecodeRegister, UnknownFieldsAndNullsAreIgnored) {
  auto r = decode_register_request(R"({"Node": "n1", "Bogus": [1, 2], "Address": null, "Service": null})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->address, "");
  EXPECT_FALSE(r->service.has_value());
}

TEST(DecodeRegister, ReadsTheTokenFromWriteRequest) {
  auto r = decode_register_request(R"({"node": "n1", "WriteRequest": {"Token": "t0k"}})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->token, "t0k");
}

TEST(DecodeRegister, WrongTypeNamesTheField) {
  auto r = decode_register_request(R"({"Node": "n1", "Service": {"Service": "web", "Port": "80"}})");
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.error().is(errc::invalid_argument));
  EXPECT_EQ(r.error().message(), "Request decode failed: Service.Port: expected a number, got string");
}

TEST(DecodeRegister, WrongTypeInsideAListNamesTheElement) {
  auto r = decode_register_request(R"({"Node": "n1", "Service": {"Tags": ["a", 3]}})");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(), "Request decode failed: Service.Tags[1]: expected a string, got number");
}

TEST(DecodeRegister, FractionalPortIsRefused) {
  auto r = decode_register_request(R"({"Service": {"Port": 80.5}})");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("Service.Port"), std::string::npos);
}

TEST(DecodeRegister, BadDurationNamesTheField) {
  auto r = decode_register_request(R"({"Check": {"Definition": {"Interval": "10 parsecs"}}})");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("Check.Definition.Interval"), std::string::npos);
}

TEST(DecodeRegister, DurationMayBeNanoseconds) {
  auto r = decode_register_request(R"({"Check": {"Definition": {"Interval": 1500000000}}})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->check->definition.interval, std::chrono::milliseconds(1500));
}

TEST(DecodeRegister, MalformedJsonIsADecodeError) {
  auto r = decode_register_request(R"({"Node": )");
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.error().is(errc::invalid_argument));
  EXPECT_EQ(r.error().message().rfind("Request decode failed: ", 0), 0u);
}

TEST(DecodeRegister, EmptyBodyIsEof) {
  auto r = decode_register_request("  ");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(), "Request decode failed: EOF");
}

TEST(DecodeRegister, ABodyThatIsNotAnObjectIsRefused) {
  auto r = decode_register_request("[1]");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(), "Request decode failed: body: expected an object, got array");
}

TEST(DecodeRegister, PythonConsulRegisterBody) {
  // What python3-consul 0.7.1 sends for catalog.register.
  auto r = decode_register_request(R"({"node": "n1", "address": "10.1.1.1", "datacenter": "dc1",
      "service": {"Service": "web", "ID": "web1", "Tags": ["a"], "Port": 80},
      "check": {"Node": "n1", "CheckID": "c", "Name": "c", "Notes": "", "Status": "passing", "ServiceID": "web1"},
      "WriteRequest": {"Token": "tok"}})");
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->datacenter, "dc1");
  EXPECT_EQ(r->check->status, "passing");
}

TEST(DecodeDeregister, ReadsNodeServiceAndCheck) {
  auto r = decode_deregister_request(R"({"node": "n1", "datacenter": "dc1", "serviceid": "web1", "CheckID": "c"})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->node, "n1");
  EXPECT_EQ(r->service_id, "web1");
  EXPECT_EQ(r->check_id, "c");
}

TEST(DecodeDeregister, AcceptsSnakeCaseIds) {
  auto r = decode_deregister_request(R"({"node": "n1", "service_id": "web1"})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->service_id, "web1");
}

TEST(DecodeNodeService, NameIsAnAliasOfService) {
  auto r = decode_node_service(R"({"name": "web", "id": "w", "tags": ["a"], "port": 80})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->service, "web");
}

TEST(DecodeNodeService, ProxyIsKeptAsJson) {
  auto r = decode_node_service(R"({"Service": "p", "Kind": "connect-proxy", "Proxy": {"DestinationServiceName": "web"}})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->kind, "connect-proxy");
  EXPECT_EQ(r->proxy_json, R"({"DestinationServiceName":"web"})");
}

TEST(DecodeHealthCheck, MapsOfListsDecode) {
  auto r = decode_health_check(R"({"Name": "h", "Definition": {"HTTP": "http://x", "Header": {"A": ["1", "2"]}}})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->definition.header.at("A"), (std::vector<std::string>{"1", "2"}));
}

TEST(DecodeHealthCheck, MapValueOfTheWrongTypeNamesTheKey) {
  auto r = decode_health_check(R"({"Definition": {"Header": {"A": "1"}}})");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(), "Request decode failed: Definition.Header[A]: expected an array, got string");
}

// --- sessions ---

constexpr auto kMin = std::chrono::seconds(10);
constexpr auto kMax = std::chrono::hours(24);

TEST(DecodeSession, EmptyBodyKeepsTheAgentDefaults) {
  auto r = decode_session_create("", default_session_for("n1"), kMin, kMax);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->node, "n1");
  EXPECT_EQ(r->lock_delay, std::chrono::seconds(15));
  EXPECT_EQ(r->behavior, "release");
  EXPECT_EQ(r->node_checks, (std::vector<std::string>{"serfHealth"}));
  EXPECT_TRUE(r->checks.empty());
}

TEST(DecodeSession, PythonConsulBody) {
  auto r = decode_session_create(R"({"name": "lock", "node": "n2", "lockdelay": "5s", "behavior": "delete", "ttl": "30s"})",
                                 default_session_for("n1"), kMin, kMax);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->name, "lock");
  EXPECT_EQ(r->node, "n2");
  EXPECT_EQ(r->lock_delay, std::chrono::seconds(5));
  EXPECT_EQ(r->behavior, "delete");
  EXPECT_EQ(r->ttl, "30s");
}

TEST(DecodeSession, SmallLockDelayNumbersAreSeconds) {
  auto r = decode_session_create(R"({"LockDelay": 20})", default_session_for("n1"), kMin, kMax);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->lock_delay, std::chrono::seconds(20));
  auto ns = decode_session_create(R"({"LockDelay": 15000000000})", default_session_for("n1"), kMin, kMax);
  EXPECT_EQ(ns->lock_delay, std::chrono::seconds(15));
}

TEST(DecodeSession, ExplicitEmptyChecksClearTheDefaultNodeCheck) {
  auto r = decode_session_create(R"({"Checks": []})", default_session_for("n1"), kMin, kMax);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->node_checks.empty());
  EXPECT_TRUE(r->all_check_ids().empty());
}

TEST(DecodeSession, LegacyChecksAddToTheDefaultNodeCheck) {
  auto r = decode_session_create(R"({"checks": ["a"]})", default_session_for("n1"), kMin, kMax);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->all_check_ids(), (std::vector<std::string>{"a", "serfHealth"}));
}

TEST(DecodeSession, ServiceChecksDecode) {
  auto r = decode_session_create(R"({"NodeChecks": [], "ServiceChecks": [{"ID": "web-check"}]})",
                                 default_session_for("n1"), kMin, kMax);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->all_check_ids(), (std::vector<std::string>{"web-check"}));
}

TEST(DecodeSession, BadBehaviorIsRefused) {
  auto r = decode_session_create(R"({"Behavior": "explode"})", default_session_for("n1"), kMin, kMax);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(), "Invalid Behavior setting 'explode'");
}

TEST(DecodeSession, TtlOutsideTheRangeIsRefused) {
  auto r = decode_session_create(R"({"TTL": "5s"})", default_session_for("n1"), kMin, kMax);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(), "Invalid Session TTL '5s', must be between [10s=24h0m0s]");
}

TEST(DecodeSession, ZeroTtlMeansNone) {
  auto r = decode_session_create(R"({"TTL": "0s"})", default_session_for("n1"), kMin, kMax);
  ASSERT_TRUE(r.ok());
}

TEST(DecodeRegister, MangledBodiesGiveErrorsNeverCrashes) {
  const std::string body = R"({"Node":"n","Address":"a","Service":{"Service":"w","Tags":["t"],"Port":1,
      "TaggedAddresses":{"lan":{"Address":"x","Port":2}},"Weights":{"Passing":1}},
      "Checks":[{"CheckID":"c","Definition":{"Interval":"1s","Header":{"h":["v"]}}}]})";
  uint64_t x = 0x9E3779B97F4A7C15ull;
  auto next = [&x] {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x;
  };
  const std::string junk = "{}[]\":,0-1e9tfn \\\x00\xff";
  int decoded = 0;
  for (int i = 0; i < 5000; ++i) {
    std::string m = body;
    for (int k = 1 + static_cast<int>(next() % 4); k > 0; --k) {
      size_t pos = next() % m.size();
      switch (next() % 3) {
        case 0: m[pos] = junk[next() % junk.size()]; break;
        case 1: m.erase(pos, 1 + next() % 8); break;
        default: m.insert(pos, 1, junk[next() % junk.size()]); break;
      }
      if (m.empty()) m = "{";
    }
    auto r = decode_register_request(m);
    if (r.ok()) {
      ++decoded;
    } else {
      EXPECT_EQ(r.error().message().rfind("Request decode failed: ", 0), 0u) << m;
    }
  }
  EXPECT_GT(decoded, 0);  // some mutations stay valid JSON: the decoder took both paths
}

}  // namespace
}  // namespace cairn::api
