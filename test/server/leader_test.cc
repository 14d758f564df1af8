#include "server/leader.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <cstdio>
#include <functional>

#include "core/scheduler.h"
#include "server/fsm/command.h"
#include "server/fsm/fsm.h"
#include "test/server/temp_dir.h"

namespace cairn::server {
namespace {

namespace rpc = api::rpc;
using namespace std::chrono_literals;

constexpr uint64_t kSelfId = 0x1111111111111111;
const std::string kServerUuid = "22222222-2222-2222-2222-222222222222";
constexpr uint64_t kServerId = 0x2222222222222222;
const std::string kServer3Uuid = "33333333-3333-3333-3333-333333333333";
constexpr uint64_t kServer3Id = 0x3333333333333333;

// The local server as LeaderDuties sees it: writes go through the real FSM
// into a real store at increasing indexes; reads come from that store.
class StoreServer final : public rpc::Handler {
 public:
  explicit StoreServer(fsm::Fsm& fsm, Clock& clock) : fsm_(fsm), clock_(clock) {}

  void query(rpc::QueryOptions, rpc::Query q, rpc::QueryCallback done) override {
    ++queries;
    if (fail_reads) return done(Error(errc::unavailable, "No cluster leader"));
    auto view = fsm_.store().read();
    rpc::QueryResponse r;
    if (auto* n = std::get_if<rpc::CatalogNodeServices>(&q)) {
      r.value = rpc::make_value<rpc::CatalogNodeServices, rpc::QueryValue>(view.node_services(n->node)->value);
    } else if (auto* h = std::get_if<rpc::HealthNode>(&q)) {
      r.value = rpc::make_value<rpc::HealthNode, rpc::QueryValue>(view.node_checks(h->node)->value);
    } else if (auto* s = std::get_if<rpc::HealthState>(&q)) {
      r.value = rpc::make_value<rpc::HealthState, rpc::QueryValue>(view.checks_in_state(s->state)->value);
    } else if (std::holds_alternative<rpc::SessionList>(q)) {
      r.value = rpc::make_value<rpc::SessionList, rpc::QueryValue>(view.session_list()->value);
    } else {
      return done(Error(errc::internal, "query not served by the test server"));
    }
    done(std::move(r));
  }

  void write(rpc::WriteOptions, rpc::Write w, rpc::WriteCallback done) override {
    writes.push_back(w);
    if (fail_writes) return done(Error(errc::unavailable, "No cluster leader"));
    WallTime now = clock_.wall_now();
    std::string bytes;
    if (auto* r = std::get_if<rpc::CatalogRegister>(&w)) {
      bytes = fsm::encode(fsm::RegisterCommand{r->request, now});
    } else if (auto* d = std::get_if<rpc::CatalogDeregister>(&w)) {
      bytes = fsm::encode(fsm::DeregisterCommand{d->request, now});
    } else if (auto* s = std::get_if<rpc::SessionDestroy>(&w)) {
      fsm::SessionCommand c;
      c.op = fsm::SessionOp::destroy;
      c.session.id = s->id;
      c.now = now;
      bytes = fsm::encode(c);
    } else {
      return done(Error(errc::internal, "write not served by the test server"));
    }
    auto applied = apply(bytes);
    if (!applied.ok()) return done(applied.error());
    if (applied->rejection) return done(*applied->rejection);
    rpc::WriteResponse resp;
    resp.index = fsm_.store().applied_index();
    if (std::holds_alternative<rpc::SessionDestroy>(w))
      resp.value = rpc::make_value<rpc::SessionDestroy, rpc::WriteValue>(std::get<bool>(applied->response));
    else if (std::holds_alternative<rpc::CatalogRegister>(w))
      resp.value = rpc::make_value<rpc::CatalogRegister, rpc::WriteValue>(true);
    else
      resp.value = rpc::make_value<rpc::CatalogDeregister, rpc::WriteValue>(true);
    done(std::move(resp));
  }

  Result<fsm::Applied> apply(const std::string& bytes) {
    return fsm_.apply(fsm_.store().applied_index() + 1, bytes);
  }

