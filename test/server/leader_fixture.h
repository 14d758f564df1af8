// The fixture of the leader-duties tests: a real state store and FSM behind
// a fake api::rpc::Handler, a ManualScheduler, a Raft configuration and a
// gossip view held by the test.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "core/scheduler.h"
#include "server/fsm/command.h"
#include "server/fsm/fsm.h"
#include "server/leader.h"
#include "test/server/temp_dir.h"

namespace cairn::server::leader_test {

namespace rpc = api::rpc;
using namespace std::chrono_literals;

inline constexpr uint64_t kSelfId = 0x1111111111111111;
inline const std::string kServerUuid = "22222222-2222-2222-2222-222222222222";
inline constexpr uint64_t kServerId = 0x2222222222222222;
inline const std::string kServer3Uuid = "33333333-3333-3333-3333-333333333333";
inline constexpr uint64_t kServer3Id = 0x3333333333333333;

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
inline std::string uuid_of(const std::string& name) {
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

inline std::string ip_of_addr(const std::string& addr) { return addr.substr(0, addr.rfind(':')); }

inline gossip::MemberInfo client(const std::string& name, const std::string& ip, const std::string& dc = "dc1") {
  gossip::MemberInfo m;
  m.name = name;
  m.addr = ip + ":8301";
  m.tags = {{"role", "node"}, {"dc", dc}, {"id", uuid_of(name)}, {"build", "1.0.0:abc"}};
  return m;
}

inline gossip::MemberInfo server_member(const std::string& name, const std::string& ip, const std::string& uuid) {
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
        if (refuse_promotions_ && cc.type == raft::ConfChangeType::add_node && conf_.is_learner(cc.node_id))
          return done(Error(errc::unavailable, "conf change: learner is behind"));
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
      d.raft_view = [this] {
        // Every member caught up and in contact unless the test says otherwise.
        RaftView v;
        v.term = 7;
        v.last_index = raft_last_;
        std::vector<uint64_t> ids = conf_.voters;
        ids.insert(ids.end(), conf_.learners.begin(), conf_.learners.end());
        for (uint64_t id : ids) {
          if (id == options_.raft_id) continue;
          uint64_t behind = behind_.count(id) ? behind_.at(id) : 0;
          v.peers.push_back(RaftView::Peer{id, raft_last_ - behind, !silent_.count(id)});
        }
        return v;
      };
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
  bool refuse_promotions_ = false;
  std::vector<std::function<void()>> held_changes_;
  std::vector<std::string> proposals_;
  bool fail_proposals_ = false;
  uint64_t last_index_ = 0;
  // Autopilot's Raft view: the leader's last index, how far members lag,
  // which are out of contact.
  uint64_t raft_last_ = 1000;
  std::map<uint64_t, uint64_t> behind_;
  std::set<uint64_t> silent_;
  std::unique_ptr<LeaderDuties> duties_;
};


}  // namespace cairn::server::leader_test
