#include "core/rng.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

namespace cairn {
namespace {

TEST(SeededRng, SameSeedGivesSameSequence) {
  SeededRng a(42), b(42), c(43);
  bool differs = false;
  for (int i = 0; i < 100; ++i) {
    uint64_t x = a.next_u64();
    EXPECT_EQ(x, b.next_u64());
    differs |= (x != c.next_u64());
  }
  EXPECT_TRUE(differs);
}

TEST(SeededRng, UniformStaysInBoundsAndCoversThem) {
  SeededRng r(1);
  std::set<uint64_t> seen;
  for (int i = 0; i < 1000; ++i) {
    uint64_t v = r.uniform(10);
    ASSERT_LT(v, 10u);
    seen.insert(v);
  }
  EXPECT_EQ(seen.size(), 10u);
  EXPECT_EQ(r.uniform(0), 0u);
}

TEST(SeededRng, BetweenIsInclusive) {
  SeededRng r(2);
  std::set<uint64_t> seen;
  for (int i = 0; i < 500; ++i) {
    uint64_t v = r.between(5, 7);
    ASSERT_GE(v, 5u);
    ASSERT_LE(v, 7u);
    seen.insert(v);
  }
  EXPECT_EQ(seen.size(), 3u);
}

TEST(SeededRng, ShuffleIsAPermutation) {
  SeededRng r(3);
  std::vector<int> v{1, 2, 3, 4, 5, 6, 7, 8};
  auto sorted = v;
  r.shuffle(v);
  std::sort(v.begin(), v.end());
  EXPECT_EQ(v, sorted);
}

}  // namespace
}  // namespace cairn
