#include "server/state/keys.h"

#include <gtest/gtest.h>

namespace cairn::server::state {
namespace {

TEST(CompositeKey, RoundTripsComponentsHoldingNulBytes) {
  std::string a("n\0de", 4);
  std::string key = composite_key({a, "svc", ""});
  std::vector<std::string> parts;
  ASSERT_TRUE(split_components(key, parts));
  EXPECT_EQ(parts, (std::vector<std::string>{a, "svc", ""}));
}

TEST(CompositeKey, OrdersLikeTheTuples) {
  EXPECT_LT(composite_key({"a", "z"}), composite_key({"ab", "a"}));
  EXPECT_LT(composite_key({"a"}), composite_key({std::string("a\0", 2)}));
  EXPECT_LT(composite_key({"web", "n1"}), composite_key({"web", "n2"}));
}

TEST(CompositeKey, AFirstComponentPrefixesOnlyItsOwnKeys) {
  std::string prefix = composite_key({"web"});
  EXPECT_EQ(composite_key({"web", "x"}).rfind(prefix, 0), 0u);
  EXPECT_NE(composite_key({"webx", "x"}).rfind(prefix, 0), 0u);
}

TEST(CompositeKey, RejectsBytesThatAreNotAnEncoding) {
  std::vector<std::string> parts;
  EXPECT_FALSE(split_components(std::string("a\0", 2), parts));
  EXPECT_FALSE(split_components(std::string("a\0\x05", 3), parts));
  EXPECT_FALSE(split_components("dangling", parts));
}

}  // namespace
}  // namespace cairn::server::state
