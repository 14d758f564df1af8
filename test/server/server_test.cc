// server::Server, deterministically: servers in one process over an
// in-memory Raft network, ticked by hand (test/server/cluster.h).
#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

#include "server/fsm/command.h"
#include "server/snapshot_archive.h"
#include "test/server/cluster.h"

namespace cairn::server::test {
namespace {

using rpc::value_of;

rpc::QueryOptions blocking(uint64_t index, Duration wait, rpc::Consistency c = rpc::Consistency::leader) {
  rpc::QueryOptions o;
  o.min_index = index;
  o.max_wait = wait;
  o.consistency = c;
  return o;
}

// ---- one server ----

// One server in dev mode (bootstrap): `o` are its options, start() (re)starts it.
class DevServerTest : public ::testing::Test {
 protected:
  ServerOptions dev_options() {
    ServerOptions x = c.options(1);
    x.bootstrap = true;
    return x;
  }
  void start() {
    c.start(1, o);
    ASSERT_EQ(c.elect(), 1);
  }
  Cluster c;
  ServerOptions o = dev_options();
};

class SingleServerTest : public DevServerTest {
 protected:
  void SetUp() override { start(); }
};

TEST_F(DevServerTest, BootstrapAloneLeadsAtOnce) {
  Cluster& fresh = c;
  Server& s = fresh.start(1, o);
  EXPECT_TRUE(s.is_leader());  // campaigned without waiting for an election timeout
  auto leader = fresh.query(1, rpc::StatusLeader{});
  ASSERT_TRUE(leader.ok());
  EXPECT_EQ(value_of<rpc::StatusLeader>(*leader), rpc_addr(1));
  auto peers = fresh.query(1, rpc::StatusPeers{});
  ASSERT_TRUE(peers.ok());
  EXPECT_EQ(value_of<rpc::StatusPeers>(*peers), std::vector<std::string>{rpc_addr(1)});
}

TEST_F(SingleServerTest, KvWriteThenReadReturnsTheValueAtTheWriteIndex) {
  auto w = c.write(1, kv_set("a/b", "hello"));
  ASSERT_TRUE(w.ok()) << w.error().message();
  EXPECT_TRUE(value_of<rpc::KvApply>(*w));
  auto r = c.query(1, rpc::KvGet{"a/b"});
  ASSERT_TRUE(r.ok()) << r.error().message();
  ASSERT_TRUE(value_of<rpc::KvGet>(*r).has_value());
  EXPECT_EQ(value_of<rpc::KvGet>(*r)->value, "hello");
  EXPECT_EQ(r->meta.index, w->index);
  EXPECT_TRUE(r->meta.known_leader);

  auto keys = c.query(1, rpc::KvKeys{"a/", ""});
  ASSERT_TRUE(keys.ok());
  EXPECT_EQ(value_of<rpc::KvKeys>(*keys), std::vector<std::string>{"a/b"});
}

TEST_F(SingleServerTest, CatalogAndSessionWritesAreReadBack) {
  ASSERT_TRUE(c.write(1, register_node("web1", "10.1.0.1", "web")).ok());
  auto nodes = c.query(1, rpc::CatalogNodes{});
  ASSERT_TRUE(nodes.ok());
  ASSERT_EQ(value_of<rpc::CatalogNodes>(*nodes).size(), 1u);
  EXPECT_EQ(value_of<rpc::CatalogNodes>(*nodes)[0].node, "web1");
  auto svc = c.query(1, rpc::CatalogServiceNodes{"web", {}});
  ASSERT_TRUE(svc.ok());
  EXPECT_EQ(value_of<rpc::CatalogServiceNodes>(*svc).size(), 1u);

  rpc::SessionCreate create;
  create.session.node = "web1";
  create.session.ttl = "15s";
  create.session.node_checks.clear();
  std::vector<std::pair<std::string, Duration>> ttl_hooks;
  ServerHooks hooks;
  hooks.on_session_ttl = [&](const std::string& id, Duration ttl) { ttl_hooks.emplace_back(id, ttl); };
  c.at(1).set_hooks(hooks);
  auto created = c.write(1, create);
  ASSERT_TRUE(created.ok()) << created.error().message();
  std::string id = value_of<rpc::SessionCreate>(*created);
  EXPECT_EQ(id.size(), 36u);
  auto info = c.query(1, rpc::SessionGet{id});
  ASSERT_TRUE(info.ok());
  ASSERT_TRUE(value_of<rpc::SessionGet>(*info).has_value());
  EXPECT_EQ(value_of<rpc::SessionGet>(*info)->node, "web1");

  auto renewed = c.write(1, rpc::SessionRenew{id});
  ASSERT_TRUE(renewed.ok()) << renewed.error().message();
  EXPECT_EQ(value_of<rpc::SessionRenew>(*renewed).id, id);
  ASSERT_EQ(ttl_hooks.size(), 2u);  // create and renew
  EXPECT_EQ(ttl_hooks[1].second, std::chrono::seconds(15));

  auto destroyed = c.write(1, rpc::SessionDestroy{id});
  ASSERT_TRUE(destroyed.ok());
  EXPECT_TRUE(value_of<rpc::SessionDestroy>(*destroyed));
  auto gone = c.query(1, rpc::SessionGet{id});
  ASSERT_TRUE(gone.ok());
  EXPECT_FALSE(value_of<rpc::SessionGet>(*gone).has_value());
}

TEST_F(SingleServerTest, RejectedCommandIsInvalidArgumentWithTheStoreText) {
  rpc::SessionCreate create;
  create.session.node = "nowhere";
  auto r = c.write(1, create);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.error().is(errc::invalid_argument));
  EXPECT_EQ(r.error().message(), "Missing node registration");
}

TEST_F(SingleServerTest, RenewOfAnUnknownSessionIsNotFound) {
  auto r = c.write(1, rpc::SessionRenew{"00000000-0000-4000-8000-000000000000"});
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.error().is(errc::not_found));
}

