// RaftDriver, deterministically: three drivers on one io_context run by the
// test thread, ticked by hand (tick_interval zero), talking through an
// in-memory network that checks the driver's ordering rule on every message
// it carries (persist before send, §5 Figure 2; a leader's appends may leave
// before its own fsync, thesis §10.2.1).
#include <algorithm>

#include "test/raft/io/driver_fixture.h"

namespace cairn::raft::driver_test {
namespace {

TEST_F(DriverTest, ElectsALeaderAndAppliesAProposalOnEveryMember) {
  start_cluster();
  NodeId leader = elect();
  ASSERT_NE(leader, kNoNode);
  Completion c = propose(leader, "a=1");
  ASSERT_TRUE(c.status.ok()) << c.status.error().message();
  EXPECT_GT(c.index, 1u);
  tick_all(3);  // the commit index reaches followers with the next append or heartbeat
  for (auto& [id, m] : members_) {
    EXPECT_EQ(m->app.kv["a"], "1") << "node " << id;
    EXPECT_GE(m->driver->status().applied, c.index);
  }
  EXPECT_EQ(net_.order_violations, 0);
}

// Thesis §10.2.1: the leader's appends leave before its own fsync (one fsync
// off a commit's critical path), while followers still persist before they
// answer and the commit still needs a durable majority.
TEST_F(DriverTest, TheLeaderSendsItsAppendsBeforeItsOwnFsync) {
  start_cluster();
  NodeId leader = elect();
  ASSERT_NE(leader, kNoNode);
  int early_before = net_.early_appends;
  Completion c = propose(leader, "a=1");
  ASSERT_TRUE(c.status.ok()) << c.status.error().message();
  EXPECT_GT(net_.early_appends, early_before) << "the append carrying a=1 left before the leader persisted it";
  EXPECT_GT(members_.at(leader)->driver->status().sends_before_persist, 0u);
  EXPECT_EQ(net_.order_violations, 0) << "followers' answers and every term still follow their fsync";
  for (auto& [id, m] : members_) EXPECT_GE(m->storage->last_index(), c.index) << "node " << id;
}

TEST_F(DriverTest, ProposalOnAFollowerFailsWithTheLeaderAsHint) {
  start_cluster();
  NodeId leader = elect();
  ASSERT_NE(leader, kNoNode);
  tick_all(2);  // followers learn the leader
  NodeId follower = leader == 1 ? 2 : 1;
  Completion c = propose(follower, "a=1");
  EXPECT_EQ(c.status.error().code(), make_error_code(errc::not_leader));
  EXPECT_EQ(c.leader, leader);
}

TEST_F(DriverTest, ProposalsThatArriveTogetherShareOneFsync) {
  start_cluster();
  NodeId leader = elect();
  ASSERT_NE(leader, kNoNode);
  tick_all(2);
  auto& d = *members_.at(leader)->driver;
  uint64_t fsyncs_before = d.status().fsyncs;
  int done = 0;
  // Posted back to back: the strand runs all ten before the Ready loop resumes.
  for (int i = 0; i < 10; ++i) d.propose("k" + std::to_string(i) + "=v", [&](Completion c) { done += c.status.ok(); });
  net_.pump(io_);
  tick_all(2);
  EXPECT_EQ(done, 10);
  DriverStatus s = d.status();
  EXPECT_GE(s.max_entries_per_fsync, 10u);
  EXPECT_LE(s.fsyncs - fsyncs_before, 3u) << "ten proposals should not cost ten fsyncs";
  EXPECT_EQ(net_.order_violations, 0);
}

TEST_F(DriverTest, ReadIndexOnAFollowerCompletesAfterItAppliedTheWrite) {
  start_cluster();
  NodeId leader = elect();
  ASSERT_NE(leader, kNoNode);
  ASSERT_TRUE(propose(leader, "x=42").status.ok());
  NodeId follower = leader == 3 ? 2 : 3;
  std::optional<Completion> got;
  std::string seen;
  members_.at(follower)->driver->read_index([&](Completion c) {
    got = c;
    seen = members_.at(follower)->app.kv["x"];  // read inside the callback, as the header says
  });
  for (int i = 0; i < 20 && !got; ++i) tick_all(1);
  ASSERT_TRUE(got.has_value());
  ASSERT_TRUE(got->status.ok()) << got->status.error().message();
  EXPECT_EQ(seen, "42");
}

TEST_F(DriverTest, PendingRequestsTimeOutWhenNoQuorumAnswers) {
  DriverOptions o;
  o.request_timeout_ticks = 5;
  start_cluster(o);
  NodeId leader = elect();
  ASSERT_NE(leader, kNoNode);
  for (auto& [id, m] : members_)
    if (id != leader) net_.isolated.insert(id);
  Completion c = propose(leader, "lost=1");
  EXPECT_TRUE(c.status.error().is(cairn::errc::timeout));
}

TEST_F(DriverTest, LaggingFollowerCatchesUpFromASnapshotAfterCompaction) {
  DriverOptions o;
  o.snapshot_threshold = 5;
  start_cluster(o);
  NodeId leader = elect();
  ASSERT_NE(leader, kNoNode);
  NodeId lagging = leader == 1 ? 2 : 1;
  net_.isolated.insert(lagging);
  ASSERT_TRUE(write_numbered(leader, 20));
  EXPECT_GE(members_.at(leader)->driver->status().compactions, 1u);
  EXPECT_GT(members_.at(leader)->storage->first_index(), 5u);
  net_.isolated.clear();
  tick_all(30);
  Member& m = *members_.at(lagging);
  EXPECT_GE(m.driver->status().snapshots_applied, 1u);
  EXPECT_EQ(m.app.kv.size(), 20u);
  EXPECT_EQ(m.app.kv["k19"], "19");
  EXPECT_EQ(m.driver->status().applied, members_.at(leader)->driver->status().applied);
}

// The startup vote lease (raft/README.md, thesis §4.2.3/§6.4.1): with lease
// reads a restarted server must not vote for an election timeout, since it may
// have promised its vote to a leader's lease before it crashed.
class DriverLeaseTest : public DriverTest, public ::testing::WithParamInterface<bool> {};

TEST_P(DriverLeaseTest, RestartedFollowerVotesOnlyAfterAnElectionTimeoutWhenLeaseReadsAreOn) {
  bool lease = GetParam();
  DriverOptions o;
  if (lease) o.raft.read_only_option = ReadOnlyOption::lease;
  for (NodeId id : {1, 2, 3}) start(id, std::make_unique<MemoryStorage>(ConfState{{1, 2, 3}, {}}), o);
  NodeId leader = elect();
  ASSERT_NE(leader, kNoNode);
  ASSERT_TRUE(propose(leader, "a=1").status.ok());
  NodeId f = leader == 1 ? 2 : 1, candidate = 6 - leader - f;
  // Crash and restart f on the same storage, cut off from everyone.
  members_.at(f)->driver->stop();
  net_.pump(io_);
  auto storage = std::move(members_.at(f)->storage);
  members_.erase(f);
  net_.members.erase(f);
  net_.isolated.insert(f);
  start(f, std::move(storage), o);
  Term term = members_.at(f)->driver->status().term;
  Index last = members_.at(f)->storage->last_index();
  auto vote_request = [&] {
    Message m;
    m.type = MessageType::vote;
    m.from = candidate;
    m.to = f;
    m.term = term + 1;
    m.index = last;
    m.log_term = *members_.at(f)->storage->term(last);
    return m;
  };
  auto answered = [&] {
    return std::count_if(net_.carried.begin(), net_.carried.end(), [&](const Message& m) {
      return m.from == f && m.type == MessageType::vote_resp && !m.reject;
    });
  };
  net_.carried.clear();
  members_.at(f)->driver->receive(vote_request());
  net_.pump(io_);
  EXPECT_EQ(answered(), lease ? 0 : 1) << "a freshly restarted node votes only without lease reads";
  if (!lease) return;
  for (int i = 0; i < 10; ++i) {  // election_tick
    members_.at(f)->driver->tick();
    net_.pump(io_);
  }
  term = members_.at(f)->driver->status().term;
  members_.at(f)->driver->receive(vote_request());
  net_.pump(io_);
  EXPECT_EQ(answered(), 1) << "after an election timeout the promise has expired";
}
INSTANTIATE_TEST_SUITE_P(LeaseOnOff, DriverLeaseTest, ::testing::Bool());

TEST_F(DriverTest, RestartRestoresTheSnapshotAndReappliesTheLogAbove) {
  std::string dir = fresh_dir();
  DriverOptions o;
  o.snapshot_threshold = 4;
  {
    auto s = RocksLogStorage::open(dir, ConfState{{1}, {}});
    ASSERT_TRUE(s.ok());
    start(1, std::move(s).value(), o);
    ASSERT_EQ(elect(), 1u);
    ASSERT_TRUE(write_numbered(1, 10));
    ASSERT_GE(members_.at(1)->driver->status().compactions, 1u);
    members_.at(1)->driver->stop();
    net_.pump(io_);
    members_.clear();
    net_.members.clear();
  }
  auto s = RocksLogStorage::open(dir);
  ASSERT_TRUE(s.ok());
  Index snap = (*s)->first_index() - 1;
  start(1, std::move(s).value(), o);
  Member& m = *members_.at(1);
  EXPECT_EQ(m.app.restores, 1);
  ASSERT_EQ(elect(), 1u);
  tick_all(2);
  EXPECT_EQ(m.app.kv.size(), 10u);
  EXPECT_EQ(m.app.kv["k9"], "9");
  for (Index i : m.app.applied) EXPECT_GT(i, snap) << "entries below the snapshot are not applied again";
  members_.clear();
  fs::remove_all(dir);
}

}  // namespace
}  // namespace cairn::raft::driver_test
