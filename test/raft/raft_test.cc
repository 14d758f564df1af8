// Behaviour of one Raft node, message by message. Scenario scripts in
// test/testdata/raft cover the multi-node stories; these pin single rules.
#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <memory>

#include "core/rng.h"
#include "raft/errc.h"
#include "raft/node.h"

namespace cairn::raft {
namespace {

class Cluster {
 public:
  explicit Cluster(std::vector<NodeId> voters, const std::function<void(Config&)>& tweak = {}) {
    for (NodeId id : voters) {
      auto p = std::make_unique<Peer>(ConfState{voters, {}}, id);
      Config cfg = Config::defaults(id);
      cfg.check_invariants = true;
      if (tweak) tweak(cfg);
      p->node = std::move(Node::create(cfg, &p->storage, &p->rng)).value();
      peers_.emplace(id, std::move(p));
    }
  }

  Node& node(NodeId id) { return *peers_.at(id)->node; }
  MemoryStorage& storage(NodeId id) { return peers_.at(id)->storage; }

  // Handles every Ready of `id` (persist, apply, advance) and returns the
  // messages it wanted to send.
  std::vector<Message> drain(NodeId id) {
    std::vector<Message> out;
    Peer& p = *peers_.at(id);
    while (p.node->has_ready()) {
      Ready rd = p.node->ready();
      if (rd.snapshot) {
        EXPECT_TRUE(p.storage.apply_snapshot(*rd.snapshot).ok());
      }
      EXPECT_TRUE(p.storage.append(rd.entries).ok());
      if (rd.hard_state) {
        EXPECT_TRUE(p.storage.set_hard_state(*rd.hard_state).ok());
      }
      for (const Entry& e : rd.committed_entries) p.applied.push_back(e);
      for (const ReadState& rs : rd.read_states) p.reads.push_back(rs);
      out.insert(out.end(), rd.messages.begin(), rd.messages.end());
      p.node->advance();
    }
    return out;
  }

  // Delivers messages until nobody has anything to say.
  void stabilize() {
    for (int round = 0; round < 100; ++round) {
      std::vector<Message> all;
      for (auto& [id, p] : peers_) {
        auto m = drain(id);
        all.insert(all.end(), m.begin(), m.end());
      }
      if (all.empty()) return;
      for (Message& m : all) {
        if (peers_.count(m.to)) (void)node(m.to).step(std::move(m));
      }
    }
    FAIL() << "cluster did not stabilize";
  }

  // Ticks every node `n` times, dropping whatever they say (time passing
  // before anything happens).
  void age(int n) {
    for (auto& [id, p] : peers_) {
      for (int i = 0; i < n; ++i) p->node->tick();
      drain(id);
    }
  }

  void elect(NodeId id) {
    node(id).campaign();
    stabilize();
    ASSERT_EQ(node(id).state(), StateType::leader);
  }

  const std::vector<Entry>& applied(NodeId id) { return peers_.at(id)->applied; }
  const std::vector<ReadState>& reads(NodeId id) { return peers_.at(id)->reads; }