  std::vector<rpc::Write> writes;
  int queries = 0;
  bool fail_writes = false;
  bool fail_reads = false;

 private:
  fsm::Fsm& fsm_;
  Clock& clock_;
};

// A valid node ID that differs per name.
std::string uuid_of(const std::string& name) {
  char tail[13];
  std::snprintf(tail, sizeof tail, "%012llx",
                static_cast<unsigned long long>(std::hash<std::string>{}(name) & 0xffffffffffffULL));
  return std::string("aaaaaaaa-0000-4000-8000-") + tail;
}

// Asio's timers cancel asynchronously: a cancelled timer may still fire.
// This scheduler never cancels, the worst case of that.
class LateCancelScheduler final : public Scheduler {
 public:
  explicit LateCancelScheduler(Scheduler& inner) : inner_(inner) {}
  std::shared_ptr<TimerHandle> after(Duration delay, std::function<void()> fn) override {
    inner_.after(delay, std::move(fn));
    return std::make_shared<NoCancel>();
  }

 private:
  struct NoCancel final : TimerHandle {
    void cancel() override {}
  };
  Scheduler& inner_;
};

std::string ip_of_addr(const std::string& addr) { return addr.substr(0, addr.rfind(':')); }

gossip::MemberInfo client(const std::string& name, const std::string& ip, const std::string& dc = "dc1") {
  gossip::MemberInfo m;
  m.name = name;
  m.addr = ip + ":8301";
  m.tags = {{"role", "node"}, {"dc", dc}, {"id", uuid_of(name)}, {"build", "1.0.0:abc"}};
  return m;
}

gossip::MemberInfo server_member(const std::string& name, const std::string& ip, const std::string& uuid) {
  gossip::MemberInfo m;
  m.name = name;
  m.addr = ip + ":8301";
  m.tags = {{"role", "consul"}, {"dc", "dc1"}, {"id", uuid}, {"port", "8300"}, {"build", "1.0.0:abc"}};
  return m;
}

class LeaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = state::Store::open(dir_.sub("db" + std::to_string(++stores_)));
    ASSERT_TRUE(s.ok());
    store_ = std::move(*s);
    fsm_ = std::make_unique<fsm::Fsm>(*store_);
    server_ = std::make_unique<StoreServer>(*fsm_, clock_);
    conf_.voters = {kSelfId};
    options_.datacenter = "dc1";
    options_.node_name = "leader";
    options_.raft_id = kSelfId;
  }

  LeaderDuties& duties() {
    if (!duties_) {
      LeaderDeps d;
      d.rpc = server_.get();
      d.propose = [this](std::string cmd, std::function<void(Status)> done) {
        proposals_.push_back(cmd);
        if (fail_proposals_) return done(Error(errc::unavailable, "No cluster leader"));
        auto a = server_->apply(cmd);
        done(a.ok() ? ok_status() : Status(a.error()));
      };
      d.conf_state = [this] { return conf_; };
      d.change_membership = [this](raft::ConfChange cc, std::function<void(Status)> done) {
        changes_.push_back(cc);
        auto apply = [this, cc, done] {
          auto next = raft::apply_conf_change(conf_, cc);
          if (next.ok()) conf_ = *next;
          done(next.ok() ? ok_status() : Status(next.error()));
        };
        if (hold_changes_)
          held_changes_.push_back(apply);
        else
          apply();
      };
      d.members = [this] { return members_; };
      d.last_index = [this] { return last_index_; };
      d.scheduler = late_cancel_ ? static_cast<Scheduler*>(&late_cancel_scheduler_) : &scheduler_;
      d.clock = &clock_;
      duties_ = std::make_unique<LeaderDuties>(options_, std::move(d));
    }
    return *duties_;
  }

