// The seeded fault plan (harness/schedule.h): deterministic, overlaps only
// where allowed, one-way partitions well formed.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "test/faults/harness/schedule.h"

namespace cairn::faults {
namespace {

ScheduleOptions options(uint64_t seed, double overlap) {
  ScheduleOptions o;
  o.seed = seed;
  o.total_ms = 10 * 60000;
  o.overlap = overlap;
  return o;
}

std::vector<std::string> names() { return {"s0", "s1", "s2", "c0", "c1"}; }

TEST(FaultSchedule, ASeedNamesOneSchedule) {
  auto a = plan_faults(options(7, 0.5));
  auto b = plan_faults(options(7, 0.5));
  auto c = plan_faults(options(8, 0.5));
  ASSERT_EQ(a.size(), b.size());
  std::string da, dc;
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].describe(names()), b[i].describe(names()));
    da += a[i].describe(names()) + "\n";
  }
  for (const auto& f : c) dc += f.describe(names()) + "\n";
  EXPECT_NE(da, dc);
}

TEST(FaultSchedule, WithoutOverlapFaultsRunOneAtATime) {
  for (uint64_t seed = 1; seed <= 50; ++seed) {
    auto plan = plan_faults(options(seed, 0));
    ASSERT_FALSE(plan.empty());
    for (size_t i = 0; i < plan.size(); ++i) {
      EXPECT_FALSE(plan[i].overlapping);
      EXPECT_LE(plan[i].end_ms(), 10 * 60000);
      if (i > 0) {
        EXPECT_GE(plan[i].start_ms, plan[i - 1].end_ms() + 2000) << "seed " << seed;
      }
    }
  }
}

TEST(FaultSchedule, OverlappingFaultsAreOfAnotherClassOrAnotherNode) {
  int overlapping = 0;
  std::set<FaultKind> second_kinds;
  for (uint64_t seed = 1; seed <= 50; ++seed) {
    auto plan = plan_faults(options(seed, 1));
    for (size_t i = 0; i < plan.size(); ++i) {
      const auto& g = plan[i];
      EXPECT_LE(g.end_ms(), 10 * 60000);
      for (size_t j = 0; j < i; ++j) {
        const auto& f = plan[j];
        bool concurrent = g.start_ms < f.end_ms() && f.start_ms < g.end_ms();
        if (!concurrent) continue;
        EXPECT_TRUE(g.overlapping) << "seed " << seed << ": " << g.describe(names());
        EXPECT_EQ(j + 1, i) << "only a fault and the one that overlaps it run at once";
        EXPECT_GT(g.start_ms, f.start_ms);
        if (fault_class(f.kind) == fault_class(g.kind)) {
          EXPECT_EQ(fault_class(g.kind), FaultClass::node) << f.describe(names()) << " / " << g.describe(names());
          if (f.node >= 0 && g.node >= 0) {
            EXPECT_NE(f.node, g.node) << f.describe(names());
          }
        }
      }
      if (g.overlapping) {
        ++overlapping;
        second_kinds.insert(g.kind);
        ASSERT_GT(i, 0u);
        EXPECT_LT(g.start_ms, plan[i - 1].end_ms()) << "an overlapping fault starts while the one before is on";
        EXPECT_NE(g.describe(names()).find("[overlaps]"), std::string::npos);
      }
    }
  }
  EXPECT_GT(overlapping, 100);
  EXPECT_GE(second_kinds.size(), 8u) << "every kind can be the overlapping one";
}

TEST(FaultSchedule, OverlapIsAsLikelyAsAsked) {
  int faults = 0, overlapping = 0;
  for (uint64_t seed = 1; seed <= 100; ++seed)
    for (const auto& f : plan_faults(options(seed, 0.25))) {
      if (f.overlapping) ++overlapping;
      else ++faults;
    }
  // About a quarter of the first faults get a second (some do not fit before the end).
  EXPECT_GT(overlapping, faults / 6);
  EXPECT_LT(overlapping, faults / 3);
}

TEST(FaultSchedule, OneWayPartitionsSplitTheServersAndPlaceEveryNode) {
  int seen = 0;
  for (uint64_t seed = 1; seed <= 50; ++seed) {
    for (const auto& f : plan_faults(options(seed, 0.25))) {
      if (f.kind != FaultKind::partition_oneway) continue;
      ++seen;
      std::set<int> a(f.side_a.begin(), f.side_a.end()), b(f.side_b.begin(), f.side_b.end());
      EXPECT_EQ(a.size() + b.size(), 5u) << "disjoint, and every node on a side";
      std::set<int> all = a;
      all.insert(b.begin(), b.end());
      EXPECT_EQ(all, (std::set<int>{0, 1, 2, 3, 4}));
      int servers_a = 0, servers_b = 0;
      for (int n : a) servers_a += n < 3;
      for (int n : b) servers_b += n < 3;
      EXPECT_GE(servers_a, 1);
      EXPECT_GE(servers_b, 1);
      EXPECT_NE(f.describe(names()).find("(only this way)"), std::string::npos);
    }
  }
  EXPECT_GT(seen, 10);
}

TEST(FaultSchedule, WithoutNetworkOrDiskOnlyProcessFaults) {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    auto o = options(seed, 1);
    o.network = false;
    o.disk = false;
    for (const auto& f : plan_faults(o)) {
      EXPECT_EQ(fault_class(f.kind), FaultClass::node) << f.describe(names());
      EXPECT_FALSE(needs_network(f.kind));
    }
  }
}

}  // namespace
}  // namespace cairn::faults
