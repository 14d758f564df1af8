// What the Raft leader does besides replicating (Consul's
// agent/consul/leader.go, session_ttl.go, tombstone_gc.go):
//   - members → catalog: every gossip member of this datacenter is a catalog
//     node with the `serfHealth` check (passing while alive, critical once
//     failed); members that left or were reaped are deregistered, and so are
//     catalog nodes with a serfHealth check that gossip no longer knows;
//   - servers → Raft configuration: alive servers join as non-voters (Raft
//     learners) and autopilot promotes them to voters once they have been
//     healthy (alive, in contact, caught up) for server_stabilization_time;
//     servers that left go at once, failed ones after
//     dead_server_removal_after, and so do Raft members that no gossip
//     member names any more;
//   - session TTLs: a session not renewed within 2×TTL is destroyed;
//   - KV tombstone GC: tombstones are reaped tombstone_ttl after the delete.
//
// Pure logic over injected dependencies: every read and write goes through
// LeaderDeps, time through the Scheduler and Clock, so tests drive it with
// ManualScheduler and a real state store. Catalog writes are only made when
// the catalog differs from what gossip says (an identical rewrite would bump
// indexes and wake blocking queries).
//
// Thread-safety: every method, and the destructor, must be called on the
// scheduler's strand (the
// thread that runs the Scheduler's callbacks). Results of rpc calls,
// proposals and configuration changes may arrive on any thread: they are
// posted back to the strand (Scheduler::after(0)) before they touch state.
// The Scheduler must outlive this object, everything it scheduled, and every
// callback the dependencies may still run (results hop through it); results
// that arrive after destruction or after stop() are dropped.
//
// Nothing here blocks. A failed write is logged and retried at the next full
// reconcile (every reconcile_interval while leading).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "api/rpc.h"
#include "api/types.h"
#include "core/clock.h"
#include "core/result.h"
#include "core/scheduler.h"
#include "gossip/membership.h"
#include "raft/types.h"

namespace cairn::server {

struct LeaderOptions {
  std::string datacenter;           // members of other datacenters are ignored
  std::string node_name;            // this server's node name: never deregistered by its own leader
  uint64_t raft_id = 0;             // this server's Raft id: never removed from the configuration
  // Full reconcile of gossip against the catalog while leading (Consul's
  // reconcile_interval, 60s). Also when failed writes are retried.
  Duration reconcile_interval = std::chrono::seconds(60);
  // A FAILED server leaves the Raft configuration after this long (unless it
  // comes back first); one that LEFT leaves at once. Cairn's
  // dead_server_removal_after (agent/config), default 72h like Consul's
  // reconnect_timeout, after which serf reaps it anyway.
  Duration dead_server_removal_after = std::chrono::hours(72);
  // KV tombstones are reaped this long after the delete (Consul's tombstone_ttl).
  Duration tombstone_ttl = std::chrono::minutes(15);
  // Deletes are bucketed by expiry time at this granularity, one reap per
  // bucket (Consul's TombstoneGC granularity, 30s).
  Duration tombstone_granularity = std::chrono::seconds(30);
  // Sessions expire this many TTLs after their last renewal (Consul's
  // SessionTTLMultiplier).
  int session_ttl_multiplier = 2;
  // Autopilot (Consul's autopilot config): a non-voter is promoted once it
  // has been healthy this long (server_stabilization_time, 10s)...
  Duration server_stabilization_time = std::chrono::seconds(10);
  // ...where healthy means: gossip says alive, the leader heard from it
  // within the last election timeout, and its log is at most this many
  // entries behind the leader's (max_trailing_logs, 250). The Raft core
  // still refuses a promotion beyond its learner_promotion_lag.
  uint64_t max_trailing_logs = 250;
  // How often server health is sampled and promotions considered (Consul's
  // ServerHealthInterval, 2s).
  Duration autopilot_interval = std::chrono::seconds(2);