  // Runs everything that is due now (results posted back to the strand).
  void settle() { scheduler_.advance(0s); }
  void start() {
    duties().start();
    settle();
  }
  void event(gossip::MemberEvent::Kind kind, const gossip::MemberInfo& m) {
    duties().on_member_event(gossip::MemberEvent{kind, m});
    settle();
  }
  void set_member(const gossip::MemberInfo& m) {
    auto it = std::find_if(members_.begin(), members_.end(), [&](const auto& x) { return x.name == m.name; });
    if (it == members_.end())
      members_.push_back(m);
    else
      *it = m;
  }
  // Gossip now reports `m` in `state`: the view and an event agree.
  void gossip_says(gossip::MemberInfo& m, gossip::MemberState state, gossip::MemberEvent::Kind kind) {
    m.state = state;
    set_member(m);
    event(kind, m);
  }
  // srv2 is a voter and an alive member; returns its gossip record.
  gossip::MemberInfo start_with_server2() {
    conf_.voters = {kSelfId, kServerId};
    auto m = server_member("srv2", "10.0.0.3", kServerUuid);
    members_ = {m};
    start();
    return m;
  }
  void remove_member(const std::string& name) {
    std::erase_if(members_, [&](const auto& x) { return x.name == name; });
  }

  std::optional<api::Node> node(const std::string& name) { return store_->read().node(name)->value; }
  std::optional<api::HealthCheck> serf(const std::string& name) {
    auto checks = store_->read().node_checks(name);
    for (auto& c : checks->value)
      if (c.check_id == "serfHealth") return c;
    return std::nullopt;
  }
  std::optional<api::Session> session(const std::string& id) { return store_->read().session_get(id)->value; }

  // Registers a node directly in the store (not through the leader).
  void register_direct(const std::string& node, bool with_serf_check) {
    fsm::RegisterCommand c;
    c.request.node = node;
    c.request.address = "10.9.9.9";
    if (with_serf_check) {
      api::HealthCheck serf;
      serf.node = node;
      serf.check_id = "serfHealth";
      serf.status = "passing";
      c.request.check = serf;
    } else {
      api::NodeService s;
      s.id = s.service = "web";
      c.request.service = s;
    }
    ASSERT_TRUE(server_->apply(fsm::encode(c)).ok());
  }
  // srv2 in the catalog as a leader registered it (consul service), failed.
  void register_failed_server2(const std::string& uuid) {
    fsm::RegisterCommand c;
    c.request.node = "srv2";
    c.request.id = uuid;
    c.request.address = "10.0.0.3";
    api::NodeService s;
    s.id = s.service = "consul";
    s.port = 8300;
    c.request.service = s;
    api::HealthCheck serf;
    serf.node = "srv2";
    serf.check_id = "serfHealth";
    serf.status = "critical";
    c.request.check = serf;
    ASSERT_TRUE(server_->apply(fsm::encode(c)).ok());
  }
  void create_session(const std::string& id, const std::string& node, const std::string& ttl) {
    fsm::SessionCommand c;
    c.op = fsm::SessionOp::create;
    c.session.id = id;
    c.session.node = node;
    c.session.ttl = ttl;
    auto a = server_->apply(fsm::encode(c));
    ASSERT_TRUE(a.ok());
    ASSERT_FALSE(a->rejection.has_value()) << a->rejection->message();
  }

  test::TempDir dir_;
  int stores_ = 0;
  std::unique_ptr<state::Store> store_;
  std::unique_ptr<fsm::Fsm> fsm_;
  ManualClock clock_;
  ManualScheduler scheduler_{clock_};
  LateCancelScheduler late_cancel_scheduler_{scheduler_};
  bool late_cancel_ = false;
  std::unique_ptr<StoreServer> server_;
  LeaderOptions options_;
  raft::ConfState conf_;
  std::vector<gossip::MemberInfo> members_;
  std::vector<raft::ConfChange> changes_;
  bool hold_changes_ = false;
  std::vector<std::function<void()>> held_changes_;
  std::vector<std::string> proposals_;
  bool fail_proposals_ = false;
  uint64_t last_index_ = 0;
  std::unique_ptr<LeaderDuties> duties_;
};

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

