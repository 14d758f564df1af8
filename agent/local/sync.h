// Anti-entropy driver (Consul's agent/ae and agent/local SyncFull/SyncChanges):
// runs the pure planner (sync_plan.h) against the servers through
// api::rpc::Handler.
//
// - Full sync at start, then every interval × aeScale(cluster size) plus a
//   random stagger of up to as much again; it reads CatalogNodeServices and
//   HealthNode for this node, marks what already matches, and writes the rest.
// - Partial sync after every local change (trigger_partial, coalesced: many
//   changes while a sync runs make one more sync), from the in-sync flags.
// - When no server answers (or a write fails for want of one), back off
//   (retry_min doubling to retry_max, jittered) and retry with a full sync, so
//   the catalog catches up when the servers return. A write the server refuses
//   (invalid_argument, permission_denied) is logged and skipped.
// - Every reap_interval, services whose checks stayed critical longer than
//   their deregister_critical_service_after are removed (LocalState::reap_critical).
//
// Thread affinity: everything runs on the Scheduler's executor (the agent's
// local strand, the same strand LocalState's writes run on); Handler answers
// hop back to it through Scheduler::after(0). trigger_*() may be called from
// any thread. Held by shared_ptr: callbacks keep only a weak reference.
#pragma once

#include <atomic>
#include <functional>
#include <memory>

#include "agent/local/local_state.h"
#include "agent/local/sync_plan.h"
#include "api/rpc.h"
#include "core/rng.h"
#include "core/scheduler.h"

namespace cairn::agent::local {

struct SyncOptions {
  Duration interval = std::chrono::minutes(1);  // Consul's aeInterval for ≤ 128 nodes
  Duration retry_min = std::chrono::seconds(1);
  Duration retry_max = std::chrono::seconds(30);
  Duration reap_interval = std::chrono::seconds(5);
};

// Consul's aeScale factor: 1 up to 128 nodes, then 1 + ceil(log2(n / 128)).
int ae_scale_factor(size_t nodes);
// The wait before the next full sync: interval × scale, plus a random
// stagger in [0, interval × scale).
Duration full_sync_delay(Duration interval, size_t nodes, Rng& rng);

class SyncDriver : public std::enable_shared_from_this<SyncDriver> {
 public:
  struct Deps {
    LocalState* local = nullptr;
    Scheduler* scheduler = nullptr;  // strand-confined
    Rng* rng = nullptr;              // used on the scheduler's executor only
    const Clock* clock = nullptr;
    std::function<std::shared_ptr<api::rpc::Handler>()> rpc;  // may return null
    std::function<size_t()> cluster_size;
    std::function<NodeIdentity()> self;
  };

  static std::shared_ptr<SyncDriver> create(Deps deps, SyncOptions options = {});

  // A full sync now; then the periods. Call once.
  void start();
  void stop();
  void trigger_partial();
  void trigger_full();

  // For tests and logs (on the executor).
  bool node_in_sync() const { return node_in_sync_; }
  bool backing_off() const { return backing_off_; }
  uint64_t full_syncs_done() const { return full_syncs_done_; }

 private:
  SyncDriver(Deps deps, SyncOptions options);
  void kick();
  void run();
  void full();
  void execute(std::shared_ptr<std::vector<SyncOp>> ops, size_t i, bool is_full);
  void apply(const SyncMark& m);
  void finish(bool ok, bool is_full, const std::string& why);
  void schedule_full(Duration delay);
  void schedule_reap();
  // Runs fn on the executor (after a Handler answered on its thread).
  void hop(std::function<void(SyncDriver&)> fn);

  Deps deps_;
  SyncOptions options_;
  std::atomic<bool> kick_pending_{false};
  std::atomic<bool> want_full_{false};
  std::atomic<bool> want_partial_{false};
  bool busy_ = false;
  std::atomic<bool> stopped_{false};
  bool backing_off_ = false;
  bool node_in_sync_ = false;
  Duration backoff_{0};
  uint64_t full_syncs_done_ = 0;
  std::shared_ptr<TimerHandle> full_timer_;
  std::shared_ptr<TimerHandle> reap_timer_;
};

}  // namespace cairn::agent::local