  // invalid_argument naming the field: empty datacenter/node_name, raft_id 0,
  // non-positive durations (server_stabilization_time may be 0), granularity
  // above the ttl, multiplier < 1.
  Status validate() const;
};

// What autopilot reads of the Raft leader (raft::DriverStatus's fields).
struct RaftView {
  uint64_t term = 0;
  uint64_t last_index = 0;
  struct Peer {
    uint64_t id = 0;
    uint64_t match = 0;          // highest index known replicated there
    bool recent_active = false;  // heard from within the last election timeout
  };
  std::vector<Peer> peers;  // every member but this one
};
// The view from a raft::DriverStatus (raft/io/driver.h; a template so that
// this header needs no raft/io).
template <typename DriverStatus>
RaftView raft_view_of(const DriverStatus& st) {
  RaftView v;
  v.term = st.term;
  v.last_index = st.last_index;
  for (const auto& p : st.peers) v.peers.push_back(RaftView::Peer{p.id, p.match, p.recent_active});
  return v;
}

struct LeaderDeps {
  // The local server: CatalogRegister/CatalogDeregister/SessionDestroy writes
  // and stale reads (CatalogNodeServices, HealthNode, HealthState, SessionList).
  api::rpc::Handler* rpc = nullptr;
  // Proposes a raw fsm command (server/fsm/command.h); `done` once applied or failed.
  std::function<void(std::string fsm_command, std::function<void(Status)> done)> propose;
  // The Raft configuration as the leader currently knows it.
  std::function<raft::ConfState()> conf_state;
  // Proposes one configuration change; `done` once it is applied or failed.
  std::function<void(raft::ConfChange, std::function<void(Status)> done)> change_membership;
  // The current LAN gossip view (every known member, any state).
  std::function<std::vector<gossip::MemberInfo>()> members;
  // Optional: the Raft log's last index. start() hints it to the tombstone GC
  // (Consul does, so tombstones left by earlier leaders are reaped too).
  std::function<uint64_t()> last_index;
  // Optional: the leader's Raft view for autopilot — its term, last index
  // and every other member's progress (raft/io/driver.h DriverStatus). When
  // absent a server counts as caught up and in contact.
  std::function<RaftView()> raft_view;
  Scheduler* scheduler = nullptr;  // all timers and the strand
  Clock* clock = nullptr;
};

// A member's status as Consul's reconcile sees it (serf.MemberStatus plus
// StatusReap). Gossip's suspect is still alive to serf.
enum class MemberStatus : uint8_t { alive, failed, left, reaped };
MemberStatus status_of(gossip::MemberState s);

// The catalog write that makes the catalog agree with `member` in `status`,
// given what the catalog holds for it (its node and services, nullopt when
// absent, and its node checks); nullopt when it already agrees. Consul's
// handleAliveMember / handleFailedMember / handleDeregisterMember, minus the
// Raft part and the "is it ours" filter (see handled_by_leader()).
std::optional<api::rpc::Write> catalog_write_for(const LeaderOptions& options, const gossip::MemberInfo& member,
                                                 MemberStatus status, const std::optional<api::NodeServices>& node,
                                                 const std::vector<api::HealthCheck>& checks);

// Consul's shouldHandleMember: a client ("node") or server ("consul") of this
// datacenter.
bool handled_by_leader(const LeaderOptions& options, const gossip::MemberInfo& member);

class LeaderDuties {
 public:
  // options must validate() and deps must be complete (last_index optional);
  // otherwise this aborts (a wiring bug, not input).
  LeaderDuties(LeaderOptions options, LeaderDeps deps);
  ~LeaderDuties();
  LeaderDuties(const LeaderDuties&) = delete;
  LeaderDuties& operator=(const LeaderDuties&) = delete;

  // Became leader: full reconcile now and every reconcile_interval; arms a
  // TTL timer at multiplier×TTL for every session with a TTL (Consul resets
  // them on leadership); hints last_index() to the tombstone GC.
  void start();
  // Lost leadership: cancels every timer and queued piece of work; results of
  // work in flight are dropped when they arrive.
  void stop();
  bool leading() const { return leading_; }

  // Reconciles that member now (ignored while not leading).
  void on_member_event(const gossip::MemberEvent& e);
  // A session was created or renewed: it expires multiplier×ttl from now
  // unless renewed again. ttl 0 (no TTL) forgets its timer. Ignored while not
  // leading.
  void session_ttl_reset(const std::string& id, Duration ttl);
  // The session is gone (destroyed by anyone): forget its timer.
  void session_destroyed(const std::string& id);
  // A KV delete left tombstones at `index`: they are reaped tombstone_ttl
  // later (rounded up to the granularity). Ignored while not leading.
  void kv_tombstone_hint(uint64_t index);

