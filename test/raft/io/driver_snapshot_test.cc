// Compaction with Application::snapshot_async (driver_fixture.h): the image is
// built off the strand while commits continue, and the log is compacted only
// up to the index the image covers (§7).
#include "test/raft/io/driver_fixture.h"

namespace cairn::raft::driver_test {
namespace {

class DriverAsyncSnapshotTest : public DriverTest {
 protected:
  NodeId start_async_cluster(uint64_t threshold) {
    DriverOptions o;
    o.snapshot_threshold = threshold;
    start_cluster(o);
    for (auto& [id, m] : members_) m->app.async_snapshots = true;
    return elect();
  }
  // The leader of a cluster with threshold 5, after six writes made it ask for one image.
  NodeId leader_with_image() {
    NodeId leader = start_async_cluster(5);
    EXPECT_NE(leader, kNoNode);
    if (leader == kNoNode) return leader;
    EXPECT_TRUE(write_numbered(leader, 6));
    EXPECT_EQ(members_.at(leader)->app.images.size(), 1u);
    return leader;
  }
  void finish(NodeId id, size_t image, bool ok = true) {
    members_.at(id)->app.finish(image, ok);
    net_.pump(io_);
  }
};

TEST_F(DriverAsyncSnapshotTest, CommitsContinueWhileTheImageIsBuiltAndCompactionStopsAtItsIndex) {
  NodeId leader = leader_with_image();
  ASSERT_FALSE(HasFailure());
  Member& m = *members_.at(leader);
  Index at = m.app.images[0].at;
  EXPECT_TRUE(m.driver->status().snapshot_in_flight);
  EXPECT_EQ(m.storage->first_index(), 2u) << "nothing compacted before the image arrives";

  for (int i = 0; i < 10; ++i) ASSERT_TRUE(propose(leader, "more" + std::to_string(i) + "=x").status.ok());
  EXPECT_EQ(m.app.images.size(), 1u) << "one snapshot at a time";
  EXPECT_GT(m.driver->status().applied, at + 5);

  finish(leader, 0);
  DriverStatus s = m.driver->status();
  EXPECT_FALSE(s.snapshot_in_flight);
  EXPECT_EQ(s.compactions, 1u);
  EXPECT_EQ(s.snapshots_async, 1u);
  EXPECT_EQ(m.storage->first_index(), at + 1) << "compacted up to the image's index, not to applied";
  EXPECT_EQ(m.storage->snapshot()->data, m.app.images[0].data);

  ASSERT_TRUE(propose(leader, "next=1").status.ok());
  EXPECT_EQ(m.app.images.size(), 2u) << "past the threshold again: the next image is asked for";
  EXPECT_EQ(net_.order_violations, 0);
}

TEST_F(DriverTest, SnapshotsAreAtLeastTheIntervalApart) {
  DriverOptions o;
  o.snapshot_threshold = 5;
  o.snapshot_interval_ticks = 20;
  start_cluster(o);
  NodeId leader = elect();
  ASSERT_NE(leader, kNoNode);
  Member& m = *members_.at(leader);
  ASSERT_TRUE(write_numbered(leader, 6));
  EXPECT_EQ(m.driver->status().compactions, 1u) << "the first snapshot is not held back";
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(propose(leader, "more" + std::to_string(i) + "=x").status.ok());
  EXPECT_EQ(m.driver->status().compactions, 1u) << "past the threshold, but within the interval";
  tick_all(20);
  ASSERT_TRUE(propose(leader, "after=1").status.ok());
  EXPECT_EQ(m.driver->status().compactions, 2u) << "the interval passed";
}

TEST_F(DriverAsyncSnapshotTest, AFailedImageCompactsNothingAndIsRetried) {
  NodeId leader = leader_with_image();
  ASSERT_FALSE(HasFailure());
  Member& m = *members_.at(leader);
  finish(leader, 0, false);
  EXPECT_FALSE(m.driver->status().snapshot_in_flight);
  EXPECT_EQ(m.driver->status().compactions, 0u);
  EXPECT_EQ(m.storage->first_index(), 2u);
  ASSERT_TRUE(propose(leader, "again=1").status.ok());
  ASSERT_EQ(m.app.images.size(), 2u);
  finish(leader, 1);
  EXPECT_EQ(m.driver->status().compactions, 1u);
  EXPECT_EQ(m.storage->first_index(), m.app.images[1].at + 1);
}

TEST_F(DriverAsyncSnapshotTest, ALaggingFollowerRestoresTheImageAndTheLogAboveIt) {
  NodeId leader = start_async_cluster(5);
  ASSERT_NE(leader, kNoNode);
  NodeId lagging = leader == 1 ? 2 : 1;
  net_.isolated.insert(lagging);
  ASSERT_TRUE(write_numbered(leader, 8));
  Member& m = *members_.at(leader);
  ASSERT_EQ(m.app.images.size(), 1u);
  ASSERT_TRUE(propose(leader, "k0=overwritten").status.ok());  // after the image's index
  finish(leader, 0);
  ASSERT_GT(m.storage->first_index(), 2u);
  net_.isolated.clear();
  tick_all(30);
  Member& f = *members_.at(lagging);
  EXPECT_GE(f.driver->status().snapshots_applied, 1u);
  EXPECT_EQ(f.app.kv, m.app.kv);
  EXPECT_EQ(f.app.kv["k0"], "overwritten");
}

TEST_F(DriverAsyncSnapshotTest, AnImageThatArrivesAfterStopIsIgnored) {
  NodeId leader = leader_with_image();
  ASSERT_FALSE(HasFailure());
  Member& m = *members_.at(leader);
  auto late = m.app.images[0].done;  // a copy, called once the driver is gone
  m.driver->stop();
  net_.pump(io_);
  finish(leader, 0);
  EXPECT_EQ(m.driver->status().compactions, 0u);
  EXPECT_EQ(m.storage->first_index(), 2u);
  members_.clear();
  net_.members.clear();
  late(std::string("image"));  // holds the driver weakly: nothing to post to
  net_.pump(io_);
  SUCCEED();
}

TEST_F(DriverAsyncSnapshotTest, WithRocksDbTheImageIsStoredOffTheStrandAndSurvivesARestart) {
  std::string dir = fresh_dir();
  DriverOptions o;
  o.snapshot_threshold = 5;
  Index at = 0;
  std::string image;
  {
    auto s = RocksLogStorage::open(dir, ConfState{{1}, {}});
    ASSERT_TRUE(s.ok());
    start(1, std::move(s).value(), o);
    members_.at(1)->app.async_snapshots = true;
    ASSERT_EQ(elect(), 1u);
    ASSERT_TRUE(write_numbered(1, 6));
    Member& m = *members_.at(1);
    ASSERT_EQ(m.app.images.size(), 1u);
    ASSERT_TRUE(propose(1, "after=1").status.ok());
    at = m.app.images[0].at;
    image = m.app.images[0].data;
    finish(1, 0);
    EXPECT_EQ(m.driver->status().compactions, 1u);
    EXPECT_EQ(m.storage->first_index(), at + 1);
    EXPECT_EQ(m.storage->snapshot()->data, image);
    m.driver->stop();
    net_.pump(io_);
    members_.clear();
    net_.members.clear();
  }
  auto s = RocksLogStorage::open(dir);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ((*s)->snapshot()->data, image);
  start(1, std::move(s).value(), o);
  Member& m = *members_.at(1);
  EXPECT_EQ(m.app.restores, 1);
  ASSERT_EQ(elect(), 1u);
  tick_all(2);
  EXPECT_EQ(m.app.kv["k5"], "5");
  EXPECT_EQ(m.app.kv["after"], "1");
  members_.clear();
  fs::remove_all(dir);
}

}  // namespace
}  // namespace cairn::raft::driver_test