 private:
  struct Peer {
    Peer(ConfState cs, NodeId id) : storage(std::move(cs)), rng(id) {}
    MemoryStorage storage;
    SeededRng rng;
    std::unique_ptr<Node> node;
    std::vector<Entry> applied;
    std::vector<ReadState> reads;
  };
  std::map<NodeId, std::unique_ptr<Peer>> peers_;
};

std::vector<Message> of_type(const std::vector<Message>& msgs, MessageType t) {
  std::vector<Message> out;
  for (const Message& m : msgs) {
    if (m.type == t) out.push_back(m);
  }
  return out;
}

Message msg(MessageType t, NodeId from, NodeId to, Term term) {
  Message m;
  m.type = t;
  m.from = from;
  m.to = to;
  m.term = term;
  return m;
}

// An append from `from` to `to` in `term` after (prev, prev_term).
Message append(NodeId from, NodeId to, Term term, Index prev, Term prev_term, std::vector<Entry> ents = {}) {
  Message m = msg(MessageType::app, from, to, term);
  m.index = prev;
  m.log_term = prev_term;
  m.entries = std::move(ents);
  return m;
}

void no_pre_vote(Config& c) { c.pre_vote = false; }

TEST(Raft, FollowerRejectsAppendWithStaleTerm) {
  Cluster c({1, 2, 3});
  c.elect(1);
  Term term = c.node(2).term();
  Message app = append(3, 2, term - 1, 2, 1, {Entry{term - 1, 3, EntryType::normal, "stale"}});
  ASSERT_TRUE(c.node(2).step(app).ok());
  auto out = c.drain(2);
  // The stale leader is told the current term, and nothing was appended.
  ASSERT_EQ(of_type(out, MessageType::app_resp).size(), 1u);
  EXPECT_EQ(out[0].term, term);
  EXPECT_EQ(c.node(2).raft().log().last_index(), 2u);
}

TEST(Raft, FollowerRejectsAppendWhosePreviousEntryDoesNotMatchAndHintsWhereToProbe) {
  Cluster c({1, 2, 3});
  c.elect(1);
  Term term = c.node(2).term();
  Message app = append(1, 2, term, 9, term, {Entry{term, 10, EntryType::normal, "x"}});
  ASSERT_TRUE(c.node(2).step(app).ok());
  auto resp = of_type(c.drain(2), MessageType::app_resp);
  ASSERT_EQ(resp.size(), 1u);
  EXPECT_TRUE(resp[0].reject);
  EXPECT_EQ(resp[0].reject_hint, 2u);  // our last index
  EXPECT_EQ(resp[0].log_term, term);
}

TEST(Raft, CandidateWithAMajorityBecomesLeaderAndAppendsANoOp) {
  Cluster c({1, 2, 3}, no_pre_vote);
  c.elect(1);
  const RaftLog& log = c.node(1).raft().log();
  EXPECT_EQ(log.last_index(), 2u);
  EXPECT_EQ(*log.term(2), c.node(1).term());
  EXPECT_EQ(log.committed(), 2u);
  ASSERT_FALSE(c.applied(2).empty());
  EXPECT_TRUE(c.applied(2).back().data.empty());
}

TEST(Raft, NodeGrantsAtMostOneVotePerTerm) {
  Cluster c({1, 2, 3}, no_pre_vote);
  Message v1 = msg(MessageType::vote, 1, 3, 5);
  v1.index = 1;
  v1.log_term = 1;
  Message v2 = v1;
  v2.from = 2;
  ASSERT_TRUE(c.node(3).step(v1).ok());
  ASSERT_TRUE(c.node(3).step(v2).ok());
  auto resp = of_type(c.drain(3), MessageType::vote_resp);
  ASSERT_EQ(resp.size(), 2u);
  EXPECT_FALSE(resp[0].reject);
  EXPECT_TRUE(resp[1].reject);
  EXPECT_EQ(c.node(3).raft().vote(), 1u);
}

TEST(Raft, NodeRejectsAVoteForACandidateWithAStaleLog) {
  // Without CheckQuorum, so that the leader lease does not hide the log check.
  Cluster c({1, 2, 3}, [](Config& cfg) { cfg.pre_vote = false; cfg.check_quorum = false; });
  c.elect(1);  // everyone holds the no-op of term 2 at index 2
  Message v = msg(MessageType::vote, 3, 2, 9);
  v.index = 1;
  v.log_term = 1;
  ASSERT_TRUE(c.node(2).step(v).ok());
  auto resp = of_type(c.drain(2), MessageType::vote_resp);
  ASSERT_EQ(resp.size(), 1u);
  EXPECT_TRUE(resp[0].reject);
}

TEST(Raft, LeaderStepsDownOnAHigherTerm) {
  Cluster c({1, 2, 3});
  c.elect(1);
  Term term = c.node(1).term();
  ASSERT_TRUE(c.node(1).step(msg(MessageType::app_resp, 2, 1, term + 3)).ok());
  EXPECT_EQ(c.node(1).state(), StateType::follower);
  EXPECT_EQ(c.node(1).term(), term + 3);
}

TEST(Raft, PreCandidateDoesNotIncreaseItsTerm) {
  Cluster c({1, 2, 3});
  Term before = c.node(1).term();
  c.node(1).campaign();
  EXPECT_EQ(c.node(1).state(), StateType::pre_candidate);
  EXPECT_EQ(c.node(1).term(), before);
  auto pre = of_type(c.drain(1), MessageType::pre_vote);
  ASSERT_EQ(pre.size(), 2u);
  EXPECT_EQ(pre[0].term, before + 1);
}

TEST(Raft, FollowerIgnoresVoteRequestsWhileItHearsFromALeader) {
  Cluster c({1, 2, 3});
  c.elect(1);
  Term term = c.node(2).term();
  Message v = msg(MessageType::vote, 3, 2, term + 1);
  v.index = 100;
  v.log_term = term;
  ASSERT_TRUE(c.node(2).step(v).ok());
  EXPECT_TRUE(c.drain(2).empty());
  EXPECT_EQ(c.node(2).term(), term);  // thesis §4.2.3: no disruption
}

TEST(Raft, LeaderWithoutQuorumStepsDownAfterAnElectionTimeout) {
  Cluster c({1, 2, 3});
  c.elect(1);
  // Nobody answers for two election timeouts: CheckQuorum deposes it.
  for (int i = 0; i < 2 * c.node(1).raft().config().election_tick; ++i) {
    c.node(1).tick();
    c.drain(1);
  }
  EXPECT_EQ(c.node(1).state(), StateType::follower);
}

TEST(Raft, ProposalWithoutALeaderIsDropped) {
  Cluster c({1, 2, 3});
  Status st = c.node(2).propose("x");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code(), errc::proposal_dropped);
}

TEST(Raft, FollowerForwardsProposalsToTheLeader) {
  Cluster c({1, 2, 3});
  c.elect(1);
  ASSERT_TRUE(c.node(2).propose("x").ok());
  auto prop = of_type(c.drain(2), MessageType::prop);
  ASSERT_EQ(prop.size(), 1u);
  EXPECT_EQ(prop[0].to, 1u);
}

TEST(Raft, ManyProposalsArePersistedInOneReadyAndSentInOneAppend) {
  Cluster c({1, 2, 3});
  c.elect(1);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(c.node(1).propose("p" + std::to_string(i)).ok());
  ASSERT_TRUE(c.node(1).has_ready());
  Ready rd = c.node(1).ready();
  EXPECT_EQ(rd.entries.size(), 10u);
  EXPECT_TRUE(rd.must_sync);
  auto apps = of_type(rd.messages, MessageType::app);
  ASSERT_EQ(apps.size(), 2u);  // one per follower
  EXPECT_EQ(apps[0].entries.size(), 10u);
  ASSERT_TRUE(c.storage(1).append(rd.entries).ok());
  c.node(1).advance();
}

TEST(Raft, PipelinedAppendsStopAtTheInflightWindow) {
  Cluster c({1, 2}, [](Config& cfg) { cfg.max_inflight_msgs = 2; cfg.max_size_per_msg = 0; });
  c.elect(1);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(c.node(1).propose("p").ok());
  // Appends carry one entry each (max_size_per_msg = 0); only two are in flight.
  std::vector<Message> apps;
  for (const Message& m : c.drain(1)) {
    if (m.type == MessageType::app && !m.entries.empty()) apps.push_back(m);
  }
  EXPECT_EQ(apps.size(), 2u);
}

TEST(Raft, SingleVoterCommitsItsOwnProposals) {
  Cluster c({1});
  c.elect(1);
  ASSERT_TRUE(c.node(1).propose("x").ok());
  c.drain(1);
  EXPECT_EQ(c.applied(1).back().data, "x");
}

TEST(Raft, ProposalsAreDroppedDuringLeadershipTransfer) {
  Cluster c({1, 2, 3});
  c.elect(1);
  c.node(1).transfer_leadership(2);
  // Transfer to an up-to-date follower sends TimeoutNow at once.
  auto out = c.drain(1);
  ASSERT_EQ(of_type(out, MessageType::timeout_now).size(), 1u);
  Status st = c.node(1).propose("x");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code(), errc::proposal_dropped);
}

