// LeaderDuties driving a real server::Server (test/server/cluster.h: servers
// in one process, an in-memory Raft network, ticked by hand), wired the way
// server/server_node.cc wires it: deps from the Server, fed by its hooks.
// Everything runs on the test thread, which is also the duties' strand.
#include <gtest/gtest.h>

#include "server/leader.h"
#include "test/server/cluster.h"

namespace cairn::server::test {
namespace {

using namespace std::chrono_literals;
using rpc::value_of;

class LeaderClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ServerOptions o = c.options(1);
    o.bootstrap = true;
    Server& s = c.start(1, o);
    ASSERT_EQ(c.elect(), 1);

    LeaderOptions lo;
    lo.datacenter = "dc1";
    lo.node_name = "s1";
    lo.raft_id = raft_id(1);
    LeaderDeps d;
    d.rpc = &s;
    d.propose = [&s](std::string cmd, std::function<void(Status)> done) {
      s.propose_command(std::move(cmd), std::move(done));
    };
    d.conf_state = [&s] { return s.conf_state(); };
    d.change_membership = [&s](raft::ConfChange cc, std::function<void(Status)> done) {
      s.change_membership(cc, std::move(done));
    };
    d.members = [&s] { return s.members(); };
    d.last_index = [&s] { return s.raft_status().last_index; };
    d.raft_view = [&s] { return raft_view_of(s.raft_status()); };
    d.scheduler = &c.scheduler;
    d.clock = &c.clock;
    duties = std::make_unique<LeaderDuties>(lo, std::move(d));

    ServerHooks hooks;
    hooks.on_leader = [this](bool leading) { leading ? duties->start() : duties->stop(); };
    hooks.on_session_ttl = [this](const std::string& id, Duration ttl) { duties->session_ttl_reset(id, ttl); };
    hooks.on_session_destroyed = [this](const std::string& id) { duties->session_destroyed(id); };
    hooks.on_kv_tombstone = [this](uint64_t index) { duties->kv_tombstone_hint(index); };
    s.set_hooks(std::move(hooks));  // s1 already leads: on_leader(true) now
  }

  void TearDown() override {
    if (duties) duties->stop();
  }

  // Runs posted results, Raft and the network until quiet.
  void drive(int rounds = 20) {
    for (int i = 0; i < rounds; ++i) {
      c.scheduler.advance(0s);
      c.tick_all(1);
    }
  }
  // Advances time in steps of at most `max_step`, driving in between.
  void elapse(Duration d, Duration max_step = 1s) {
    while (d > Duration::zero()) {
      Duration step = std::min<Duration>(d, max_step);
      c.scheduler.advance(step);
      drive(2);
      d -= step;
    }
  }

  std::vector<api::HealthCheck> checks_of(const std::string& node) {
    auto r = c.query(1, rpc::HealthNode{node}, stale());
    EXPECT_TRUE(r.ok());
    return r.ok() ? value_of<rpc::HealthNode>(*r) : std::vector<api::HealthCheck>{};
  }
  std::optional<api::NodeServices> node(const std::string& name) {
    auto r = c.query(1, rpc::CatalogNodeServices{name}, stale());
    EXPECT_TRUE(r.ok());
    return r.ok() ? value_of<rpc::CatalogNodeServices>(*r) : std::nullopt;
  }
  // The gossip view changes, and each member's event arrives.
  void gossip(const std::vector<gossip::MemberInfo>& view) {
    c.set_members_all(view);
    for (const auto& m : view) {
      auto kind = m.state == gossip::MemberState::left   ? gossip::MemberEvent::Kind::leave
                  : m.state == gossip::MemberState::dead ? gossip::MemberEvent::Kind::failed
                                                         : gossip::MemberEvent::Kind::join;
      duties->on_member_event(gossip::MemberEvent{kind, m});
    }
  }

  Cluster c;
  std::unique_ptr<LeaderDuties> duties;
};