TEST_F(SingleServerTest, BlockingQueryIsWokenByAWriteToItsKey) {
  auto first = c.write(1, kv_set("watched", "1"));
  ASSERT_TRUE(first.ok());
  auto got = c.begin_query(1, rpc::KvGet{"watched"}, blocking(first->index, std::chrono::minutes(1)));
  EXPECT_FALSE(got->has_value());  // parked
  EXPECT_EQ(c.at(1).counters().queries_parked, 1u);

  ASSERT_TRUE(c.write(1, kv_set("other", "x")).ok());
  c.pump();
  EXPECT_FALSE(got->has_value()) << "an unrelated write must not answer it";

  auto second = c.write(1, kv_set("watched", "2"));
  ASSERT_TRUE(second.ok());
  c.pump();
  ASSERT_TRUE(got->has_value());
  ASSERT_TRUE((*got)->ok());
  EXPECT_EQ((**got)->meta.index, second->index);
  EXPECT_EQ(value_of<rpc::KvGet>(***got)->value, "2");
}

TEST_F(SingleServerTest, BlockingQueryNotWokenAnswersAtMaxWaitWithTheSameIndex) {
  auto first = c.write(1, kv_set("watched", "1"));
  ASSERT_TRUE(first.ok());
  auto got = c.begin_query(1, rpc::KvList{"watched"}, blocking(first->index, std::chrono::seconds(30)));
  ASSERT_TRUE(c.write(1, kv_set("elsewhere", "x")).ok());
  c.pump();
  c.scheduler.advance(std::chrono::seconds(29));
  c.pump();
  EXPECT_FALSE(got->has_value());
  c.scheduler.advance(std::chrono::seconds(1));
  c.pump();
  ASSERT_TRUE(got->has_value());
  ASSERT_TRUE((*got)->ok());
  EXPECT_EQ((**got)->meta.index, first->index);
}

TEST_F(SingleServerTest, BlockingHealthServiceQueryWakesOnlyForItsService) {
  auto first = c.write(1, register_node("n1", "10.1.0.1", "web"));
  ASSERT_TRUE(first.ok());
  auto web = c.query(1, rpc::HealthService{"web", {}, false});
  ASSERT_TRUE(web.ok());
  auto got = c.begin_query(1, rpc::HealthService{"web", {}, false}, blocking(web->meta.index, std::chrono::minutes(1)));
  EXPECT_FALSE(got->has_value());
  ASSERT_TRUE(c.write(1, register_node("n2", "10.1.0.2", "db")).ok());
  c.pump();
  EXPECT_FALSE(got->has_value()) << "another service's instance must not wake it";
  auto second = c.write(1, register_node("n2", "10.1.0.2", "web"));
  ASSERT_TRUE(second.ok());
  c.pump();
  ASSERT_TRUE(got->has_value());
  ASSERT_TRUE((*got)->ok());
  EXPECT_EQ(value_of<rpc::HealthService>(***got).size(), 2u);
  EXPECT_EQ((**got)->meta.index, second->index);
}

