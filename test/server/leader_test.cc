#include "server/leader.h"

#include <gtest/gtest.h>

#include <random>

#include "test/server/leader_fixture.h"

namespace cairn::server::leader_test {
namespace {

// ---- members → catalog ----

TEST_F(LeaderTest, AliveMemberIsRegisteredWithPassingSerfHealth) {
  members_ = {client("web1", "10.0.0.2")};
  start();
  auto n = node("web1");
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(n->address, "10.0.0.2");
  EXPECT_EQ(n->id, uuid_of("web1"));
  EXPECT_EQ(n->datacenter, "dc1");
  EXPECT_EQ(n->meta.at("consul-version"), "1.0.0");
  auto c = serf("web1");
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->name, "Serf Health Status");
  EXPECT_EQ(c->status, "passing");
  EXPECT_EQ(c->output, "Agent alive and reachable");
}

TEST_F(LeaderTest, JoinEventRegistersTheMember) {
  start();
  auto m = client("web1", "10.0.0.2");
  set_member(m);
  event(gossip::MemberEvent::Kind::join, m);
  ASSERT_TRUE(serf("web1").has_value());
  EXPECT_EQ(serf("web1")->status, "passing");
}

TEST_F(LeaderTest, ReconcileOfAnUnchangedCatalogWritesNothing) {
  members_ = {client("web1", "10.0.0.2"), server_member("srv2", "10.0.0.3", kServerUuid)};
  start();
  size_t writes = server_->writes.size();
  uint64_t applied = store_->applied_index();
  EXPECT_EQ(writes, 2u);
  scheduler_.advance(options_.reconcile_interval);
  scheduler_.advance(options_.reconcile_interval);
  EXPECT_EQ(server_->writes.size(), writes);
  EXPECT_EQ(store_->applied_index(), applied);
  EXPECT_GT(server_->queries, 6);  // it did read
}

TEST_F(LeaderTest, ReconcileKeepsTaggedAddressesAndMetaOthersWrote) {
  members_ = {client("web1", "10.0.0.2")};
  fsm::RegisterCommand c;
  c.request.node = "web1";
  c.request.address = "10.0.0.1";  // moved: the leader must rewrite the address
  c.request.node_meta = {{"rack", "r1"}};
  c.request.tagged_addresses = {{"wan", "1.2.3.4"}};
  ASSERT_TRUE(server_->apply(fsm::encode(c)).ok());
  start();
  auto n = node("web1");
  EXPECT_EQ(n->address, "10.0.0.2");
  EXPECT_EQ(n->meta, (api::StringMap{{"rack", "r1"}}));
  EXPECT_EQ(n->tagged_addresses.at("wan"), "1.2.3.4");
}

TEST_F(LeaderTest, FailedMemberGoesCritical) {
  auto m = client("web1", "10.0.0.2");
  members_ = {m};
  start();
  gossip_says(m, gossip::MemberState::dead, gossip::MemberEvent::Kind::failed);
  auto c = serf("web1");
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->status, "critical");
  EXPECT_EQ(c->output, "Agent not live or unreachable");
  ASSERT_TRUE(node("web1").has_value());
  // Still critical at the next reconcile, with nothing rewritten.
  size_t writes = server_->writes.size();
  scheduler_.advance(options_.reconcile_interval);
  EXPECT_EQ(server_->writes.size(), writes);
}

TEST_F(LeaderTest, FailedMemberNeverRegisteredIsIgnored) {
  start();
  auto m = client("web1", "10.0.0.2");
  m.state = gossip::MemberState::dead;
  event(gossip::MemberEvent::Kind::failed, m);
  EXPECT_FALSE(node("web1").has_value());
  EXPECT_TRUE(server_->writes.empty());
}

TEST_F(LeaderTest, LeftMemberIsDeregistered) {
  auto m = client("web1", "10.0.0.2");
  members_ = {m};
  start();
  ASSERT_TRUE(node("web1").has_value());
  gossip_says(m, gossip::MemberState::left, gossip::MemberEvent::Kind::leave);
  EXPECT_FALSE(node("web1").has_value());
  EXPECT_TRUE(store_->read().node_checks("web1")->value.empty());
}

