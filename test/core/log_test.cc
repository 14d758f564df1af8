#include "core/log.h"

#include <gtest/gtest.h>

#include "core/json_escape.h"

namespace cairn {
namespace {

TEST(Log, ParsesLevelsCaseInsensitively) {
  EXPECT_EQ(*log::parse_level("DEBUG"), log::Level::debug);
  EXPECT_EQ(*log::parse_level("warning"), log::Level::warn);
  auto bad = log::parse_level("loud");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("log_level"), std::string::npos);
}

TEST(Log, RedactsTokensInUrls) {
  EXPECT_EQ(log::redact_url("/v1/kv/a?token=secret&recurse"), "/v1/kv/a?token=<hidden>&recurse");
  EXPECT_EQ(log::redact_url("/v1/kv/a?dc=x&access_token=s"), "/v1/kv/a?dc=x&access_token=<hidden>");
  EXPECT_EQ(log::redact_url("/v1/agent/self"), "/v1/agent/self");
}

TEST(JsonEscape, EscapesControlAndQuoteCharacters) {
  EXPECT_EQ(json_escape("a\"b\\c\nd\x01"), "a\\\"b\\\\c\\nd\\u0001");
}

}  // namespace
}  // namespace cairn