TEST(Raft, SecondConfChangeIsRefusedWhileTheFirstIsUncommitted) {
  Cluster c({1, 2, 3});
  c.elect(1);
  ASSERT_TRUE(c.node(1).propose_conf_change({ConfChangeType::add_learner, 4}).ok());
  Status st = c.node(1).propose_conf_change({ConfChangeType::add_learner, 5});
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code(), errc::config_change_pending);
}

TEST(Raft, ConfChangeTakesEffectWhenAppendedNotWhenCommitted) {
  Cluster c({1, 2, 3});
  c.elect(1);
  ASSERT_TRUE(c.node(1).propose_conf_change({ConfChangeType::add_learner, 4}).ok());
  EXPECT_TRUE(c.node(1).raft().tracker().config().is_learner(4));
  EXPECT_LT(c.node(1).raft().log().committed(), c.node(1).raft().log().last_index());
}

TEST(Raft, LearnerPromotionIsRefusedUntilTheLearnerCatchesUp) {
  Cluster c({1, 2, 3});
  c.elect(1);
  ASSERT_TRUE(c.node(1).propose_conf_change({ConfChangeType::add_learner, 4}).ok());
  c.stabilize();  // 4 does not exist: it never acknowledges anything
  Status st = c.node(1).propose_conf_change({ConfChangeType::add_node, 4});
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code(), errc::learner_not_caught_up);
}