TEST_F(SingleServerTest, BlockingQueryAboveTheIndexAnswersAtOnce) {
  auto first = c.write(1, kv_set("k", "1"));
  ASSERT_TRUE(first.ok());
  auto r = c.query(1, rpc::KvGet{"k"}, blocking(first->index - 1, std::chrono::minutes(1)));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->meta.index, first->index);
  EXPECT_EQ(c.at(1).counters().queries_parked, 0u);
}

TEST_F(SingleServerTest, ManyParkedQueriesCostNoThreadAndAllWake) {
  auto first = c.write(1, kv_set("hot", "1"));
  ASSERT_TRUE(first.ok());
  int answered = 0;
  for (int i = 0; i < 10000; ++i) {
    c.at(1).query(blocking(first->index, std::chrono::minutes(5)), rpc::KvGet{"hot"},
                  [&](Result<rpc::QueryResponse> r) { answered += r.ok() ? 1 : 0; });
  }
  c.pump();
  EXPECT_EQ(answered, 0);
  EXPECT_EQ(c.scheduler.pending(), 10000u);  // one timer each, on the scheduler
  ASSERT_TRUE(c.write(1, kv_set("hot", "2")).ok());
  c.pump();
  EXPECT_EQ(answered, 10000);
}

TEST_F(SingleServerTest, ConsistentReadSeesTheLastWrite) {
  ASSERT_TRUE(c.write(1, kv_set("c", "v")).ok());
  rpc::QueryOptions o;
  o.consistency = rpc::Consistency::consistent;
  EXPECT_EQ(kv_value(c, 1, "c", o), "v");
}

TEST_F(SingleServerTest, StopFailsParkedQueriesWithCancelled) {
  auto first = c.write(1, kv_set("k", "1"));
  ASSERT_TRUE(first.ok());
  auto got = c.begin_query(1, rpc::KvGet{"k"}, blocking(first->index, std::chrono::minutes(1)));
  c.at(1).stop();
  c.pump();
  ASSERT_TRUE(got->has_value());
  ASSERT_FALSE((*got)->ok());
  EXPECT_TRUE((*got)->error().is(errc::cancelled));
}

TEST_F(SingleServerTest, RaftCommandsFromLeaderDutiesApply) {
  std::optional<Status> done;
  c.at(1).propose_command(fsm::encode(fsm::TombstoneCommand{fsm::TombstoneOp::reap, 1}),
                          [&](Status s) { done = s; });
  c.await(done);
  ASSERT_TRUE(done.has_value());
  EXPECT_TRUE(done->ok());
  EXPECT_EQ(c.at(1).conf_state().voters, std::vector<raft::NodeId>{raft_id(1)});
}

TEST_F(SingleServerTest, AnUnknownCommandStopsTheServerLoudly) {
  int failed_calls = 0;
  ServerHooks hooks;
  hooks.on_failed = [&] { ++failed_calls; };
  c.at(1).set_hooks(hooks);
  std::optional<Status> done;
  c.at(1).propose_command(std::string("\x63\x01", 2), [&](Status s) { done = s; });  // type 99, not ignorable
  c.await(done);
  ASSERT_TRUE(done.has_value());
  EXPECT_FALSE(done->ok());
  EXPECT_TRUE(c.at(1).counters().failed);
  EXPECT_EQ(failed_calls, 1) << "the process is told once, so that it can exit and be restarted";
  auto w = c.write(1, kv_set("after", "failure"));
  ASSERT_FALSE(w.ok());
  EXPECT_TRUE(w.error().is(errc::unavailable));
  auto r = c.query(1, rpc::KvGet{"after"}, stale());
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.error().is(errc::unavailable));
}

TEST_F(SingleServerTest, AnIgnorableUnknownCommandIsSkipped) {
  std::optional<Status> done;
  c.at(1).propose_command(std::string("\xe3\x01", 2), [&](Status s) { done = s; });  // type 99 | 128
  c.await(done);
  ASSERT_TRUE(done.has_value());
  EXPECT_TRUE(done->ok()) << done->error().message();
  EXPECT_FALSE(c.at(1).counters().failed);
  EXPECT_TRUE(c.write(1, kv_set("still", "works")).ok());
}

