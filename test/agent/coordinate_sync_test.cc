// agent/coordinate_sync.h with a manual clock: the first update within the
// stagger, then one per rate-scaled interval, carrying our node and
// coordinate; nothing after stop().
#include "agent/coordinate_sync.h"

#include <gtest/gtest.h>

#include "core/rng.h"
#include "test/agent/fake_rpc.h"

namespace cairn::agent {
namespace {

using namespace std::chrono_literals;

TEST(CoordinateSync, RateScaledIntervalIsConsuls) {
  EXPECT_EQ(rate_scaled_interval(64, 15s, 10), 15s);
  EXPECT_EQ(rate_scaled_interval(64, 15s, 6400), 100s);  // 6,400 members at 64/s
  EXPECT_EQ(rate_scaled_interval(0, 15s, 6400), 15s);
}

TEST(CoordinateSync, SendsOurCoordinateFirstWithinTheStaggerThenEachInterval) {
  ManualClock clock;
  ManualScheduler scheduler(clock);
  test::FakeRpc rpc;
  SeededRng rng(7);
  std::vector<Instant> sent_at;
  CoordinateSyncOptions o;
  o.node = "web-1";
  CoordinateSyncDeps d;
  d.rpc = &rpc;
  d.scheduler = &scheduler;
  d.coordinate = [&] {
    sent_at.push_back(clock.now());
    return std::optional<api::Coord>(api::Coord{{0.001, 0, 0, 0, 0, 0, 0, 0}, 0.4, 0, 1e-5});
  };
  d.cluster_size = [] { return size_t{3}; };
  d.uniform = [&](uint64_t n) { return rng.uniform(n); };
  for (int i = 0; i < 20; ++i)
    rpc.write_results.push_back(
        api::rpc::WriteResponse{1, api::rpc::make_value<api::rpc::CoordinateUpdate, api::rpc::WriteValue>(true)});
  Instant t0 = clock.now();
  auto sync = CoordinateSync::make(o, d);
  sync->start();
  for (int i = 0; i < 120; ++i) scheduler.advance(1s);
  ASSERT_GE(sent_at.size(), 4u);
  ASSERT_EQ(rpc.writes.size(), sent_at.size());
  EXPECT_LE(sent_at[0] - t0, o.first_within);
  for (size_t i = 1; i < sent_at.size(); ++i) {
    EXPECT_GE(sent_at[i] - sent_at[i - 1], 15s) << i;  // the minimum interval ...
    EXPECT_LT(sent_at[i] - sent_at[i - 1], 30s) << i;  // ... plus a stagger below it
  }
  const auto& u = std::get<api::rpc::CoordinateUpdate>(rpc.writes[0].write);
  ASSERT_EQ(u.entries.size(), 1u);
  EXPECT_EQ(u.entries[0].node, "web-1");
  EXPECT_EQ(u.entries[0].coord.vec.size(), 8u);
  EXPECT_EQ(u.entries[0].coord.error, 0.4);
  sync->stop();
  size_t before = rpc.writes.size();
  for (int i = 0; i < 120; ++i) scheduler.advance(1s);
  EXPECT_EQ(rpc.writes.size(), before);
  EXPECT_EQ(scheduler.pending(), 0u);
}

}  // namespace
}  // namespace cairn::agent