TEST_F(LeaderTest, ReapedMemberIsDeregistered) {
  auto m = client("web1", "10.0.0.2");
  members_ = {m};
  start();
  m.state = gossip::MemberState::dead;
  remove_member("web1");
  event(gossip::MemberEvent::Kind::reap, m);
  EXPECT_FALSE(node("web1").has_value());
}

TEST_F(LeaderTest, MembersOfAnotherDatacenterAreIgnored) {
  members_ = {client("far", "10.1.0.2", "dc2")};
  start();
  event(gossip::MemberEvent::Kind::join, members_[0]);
  EXPECT_FALSE(node("far").has_value());
  EXPECT_TRUE(server_->writes.empty());
}

TEST_F(LeaderTest, CatalogNodeWithSerfHealthUnknownToGossipIsDeregistered) {
  register_direct("ghost", true);
  register_direct("external", false);  // registered through the catalog API: not the leader's business
  members_ = {client("web1", "10.0.0.2")};
  start();
  EXPECT_FALSE(node("ghost").has_value());
  EXPECT_TRUE(node("external").has_value());
  EXPECT_TRUE(node("web1").has_value());
}

TEST_F(LeaderTest, LeaderDoesNotDeregisterItself) {
  auto self = server_member("leader", "10.0.0.1", "11111111-1111-1111-1111-111111111111");
  members_ = {self};
  start();
  ASSERT_TRUE(node("leader").has_value());
  gossip_says(self, gossip::MemberState::left, gossip::MemberEvent::Kind::leave);
  EXPECT_TRUE(node("leader").has_value());
  EXPECT_TRUE(changes_.empty());
}

TEST_F(LeaderTest, FailedWriteIsRetriedAtTheNextReconcile) {
  members_ = {client("web1", "10.0.0.2")};
  server_->fail_writes = true;
  start();
  EXPECT_FALSE(node("web1").has_value());
  server_->fail_writes = false;
  scheduler_.advance(options_.reconcile_interval);
  EXPECT_TRUE(node("web1").has_value());
}

TEST_F(LeaderTest, FailedReadIsRetriedAtTheNextReconcile) {
  members_ = {client("web1", "10.0.0.2")};
  server_->fail_reads = true;
  start();
  EXPECT_TRUE(server_->writes.empty());
  server_->fail_reads = false;
  scheduler_.advance(options_.reconcile_interval);
  EXPECT_TRUE(node("web1").has_value());
}

TEST_F(LeaderTest, EventsWhileNotLeadingAreIgnored) {
  event(gossip::MemberEvent::Kind::join, client("web1", "10.0.0.2"));
  EXPECT_EQ(server_->queries, 0);
  EXPECT_FALSE(node("web1").has_value());
}

// ---- servers → Raft configuration ----

TEST_F(LeaderTest, ServerJoinAddsANonVoterAndRegistersTheConsulService) {
  members_ = {server_member("srv2", "10.0.0.3", kServerUuid)};
  start();
  ASSERT_EQ(changes_.size(), 1u);
  EXPECT_EQ(changes_[0], (raft::ConfChange{raft::ConfChangeType::add_learner, kServerId}));
  EXPECT_TRUE(conf_.is_learner(kServerId));
  auto services = store_->read().node_services("srv2")->value;
  ASSERT_TRUE(services.has_value());
  ASSERT_EQ(services->services.size(), 1u);
  EXPECT_EQ(services->services[0].service, "consul");
  EXPECT_EQ(services->services[0].port, 8300);
  EXPECT_EQ(services->services[0].meta.at("version"), "1.0.0");
}

TEST_F(LeaderTest, ServerAlreadyAVoterIsNotAddedAgain) {
  conf_.voters = {kSelfId, kServerId};
  members_ = {server_member("srv2", "10.0.0.3", kServerUuid)};
  start();
  EXPECT_TRUE(changes_.empty());
}

