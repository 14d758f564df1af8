// api/config_entry.h: decoding, validation and normalization of every kind,
// as data (body → canonical body, or body → the message naming the field),
// plus the rules across entries.
#include "api/config_entry.h"

#include <map>

#include <gtest/gtest.h>

namespace cairn::api {
namespace {

struct Valid {
  const char* name;
  const char* body;
  const char* canonical;
};

class ValidEntry : public ::testing::TestWithParam<Valid> {};

TEST_P(ValidEntry, NormalizesToConsulsShape) {
  auto e = decode_config_entry(GetParam().body);
  ASSERT_TRUE(e.ok()) << e.error().message();
  EXPECT_EQ(e->body, GetParam().canonical);
  EXPECT_EQ(e->create_index, 0u);
}

INSTANTIATE_TEST_SUITE_P(
    Kinds, ValidEntry,
    ::testing::Values(
        Valid{"service_defaults_snake_case",
              R"({"kind":"service-defaults","name":"web","protocol":"HTTP","mesh_gateway":{"mode":"local"},
                  "local_connect_timeout_ms":500,"meta":{"b":"2","a":"1"}})",
              R"({"Kind":"service-defaults","Name":"web","Protocol":"http","MeshGateway":{"Mode":"local"},)"
              R"("LocalConnectTimeoutMs":500,"Meta":{"a":"1","b":"2"}})"},
        Valid{"service_defaults_upstream_limits",
              R"({"Kind":"service-defaults","Name":"api","UpstreamConfig":{"Defaults":{"Limits":{"MaxConnections":10}},
                  "Overrides":[{"Name":"db","PassiveHealthCheck":{"Interval":"10000ms","MaxFailures":3}}]}})",
              R"({"Kind":"service-defaults","Name":"api","UpstreamConfig":{"Overrides":[{"Name":"db",)"
              R"("PassiveHealthCheck":{"Interval":"10s","MaxFailures":3}}],"Defaults":{"Limits":{"MaxConnections":10}}}})"},
        Valid{"zero_values_left_out",
              R"({"Kind":"service-defaults","Name":"web","Protocol":"","ExternalSNI":null,"Expose":{}})",
              R"({"Kind":"service-defaults","Name":"web"})"},
        Valid{"proxy_defaults_config_kept_sorted",
              R"({"Kind":"proxy-defaults","Name":"global","Config":{"protocol":"http","b":{"z":1,"a":2}}})",
              R"({"Kind":"proxy-defaults","Name":"global","Config":{"b":{"a":2,"z":1},"protocol":"http"}})"},
        Valid{"router_methods_uppercased_durations_formatted",
              R"({"Kind":"service-router","Name":"web","Routes":[{"Match":{"HTTP":{"PathPrefix":"/admin",
                  "Methods":["get","Post"],"Header":[{"Name":"x-debug","Present":true}]}},
                  "Destination":{"Service":"admin","RequestTimeout":"1500ms","NumRetries":3,"RetryOn":["5xx"]}}]})",
              R"({"Kind":"service-router","Name":"web","Routes":[{"Match":{"HTTP":{"PathPrefix":"/admin",)"
              R"("Header":[{"Name":"x-debug","Present":true}],"Methods":["GET","POST"]}},)"
              R"("Destination":{"Service":"admin","RequestTimeout":"1.5s","NumRetries":3,"RetryOn":["5xx"]}}]})"},
        Valid{"router_path_regex",
              R"({"Kind":"service-router","Name":"web","Routes":[{"Match":{"HTTP":{"path_regex":"/v[0-9]+/.*"}}}]})",
              R"({"Kind":"service-router","Name":"web","Routes":[{"Match":{"HTTP":{"PathRegex":"/v[0-9]+/.*"}}}]})"},
        Valid{"splitter_weights_rounded_to_hundredths",
              R"({"Kind":"service-splitter","Name":"web","Splits":[{"Weight":33.333,"ServiceSubset":"v1"},
                  {"Weight":33.334,"ServiceSubset":"v2"},{"Weight":33.336,"service_subset":"v3"}]})",
              R"({"Kind":"service-splitter","Name":"web","Splits":[{"Weight":33.33,"ServiceSubset":"v1"},)"
              R"({"Weight":33.33,"ServiceSubset":"v2"},{"Weight":33.34,"ServiceSubset":"v3"}]})"},
        Valid{"splitter_zero_weight_kept",
              R"({"Kind":"service-splitter","Name":"web","Splits":[{"Weight":100},{"Weight":0,"Service":"b"}]})",
              R"({"Kind":"service-splitter","Name":"web","Splits":[{"Weight":100},{"Weight":0,"Service":"b"}]})"},
        Valid{"resolver_subsets_sorted",
              R"({"Kind":"service-resolver","Name":"web","DefaultSubset":"v1","ConnectTimeout":"15s",
                  "Subsets":{"v2":{"Filter":"Service.Meta.version == 2"},"v1":{"Filter":"Service.Meta.version == 1",
                  "OnlyPassing":true}},"LoadBalancer":{"Policy":"ring_hash","RingHashConfig":{"MinimumRingSize":1024}}})",
              R"({"Kind":"service-resolver","Name":"web","DefaultSubset":"v1","Subsets":{"v1":{"Filter":)"
              R"("Service.Meta.version == 1","OnlyPassing":true},"v2":{"Filter":"Service.Meta.version == 2"}},)"
              R"("ConnectTimeout":"15s","LoadBalancer":{"Policy":"ring_hash","RingHashConfig":{"MinimumRingSize":1024}}})"},
        Valid{"resolver_redirect_and_failover",
              R"({"Kind":"service-resolver","Name":"db","Redirect":{"Service":"db2","Datacenter":"dc2"}})",
              R"({"Kind":"service-resolver","Name":"db","Redirect":{"Service":"db2","Datacenter":"dc2"}})"}),
    [](const auto& info) { return std::string(info.param.name); });

