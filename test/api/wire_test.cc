#include "api/wire.h"

#include <gtest/gtest.h>

#include "api/base64.h"
#include "api/json.h"
#include "api/validate.h"

namespace cairn::api {
namespace {

template <typename T>
T round_trip(const T& v) {
  std::string buf;
  ByteWriter w(&buf);
  wire::put(w, v);
  ByteReader r(buf);
  T out{};
  EXPECT_TRUE(wire::get(r, out));
  EXPECT_TRUE(r.at_end());
  return out;
}

TEST(Wire, KvPairRoundTripsIncludingNullValue) {
  KVPair kv;
  kv.key = "k";
  kv.value = std::string("\0x", 2);
  kv.session = "s";
  kv.lock_index = 4;
  kv.flags = 1ull << 63;
  kv.raft = {1, 2};
  EXPECT_EQ(round_trip(kv), kv);
  kv.value.reset();
  EXPECT_EQ(round_trip(kv), kv);
}

TEST(Wire, NodeServiceCheckAndSessionRoundTrip) {
  Node n{"id", "n1", "10.0.0.1", "dc1", {{"lan", "x"}}, {{"m", "v"}}, {3, 4}};
  EXPECT_EQ(round_trip(n), n);
  NodeService s;
  s.kind = "connect-proxy";
  s.service = "web";
  s.tags = {"a", "b"};
  s.tagged_addresses["wan"] = {"1.1.1.1", -1};
  s.weights = {5, 0};
  s.proxy_json = "{}";
  EXPECT_EQ(round_trip(s), s);
  HealthCheck c;
  c.check_id = "c";
  c.definition.header["h"] = {"1"};
  c.definition.timeout = Duration(-5);
  c.definition.script_args = {"/bin/true"};
  c.definition.ttl = std::chrono::seconds(30);
  c.definition.output_max_size = 4096;
  c.definition.alias_service = "web";
  c.definition.h2ping = "localhost:443";
  EXPECT_EQ(round_trip(c), c);
  Session ses = default_session_for("n1");
  ses.service_checks = {{"x", "ns"}};
  EXPECT_EQ(round_trip(ses), ses);
}

TEST(Wire, TruncatedRecordsFailCleanly) {
  Session ses = default_session_for("n1");
  std::string buf;
  ByteWriter w(&buf);
  wire::put(w, ses);
  for (size_t n = 0; n < buf.size(); ++n) {
    ByteReader r(std::string_view(buf).substr(0, n));
    Session out;
    EXPECT_FALSE(wire::get(r, out)) << n;
  }
}

TEST(Base64, EncodesWithPadding) {
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_encode("test"), "dGVzdA==");
}

TEST(Base64, DecodesWhatItEncodes) {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  EXPECT_EQ(*base64_decode(base64_encode(all)), all);
}

TEST(Base64, RejectsBadInput) {
  EXPECT_FALSE(base64_decode("abc").ok());
  EXPECT_FALSE(base64_decode("ab!d").ok());
  EXPECT_FALSE(base64_decode("a===").ok());
  EXPECT_FALSE(base64_decode("ab=c").ok());
  EXPECT_FALSE(base64_decode("Zg==Zg==").ok());
}

TEST(PrepareRegister, FoldsCheckIntoChecksAndFillsDefaults) {
  RegisterRequest r;
  r.node = "n1";
  r.address = "a";
  r.service.emplace();
  r.service->service = "web";
  r.service->weights = {0, 0};
  r.check.emplace();
  r.check->name = "http check";
  r.check->definition.http = "http://x";
  ASSERT_TRUE(prepare_register(r).ok());
  EXPECT_EQ(r.service->id, "web");
  EXPECT_EQ(r.service->weights, Weights{});
  EXPECT_FALSE(r.check.has_value());
  ASSERT_EQ(r.checks.size(), 1u);
  EXPECT_EQ(r.checks[0].node, "n1");
  EXPECT_EQ(r.checks[0].check_id, "http check");
  EXPECT_EQ(r.checks[0].status, "critical");
  EXPECT_EQ(r.checks[0].type, "http");
}

TEST(PrepareRegister, RefusesWhatConsulRefuses) {
  RegisterRequest r;
  r.node = "n1";
  EXPECT_EQ(prepare_register(r).error().message(), "Must provide address if SkipNodeUpdate is not set");
  r.address = "a";
  r.service.emplace();
  EXPECT_EQ(prepare_register(r).error().message(),
            "Must provide service name (Service.Service) with ID (Service.ID)");
  r.service->service = "web";
  r.service->port = 70000;
  EXPECT_FALSE(prepare_register(r).ok());
  r.service->port = 80;
  r.checks.push_back(HealthCheck{});
  EXPECT_EQ(prepare_register(r).error().message(), "Must provide CheckID or Name");
  r.checks[0].check_id = "c";
  r.checks[0].status = "sideways";
  EXPECT_FALSE(prepare_register(r).ok());
}

}  // namespace
}  // namespace cairn::api