TEST(Raft, ConfChangeOnAFollowerIsRefused) {
  Cluster c({1, 2, 3});
  c.elect(1);
  EXPECT_EQ(c.node(2).propose_conf_change({ConfChangeType::add_learner, 4}).error().code(), errc::not_leader);
}

TEST(Raft, RemovingTheLastVoterIsRefused) {
  Cluster c({1});
  c.elect(1);
  EXPECT_EQ(c.node(1).propose_conf_change({ConfChangeType::remove_node, 1}).error().code(),
            errc::invalid_conf_change);
}

TEST(Raft, ReadIndexOnASingleVoterAnswersAtOnce) {
  Cluster c({1});
  c.elect(1);
  ASSERT_TRUE(c.node(1).read_index("r1").ok());
  c.drain(1);
  ASSERT_EQ(c.reads(1).size(), 1u);
  EXPECT_EQ(c.reads(1)[0].context, "r1");
  EXPECT_EQ(c.reads(1)[0].index, c.node(1).raft().log().committed());
}

TEST(Raft, ReadIndexWaitsForAQuorumOfHeartbeatAcks) {
  Cluster c({1, 2, 3});
  c.elect(1);
  ASSERT_TRUE(c.node(1).read_index("r1").ok());
  auto hb = of_type(c.drain(1), MessageType::heartbeat);
  ASSERT_EQ(hb.size(), 2u);
  EXPECT_EQ(hb[0].context, "r1");
  EXPECT_TRUE(c.reads(1).empty());
  ASSERT_TRUE(c.node(2).step(hb[0]).ok());  // one ack plus the leader's own: a quorum of 3
  ASSERT_TRUE(c.node(1).step(of_type(c.drain(2), MessageType::heartbeat_resp).at(0)).ok());
  c.drain(1);
  ASSERT_EQ(c.reads(1).size(), 1u);
}

TEST(Raft, LeaseReadAnswersWithoutARoundTrip) {
  Cluster c({1, 2, 3}, [](Config& cfg) { cfg.read_only_option = ReadOnlyOption::lease; });
  c.age(10);  // with lease reads, a fresh node grants no vote for an election timeout
  c.elect(1);
  c.node(1).tick();  // a heartbeat round acknowledged by a majority starts the lease
  c.stabilize();
  ASSERT_TRUE(c.node(1).read_index("r1").ok());
  EXPECT_TRUE(of_type(c.drain(1), MessageType::heartbeat).empty());
  ASSERT_EQ(c.reads(1).size(), 1u);
}

TEST(Raft, LeaseReadFallsBackToAHeartbeatRoundWhenTheLeaseExpired) {
  Cluster c({1, 2, 3}, [](Config& cfg) { cfg.read_only_option = ReadOnlyOption::lease; });
  c.age(10);  // with lease reads, a fresh node grants no vote for an election timeout
  c.elect(1);
  c.node(1).tick();
  c.stabilize();
  // Nobody answers for an election timeout: the lease runs out.
  for (int i = 0; i < c.node(1).raft().config().election_tick - 1; ++i) {
    c.node(1).tick();
    c.drain(1);
  }
  ASSERT_EQ(c.node(1).state(), StateType::leader);
  ASSERT_TRUE(c.node(1).read_index("r1").ok());
  EXPECT_EQ(of_type(c.drain(1), MessageType::heartbeat).size(), 2u);
  EXPECT_TRUE(c.reads(1).empty());
}