// ---- autopilot: non-voters promoted once caught up and stable ----

TEST_F(LeaderTest, NewServerIsPromotedOnceCaughtUpAndStable) {
  options_.server_stabilization_time = 10s;
  options_.autopilot_interval = 2s;
  members_ = {server_member("srv2", "10.0.0.3", kServerUuid)};
  behind_[kServerId] = 900;  // still catching up (max_trailing_logs 250)
  start();
  ASSERT_TRUE(conf_.is_learner(kServerId));
  scheduler_.advance(30s);
  EXPECT_TRUE(conf_.is_learner(kServerId)) << "promoted while lagging";
  auto h = duties().autopilot_health();
  ASSERT_EQ(h.size(), 2u);
  auto srv2 = std::find_if(h.begin(), h.end(), [](const auto& x) { return x.raft_id == kServerId; });
  ASSERT_NE(srv2, h.end());
  EXPECT_FALSE(srv2->healthy);
  EXPECT_FALSE(srv2->voter);
  EXPECT_EQ(srv2->name, "srv2");
  EXPECT_EQ(srv2->address, "10.0.0.3:8300");
  EXPECT_EQ(srv2->serf_status, "alive");
  EXPECT_EQ(srv2->last_index, raft_last_ - 900);

  behind_[kServerId] = 100;  // within max_trailing_logs: healthy from the next sample on
  scheduler_.advance(2s);
  Instant healthy_at = clock_.now();
  scheduler_.advance(8s);  // healthy for 8s: not yet
  EXPECT_TRUE(conf_.is_learner(kServerId));
  scheduler_.advance(2s);  // 10s: promoted
  EXPECT_TRUE(conf_.is_voter(kServerId));
  EXPECT_EQ(changes_.back(), (raft::ConfChange{raft::ConfChangeType::add_node, kServerId}));
  scheduler_.advance(2s);  // the next sample sees it vote
  h = duties().autopilot_health();
  srv2 = std::find_if(h.begin(), h.end(), [](const auto& x) { return x.raft_id == kServerId; });
  ASSERT_NE(srv2, h.end());
  EXPECT_TRUE(srv2->healthy);
  EXPECT_TRUE(srv2->voter);
  EXPECT_EQ(srv2->stable_since, healthy_at);
  EXPECT_EQ(srv2->last_term, 7u);
}

TEST_F(LeaderTest, AFailingNonVoterIsNotPromoted) {
  options_.server_stabilization_time = 10s;
  auto m = server_member("srv2", "10.0.0.3", kServerUuid);
  members_ = {m};
  start();
  ASSERT_TRUE(conf_.is_learner(kServerId));
  scheduler_.advance(6s);
  // Out of contact for two samples (one missed answer is tolerated: the
  // core clears recent_active at every election timeout): the
  // stabilization clock starts over.
  silent_.insert(kServerId);
  scheduler_.advance(4s);
  silent_.clear();
  scheduler_.advance(8s);
  EXPECT_TRUE(conf_.is_learner(kServerId));
  // Gossip says it failed: never promoted while failed.
  gossip_says(m, gossip::MemberState::dead, gossip::MemberEvent::Kind::failed);
  scheduler_.advance(1min);
  EXPECT_TRUE(conf_.is_learner(kServerId));
  for (const auto& cc : changes_) EXPECT_NE(cc.type, raft::ConfChangeType::add_node);
}

