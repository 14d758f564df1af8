// agent/sidecar/stats.h: the Prometheus text parser the agent reads its
// proxies' stats endpoints with.
#include "agent/sidecar/stats.h"

#include <gtest/gtest.h>

namespace cairn::agent::sidecar {
namespace {

TEST(PromParse, SamplesWithAndWithoutLabels) {
  auto s = parse_prometheus(
      "# HELP cairn_proxy_connections x\n"
      "# TYPE cairn_proxy_connections counter\n"
      "cairn_proxy_connections{service=\"db\",direction=\"inbound\"} 12\n"
      "cairn_proxy_active_connections{direction=\"outbound\",service=\"web\"} 3\n"
      "up 1\n"
      "escaped{path=\"a\\\"b\"} 2.5\n");
  ASSERT_EQ(s.size(), 4u);
  EXPECT_EQ(s[0].name, "cairn_proxy_connections");
  EXPECT_EQ(s[0].labels.at("service"), "db");
  EXPECT_EQ(s[0].labels.at("direction"), "inbound");
  EXPECT_EQ(s[0].value, 12);
  EXPECT_EQ(s[1].labels.at("service"), "web");
  EXPECT_EQ(s[1].value, 3);
  EXPECT_EQ(s[2].name, "up");
  EXPECT_TRUE(s[2].labels.empty());
  EXPECT_EQ(s[3].labels.at("path"), "a\"b");
  EXPECT_EQ(s[3].value, 2.5);
}

TEST(PromParse, BrokenLinesAreSkipped) {
  auto s = parse_prometheus("no_value\n{x=\"y\"} 1\nbad{x=y} 1\nunclosed{x=\"y\" 1\nok 7\n\n");
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].name, "ok");
  EXPECT_EQ(s[0].value, 7);
}

}  // namespace
}  // namespace cairn::agent::sidecar