TEST_F(SingleServerTest, HooksHearOfLeadershipAndKvDeletes) {
  std::vector<uint64_t> tombstones;
  ServerHooks hooks;
  hooks.on_kv_tombstone = [&](uint64_t index) { tombstones.push_back(index); };
  c.at(1).set_hooks(hooks);
  ASSERT_TRUE(c.write(1, kv_set("gone", "soon")).ok());
  EXPECT_TRUE(tombstones.empty());
  rpc::KvApply del;
  del.op = api::KvOp::delete_key;
  del.entry.key = "gone";
  auto d = c.write(1, del);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(tombstones, std::vector<uint64_t>{d->index});

  // Leadership came during start(), before the hooks: set_hooks tells them.
  std::vector<bool> leading;
  ServerHooks h2;
  h2.on_leader = [&](bool l) { leading.push_back(l); };
  c.at(1).set_hooks(h2);
  EXPECT_EQ(leading, std::vector<bool>{true});
}

TEST_F(DevServerTest, RestartKeepsStateAndDoesNotReapplyOldEntries) {
  start();
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(c.write(1, kv_set("k" + std::to_string(i), "v")).ok());
  EXPECT_EQ(c.at(1).counters().commands_applied, 5u);
  c.kill(1);

  start();
  c.tick_all(3);
  EXPECT_EQ(c.at(1).counters().commands_applied, 0u) << "old entries were applied again";
  for (int i = 0; i < 5; ++i) EXPECT_EQ(kv_value(c, 1, "k" + std::to_string(i)), "v");
  ASSERT_TRUE(c.write(1, kv_set("new", "v")).ok());
  EXPECT_EQ(c.at(1).counters().commands_applied, 1u);
}

TEST_F(DevServerTest, DestroyingTheServerBeforeItsDriverStoppedIsSafe) {
  start();
  std::optional<Result<rpc::WriteResponse>> got;
  c.at(1).write({}, kv_set("in", "flight"), [&](Result<rpc::WriteResponse> r) { got.emplace(std::move(r)); });
  // Stop and drop the Server while the driver still has work posted: the
  // driver keeps the log storage and the Application adapter until it ends.
  c.members.at(1).server->stop();
  c.members.at(1).server.reset();
  c.members.at(1).handlers = {};
  c.pump();
  ASSERT_TRUE(got.has_value());
  EXPECT_FALSE(got->ok());
  start();  // the raft and state directories were released
  EXPECT_TRUE(c.write(1, kv_set("again", "ok")).ok());
}

TEST_F(DevServerTest, RestartAfterCompactionKeepsTheNewerStoreOverTheSnapshot) {
  o.raft.snapshot_threshold = 3;
  start();
  for (int i = 0; i < 8; ++i) ASSERT_TRUE(c.write(1, kv_set("k" + std::to_string(i), "v")).ok());
  EXPECT_GE(c.at(1).counters().snapshots_taken, 1u);
  EXPECT_GE(c.at(1).raft_status().compactions, 1u);
  c.kill(1);
  start();
  EXPECT_EQ(c.at(1).counters().snapshots_restored, 0u);
  EXPECT_EQ(c.at(1).counters().commands_applied, 0u);
  for (int i = 0; i < 8; ++i) EXPECT_EQ(kv_value(c, 1, "k" + std::to_string(i)), "v");
}

TEST_F(DevServerTest, ImagesBuiltOnTheSnapshotThreadCompactTheLog) {
  o.raft.snapshot_threshold = 3;
  o.snapshot_on_thread = true;
  start();
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(c.write(1, kv_set("k" + std::to_string(i), "v")).ok());
  // The image arrives from the snapshot thread: run the io_context until the
  // driver compacted (bounded; no sleeping, no clock).
  for (int spin = 0; spin < 2'000'000 && c.at(1).raft_status().compactions == 0; ++spin) {
    c.pump();
    std::this_thread::yield();
  }
  EXPECT_GE(c.at(1).raft_status().compactions, 1u);
  EXPECT_GE(c.at(1).counters().snapshots_taken, 1u);
  ASSERT_TRUE(c.write(1, kv_set("after", "compaction")).ok());
  EXPECT_EQ(kv_value(c, 1, "k0"), "v");
}

// ---- three servers ----

class ThreeServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    c.start_expecting(1, 3, 3, [&](ServerOptions& o) { o.raft.snapshot_threshold = snapshot_threshold; });
    c.set_members_all({member_info(1, 3), member_info(2, 3), member_info(3, 3)});
    leader = c.elect();
    ASSERT_NE(leader, 0);
    c.tick_all(3);  // followers learn the leader
  }
  int follower(int not_this = 0) const {
    for (int n = 1; n <= 3; ++n)
      if (n != leader && n != not_this) return n;
    return 0;
  }
  uint64_t snapshot_threshold = 10000;
  Cluster c;
  int leader = 0;
};