TEST_F(LeaderTest, ARefusedPromotionIsRetriedAtTheNextSample) {
  options_.server_stabilization_time = 0s;
  options_.autopilot_interval = 2s;
  members_ = {server_member("srv2", "10.0.0.3", kServerUuid)};
  conf_.voters = {kSelfId};
  conf_.learners = {kServerId};
  refuse_promotions_ = true;  // the core's learner_not_caught_up
  start();
  ASSERT_EQ(changes_.size(), 1u);
  EXPECT_EQ(changes_[0], (raft::ConfChange{raft::ConfChangeType::add_node, kServerId}));
  EXPECT_TRUE(conf_.is_learner(kServerId));
  scheduler_.advance(2s);
  ASSERT_EQ(changes_.size(), 2u);
  refuse_promotions_ = false;
  scheduler_.advance(2s);
  ASSERT_EQ(changes_.size(), 3u);
  EXPECT_TRUE(conf_.is_voter(kServerId));
  scheduler_.advance(10s);
  EXPECT_EQ(changes_.size(), 3u);  // nothing more once it votes
}

TEST_F(LeaderTest, ReadReplicaStaysANonVoter) {
  options_.server_stabilization_time = 0s;
  auto m = server_member("srv2", "10.0.0.3", kServerUuid);
  m.tags["read_replica"] = "1";
  members_ = {m};
  start();
  scheduler_.advance(1min);
  EXPECT_TRUE(conf_.is_learner(kServerId));
}

TEST_F(LeaderTest, ServerThatLeftIsRemovedAtOnce) {
  auto m = start_with_server2();
  gossip_says(m, gossip::MemberState::left, gossip::MemberEvent::Kind::leave);
  ASSERT_EQ(changes_.size(), 1u);
  EXPECT_EQ(changes_[0], (raft::ConfChange{raft::ConfChangeType::remove_node, kServerId}));
  EXPECT_FALSE(conf_.contains(kServerId));
  EXPECT_FALSE(node("srv2").has_value());
}

TEST_F(LeaderTest, FailedServerIsRemovedOnlyAfterTheTimeout) {
  options_.dead_server_removal_after = 10min;
  auto m = start_with_server2();
  gossip_says(m, gossip::MemberState::dead, gossip::MemberEvent::Kind::failed);
  scheduler_.advance(9min + 59s);  // reconciles in between must not remove it early
  EXPECT_TRUE(changes_.empty());
  EXPECT_TRUE(conf_.is_voter(kServerId));
  scheduler_.advance(1s);
  ASSERT_EQ(changes_.size(), 1u);
  EXPECT_EQ(changes_[0], (raft::ConfChange{raft::ConfChangeType::remove_node, kServerId}));
  EXPECT_FALSE(conf_.contains(kServerId));
}

TEST_F(LeaderTest, FailedServerThatCameBackIsKept) {
  options_.dead_server_removal_after = 10min;
  auto m = start_with_server2();
  gossip_says(m, gossip::MemberState::dead, gossip::MemberEvent::Kind::failed);
  scheduler_.advance(5min);
  gossip_says(m, gossip::MemberState::alive, gossip::MemberEvent::Kind::join);
  scheduler_.advance(1h);
  EXPECT_TRUE(changes_.empty());
  EXPECT_TRUE(conf_.is_voter(kServerId));
}

TEST_F(LeaderTest, FailedServerFoundByTheFullReconcileIsRemovedAfterTheTimeout) {
  options_.dead_server_removal_after = 3min;
  conf_.voters = {kSelfId, kServerId};
  auto m = server_member("srv2", "10.0.0.3", kServerUuid);
  m.state = gossip::MemberState::dead;
  members_ = {m};
  start();
  EXPECT_TRUE(changes_.empty());
  scheduler_.advance(3min);
  ASSERT_EQ(changes_.size(), 1u);
  EXPECT_FALSE(conf_.contains(kServerId));
}

TEST_F(LeaderTest, RaftMemberUnknownToGossipIsRemovedAfterTheTimeout) {
  options_.dead_server_removal_after = 10min;
  conf_.voters = {kSelfId, kServerId};
  start();
  scheduler_.advance(9min);
  EXPECT_TRUE(changes_.empty());
  scheduler_.advance(1min);  // the reconcile at 10min
  ASSERT_EQ(changes_.size(), 1u);
  EXPECT_EQ(changes_[0], (raft::ConfChange{raft::ConfChangeType::remove_node, kServerId}));
}