TEST(Raft, WithLeaseReadsAFreshNodeGrantsNoVoteForAnElectionTimeout) {
  Cluster c({1, 2, 3}, [](Config& cfg) { cfg.read_only_option = ReadOnlyOption::lease; cfg.pre_vote = false; });
  Message v = msg(MessageType::vote, 1, 2, 5);
  v.index = 1;
  v.log_term = 1;
  ASSERT_TRUE(c.node(2).step(v).ok());
  EXPECT_TRUE(c.drain(2).empty());  // it may have acked a lease before it restarted
  c.age(10);
  ASSERT_TRUE(c.node(2).step(v).ok());
  auto resp = of_type(c.drain(2), MessageType::vote_resp);
  ASSERT_EQ(resp.size(), 1u);
  EXPECT_FALSE(resp[0].reject);
}

TEST(Raft, LeaseReadIsNotTrustedAfterTimeoutNow) {
  Cluster c({1, 2, 3}, [](Config& cfg) { cfg.read_only_option = ReadOnlyOption::lease; });
  c.age(10);  // with lease reads, a fresh node grants no vote for an election timeout
  c.elect(1);
  c.node(1).tick();
  c.stabilize();
  c.node(1).transfer_leadership(2);
  c.drain(1);  // TimeoutNow is sent (and lost)
  ASSERT_EQ(c.node(1).state(), StateType::leader);
  ASSERT_TRUE(c.node(1).read_index("r1").ok());
  EXPECT_EQ(of_type(c.drain(1), MessageType::heartbeat).size(), 2u);
}

TEST(Raft, CompactRefusesAnIndexPastApplied) {
  Cluster c({1});
  c.elect(1);
  Status st = c.node(1).compact(99, "img");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code(), errc::invalid_argument);
}

TEST(Raft, CompactStoresTheSnapshotWithTheConfiguration) {
  Cluster c({1});
  c.elect(1);
  ASSERT_TRUE(c.node(1).propose("x").ok());
  c.drain(1);
  Index applied = c.node(1).raft().log().applied();
  ASSERT_TRUE(c.node(1).compact(applied, "img").ok());
  auto snap = c.storage(1).snapshot();
  EXPECT_EQ(snap->metadata.index, applied);
  EXPECT_EQ(snap->metadata.conf_state.voters, (std::vector<NodeId>{1}));
  EXPECT_EQ(c.storage(1).first_index(), applied + 1);
}

TEST(Raft, RestartRecoversTermVoteCommitAndConfigurationFromStorage) {
  MemoryStorage storage(ConfState{{1}, {}});
  SeededRng rng(1);
  Config cfg = Config::defaults(1);
  cfg.check_invariants = true;
  auto persist = [&](Node& node) {
    while (node.has_ready()) {
      Ready rd = node.ready();
      ASSERT_TRUE(storage.append(rd.entries).ok());
      if (rd.hard_state) {
        ASSERT_TRUE(storage.set_hard_state(*rd.hard_state).ok());
      }
      node.advance();
    }
  };
  {
    auto node = std::move(Node::create(cfg, &storage, &rng)).value();
    node->campaign();
    persist(*node);
    ASSERT_EQ(node->state(), StateType::leader);
    ASSERT_TRUE(node->propose_conf_change({ConfChangeType::add_learner, 2}).ok());
    persist(*node);
  }
  auto node = std::move(Node::create(cfg, &storage, &rng)).value();
  EXPECT_EQ(node->term(), storage.hard_state().term);
  EXPECT_EQ(node->term(), 2u);
  EXPECT_EQ(node->raft().vote(), 1u);
  EXPECT_EQ(node->raft().log().committed(), storage.hard_state().commit);
  EXPECT_TRUE(node->raft().tracker().config().is_learner(2));
  EXPECT_EQ(node->state(), StateType::follower);
}

TEST(Raft, StepRefusesLocalMessagesFromTheNetwork) {
  Cluster c({1, 2, 3});
  EXPECT_EQ(c.node(1).step(msg(MessageType::hup, 2, 1, 0)).error().code(), errc::step_local_msg);
}