TEST_F(ThreeServerTest, BootstrapExpectFormsOneClusterOfThreeVoters) {
  for (int n = 1; n <= 3; ++n) {
    EXPECT_EQ(c.at(n).counters().bootstraps, 1u) << "server " << n;
    EXPECT_EQ(c.at(n).conf_state().voters.size(), 3u);
  }
  auto conf = c.query(follower(), rpc::OperatorRaftConfiguration{});
  ASSERT_TRUE(conf.ok());
  auto& servers = value_of<rpc::OperatorRaftConfiguration>(*conf).servers;
  ASSERT_EQ(servers.size(), 3u);
  int leaders = 0;
  for (auto& s : servers) {
    EXPECT_FALSE(s.node.empty());
    EXPECT_FALSE(s.address.empty());
    leaders += s.leader ? 1 : 0;
    if (s.leader) {
      EXPECT_EQ(s.address, rpc_addr(leader));
    }
  }
  EXPECT_EQ(leaders, 1);
  auto l = c.query(follower(), rpc::StatusLeader{});
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(value_of<rpc::StatusLeader>(*l), rpc_addr(leader));
}

TEST_F(ThreeServerTest, WriteToAFollowerIsForwardedAndAppliedEverywhere) {
  int f = follower();
  auto w = c.write(f, kv_set("fwd", "yes"));
  ASSERT_TRUE(w.ok()) << w.error().message();
  EXPECT_EQ(c.at(f).counters().writes_forwarded, 1u);
  c.tick_all(3);
  for (int n = 1; n <= 3; ++n) EXPECT_EQ(kv_value(c, n, "fwd", stale()), "yes") << "server " << n;
}

TEST_F(ThreeServerTest, DefaultReadOnAFollowerIsAnsweredByTheLeader) {
  ASSERT_TRUE(c.write(leader, kv_set("k", "v")).ok());
  int f = follower();
  EXPECT_EQ(kv_value(c, f, "k"), "v");
  EXPECT_EQ(c.at(f).counters().queries_forwarded, 1u);
}

TEST_F(ThreeServerTest, StaleReadOnAFollowerReportsLastContact) {
  ASSERT_TRUE(c.write(leader, kv_set("k", "v")).ok());
  c.tick_all(2);
  int f = follower();
  c.isolated.insert(f);  // the follower hears nothing more from the leader
  c.tick_all(4);
  auto r = c.query(f, rpc::KvGet{"k"}, stale());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(value_of<rpc::KvGet>(*r)->value, "v");
  EXPECT_EQ(c.at(f).counters().queries_forwarded, 0u);
  EXPECT_GT(c.at(f).raft_status().ticks_since_leader_contact, 0u);
  EXPECT_TRUE(r->meta.known_leader);
}

TEST_F(ThreeServerTest, ConsistentReadOnAFollowerSeesTheLastWrite) {
  ASSERT_TRUE(c.write(leader, kv_set("k", "latest")).ok());
  rpc::QueryOptions o;
  o.consistency = rpc::Consistency::consistent;
  EXPECT_EQ(kv_value(c, follower(), "k", o), "latest");
}

TEST_F(ThreeServerTest, AnotherServerLeadsAfterTheLeaderStopsAndKeepsAcknowledgedWrites) {
  std::vector<std::string> keys;
  for (int i = 0; i < 5; ++i) {
    keys.push_back("ack" + std::to_string(i));
    ASSERT_TRUE(c.write(follower(), kv_set(keys.back(), "v")).ok());
  }
  int old = leader;
  c.kill(old);
  int next = c.elect(500);
  ASSERT_NE(next, 0);
  EXPECT_NE(next, old);
  for (auto& k : keys) EXPECT_EQ(kv_value(c, next, k), "v");
  int other = 6 - old - next;
  auto w = c.write(other, kv_set("after", "failover"));
  ASSERT_TRUE(w.ok()) << w.error().message();

  // The old leader restarts on its data and catches up with what it missed.
  ServerOptions again = c.options(old);
  again.bootstrap_expect = 3;
  c.start(old, again);
  c.at(old).set_members({member_info(1, 3), member_info(2, 3), member_info(3, 3)});
  c.tick_all(20);
  EXPECT_FALSE(c.at(old).counters().failed);
  EXPECT_EQ(kv_value(c, old, "after", stale()), "failover");
  for (auto& k : keys) EXPECT_EQ(kv_value(c, old, k, stale()), "v");
}

