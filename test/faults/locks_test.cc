// The lock-safety checker on hand-made holds.
#include <gtest/gtest.h>

#include "test/faults/checker/locks.h"

namespace cairn::faults {
namespace {

constexpr int64_t kMs = 1000000;

LockHold hold(int p, int64_t acquired_ms, int64_t proof_ms, HoldEnd end) {
  return {p, "locks/a", "s" + std::to_string(p), acquired_ms * kMs, proof_ms * kMs, end};
}

TEST(LockChecker, SuccessiveHoldsAreSafe) {
  auto v = check_locks({hold(0, 0, 100, HoldEnd::released), hold(1, 150, 300, HoldEnd::released),
                        hold(0, 310, 400, HoldEnd::unknown)},
                       1000 * kMs, 0);
  EXPECT_TRUE(v.empty());
}

TEST(LockChecker, FindsTwoHoldersAtOnce) {
  auto v = check_locks({hold(0, 0, 200, HoldEnd::released), hold(1, 150, 300, HoldEnd::released)}, 0, 0);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_NE(v[0].what.find("two holders at once"), std::string::npos) << v[0].what;
  EXPECT_NE(v[0].what.find("p0"), std::string::npos);
  EXPECT_NE(v[0].what.find("p1"), std::string::npos);
}

TEST(LockChecker, DifferentLocksDoNotConflict) {
  LockHold a = hold(0, 0, 200, HoldEnd::released);
  LockHold b = hold(1, 100, 300, HoldEnd::released);
  b.lock = "locks/b";
  EXPECT_TRUE(check_locks({a, b}, 0, 0).empty());
}

TEST(LockChecker, FindsAcquireInsideLockDelayOfLostHold) {
  auto v = check_locks({hold(0, 0, 100, HoldEnd::lost), hold(1, 600, 700, HoldEnd::released)}, 1000 * kMs, 0);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_NE(v[0].what.find("lock-delay"), std::string::npos) << v[0].what;
  // After the delay it is fine; a released hold sets no delay; an unknown end may have been a release.
  EXPECT_TRUE(check_locks({hold(0, 0, 100, HoldEnd::lost), hold(1, 1200, 1300, HoldEnd::released)}, 1000 * kMs, 0)
                  .empty());
  EXPECT_TRUE(
      check_locks({hold(0, 0, 100, HoldEnd::released), hold(1, 150, 200, HoldEnd::released)}, 1000 * kMs, 0).empty());
  EXPECT_TRUE(
      check_locks({hold(0, 0, 100, HoldEnd::unknown), hold(1, 150, 200, HoldEnd::released)}, 1000 * kMs, 0).empty());
}

TEST(LockChecker, SlackAbsorbsClockGranularity) {
  EXPECT_TRUE(check_locks({hold(0, 0, 100, HoldEnd::lost), hold(1, 1090, 1200, HoldEnd::released)}, 1000 * kMs,
                          20 * kMs)
                  .empty());
}

}  // namespace
}  // namespace cairn::faults