TEST(Raft, StepRefusesResponsesFromNonMembers) {
  Cluster c({1, 2, 3});
  EXPECT_EQ(c.node(1).step(msg(MessageType::app_resp, 9, 1, 1)).error().code(), errc::step_peer_not_found);
}

TEST(Raft, StepRefusesAnAppendWhoseEntriesAreNotContiguous) {
  Cluster c({1, 2, 3});
  Message app = append(1, 2, 2, 1, 1, {Entry{2, 2, EntryType::normal, "a"}, Entry{2, 4, EntryType::normal, "b"}});
  EXPECT_EQ(c.node(2).step(app).error().code(), errc::invalid_message);
  EXPECT_EQ(c.node(2).raft().log().last_index(), 1u);
}

TEST(Raft, StepRefusesEntriesFromAFutureTerm) {
  Cluster c({1, 2, 3});
  Message app = append(1, 2, 2, 1, 1, {Entry{7, 2, EntryType::normal, "a"}});
  EXPECT_EQ(c.node(2).step(app).error().code(), errc::invalid_message);
}

TEST(Raft, StepRefusesAMessageAddressedToAnotherNode) {
  Cluster c({1, 2, 3});
  EXPECT_EQ(c.node(2).step(msg(MessageType::heartbeat, 1, 3, 2)).error().code(), errc::invalid_message);
}

TEST(Raft, StepRefusesAnAppendWithoutATerm) {
  Cluster c({1, 2, 3});
  Message app = append(3, 2, 0, 1, 1);
  EXPECT_EQ(c.node(2).step(app).error().code(), errc::invalid_message);
  EXPECT_EQ(c.node(2).leader(), kNoNode);
}

TEST(Raft, StepRefusesIndexesNearTheTopOfTheRange) {
  Cluster c({1, 2, 3});
  Message m = msg(MessageType::snap, 1, 2, 2);
  m.snapshot = Snapshot{{UINT64_MAX, 1, ConfState{{1, 2, 3}, {}}}, ""};
  EXPECT_EQ(c.node(2).step(m).error().code(), errc::invalid_message);
}

TEST(Raft, StepRefusesASnapshotMessageWithoutASnapshot) {
  Cluster c({1, 2, 3});
  EXPECT_EQ(c.node(2).step(msg(MessageType::snap, 1, 2, 2)).error().code(), errc::invalid_message);
}

TEST(Raft, NodeCreateRejectsAnInvalidConfig) {
  MemoryStorage storage;
  SeededRng rng(1);
  Config cfg = Config::defaults(1);
  cfg.election_tick = 1;
  auto node = Node::create(cfg, &storage, &rng);
  ASSERT_FALSE(node.ok());
  EXPECT_EQ(node.error().code(), errc::invalid_config);
}

TEST(Raft, ElectionTimeoutIsRandomizedWithinOneToTwoElectionTicks) {
  Cluster c({1, 2, 3});
  int t = c.node(1).raft().randomized_election_timeout();
  int e = c.node(1).raft().config().election_tick;
  EXPECT_GE(t, e);
  EXPECT_LT(t, 2 * e);
}

}  // namespace
}  // namespace cairn::raft

