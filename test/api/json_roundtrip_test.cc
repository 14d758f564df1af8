// What to_json writes, the response decoders read back unchanged.
#include <gtest/gtest.h>

#include "api/json.h"

namespace cairn::api {
namespace {

Node sample_node() {
  return Node{"40e4a748-2192-161a-0510-9bf59fe950b5", "n1", "10.0.0.1", "dc1", {{"lan", "10.0.0.1"}}, {{"m", "v"}}, {3, 4}};
}

NodeService sample_service() {
  NodeService s;
  s.kind = "connect-proxy";
  s.id = "web1";
  s.service = "web";
  s.tags = {"a", "b"};
  s.address = "10.0.0.2";
  s.tagged_addresses["wan"] = {"1.2.3.4", 8443};
  s.meta = {{"version", "2"}};
  s.port = 8080;
  s.weights = {10, 1};
  s.enable_tag_override = true;
  s.proxy_json = R"({"DestinationServiceName":"web"})";
  s.connect_json = R"({"Native":true})";
  s.raft = {5, 6};
  return s;
}

HealthCheck sample_check() {
  HealthCheck c;
  c.node = "n1";
  c.check_id = "service:web1";
  c.name = "web health";
  c.status = "warning";
  c.notes = "n";
  c.output = "slow";
  c.service_id = "web1";
  c.service_name = "web";
  c.service_tags = {"a"};
  c.type = "http";
  c.definition.http = "http://localhost/health";
  c.definition.header = {{"X", {"1"}}};
  c.definition.interval = std::chrono::seconds(10);
  c.definition.timeout = std::chrono::milliseconds(1500);
  c.raft = {7, 8};
  return c;
}

TEST(JsonRoundTrip, KvPairsIncludingBinaryAndNullValues) {
  KVPair a;
  a.key = "bin";
  a.value = std::string("\0\x01\xff", 3);
  a.flags = 42;
  a.session = "s";
  a.lock_index = 2;
  a.raft = {1, 9};
  KVPair b;
  b.key = "null";
  std::vector<KVPair> in{a, b};
  auto out = decode_kv_pairs(to_json(in));
  ASSERT_TRUE(out.ok()) << out.error().message();
  EXPECT_EQ(*out, in);
}

TEST(JsonRoundTrip, Nodes) {
  std::vector<Node> in{sample_node()};
  auto out = decode_nodes(to_json(in));
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(*out, in);
}

TEST(JsonRoundTrip, CatalogServiceEntries) {
  std::vector<CatalogServiceEntry> in{{sample_node(), sample_service()}};
  in[0].node.raft = {};  // the flattened shape carries only the service's indexes
  auto out = decode_catalog_service_entries(to_json(in));
  ASSERT_TRUE(out.ok()) << out.error().message();
  EXPECT_EQ(*out, in);
}

TEST(JsonRoundTrip, HealthServiceEntries) {
  std::vector<HealthServiceEntry> in{{sample_node(), sample_service(), {sample_check()}}};
  auto out = decode_health_service_entries(to_json(in));
  ASSERT_TRUE(out.ok()) << out.error().message();
  EXPECT_EQ(*out, in);
}

TEST(JsonRoundTrip, Sessions) {
  Session s = default_session_for("n1");
  s.id = "adf4238a-882b-9ddc-4a9d-5b6758e4159e";
  s.name = "lock";
  s.ttl = "30s";
  s.lock_delay = std::chrono::milliseconds(500);  // under 1000 ns would be ambiguous only in requests
  s.service_checks = {{"web-check", ""}};
  s.raft = {11, 11};
  std::vector<Session> in{s};
  auto out = decode_sessions(to_json(in));
  ASSERT_TRUE(out.ok()) << out.error().message();
  EXPECT_EQ(*out, in);
}

TEST(JsonRoundTrip, ServiceTagsAndKeys) {
  std::map<std::string, std::vector<std::string>> tags{{"consul", {}}, {"web", {"a", "b"}}};
  EXPECT_EQ(*decode_service_tags(to_json(tags)), tags);
  std::vector<std::string> keys{"a/", "a/b"};
  EXPECT_EQ(*decode_keys(to_json(keys)), keys);
}

TEST(JsonRoundTrip, BadBase64ValueNamesTheElement) {
  auto out = decode_kv_pairs(R"([{"Key":"k","Value":"not base64!"}])");
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().message().rfind("Response decode failed: [0].Value: illegal base64", 0), 0u)
      << out.error().message();
}

}  // namespace
}  // namespace cairn::api