TEST_F(LeaderTest, RaftMemberThatGossipNamesAgainIsKept) {
  options_.dead_server_removal_after = 10min;
  conf_.voters = {kSelfId, kServerId};
  start();
  scheduler_.advance(5min);
  members_ = {server_member("srv2", "10.0.0.3", kServerUuid)};
  scheduler_.advance(1h);
  EXPECT_TRUE(changes_.empty());
  EXPECT_TRUE(conf_.is_voter(kServerId));
}

TEST_F(LeaderTest, NeverRemovesTheLastVoter) {
  conf_.voters = {kServerId};  // odd, but possible while a configuration change is pending
  auto m = server_member("srv2", "10.0.0.3", kServerUuid);
  members_ = {m};
  start();
  gossip_says(m, gossip::MemberState::left, gossip::MemberEvent::Kind::leave);
  EXPECT_TRUE(changes_.empty());
  EXPECT_TRUE(conf_.is_voter(kServerId));
}

TEST_F(LeaderTest, NeverRemovesItselfEvenUnderAnotherName) {
  conf_.voters = {kSelfId, kServerId};
  // A stale gossip record with our Raft id under an old name.
  auto m = server_member("old-name", "10.0.0.1", "11111111-1111-1111-1111-111111111111");
  m.state = gossip::MemberState::left;
  members_ = {m};
  start();
  EXPECT_TRUE(changes_.empty());
  EXPECT_TRUE(conf_.is_voter(kSelfId));
}

TEST_F(LeaderTest, ConfigurationChangesGoOneAtATime) {
  hold_changes_ = true;
  members_ = {server_member("srv2", "10.0.0.3", kServerUuid), server_member("srv3", "10.0.0.4", kServer3Uuid)};
  start();
  ASSERT_EQ(changes_.size(), 1u);
  EXPECT_EQ(changes_[0].node_id, kServerId);
  scheduler_.advance(options_.reconcile_interval);  // a reconcile meanwhile queues nothing twice
  ASSERT_EQ(changes_.size(), 1u);
  auto first = held_changes_[0];
  first();
  settle();
  ASSERT_EQ(changes_.size(), 2u);
  EXPECT_EQ(changes_[1].node_id, kServer3Id);
  held_changes_[1]();
  settle();
  EXPECT_TRUE(conf_.is_learner(kServerId));
  EXPECT_TRUE(conf_.is_learner(kServer3Id));
}

TEST_F(LeaderTest, ReapedServerFoundOnlyInTheCatalogIsRemovedFromRaft) {
  conf_.voters = {kSelfId, kServerId};
  register_failed_server2(kServerUuid);
  start();  // srv2 is not a gossip member any more
  ASSERT_EQ(changes_.size(), 1u);
  EXPECT_EQ(changes_[0], (raft::ConfChange{raft::ConfChangeType::remove_node, kServerId}));
  EXPECT_FALSE(node("srv2").has_value());
}

TEST_F(LeaderTest, SuspectMemberStaysPassing) {
  auto m = client("web1", "10.0.0.2");
  members_ = {m};
  start();
  gossip_says(m, gossip::MemberState::suspect, gossip::MemberEvent::Kind::update);
  EXPECT_EQ(serf("web1")->status, "passing");
  EXPECT_EQ(server_->writes.size(), 1u);
}

TEST_F(LeaderTest, ServerWhoseVersionChangedIsRewritten) {
  auto m = start_with_server2();
  size_t writes = server_->writes.size();
  m.tags["build"] = "1.1.0:def";
  gossip_says(m, gossip::MemberState::alive, gossip::MemberEvent::Kind::update);
  EXPECT_EQ(server_->writes.size(), writes + 1);
  EXPECT_EQ(store_->read().node_services("srv2")->value->services[0].meta.at("version"), "1.1.0");
}