struct Invalid {
  const char* name;
  const char* body;
  const char* message;
};

class InvalidEntry : public ::testing::TestWithParam<Invalid> {};

TEST_P(InvalidEntry, IsRefusedNamingTheField) {
  auto e = decode_config_entry(GetParam().body);
  ASSERT_FALSE(e.ok()) << e->body;
  EXPECT_TRUE(e.error().is(errc::invalid_argument));
  EXPECT_EQ(e.error().message(), GetParam().message);
}

INSTANTIATE_TEST_SUITE_P(
    Kinds, InvalidEntry,
    ::testing::Values(
        Invalid{"not_json", "{", "Request decode failed: "
                                 "parse error at line 1, column 2: syntax error while "
                                 "parsing object key - unexpected end of input; expected string literal"},
        Invalid{"no_kind", R"({"Name":"web"})",
                "Request decode failed: Payload does not contain a kind/Kind key at the top level"},
        Invalid{"unknown_kind", R"({"Kind":"mesh-thing","Name":"web"})", R"(invalid config entry kind: "mesh-thing")"},
        Invalid{"no_name", R"({"Kind":"service-defaults"})", "Name is required"},
        Invalid{"unknown_top_field", R"({"Kind":"service-defaults","Name":"web","Protocl":"http"})",
                "Request decode failed: Protocl: unknown field"},
        Invalid{"unknown_nested_field",
                R"({"Kind":"service-router","Name":"web","Routes":[{"Match":{"HTTP":{"Bogus":"x"}}}]})",
                "Request decode failed: Routes[0].Match.HTTP.Bogus: unknown field"},
        Invalid{"wrong_type", R"({"Kind":"service-defaults","Name":"web","Protocol":7})",
                "Request decode failed: Protocol: expected a string, got number"},
        Invalid{"bad_protocol", R"({"Kind":"service-defaults","Name":"web","Protocol":"udp"})",
                R"(Protocol: must be one of "tcp", "http", "http2", "grpc", got "udp")"},
        Invalid{"bad_mesh_gateway_mode", R"({"Kind":"service-defaults","Name":"web","MeshGateway":{"Mode":"far"}})",
                R"(MeshGateway.Mode: must be one of "", "none", "local", "remote", got "far")"},
        Invalid{"override_without_name",
                R"({"Kind":"service-defaults","Name":"web","UpstreamConfig":{"Overrides":[{"Protocol":"http"}]}})",
                "UpstreamConfig.Overrides[0].Name: required"},
        Invalid{"port_out_of_range",
                R"({"Kind":"service-defaults","Name":"web","Destination":{"Port":70000}})",
                "Request decode failed: Destination.Port: must be between 0 and 65535, got 70000"},
        Invalid{"proxy_defaults_not_global", R"({"Kind":"proxy-defaults","Name":"web"})",
                R"(invalid name ("web"), only "global" is supported)"},
        Invalid{"proxy_defaults_bad_protocol", R"({"Kind":"proxy-defaults","Name":"global","Config":{"protocol":"x"}})",
                R"(Config.protocol: must be one of "tcp", "http", "http2", "grpc", got "x")"},
        Invalid{"router_two_paths",
                R"({"Kind":"service-router","Name":"web","Routes":[{"Match":{"HTTP":{"PathExact":"/a","PathPrefix":"/b"}}}]})",
                "Route[0] should only contain at most one of PathExact, PathPrefix, or PathRegex"},
        Invalid{"router_path_without_slash",
                R"({"Kind":"service-router","Name":"web","Routes":[{},{"Match":{"HTTP":{"PathPrefix":"admin"}}}]})",
                R"(Route[1] PathPrefix doesn't start with '/': "admin")"},
        Invalid{"router_bad_regex",
                R"({"Kind":"service-router","Name":"web","Routes":[{"Match":{"HTTP":{"PathRegex":"/(a"}}}]})",
                R"(Route[0] PathRegex is not a valid regular expression: "/(a")"},
        Invalid{"router_header_two_matches",
                R"({"Kind":"service-router","Name":"web","Routes":[{"Match":{"HTTP":{"Header":[{"Name":"x","Exact":"a","Prefix":"b"}]}}}]})",
                "Route[0] Header[0] should only contain one of Present, Exact, Prefix, Suffix, or Regex"},
        Invalid{"router_header_no_name",
                R"({"Kind":"service-router","Name":"web","Routes":[{"Match":{"HTTP":{"Header":[{"Exact":"a"}]}}}]})",
                "Route[0] Header[0] missing required Name field"},
        Invalid{"router_bad_method",
                R"({"Kind":"service-router","Name":"web","Routes":[{"Match":{"HTTP":{"Methods":["FETCH"]}}}]})",
                R"(Route[0] Methods contains an invalid method "FETCH")"},
        Invalid{"router_duplicate_method",
                R"({"Kind":"service-router","Name":"web","Routes":[{"Match":{"HTTP":{"Methods":["GET","get"]}}}]})",
                R"(Route[0] Methods contains "GET" more than once)"},
        Invalid{"router_prefix_rewrite_without_path",
                R"({"Kind":"service-router","Name":"web","Routes":[{"Destination":{"PrefixRewrite":"/"}}]})",
                "Route[0] cannot make use of PrefixRewrite without configuring either PathExact or PathPrefix"},
        Invalid{"router_bad_retry_condition",
                R"({"Kind":"service-router","Name":"web","Routes":[{"Destination":{"RetryOn":["sometimes"]}}]})",
                R"(Route[0] contains an invalid retry condition: "sometimes")"},
        Invalid{"router_bad_duration",
                R"({"Kind":"service-router","Name":"web","Routes":[{"Destination":{"RequestTimeout":"soon"}}]})",
                "Request decode failed: Routes[0].Destination.RequestTimeout: invalid duration \"soon\""},
        Invalid{"splitter_no_splits", R"({"Kind":"service-splitter","Name":"web","Splits":[]})", "no splits configured"},
        Invalid{"splitter_sum_not_100",
                R"({"Kind":"service-splitter","Name":"web","Splits":[{"Weight":60,"ServiceSubset":"a"},{"Weight":30,"ServiceSubset":"b"}]})",
                "the sum of all split weights must be 100, not 90.000000"},
        Invalid{"splitter_sum_just_off",
                R"({"Kind":"service-splitter","Name":"web","Splits":[{"Weight":50.01,"ServiceSubset":"a"},{"Weight":50,"ServiceSubset":"b"}]})",
                "the sum of all split weights must be 100, not 100.010002"},
        Invalid{"splitter_weight_out_of_range",
                R"({"Kind":"service-splitter","Name":"web","Splits":[{"Weight":150},{"Weight":-50,"Service":"b"}]})",
                "Splits[0].Weight: must be between 0 and 100, got 150"},
        Invalid{"splitter_duplicate_destination",
                R"({"Kind":"service-splitter","Name":"web","Splits":[{"Weight":50},{"Weight":50,"Service":"web"}]})",
                R"(split destination occurs more than once: service="web", subset="", namespace="", partition="")"},
        Invalid{"resolver_default_subset_undefined",
                R"({"Kind":"service-resolver","Name":"web","DefaultSubset":"v3","Subsets":{"v1":{}}})",
                R"(DefaultSubset "v3" is not a valid subset)"},
        Invalid{"resolver_bad_subset_name",
                R"({"Kind":"service-resolver","Name":"web","Subsets":{"V_1":{}}})",
                R"(Subset "V_1" is invalid: must be a DNS label (lowercase letters, digits and '-', at most 63))"},
        Invalid{"resolver_redirect_and_failover",
                R"({"Kind":"service-resolver","Name":"web","Redirect":{"Service":"b"},"Failover":{"*":{"Service":"c"}}})",
                "Redirect and Failover cannot both be set"},
        Invalid{"resolver_redirect_subset_without_service",
                R"({"Kind":"service-resolver","Name":"web","Redirect":{"ServiceSubset":"v1"}})",
                "Redirect.ServiceSubset defined without Redirect.Service"},
        Invalid{"resolver_failover_unknown_subset",
                R"({"Kind":"service-resolver","Name":"web","Failover":{"v9":{"Service":"b"}}})",
                R"(Bad Failover["v9"]: not a valid subset subset)"},
        Invalid{"resolver_bad_connect_timeout",
                R"({"Kind":"service-resolver","Name":"web","ConnectTimeout":"-5s"})",
                R"(Request decode failed: ConnectTimeout: must not be negative, got "-5s")"},
        Invalid{"resolver_bad_lb_policy",
                R"({"Kind":"service-resolver","Name":"web","LoadBalancer":{"Policy":"fastest"}})",
                R"(Bad LoadBalancer policy: "fastest" is not supported)"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(ConfigEntry, KindsAreCaseSensitiveAndListed) {
  EXPECT_TRUE(is_config_entry_kind("service-intentions"));
  EXPECT_FALSE(is_config_entry_kind("Service-Defaults"));
  EXPECT_EQ(config_entry_kinds().size(), 6u);
  EXPECT_EQ(check_config_entry_kind("nope").error().message(), R"(invalid config entry kind: "nope")");
}

TEST(ConfigEntry, MetaLimitsAreConsuls) {
  std::string body = R"({"Kind":"service-defaults","Name":"web","Meta":{"k":")" + std::string(513, 'x') + R"("}})";
  auto e = decode_config_entry(body);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().message(), R"(Meta value for key "k" exceeds maximum length 512)");
  body = R"({"Kind":"service-defaults","Name":"web","Meta":{")" + std::string(129, 'k') + R"(":"v"}})";
  EXPECT_EQ(decode_config_entry(body).error().message(),
            "Meta key \"" + std::string(129, 'k') + "\" exceeds maximum length 128");
  std::string many = R"({"Kind":"service-defaults","Name":"web","Meta":{)";
  for (int i = 0; i < 65; ++i) many += (i ? "," : "") + std::string("\"k") + std::to_string(i) + "\":\"v\"";
  EXPECT_EQ(decode_config_entry(many + "}}").error().message(), "Meta exceeds maximum element count 64");
}

TEST(ConfigEntry, DecodeKeepsKindAndName) {
  auto e = decode_config_entry(R"({"Kind":"service-resolver","Name":"Web"})");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->kind, "service-resolver");
  EXPECT_EQ(e->name, "Web");
}

TEST(ConfigEntry, OutputAddsIndexes) {
  ConfigEntry e{"service-defaults", "web", R"({"Kind":"service-defaults","Name":"web","Protocol":"http"})", 5, 7};
  EXPECT_EQ(config_entry_json(e),
            R"({"Kind":"service-defaults","Name":"web","Protocol":"http","CreateIndex":5,"ModifyIndex":7})");
  EXPECT_EQ(config_entries_json({}), "[]");
  EXPECT_EQ(config_entries_json({e}), "[" + config_entry_json(e) + "]");
}

TEST(ConfigEntry, CanonicalBodyDecodesToItself) {
  auto first = decode_config_entry(
      R"({"kind":"service-router","name":"web","routes":[{"match":{"http":{"path_exact":"/x"}}}]})");
  ASSERT_TRUE(first.ok());
  auto second = decode_config_entry(first->body);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->body, first->body);
}

// ---- rules across entries ----

class Entries {
 public:
  void put(const char* body) {
    auto e = decode_config_entry(body);
    ASSERT_TRUE(e.ok()) << e.error().message();
    entries_[{e->kind, e->name}] = *e;
  }
  void erase(std::string kind, std::string name) { entries_.erase({kind, name}); }
  ConfigEntryView view() const {
    ConfigEntryView v;
    v.get = [this](std::string_view k, std::string_view n) -> Result<std::optional<ConfigEntry>> {
      auto it = entries_.find({std::string(k), std::string(n)});
      if (it == entries_.end()) return std::optional<ConfigEntry>();
      return std::optional<ConfigEntry>(it->second);
    };
    v.list = [this](std::string_view k) -> Result<std::vector<ConfigEntry>> {
      std::vector<ConfigEntry> out;
      for (const auto& [key, e] : entries_)
        if (key.first == k) out.push_back(e);
      return out;
    };
    return v;
  }

 private:
  std::map<std::pair<std::string, std::string>, ConfigEntry> entries_;
};

constexpr const char* kRouter =
    R"({"Kind":"service-router","Name":"web","Routes":[{"Match":{"HTTP":{"PathPrefix":"/v2"}},"Destination":{"ServiceSubset":"v2"}}]})";

TEST(ConfigEntryGraph, RouterNeedsAnHttpProtocol) {
  Entries s;
  s.put(kRouter);
  Status st = check_config_entry_graph(s.view(), kServiceRouter, "web");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().message(), R"(service-router "web": discovery chain "web" uses a protocol "tcp" that does not permit )"
                          R"(advanced routing or splitting behavior)");
}

TEST(ConfigEntryGraph, ProtocolComesFromServiceDefaultsThenProxyDefaults) {
  Entries s;
  EXPECT_EQ(*service_protocol(s.view(), "web"), "tcp");
  s.put(R"({"Kind":"proxy-defaults","Name":"global","Config":{"protocol":"http2"}})");
  EXPECT_EQ(*service_protocol(s.view(), "web"), "http2");
  s.put(R"({"Kind":"service-defaults","Name":"web","Protocol":"grpc"})");
  EXPECT_EQ(*service_protocol(s.view(), "web"), "grpc");
}

TEST(ConfigEntryGraph, RouterNeedsTheSubsetsItNames) {
  Entries s;
  s.put(R"({"Kind":"service-defaults","Name":"web","Protocol":"http"})");
  s.put(kRouter);
  Status st = check_config_entry_graph(s.view(), kServiceRouter, "web");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().message(), R"(service-router "web": Routes[0].Destination.ServiceSubset: service "web" has no subset )"
                          R"("v2" (no service-resolver defines it))");
  s.put(R"({"Kind":"service-resolver","Name":"web","Subsets":{"v2":{"Filter":"Service.Meta.v == 2"}}})");
  EXPECT_TRUE(check_config_entry_graph(s.view(), kServiceRouter, "web").ok());
}

