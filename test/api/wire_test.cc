#include "api/wire.h"

#include <gtest/gtest.h>

#include "api/json.h"

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

}  // namespace
}  // namespace cairn::api