TEST_F(ThreeServerTest, SessionRenewOnAFollowerIsAnsweredByTheLeader) {
  ASSERT_TRUE(c.write(leader, register_node("n1", "10.1.0.1")).ok());
  rpc::SessionCreate create;
  create.session.node = "n1";
  create.session.ttl = "10s";
  auto created = c.write(follower(), create);
  ASSERT_TRUE(created.ok()) << created.error().message();
  std::vector<std::string> renewed_on_leader;
  ServerHooks hooks;
  hooks.on_session_ttl = [&](const std::string& id, Duration) { renewed_on_leader.push_back(id); };
  c.at(leader).set_hooks(hooks);
  std::string id = value_of<rpc::SessionCreate>(*created);
  auto r = c.write(follower(), rpc::SessionRenew{id});
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(value_of<rpc::SessionRenew>(*r).id, id);
  EXPECT_EQ(renewed_on_leader, std::vector<std::string>{id});
  auto unknown = c.write(follower(), rpc::SessionRenew{"00000000-0000-4000-8000-000000000000"});
  ASSERT_FALSE(unknown.ok());
  EXPECT_TRUE(unknown.error().is(errc::not_found));
}

TEST_F(ThreeServerTest, NoLeaderIsUnavailable) {
  int f = follower();
  c.isolated = {1, 2, 3};
  for (int i = 0; i < 40; ++i) c.tick_all(1);  // check-quorum deposes the leader; nobody wins
  auto r = c.write(f, kv_set("k", "v"));
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.error().is(errc::unavailable)) << r.error().message();
}

TEST_F(ThreeServerTest, RemovePeerAndTransferLeaderGoThroughRaft) {
  int f = follower();
  std::vector<bool> old_leader_hook;
  ServerHooks hooks;
  hooks.on_leader = [&](bool l) { old_leader_hook.push_back(l); };
  c.at(leader).set_hooks(hooks);
  auto t = c.write(f, rpc::OperatorRaftTransferLeader{node_id(f)});
  ASSERT_TRUE(t.ok()) << t.error().message();
  EXPECT_EQ(value_of<rpc::OperatorRaftTransferLeader>(*t), node_id(f));
  EXPECT_EQ(old_leader_hook, (std::vector<bool>{true, false}));
  leader = c.elect();
  EXPECT_EQ(leader, f);
  int gone = follower();
  auto r = c.write(leader, rpc::OperatorRaftRemovePeer{"", rpc_addr(gone)});
  ASSERT_TRUE(r.ok()) << r.error().message();
  c.tick_all(2);
  EXPECT_FALSE(c.at(leader).conf_state().contains(raft_id(gone)));
  auto missing = c.write(leader, rpc::OperatorRaftRemovePeer{"", "10.9.9.9:8300"});
  ASSERT_FALSE(missing.ok());
  EXPECT_TRUE(missing.error().is(errc::not_found));
}

TEST_F(ThreeServerTest, AnEmptyServerWaitsToBeAddedThenCatchesUp) {
  ASSERT_TRUE(c.write(leader, kv_set("before", "join")).ok());
  c.start(4);  // no bootstrap option: waits to be added
  std::vector<gossip::MemberInfo> view;
  for (int n = 1; n <= 4; ++n) view.push_back(member_info(n, n == 4 ? 0 : 3));
  c.set_members_all(view);
  c.tick_all(30);
  EXPECT_TRUE(c.at(4).conf_state().voters.empty());
  EXPECT_EQ(c.at(4).counters().bootstraps, 0u);

  std::optional<Status> added;
  c.at(leader).change_membership(raft::ConfChange{raft::ConfChangeType::add_node, raft_id(4)},
                                 [&](Status s) { added = s; });
  c.await(added);
  ASSERT_TRUE(added.has_value());
  ASSERT_TRUE(added->ok()) << added->error().message();
  c.tick_all(10);
  EXPECT_EQ(c.at(4).conf_state().voters.size(), 4u);
  EXPECT_EQ(kv_value(c, 4, "before", stale()), "join");
  auto peers = c.query(4, rpc::StatusPeers{});
  ASSERT_TRUE(peers.ok());
  EXPECT_EQ(value_of<rpc::StatusPeers>(*peers).size(), 4u);
}

class LaggingFollowerTest : public ThreeServerTest {
 protected:
  LaggingFollowerTest() { snapshot_threshold = 4; }
};