TEST_F(LeaderTest, SecondServerInBootstrapModeIsNotAdded) {
  auto a = server_member("srv2", "10.0.0.3", kServerUuid);
  auto b = server_member("srv3", "10.0.0.4", kServer3Uuid);
  a.tags["bootstrap"] = b.tags["bootstrap"] = "1";
  members_ = {a, b};
  start();
  EXPECT_TRUE(changes_.empty());
  EXPECT_TRUE(node("srv2").has_value());  // still registered in the catalog
}

TEST_F(LeaderTest, ResultsArrivingAfterDestructionAreDropped) {
  members_ = {client("web1", "10.0.0.2")};
  duties().start();  // reads answered, their results posted but not yet run
  duties_.reset();
  settle();
  EXPECT_TRUE(server_->writes.empty());
}

TEST_F(LeaderTest, ServerBackUnderANewNodeIdHasItsOldRaftIdRemovedFirst) {
  constexpr uint64_t kOldId = 0x4444444444444444;
  conf_.voters = {kSelfId, kServer3Id, kOldId};
  // It failed before it came back (the store lets a new ID take over a name
  // only from a node whose serfHealth is critical, as Consul's does).
  register_failed_server2("44444444-4444-4444-4444-444444444444");
  members_ = {server_member("srv2", "10.0.0.3", kServerUuid)};  // reinstalled: same name, new ID
  start();
  ASSERT_EQ(changes_.size(), 2u);
  EXPECT_EQ(changes_[0], (raft::ConfChange{raft::ConfChangeType::remove_node, kOldId}));
  EXPECT_EQ(changes_[1], (raft::ConfChange{raft::ConfChangeType::add_learner, kServerId}));
  EXPECT_EQ(node("srv2")->id, kServerUuid);
  // Nothing more at the next reconcile than autopilot's promotion.
  size_t writes = server_->writes.size();
  scheduler_.advance(options_.reconcile_interval);
  ASSERT_EQ(changes_.size(), 3u);
  EXPECT_EQ(changes_[2], (raft::ConfChange{raft::ConfChangeType::add_node, kServerId}));
  EXPECT_EQ(server_->writes.size(), writes);
}