TEST(ConfigEntryGraph, RemovingWhatARouterNeedsIsRefused) {
  Entries s;
  s.put(R"({"Kind":"service-defaults","Name":"web","Protocol":"http"})");
  s.put(R"({"Kind":"service-resolver","Name":"web","Subsets":{"v2":{}}})");
  s.put(kRouter);
  ASSERT_TRUE(check_config_entry_graph(s.view(), kServiceRouter, "web").ok());
  // After deleting the service-defaults the router's protocol is tcp again.
  s.erase("service-defaults", "web");
  EXPECT_FALSE(check_config_entry_graph(s.view(), kServiceDefaults, "web").ok());
  s.put(R"({"Kind":"service-defaults","Name":"web","Protocol":"http"})");
  // A resolver without the subset.
  s.put(R"({"Kind":"service-resolver","Name":"web"})");
  EXPECT_FALSE(check_config_entry_graph(s.view(), kServiceResolver, "web").ok());
  // Unrelated kinds are not checked.
  EXPECT_TRUE(check_config_entry_graph(s.view(), kServiceIntentions, "web").ok());
}

TEST(ConfigEntryGraph, SplitterToAnotherServiceChecksThatServicesResolver) {
  Entries s;
  s.put(R"({"Kind":"proxy-defaults","Name":"global","Config":{"protocol":"http"}})");
  s.put(R"({"Kind":"service-splitter","Name":"web","Splits":[{"Weight":50},{"Weight":50,"Service":"web-v2","ServiceSubset":"canary"}]})");
  Status st = check_config_entry_graph(s.view(), kServiceSplitter, "web");
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message().find(R"(Splits[1].ServiceSubset: service "web-v2" has no subset "canary")"), std::string::npos);
  s.put(R"({"Kind":"service-resolver","Name":"web-v2","Subsets":{"canary":{}}})");
  EXPECT_TRUE(check_config_entry_graph(s.view(), kServiceSplitter, "web").ok());
}

}  // namespace
}  // namespace cairn::api