TEST_F(LaggingFollowerTest, CatchesUpFromASnapshotOfTheStore) {
  int f = follower();
  c.isolated.insert(f);
  for (int i = 0; i < 12; ++i) ASSERT_TRUE(c.write(leader, kv_set("s" + std::to_string(i), "v")).ok());
  EXPECT_GE(c.at(leader).raft_status().compactions, 1u);
  c.isolated.clear();
  c.tick_all(10);
  EXPECT_EQ(c.at(f).counters().snapshots_restored, 1u);
  for (int i = 0; i < 12; ++i) EXPECT_EQ(kv_value(c, f, "s" + std::to_string(i), stale()), "v") << i;
}

TEST(ServerBootstrapTest, BootstrapExpectWaitsForTheThirdServer) {
  Cluster c;
  c.start_expecting(1, 2, 3);
  c.set_members_all({member_info(1, 3), member_info(2, 3)});
  c.tick_all(50);
  for (int n = 1; n <= 2; ++n) {
    EXPECT_EQ(c.at(n).counters().bootstraps, 0u);
    EXPECT_TRUE(c.at(n).conf_state().voters.empty());
  }
  EXPECT_EQ(c.elect(5), 0);
  c.start_expecting(3, 3, 3);
  c.set_members_all({member_info(1, 3), member_info(2, 3), member_info(3, 3)});
  for (int n = 1; n <= 3; ++n) {
    EXPECT_EQ(c.at(n).counters().bootstraps, 1u) << "server " << n;
    EXPECT_EQ(c.at(n).conf_state().voters.size(), 3u);
  }
  EXPECT_NE(c.elect(), 0);
}

TEST(ServerBootstrapTest, ServersThatSeeTheFirstOneBootstrappedJoinItsCluster) {
  Cluster c;
  c.start_expecting(1, 3, 3);
  std::vector<gossip::MemberInfo> view{member_info(1, 3), member_info(2, 3), member_info(3, 3)};
  c.at(1).set_members(view);  // server 1 sees everyone first and bootstraps all three
  c.pump();
  EXPECT_EQ(c.at(1).counters().bootstraps, 1u);
  c.at(2).set_members(view);  // the others find server 1 with peers: they wait
  c.at(3).set_members(view);
  c.pump();
  EXPECT_EQ(c.at(2).counters().bootstraps, 0u);
  EXPECT_EQ(c.at(3).counters().bootstraps, 0u);
  int leader = c.elect();
  ASSERT_EQ(leader, 1);  // the only server with a configuration can win
  ASSERT_TRUE(c.write(1, kv_set("one", "cluster")).ok());
  c.tick_all(5);
  for (int n = 2; n <= 3; ++n) {
    EXPECT_EQ(c.at(n).conf_state().voters.size(), 3u) << "server " << n;
    EXPECT_EQ(kv_value(c, n, "one", stale()), "cluster") << "server " << n;
  }
}

TEST(ServerBootstrapTest, RequestsWithoutALeaderAreHeldUntilOneIsElected) {
  Cluster c;
  c.start_expecting(1, 3, 3, [](ServerOptions& o) { o.rpc_hold_timeout = std::chrono::seconds(7); });
  c.set_members_all({member_info(1, 3), member_info(2, 3), member_info(3, 3)});
  std::optional<Result<rpc::WriteResponse>> wrote;
  c.at(2).write({}, kv_set("held", "1"), [&](Result<rpc::WriteResponse> r) { wrote.emplace(std::move(r)); });
  auto read = c.begin_query(3, rpc::KvGet{"held"});
  c.pump();
  EXPECT_FALSE(wrote.has_value());  // no leader yet: held, not failed
  EXPECT_FALSE(read->has_value());
  ASSERT_NE(c.elect(), 0);
  c.tick_all(3);
  for (int i = 0; i < 20 && !(wrote && read->has_value()); ++i) {
    c.scheduler.advance(std::chrono::milliseconds(500));
    c.pump();
    c.tick_all(1);
  }
  ASSERT_TRUE(wrote.has_value());
  EXPECT_TRUE(wrote->ok()) << wrote->error().message();
  ASSERT_TRUE(read->has_value());
  EXPECT_TRUE((*read)->ok());

  // With nobody able to win, the hold ends with "No cluster leader".
  c.isolated = {1, 2, 3};
  c.tick_all(40);
  std::optional<Result<rpc::WriteResponse>> failed;
  c.at(2).write({}, kv_set("k", "v"), [&](Result<rpc::WriteResponse> r) { failed.emplace(std::move(r)); });
  for (int i = 0; i < 40 && !failed; ++i) {
    c.scheduler.advance(std::chrono::milliseconds(500));
    c.pump();
  }
  ASSERT_TRUE(failed.has_value());
  ASSERT_FALSE(failed->ok());
  EXPECT_EQ(failed->error().message(), "No cluster leader");
}

