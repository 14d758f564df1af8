// The agent's own network coordinate, sent to the servers (Consul's
// agent.sendCoordinate): the Vivaldi coordinate gossip keeps for this node
// goes out as an api::rpc::CoordinateUpdate so that /v1/coordinate/* and
// ?near see it. The first update goes out after a random stagger of up to
// `first_within` (a new node is sortable soon after it joins); then one
// every interval: Consul's lib.RateScaledInterval — `min_interval` (15s),
// or longer so that the whole cluster sends at most `rate_target` (64)
// updates per second — plus a random stagger of up to that interval.
// Updates that fail are dropped; the next interval sends a fresh one.
//
// Thread-safety: callbacks run on `scheduler`'s strand; start() and stop()
// may be called from any thread. The coordinate and member-count functions
// must be safe to call on that strand.
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "api/rpc.h"
#include "core/rng.h"
#include "core/scheduler.h"

namespace cairn::agent {

struct CoordinateSyncOptions {
  std::string node;
  Duration first_within = std::chrono::seconds(2);
  Duration min_interval = std::chrono::seconds(15);
  double rate_target = 64.0;
};

struct CoordinateSyncDeps {
  api::rpc::Handler* rpc = nullptr;
  Scheduler* scheduler = nullptr;
  std::function<std::optional<api::Coord>()> coordinate;  // nullopt: nothing to send yet
  std::function<size_t()> cluster_size;                   // members, for the rate scaling
  std::function<uint64_t(uint64_t)> uniform;              // [0, n): the stagger's randomness
};

// lib.RateScaledInterval: max(min, n / rate) seconds.
Duration rate_scaled_interval(double rate, Duration min, size_t n);

class CoordinateSync : public std::enable_shared_from_this<CoordinateSync> {
 public:
  static std::shared_ptr<CoordinateSync> make(CoordinateSyncOptions options, CoordinateSyncDeps deps);
  void start();
  void stop();
  uint64_t sent() const { return sent_.load(); }

 private:
  CoordinateSync(CoordinateSyncOptions o, CoordinateSyncDeps d) : options_(std::move(o)), deps_(std::move(d)) {}
  void arm(Duration delay);
  void send();
  Duration stagger(Duration d);

  CoordinateSyncOptions options_;
  CoordinateSyncDeps deps_;
  std::mutex mu_;  // guards timer_
  std::shared_ptr<TimerHandle> timer_;
  std::atomic<bool> stopped_{false};
  std::atomic<uint64_t> sent_{0};
};

}  // namespace cairn::agent
