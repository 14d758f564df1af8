#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "api/json.h"

namespace cairn::api {
namespace {

using nlohmann::json;

std::vector<std::string> keys_in_order(const std::string& text) {
  std::vector<std::string> out;
  auto j = nlohmann::ordered_json::parse(text);
  for (const auto& [k, v] : j.items()) out.push_back(k);
  return out;
}

TEST(EncodeKv, MatchesConsulsShape) {
  KVPair kv;
  kv.key = "zip";
  kv.value = "test";
  kv.session = "adf4238a";
  kv.lock_index = 3;
  kv.raft = {100, 200};
  EXPECT_EQ(to_json(kv),
            R"({"LockIndex":3,"Key":"zip","Flags":0,"Value":"dGVzdA==","Session":"adf4238a","CreateIndex":100,"ModifyIndex":200})");
}

TEST(EncodeKv, NoValueIsNullAndNoSessionIsOmitted) {
  KVPair kv;
  kv.key = "k";
  auto j = json::parse(to_json(kv));
  EXPECT_TRUE(j["Value"].is_null());
  EXPECT_FALSE(j.contains("Session"));
}

TEST(EncodeKv, AListOfNoKeysIsAnEmptyArray) {
  EXPECT_EQ(to_json(std::vector<KVPair>{}), "[]");
  EXPECT_EQ(to_json(std::vector<std::string>{}), "[]");
}

TEST(EncodeNode, HasConsulsFieldsInOrder) {
  Node n;
  n.id = "40e4a748-2192-161a-0510-9bf59fe950b5";
  n.node = "foobar";
  n.address = "10.1.10.12";
  n.datacenter = "dc1";
  n.tagged_addresses = {{"lan", "10.1.10.12"}, {"wan", "10.1.10.12"}};
  n.raft = {5, 6};
  EXPECT_EQ(keys_in_order(to_json(n)), (std::vector<std::string>{"ID", "Node", "Address", "Datacenter",
                                                                 "TaggedAddresses", "Meta", "CreateIndex",
                                                                 "ModifyIndex"}));
  auto j = json::parse(to_json(n));
  EXPECT_EQ(j["TaggedAddresses"]["wan"], "10.1.10.12");
  EXPECT_EQ(j["CreateIndex"], 5);
}

TEST(EncodeService, ZeroProxyAndConnectLookLikeConsuls) {
  NodeService s;
  s.id = "web1";
  s.service = "web";
  auto j = json::parse(to_json(s));
  EXPECT_FALSE(j.contains("Kind"));
  EXPECT_FALSE(j.contains("TaggedAddresses"));
  EXPECT_EQ(j["Weights"], json({{"Passing", 1}, {"Warning", 1}}));
  EXPECT_EQ(j["Proxy"], json({{"Mode", ""}, {"MeshGateway", json::object()}, {"Expose", json::object()}}));
  EXPECT_EQ(j["Connect"], json::object());
  EXPECT_EQ(j["Tags"], json::array());
}

TEST(EncodeService, KindAndProxyPassThrough) {
  NodeService s;
  s.kind = "connect-proxy";
  s.proxy_json = R"({"DestinationServiceName":"web"})";
  auto j = json::parse(to_json(s));
  EXPECT_EQ(j["Kind"], "connect-proxy");
  EXPECT_EQ(j["Proxy"]["DestinationServiceName"], "web");
}

TEST(EncodeCatalogService, FlattensNodeAndServiceFields) {
  CatalogServiceEntry e;
  e.node.node = "n1";
  e.node.address = "10.0.0.1";
  e.node.meta = {{"k", "v"}};
  e.service.id = "web1";
  e.service.service = "web";
  e.service.port = 80;
  e.service.tags = {"a"};
  e.service.raft = {7, 8};
  auto arr = json::parse(to_json(std::vector<CatalogServiceEntry>{e}));
  auto j = arr.at(0);
  EXPECT_EQ(j["Node"], "n1");
  EXPECT_EQ(j["NodeMeta"]["k"], "v");
  EXPECT_EQ(j["ServiceID"], "web1");
  EXPECT_EQ(j["ServiceName"], "web");
  EXPECT_EQ(j["ServicePort"], 80);
  EXPECT_EQ(j["ServiceTags"], json::array({"a"}));
  EXPECT_EQ(j["ServiceWeights"]["Passing"], 1);
  EXPECT_EQ(j["ServiceEnableTagOverride"], false);
  EXPECT_EQ(j["ModifyIndex"], 8);
}

TEST(EncodeHealthCheck, DefinitionOmitsEmptyFieldsAndPrintsDurations) {
  HealthCheck c;
  c.node = "n1";
  c.check_id = "service:web";
  c.status = "passing";
  c.type = "http";
  c.definition.http = "http://localhost/health";
  c.definition.interval = std::chrono::seconds(10);
  auto j = json::parse(to_json(c));
  EXPECT_EQ(j["Interval"], "10s");
  EXPECT_EQ(j["Definition"], json({{"HTTP", "http://localhost/health"}, {"Interval", "10s"}}));
  EXPECT_EQ(j["ServiceTags"], json::array());
  EXPECT_FALSE(j.contains("Timeout"));
}

TEST(EncodeHealthCheck, TtlDefinitionPrintsAsAGoDuration) {
  HealthCheck c;
  c.definition.ttl = std::chrono::seconds(30);
  auto j = json::parse(to_json(c));
  EXPECT_EQ(j["Definition"], json({{"TTL", "30s"}}));
}

TEST(EncodeHealthService, NestsNodeServiceAndChecks) {
  HealthServiceEntry e;
  e.node.node = "n1";
  e.service.service = "web";
  e.checks.resize(2);
  auto j = json::parse(to_json(std::vector<HealthServiceEntry>{e})).at(0);
  EXPECT_EQ(j["Node"]["Node"], "n1");
  EXPECT_EQ(j["Service"]["Service"], "web");
  EXPECT_EQ(j["Checks"].size(), 2u);
}

TEST(EncodeSession, LockDelayIsNanosecondsAndServiceChecksNullWhenEmpty) {
  Session s = default_session_for("n1");
  s.checks.clear();
  s.id = "adf4238a";
  s.ttl = "30s";
  auto j = json::parse(to_json(s));
  EXPECT_EQ(j["LockDelay"], 15000000000LL);
  EXPECT_EQ(j["TTL"], "30s");
  EXPECT_EQ(j["NodeChecks"], json::array({"serfHealth"}));
  EXPECT_TRUE(j["ServiceChecks"].is_null());
  EXPECT_FALSE(j.contains("Checks"));
}

TEST(EncodeNodeServices, ServicesAreKeyedById) {
  NodeServices ns;
  ns.node.node = "n1";
  NodeService s;
  s.id = "web1";
  s.service = "web";
  ns.services.push_back(s);
  auto j = json::parse(to_json(ns));
  EXPECT_EQ(j["Node"]["Node"], "n1");
  EXPECT_EQ(j["Services"]["web1"]["Service"], "web");
}

TEST(EncodeServices, MapsNamesToTags) {
  std::map<std::string, std::vector<std::string>> m = {{"consul", {}}, {"web", {"v1"}}};
  EXPECT_EQ(to_json(m), R"({"consul":[],"web":["v1"]})");
}

TEST(EncodeDecode, ARegisteredServiceRoundTripsThroughJson) {
  auto in = decode_node_service(R"({"ID":"w","Service":"web","Tags":["a"],"Address":"1.2.3.4","Meta":{"m":"1"},
                                    "Port":80,"Weights":{"Passing":3,"Warning":2},"EnableTagOverride":true,
                                    "TaggedAddresses":{"lan":{"Address":"1.2.3.4","Port":80}}})");
  ASSERT_TRUE(in.ok());
  auto again = decode_node_service(to_json(*in));
  ASSERT_TRUE(again.ok()) << again.error().message();
  EXPECT_EQ(*again, *in);
}

}  // namespace
}  // namespace cairn::api