TEST_F(LeaderTest, ServerJoinAddsAVoterAndRegistersTheConsulService) {
  members_ = {server_member("srv2", "10.0.0.3", kServerUuid)};
  start();
  ASSERT_EQ(changes_.size(), 1u);
  EXPECT_EQ(changes_[0], (raft::ConfChange{raft::ConfChangeType::add_node, kServerId}));
  EXPECT_TRUE(conf_.is_voter(kServerId));
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
  EXPECT_TRUE(conf_.is_voter(kServerId));
  EXPECT_TRUE(conf_.is_voter(kServer3Id));
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
  EXPECT_EQ(changes_[1], (raft::ConfChange{raft::ConfChangeType::add_node, kServerId}));
  EXPECT_EQ(node("srv2")->id, kServerUuid);
  // Nothing more at the next reconcile.
  size_t writes = server_->writes.size();
  scheduler_.advance(options_.reconcile_interval);
  EXPECT_EQ(changes_.size(), 2u);
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
              EXPECT_TRUE(conf_.is_voter(cand.raft_id));
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
      size_t changes = changes_.size();
      scheduler_.advance(options_.reconcile_interval);
      EXPECT_EQ(store_->applied_index(), applied);
      EXPECT_EQ(changes_.size(), changes);
    }
    duties_.reset();
  }
}

// ---- session TTLs ----

class LeaderSessionTest : public LeaderTest {
 protected:
  void SetUp() override {
    LeaderTest::SetUp();
    register_direct("web1", true);
    members_ = {client("web1", "10.9.9.9")};
  }
};

TEST_F(LeaderSessionTest, SessionExpiresAtTwiceItsTtl) {
  create_session("s1", "web1", "10s");
  create_session("forever", "web1", "");
  start();
  EXPECT_EQ(duties().session_timers(), 1u);
  scheduler_.advance(19s);
  EXPECT_TRUE(session("s1").has_value());
  scheduler_.advance(1s);
  EXPECT_FALSE(session("s1").has_value());
  EXPECT_TRUE(session("forever").has_value());
  EXPECT_EQ(duties().session_timers(), 0u);
}

TEST_F(LeaderSessionTest, RenewPostponesExpiry) {
  start();
  create_session("s1", "web1", "10s");
  duties().session_ttl_reset("s1", 10s);
  scheduler_.advance(15s);
  duties().session_ttl_reset("s1", 10s);  // renewed: now expires at 35s
  scheduler_.advance(19s);
  EXPECT_TRUE(session("s1").has_value());
  scheduler_.advance(1s);
  EXPECT_FALSE(session("s1").has_value());
}

TEST_F(LeaderSessionTest, ATimerCancelledTooLateDoesNotExpireARenewedSession) {
  late_cancel_ = true;
  start();
  create_session("s1", "web1", "10s");
  duties().session_ttl_reset("s1", 10s);
  scheduler_.advance(15s);
  duties().session_ttl_reset("s1", 10s);
  scheduler_.advance(19s);  // the first timer fires at 20s anyway
  EXPECT_TRUE(session("s1").has_value());
  scheduler_.advance(1s);
  EXPECT_FALSE(session("s1").has_value());
}

TEST_F(LeaderSessionTest, DestroyedSessionForgetsItsTimer) {
  start();
  create_session("s1", "web1", "10s");
  duties().session_ttl_reset("s1", 10s);
  duties().session_destroyed("s1");
  EXPECT_EQ(duties().session_timers(), 0u);
  size_t writes = server_->writes.size();
  scheduler_.advance(30s);
  EXPECT_EQ(server_->writes.size(), writes);
}

TEST_F(LeaderSessionTest, FailedInvalidationIsRetriedAtTheNextReconcile) {
  create_session("s1", "web1", "10s");
  start();
  server_->fail_writes = true;
  scheduler_.advance(20s);
  EXPECT_TRUE(session("s1").has_value());
  server_->fail_writes = false;
  scheduler_.advance(options_.reconcile_interval);
  EXPECT_FALSE(session("s1").has_value());
}

