#include "core/result.h"

#include <gtest/gtest.h>

namespace cairn {
namespace {

Result<int> parse_positive(int v) {
  if (v <= 0) return Error(errc::invalid_argument, "value must be positive, got " + std::to_string(v));
  return v;
}

Result<int> doubled(int v) {
  CAIRN_TRY(int x, parse_positive(v));
  return x * 2;
}

TEST(Result, CarriesValueOrError) {
  auto good = parse_positive(3);
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, 3);
  auto bad = parse_positive(-1);
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(bad.error().is(errc::invalid_argument));
  EXPECT_EQ(bad.error().message(), "value must be positive, got -1");
}

TEST(Result, TryPropagatesErrors) {
  EXPECT_EQ(*doubled(4), 8);
  EXPECT_FALSE(doubled(0).ok());
}

TEST(Error, MessageFallsBackToCategoryText) {
  Error e(errc::not_found);
  EXPECT_EQ(e.message(), "not found");
  EXPECT_EQ(e.code().category().name(), std::string("cairn"));
}

TEST(Status, DefaultIsOk) {
  Status s;
  EXPECT_TRUE(s.ok());
  Status f(errc::timeout, "deadline");
  EXPECT_FALSE(f.ok());
}

}  // namespace
}  // namespace cairn