TEST_F(LeaderClusterTest, ServersJoinTheCatalogAndTheRaftConfiguration) {
  ASSERT_TRUE(duties->leading());
  c.start(2);  // no bootstrap: waits to be added
  std::vector<gossip::MemberInfo> view = {member_info(1, 0), member_info(2, 0)};
  gossip(view);
  drive();
  // A non-voter first (Consul's autopilot)...
  EXPECT_TRUE(c.at(1).conf_state().is_learner(raft_id(2)));
  EXPECT_TRUE(c.at(2).conf_state().is_learner(raft_id(2)));
  // ...promoted once it has caught up and been healthy for the
  // stabilization time (10s), sampled every 2s.
  elapse(8s);
  EXPECT_TRUE(c.at(1).conf_state().is_learner(raft_id(2)));
  elapse(6s);
  EXPECT_TRUE(c.at(1).conf_state().is_voter(raft_id(2)));
  EXPECT_TRUE(c.at(2).conf_state().is_voter(raft_id(2)));
  for (const char* name : {"s1", "s2"}) {
    SCOPED_TRACE(name);
    auto n = node(name);
    ASSERT_TRUE(n.has_value());
    ASSERT_EQ(n->services.size(), 1u);
    EXPECT_EQ(n->services[0].service, "consul");
    auto checks = checks_of(name);
    ASSERT_EQ(checks.size(), 1u);
    EXPECT_EQ(checks[0].check_id, "serfHealth");
    EXPECT_EQ(checks[0].status, "passing");
  }

  // s2 leaves: out of Raft and the catalog.
  view[1].state = gossip::MemberState::left;
  gossip(view);
  drive();
  EXPECT_FALSE(c.at(1).conf_state().contains(raft_id(2)));
  EXPECT_FALSE(node("s2").has_value());
  EXPECT_TRUE(node("s1").has_value());
}

TEST_F(LeaderClusterTest, ASessionThatIsNotRenewedIsDestroyedAtTwiceItsTtl) {
  gossip({member_info(1, 0)});
  drive();  // the leader's reconcile registers s1 with serfHealth
  ASSERT_FALSE(checks_of("s1").empty());
  rpc::SessionCreate create;
  create.session.node = "s1";
  create.session.ttl = "10s";
  auto created = c.write(1, create);
  ASSERT_TRUE(created.ok()) << created.error().message();
  std::string id = value_of<rpc::SessionCreate>(*created);
  drive();
  elapse(15s);
  ASSERT_TRUE(c.write(1, rpc::SessionRenew{id}).ok());  // now expires at 35s
  elapse(19s);
  auto alive = c.query(1, rpc::SessionGet{id}, stale());
  ASSERT_TRUE(alive.ok());
  EXPECT_TRUE(value_of<rpc::SessionGet>(*alive).has_value());
  elapse(2s);
  auto gone = c.query(1, rpc::SessionGet{id}, stale());
  ASSERT_TRUE(gone.ok());
  EXPECT_FALSE(value_of<rpc::SessionGet>(*gone).has_value());
}

TEST_F(LeaderClusterTest, TombstonesAreReapedThroughRaftAfterTheTtl) {
  ASSERT_TRUE(c.write(1, kv_set("k", "v")).ok());
  rpc::KvApply del;
  del.op = api::KvOp::delete_key;
  del.entry.key = "k";
  ASSERT_TRUE(c.write(1, del).ok());
  drive();
  uint64_t before = c.at(1).raft_status().last_index;
  elapse(15min - 1s, 30s);
  EXPECT_EQ(c.at(1).raft_status().last_index, before);  // nothing proposed yet
  elapse(31s);
  EXPECT_GT(c.at(1).raft_status().last_index, before);  // the reap went through Raft
  EXPECT_EQ(c.at(1).counters().failed, false);
}

}  // namespace
}  // namespace cairn::server::test
