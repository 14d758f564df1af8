#include "core/http/url.h"

#include <gtest/gtest.h>

namespace cairn::http {
namespace {

TEST(PercentDecode, DecodesEscapesIncludingSlash) {
  EXPECT_EQ(*percent_decode("a%2Fb"), "a/b");
  EXPECT_EQ(*percent_decode("%41%62c"), "Abc");
  EXPECT_EQ(*percent_decode("a+b"), "a+b");
  EXPECT_EQ(*percent_decode("a+b", true), "a b");
}

TEST(PercentDecode, RejectsMalformedEscapes) {
  EXPECT_FALSE(percent_decode("%").ok());
  EXPECT_FALSE(percent_decode("%4").ok());
  EXPECT_FALSE(percent_decode("%zz").ok());
  EXPECT_FALSE(percent_decode("abc%").ok());
}

TEST(PercentEncode, RoundTrips) {
  std::string s = "a b/c?d&e=f%";
  EXPECT_EQ(*percent_decode(percent_encode(s)), s);
  EXPECT_EQ(percent_encode("a/b", true), "a/b");
  EXPECT_EQ(percent_encode("a/b"), "a%2Fb");
}

TEST(Query, KeepsRepeatedKeysInOrder) {
  auto q = Query::parse("tag=a&tag=b&dc=dc1");
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->get_all("tag"), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(q->get("dc"), "dc1");
  EXPECT_EQ(q->get("missing"), std::nullopt);
}

TEST(Query, PresenceOnlyFlagsAreTrue) {
  auto q = Query::parse("recurse&stale=&keys=True&passing=0&x=maybe");
  ASSERT_TRUE(q.ok());
  EXPECT_TRUE(q->has("recurse"));
  EXPECT_TRUE(*q->flag("recurse"));
  EXPECT_TRUE(*q->flag("stale"));
  EXPECT_TRUE(*q->flag("keys"));
  EXPECT_FALSE(*q->flag("passing", true));
  EXPECT_FALSE(*q->flag("absent"));
  EXPECT_TRUE(*q->flag("absent", true));
  auto bad = q->flag("x");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("?x"), std::string::npos);
}

TEST(Query, DecodesKeysAndValues) {
  auto q = Query::parse("separator=%2F&name=a+b&filter=Service%20%3D%3D%20%22web%22");
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->get("separator"), "/");
  EXPECT_EQ(q->get("name"), "a b");
  EXPECT_EQ(q->get("filter"), "Service == \"web\"");
  EXPECT_FALSE(Query::parse("a=%zz").ok());
}

TEST(ParseGoBool, AcceptsGoSpellings) {
  for (const char* t : {"1", "t", "T", "TRUE", "true", "True"}) EXPECT_EQ(parse_go_bool(t), true) << t;
  for (const char* f : {"0", "f", "F", "FALSE", "false", "False"}) EXPECT_EQ(parse_go_bool(f), false) << f;
  for (const char* x : {"", "yes", "tRUE", "2"}) EXPECT_EQ(parse_go_bool(x), std::nullopt) << x;
}

}  // namespace
}  // namespace cairn::http