// Random joins, failures, leaves and reaps, with a third of the events lost:
// after each full reconcile the catalog and the Raft configuration agree
// with the gossip view, and a second reconcile writes nothing.
TEST_F(LeaderTest, RandomMembershipHistoriesConvergeAtEachReconcile) {
  options_.dead_server_removal_after = 1000h;  // failed servers stay voters here
  struct Candidate {
    gossip::MemberInfo info;
    uint64_t raft_id = 0;  // 0: a client
  };
  std::vector<Candidate> pool;
  for (int i = 0; i < 5; ++i) pool.push_back({client("c" + std::to_string(i), "10.0.1." + std::to_string(i + 1)), 0});
  pool.push_back({server_member("srv2", "10.0.0.3", kServerUuid), kServerId});
  pool.push_back({server_member("srv3", "10.0.0.4", kServer3Uuid), kServer3Id});
  for (uint32_t seed = 1; seed <= 5; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    duties_.reset();
    SetUp();  // a fresh store per seed
    members_.clear();
    changes_.clear();
    std::mt19937 rng(seed);
    start();
    for (int step = 1; step <= 120; ++step) {
      auto& c = pool[rng() % pool.size()];
      auto kind = gossip::MemberEvent::Kind::join;
      switch (rng() % 5) {
        case 0:
          c.info.state = gossip::MemberState::alive;
          break;
        case 1:
          c.info.state = gossip::MemberState::suspect;
          kind = gossip::MemberEvent::Kind::update;
          break;
        case 2:
          c.info.state = gossip::MemberState::dead;
          kind = gossip::MemberEvent::Kind::failed;
          break;
        case 3:
          c.info.state = gossip::MemberState::left;
          kind = gossip::MemberEvent::Kind::leave;
          break;
        case 4:
          kind = gossip::MemberEvent::Kind::reap;
          break;
      }
      if (kind == gossip::MemberEvent::Kind::reap)
        remove_member(c.info.name);
      else
        set_member(c.info);
      if (rng() % 3 != 0) event(kind, c.info);
      if (step % 10 != 0) continue;
      scheduler_.advance(options_.reconcile_interval);
      for (const auto& cand : pool) {
        SCOPED_TRACE(cand.info.name + " at step " + std::to_string(step));
        auto it = std::find_if(members_.begin(), members_.end(),
                               [&](const auto& m) { return m.name == cand.info.name; });
        auto n = node(cand.info.name);
        auto check = serf(cand.info.name);
        MemberStatus status = it == members_.end() ? MemberStatus::reaped : status_of(it->state);
        switch (status) {
          case MemberStatus::alive:
            ASSERT_TRUE(n.has_value());
            EXPECT_EQ(n->address, ip_of_addr(cand.info.addr));
            ASSERT_TRUE(check.has_value());
            EXPECT_EQ(check->status, "passing");
            if (cand.raft_id) {
              EXPECT_TRUE(conf_.contains(cand.raft_id));  // a voter once autopilot promoted it
            }
            break;
          case MemberStatus::failed:
            if (n) {
              ASSERT_TRUE(check.has_value());
              EXPECT_EQ(check->status, "critical");
            }
            break;
          case MemberStatus::left:
          case MemberStatus::reaped:
            EXPECT_FALSE(n.has_value());
            if (cand.raft_id) {
              EXPECT_FALSE(conf_.contains(cand.raft_id));
            }
            break;
        }
      }
      EXPECT_TRUE(conf_.is_voter(kSelfId));
      uint64_t applied = store_->applied_index();
      // Autopilot may still promote a server added at that reconcile; nothing else changes.
      auto membership_changes = [this] {
        return std::count_if(changes_.begin(), changes_.end(),
                             [](const raft::ConfChange& cc) { return cc.type != raft::ConfChangeType::add_node; });
      };
      auto changes = membership_changes();
      scheduler_.advance(options_.reconcile_interval);
      EXPECT_EQ(store_->applied_index(), applied);
      EXPECT_EQ(membership_changes(), changes);
    }
    duties_.reset();
  }
}


// ---- pure pieces ----

TEST(LeaderOptionsTest, ValidateNamesTheField) {
  LeaderOptions o;
  o.datacenter = "dc1";
  o.node_name = "n";
  o.raft_id = 1;
  EXPECT_TRUE(o.validate().ok());
  auto bad = o;
  bad.tombstone_ttl = 0s;
  EXPECT_NE(bad.validate().error().message().find("tombstone_ttl"), std::string::npos);
  bad = o;
  bad.datacenter.clear();
  EXPECT_NE(bad.validate().error().message().find("datacenter"), std::string::npos);
  bad = o;
  bad.tombstone_granularity = 1h;
  EXPECT_NE(bad.validate().error().message().find("tombstone_granularity"), std::string::npos);
  bad = o;
  bad.dead_server_removal_after = -1s;
  EXPECT_NE(bad.validate().error().message().find("dead_server_removal_after"), std::string::npos);
}

TEST(CatalogWriteForTest, UsesTheIpWithoutPortOrBrackets) {
  LeaderOptions o;
  o.datacenter = "dc1";
  auto m = client("v6", "[fd00::1]");
  auto w = catalog_write_for(o, m, MemberStatus::alive, std::nullopt, {});
  ASSERT_TRUE(w.has_value());
  EXPECT_EQ(std::get<rpc::CatalogRegister>(*w).request.address, "fd00::1");
}

TEST(CatalogWriteForTest, SuspectIsStillAlive) {
  EXPECT_EQ(status_of(gossip::MemberState::suspect), MemberStatus::alive);
  EXPECT_EQ(status_of(gossip::MemberState::dead), MemberStatus::failed);
  EXPECT_EQ(status_of(gossip::MemberState::left), MemberStatus::left);
}


}  // namespace
}  // namespace cairn::server::leader_test
