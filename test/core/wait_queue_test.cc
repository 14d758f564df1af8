#include "core/wait_queue.h"

#include <gtest/gtest.h>

#include <vector>

namespace cairn {
namespace {

using namespace std::chrono_literals;

TEST(WaitQueue, NotifyWakesEveryWaiterOnce) {
  ManualClock clock;
  ManualScheduler sched(clock);
  WaitQueue q(sched);
  std::vector<bool> results;
  q.wait(10s, [&](bool woken) { results.push_back(woken); });
  q.wait(20s, [&](bool woken) { results.push_back(woken); });
  q.notify_all();
  EXPECT_EQ(results, (std::vector<bool>{true, true}));
  sched.advance(30s);  // cancelled timers must not fire
  EXPECT_EQ(results.size(), 2u);
  EXPECT_EQ(q.size(), 0u);
}

TEST(WaitQueue, TimeoutFiresWithoutNotify) {
  ManualClock clock;
  ManualScheduler sched(clock);
  WaitQueue q(sched);
  std::vector<bool> results;
  q.wait(5s, [&](bool woken) { results.push_back(woken); });
  sched.advance(4s);
  EXPECT_TRUE(results.empty());
  sched.advance(1s);
  EXPECT_EQ(results, (std::vector<bool>{false}));
  q.notify_all();
  EXPECT_EQ(results.size(), 1u);
}

TEST(WaitQueue, CallbackMayWaitAgain) {
  ManualClock clock;
  ManualScheduler sched(clock);
  WaitQueue q(sched);
  int wakes = 0;
  std::function<void(bool)> again = [&](bool) {
    if (++wakes < 3) q.wait(1s, again);
  };
  q.wait(1s, again);
  q.notify_all();
  EXPECT_EQ(wakes, 1);
  EXPECT_EQ(q.size(), 1u);
  q.notify_all();
  q.notify_all();
  EXPECT_EQ(wakes, 3);
  EXPECT_EQ(q.size(), 0u);
}

}  // namespace
}  // namespace cairn
