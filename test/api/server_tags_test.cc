#include "api/server_tags.h"

#include <gtest/gtest.h>

namespace cairn::api {
namespace {

std::map<std::string, std::string> server_tags() {
  return {{"role", "consul"}, {"dc", "dc1"}, {"id", "0123abcd-4567-89ef-0123-456789abcdef"}, {"port", "8300"},
          {"expect", "3"}};
}

TEST(ServerTags, RaftIdIsTheFirstSixteenHexDigitsOfTheNodeId) {
  EXPECT_EQ(raft_id_of("0123abcd-4567-89ef-0123-456789abcdef"), 0x0123abcd456789efULL);
  EXPECT_EQ(raft_id_of("0123ABCD-4567-89EF-0123-456789ABCDEF"), 0x0123abcd456789efULL);
}

TEST(ServerTags, RaftIdRefusesShortOrNonHexIds) {
  EXPECT_EQ(raft_id_of(""), 0u);
  EXPECT_EQ(raft_id_of("0123abcd"), 0u);
  EXPECT_EQ(raft_id_of("0123abcz-4567-89ef-0123-456789abcdef"), 0u);
}

TEST(ServerTags, RaftIdIsNeverZero) { EXPECT_EQ(raft_id_of("00000000-0000-0000-0000-000000000000"), 1u); }

TEST(ServerTags, ParsesAServer) {
  auto s = parse_server("s1", "127.0.0.5:8301", server_tags());
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->name, "s1");
  EXPECT_EQ(s->datacenter, "dc1");
  EXPECT_EQ(s->rpc_addr, "127.0.0.5:8300");
  EXPECT_EQ(s->expect, 3);
  EXPECT_FALSE(s->bootstrap);
  EXPECT_EQ(s->raft_id, 0x0123abcd456789efULL);
}

TEST(ServerTags, ClientAgentsAreNotServers) {
  auto t = server_tags();
  t["role"] = "node";
  EXPECT_FALSE(parse_server("c1", "127.0.0.5:8301", t).has_value());
}

TEST(ServerTags, MalformedPortOrIdIsNotAServer) {
  for (const char* port : {"", "0", "65536", "83x", "-1"}) {
    auto t = server_tags();
    t["port"] = port;
    EXPECT_FALSE(parse_server("s", "127.0.0.5:8301", t).has_value()) << port;
  }
  auto t = server_tags();
  t.erase("id");
  EXPECT_FALSE(parse_server("s", "127.0.0.5:8301", t).has_value());
}

TEST(ServerTags, BadExpectCountsAsUnset) {
  auto t = server_tags();
  t["expect"] = "three";
  auto s = parse_server("s", "127.0.0.5:8301", t);
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->expect, 0);
  t["bootstrap"] = "1";
  EXPECT_TRUE(parse_server("s", "127.0.0.5:8301", t)->bootstrap);
}

}  // namespace
}  // namespace cairn::api