  // For tests and /v1/agent/metrics-style introspection.
  size_t session_timers() const { return session_timers_.size(); }
  size_t tombstone_buckets() const { return tombstone_buckets_.size(); }

  // Autopilot's view of each server in the Raft configuration (Consul's
  // /v1/operator/autopilot/health), as of the last sample; empty while not
  // leading.
  struct ServerHealth {
    uint64_t raft_id = 0;
    std::string name;        // the gossip name ("" when gossip does not know it)
    std::string address;     // its RPC address
    std::string serf_status; // alive, failed, left, none
    uint64_t last_index = 0; // its match index (the leader: its last index)
    uint64_t last_term = 0;  // the leader's term while in contact, else 0
    bool healthy = false;
    bool voter = false;
    Instant stable_since;    // when `healthy` last changed
    std::optional<Instant> last_contact;  // the last sample that found it in contact
  };
  std::vector<ServerHealth> autopilot_health() const;

 private:
  struct MemberTask {
    gossip::MemberInfo member;
    MemberStatus status = MemberStatus::alive;
    bool from_catalog = false;  // a catalog node gossip does not know (reconcileReaped)
  };
  // A timer and the sequence number that identifies it: a timer cancelled
  // on the strand may still fire (AsioScheduler cancels asynchronously), so
  // every callback checks that its number is still the current one.
  struct Timer {
    uint64_t seq = 0;
    std::shared_ptr<TimerHandle> handle;
    void cancel();
  };
  struct Bucket {
    uint64_t max_index = 0;
    Timer timer;
  };
  struct FailedServer {
    Instant since;  // first seen failed
    std::string name;
    Timer timer;    // removes it at since + dead_server_removal_after
  };

  // Wraps `fn` so that it runs on the strand, and only if this object is
  // still alive and still in the leadership term it was issued in.
  template <typename T, typename F>
  std::function<void(T)> on_strand(F fn);
  // A scheduler callback guarded the same way.
  template <typename F>
  Timer arm(Duration delay, F fn);

  void full_reconcile();
  void arm_reconcile_timer();
  void enqueue(MemberTask task);
  void pump_members();
  void finish_member();
  // The Raft side of a member, once its catalog node is known (nullopt when
  // absent or unreadable).
  void reconcile_raft(const MemberTask& task, const std::optional<api::NodeServices>& node);
  void reconcile_catalog(MemberTask task);
  void reap_unknown_nodes();
  void write(api::rpc::Write w, std::string what, std::function<void(LeaderDuties&, bool)> then);

  void prune_unknown_servers();
  void queue_conf_change(raft::ConfChange cc);
  void pump_conf_changes();
  void watch_failed_server(uint64_t raft_id, const std::string& name);

  void autopilot_tick();

  void arm_session_timer(const std::string& id, Duration ttl);
  void expire_session(const std::string& id);
  void reap_tombstones(uint64_t up_to);

  LeaderOptions options_;
  LeaderDeps deps_;
  bool leading_ = false;
  uint64_t term_ = 0;  // bumped by start() and stop(): results of older terms are dropped
  std::shared_ptr<LeaderDuties*> alive_;

  uint64_t next_seq_ = 0;
  Timer reconcile_timer_;

  // Members to reconcile, one at a time (Consul's single reconcile loop);
  // a member queued twice keeps its place and takes the newer record.
  std::deque<std::string> member_order_;
  std::map<std::string, MemberTask> member_tasks_;
  bool member_running_ = false;
  bool reap_scan_queued_ = false;

  std::deque<raft::ConfChange> conf_changes_;
  bool conf_change_running_ = false;
  std::map<uint64_t, FailedServer> failed_servers_;  // by Raft id
  // Raft members no gossip member names, by Raft id: since when (seen at
  // full reconciles).
  std::map<uint64_t, Instant> unknown_servers_;

  Timer autopilot_timer_;
  std::map<uint64_t, ServerHealth> health_;  // by Raft id

  std::map<std::string, Timer> session_timers_;
  std::set<std::string> sessions_to_destroy_;  // expired, destroy failed: retried at reconcile

  std::map<Instant, Bucket> tombstone_buckets_;
  uint64_t reap_pending_ = 0;  // a reap that failed: retried at reconcile
};

}  // namespace cairn::server