TEST(ServerBootstrapTest, SuspectServersCountAsAliveAndFailedOnesDoNot) {
  Cluster c;
  c.start_expecting(1, 3, 3);
  gossip::MemberInfo three = member_info(3, 3);
  three.state = gossip::MemberState::dead;
  c.at(1).set_members({member_info(1, 3), member_info(2, 3), three});
  c.pump();
  EXPECT_EQ(c.at(1).counters().bootstraps, 0u);
  three.state = gossip::MemberState::suspect;
  c.at(1).set_members({member_info(1, 3), member_info(2, 3), three});
  c.pump();
  EXPECT_EQ(c.at(1).counters().bootstraps, 1u);
}

TEST(ServerBootstrapTest, ConflictingExpectDoesNotBootstrap) {
  Cluster c;
  c.start_expecting(1, 2, 3);
  c.start_expecting(3, 3, 5);
  c.set_members_all({member_info(1, 3), member_info(2, 3), member_info(3, 5)});
  c.tick_all(20);
  for (int n = 1; n <= 3; ++n) EXPECT_EQ(c.at(n).counters().bootstraps, 0u);
  EXPECT_EQ(c.elect(5), 0);
}

TEST_F(ThreeServerTest, AServerThatFindsPeersIsNotBootstrappedAgain) {
  // A fourth server expecting 3 sees three servers that already have peers.
  c.start_expecting(4, 4, 3);
  c.at(4).set_members({member_info(1, 3), member_info(2, 3), member_info(3, 3), member_info(4, 3)});
  c.pump();
  EXPECT_EQ(c.at(4).counters().bootstraps, 0u);
  EXPECT_TRUE(c.at(4).conf_state().voters.empty());

  // A restarted server with Raft state just starts.
  int f = follower();
  ServerOptions again = c.options(f);
  again.bootstrap_expect = 3;
  c.kill(f);
  c.start(f, again);
  c.at(f).set_members({member_info(1, 3), member_info(2, 3), member_info(3, 3)});
  c.pump();
  EXPECT_EQ(c.at(f).counters().bootstraps, 0u);
  EXPECT_EQ(c.at(f).conf_state().voters.size(), 3u);
}

TEST(SnapshotArchiveTest, PackAndUnpackRoundTripAndDetectCorruption) {
  cairn::test::TempDir tmp;
  std::filesystem::create_directories(tmp.sub("in"));
  for (auto [name, body] : {std::pair{"a.sst", std::string("alpha")}, std::pair{"MANIFEST", std::string(1000, 'x')}}) {
    std::FILE* f = std::fopen((tmp.sub("in") + "/" + name).c_str(), "wb");
    std::fwrite(body.data(), 1, body.size(), f);
    std::fclose(f);
  }
  auto packed = pack_checkpoint(tmp.sub("in"), 42);
  ASSERT_TRUE(packed.ok());
  EXPECT_EQ(packed_applied_index(*packed).value_or(0), 42u);
  auto unpacked = unpack_checkpoint(*packed, tmp.sub("out"));
  ASSERT_TRUE(unpacked.ok()) << unpacked.error().message();
  EXPECT_EQ(*unpacked, 42u);
  EXPECT_EQ(std::filesystem::file_size(tmp.sub("out") + "/MANIFEST"), 1000u);

  std::string bad = *packed;
  bad[bad.size() / 2] ^= 1;
  EXPECT_FALSE(packed_applied_index(bad).ok());
  for (size_t cut = 0; cut < packed->size(); cut += 7)
    EXPECT_FALSE(unpack_checkpoint(packed->substr(0, cut), tmp.sub("cut" + std::to_string(cut))).ok());
}

TEST(ServerOptionsTest, BadOptionsNameTheField) {
  Cluster c;
  ServerDeps deps;
  ServerOptions o = c.options(1);
  auto r = Server::start(c.io, o, deps);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("transport"), std::string::npos);
  o.node_id = "not-a-uuid";
  r = Server::start(c.io, o, deps);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("node_id"), std::string::npos);
}

}  // namespace
}  // namespace cairn::server::test