namespace cairn::raft {
namespace {

// The checker compares a node with what it saw before; feeding it two
// different nodes stands in for a node whose state went backwards.
struct Solo {
  explicit Solo(uint64_t seed) : storage(ConfState{{1}, {}}), rng(seed) {
    Config cfg = Config::defaults(1);
    node = std::move(Node::create(cfg, &storage, &rng)).value();
  }
  void settle() {
    while (node->has_ready()) {
      Ready rd = node->ready();
      EXPECT_TRUE(storage.append(rd.entries).ok());
      if (rd.hard_state) {
        EXPECT_TRUE(storage.set_hard_state(*rd.hard_state).ok());
      }
      node->advance();
    }
  }
  MemoryStorage storage;
  SeededRng rng;
  std::unique_ptr<Node> node;
};

TEST(InvariantChecker, AcceptsANodeThatMovesForward) {
  Solo a(1);
  InvariantChecker checker;
  EXPECT_TRUE(checker.check(a.node->raft()).ok());
  a.node->campaign();
  a.settle();
  EXPECT_TRUE(checker.check(a.node->raft()).ok());
}

TEST(InvariantChecker, FlagsATermThatWentBack) {
  Solo ahead(1), behind(2);
  ahead.node->campaign();
  ahead.settle();
  InvariantChecker checker;
  ASSERT_TRUE(checker.check(ahead.node->raft()).ok());
  Status st = checker.check(behind.node->raft());
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message().find("term went back"), std::string::npos);
}

TEST(InvariantChecker, FlagsACommitIndexThatWentBack) {
  Solo ahead(1), behind(2);
  ahead.node->campaign();
  ahead.settle();
  ASSERT_TRUE(ahead.node->propose("x").ok());
  ahead.settle();
  behind.node->campaign();  // the same term and vote, one entry fewer committed
  behind.settle();
  InvariantChecker checker;
  ASSERT_TRUE(checker.check(ahead.node->raft()).ok());
  Status st = checker.check(behind.node->raft());
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message().find("commit went back"), std::string::npos);
}

}  // namespace
}  // namespace cairn::raft

namespace cairn::raft {
namespace {

// Messages from the network are untrusted: whatever a peer sends, a node
// answers or refuses, and never aborts. Random messages with plausible
// fields (terms and indexes near the real ones) reach the deep paths.
TEST(RaftFuzz, RandomPeerMessagesNeverBreakANode) {
  SeededRng rng(2024);
  const MessageType kTypes[] = {MessageType::prop, MessageType::app, MessageType::app_resp,
                                MessageType::vote, MessageType::vote_resp, MessageType::pre_vote,
                                MessageType::pre_vote_resp, MessageType::snap, MessageType::heartbeat,
                                MessageType::heartbeat_resp, MessageType::transfer_leader,
                                MessageType::timeout_now, MessageType::read_index, MessageType::read_index_resp};
  int accepted = 0;
  Index longest = 0;
  for (int round = 0; round < 20; ++round) {
    Cluster c({1, 2, 3});
    c.elect(1);
    for (int i = 0; i < 2000; ++i) {
      NodeId to = 1 + rng.uniform(3);
      NodeId from = 1 + rng.uniform(4);  // 4 is not a member
      if (from == to) continue;
      const Raft& r = c.node(to).raft();
      Message m;
      m.type = kTypes[rng.uniform(std::size(kTypes))];
      m.from = from;
      m.to = to;
      m.term = r.term() + rng.uniform(3) - (r.term() > 1 ? rng.uniform(2) : 0);
      m.index = rng.uniform(r.log().last_index() + 4);
      m.log_term = rng.uniform(m.term + 1);
      m.commit = rng.uniform(r.log().last_index() + 4);
      m.reject = rng.uniform(2) == 0;
      m.reject_hint = rng.uniform(m.index + 1);
      if (m.type == MessageType::app || m.type == MessageType::prop) {
        Term t = m.log_term;
        for (uint64_t k = 0, n = rng.uniform(4); k < n; ++k) {
          t = std::min<Term>(m.term, t + rng.uniform(2));
          EntryType type = rng.uniform(4) == 0 ? EntryType::conf_change : EntryType::normal;
          std::string data = type == EntryType::conf_change
                                 ? ConfChange{static_cast<ConfChangeType>(rng.uniform(3)), 1 + rng.uniform(4)}.encode()
                                 : "f" + std::to_string(i);
          m.entries.push_back(Entry{t, m.index + 1 + k, type, data});
        }
      }
      if (m.type == MessageType::snap) {
        Index at = 1 + rng.uniform(r.log().last_index() + 4);
        m.snapshot = Snapshot{{at, std::min<Term>(m.term, 1 + rng.uniform(m.term)), ConfState{{1, 2, 3}, {}}}, "s"};
      }
      accepted += c.node(to).step(m).ok() ? 1 : 0;  // errors are fine; aborts are not
      c.drain(to);
      longest = std::max(longest, c.node(to).raft().log().last_index());
      if (rng.uniform(50) == 0) c.node(to).tick();
    }
  }
  // The messages reached the protocol, not just the validation.
  EXPECT_GT(accepted, 10000);
  EXPECT_GT(longest, 10u);
}

}  // namespace
}  // namespace cairn::raft