TEST_F(LeaderSessionTest, StopCancelsEveryTimer) {
  create_session("s1", "web1", "10s");
  start();
  duties().kv_tombstone_hint(5);
  EXPECT_GT(scheduler_.pending(), 0u);
  duties().stop();
  EXPECT_EQ(scheduler_.pending(), 0u);
  EXPECT_EQ(duties().session_timers(), 0u);
  EXPECT_EQ(duties().tombstone_buckets(), 0u);
  size_t writes = server_->writes.size();
  scheduler_.advance(1h);
  EXPECT_EQ(server_->writes.size(), writes);
  EXPECT_TRUE(session("s1").has_value());
  EXPECT_TRUE(proposals_.empty());
}

TEST_F(LeaderSessionTest, ResultsArrivingAfterStopAreDropped) {
  create_session("s1", "web1", "10s");
  duties().start();  // the session list is read but its answer not yet delivered
  duties().stop();
  settle();
  EXPECT_EQ(duties().session_timers(), 0u);
  EXPECT_EQ(scheduler_.pending(), 0u);
}

TEST_F(LeaderSessionTest, TtlResetWhileNotLeadingIsIgnored) {
  duties().session_ttl_reset("s1", 10s);
  EXPECT_EQ(duties().session_timers(), 0u);
}

// ---- tombstone GC ----

TEST_F(LeaderTest, TombstonesAreReapedAfterTheTtlAndNotBefore) {
  fsm::KvCommand set;
  set.op = state::KvOp::set;
  set.entry.key = "k";
  set.entry.value = "v";
  ASSERT_TRUE(server_->apply(fsm::encode(set)).ok());
  fsm::KvCommand del = set;
  del.op = state::KvOp::delete_key;
  ASSERT_TRUE(server_->apply(fsm::encode(del)).ok());
  uint64_t delete_index = store_->applied_index();
  start();
  duties().kv_tombstone_hint(delete_index);
  scheduler_.advance(options_.tombstone_ttl - 1s);
  EXPECT_TRUE(proposals_.empty());
  EXPECT_EQ(store_->read().kv_tombstones()->size(), 1u);
  scheduler_.advance(options_.tombstone_granularity + 1s);
  ASSERT_EQ(proposals_.size(), 1u);
  auto cmd = fsm::decode(proposals_[0]);
  ASSERT_TRUE(cmd.ok());
  ASSERT_TRUE(std::holds_alternative<fsm::TombstoneCommand>(*cmd));
  EXPECT_EQ(std::get<fsm::TombstoneCommand>(*cmd).reap_up_to, delete_index);
  EXPECT_TRUE(store_->read().kv_tombstones()->empty());
}

TEST_F(LeaderTest, HintsInOneGranuleShareOneReapAtTheirMaxIndex) {
  start();
  duties().kv_tombstone_hint(7);
  scheduler_.advance(1s);
  duties().kv_tombstone_hint(9);
  duties().kv_tombstone_hint(8);
  EXPECT_EQ(duties().tombstone_buckets(), 1u);
  scheduler_.advance(options_.tombstone_ttl + options_.tombstone_granularity);
  ASSERT_EQ(proposals_.size(), 1u);
  EXPECT_EQ(std::get<fsm::TombstoneCommand>(*fsm::decode(proposals_[0])).reap_up_to, 9u);
}

TEST_F(LeaderTest, StartHintsTheLastIndexSoOlderTombstonesAreReaped) {
  last_index_ = 42;
  start();
  scheduler_.advance(options_.tombstone_ttl + options_.tombstone_granularity);
  ASSERT_GE(proposals_.size(), 1u);
  EXPECT_EQ(std::get<fsm::TombstoneCommand>(*fsm::decode(proposals_[0])).reap_up_to, 42u);
}

TEST_F(LeaderTest, FailedReapIsRetriedAtTheNextReconcile) {
  start();
  duties().kv_tombstone_hint(7);
  fail_proposals_ = true;
  scheduler_.advance(options_.tombstone_ttl + options_.tombstone_granularity);
  ASSERT_EQ(proposals_.size(), 1u);
  fail_proposals_ = false;
  scheduler_.advance(options_.reconcile_interval);
  ASSERT_EQ(proposals_.size(), 2u);
  EXPECT_EQ(std::get<fsm::TombstoneCommand>(*fsm::decode(proposals_[1])).reap_up_to, 7u);
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
}  // namespace cairn::server
