// Deferred work without threads: a Scheduler runs a callback after a delay.
// Pure code (long polls, retries) depends on this interface; core/io's
// AsioScheduler runs callbacks on an executor, and tests use ManualScheduler.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <utility>

#include "core/clock.h"

namespace cairn {

// Cancelling a timer that already fired or was cancelled does nothing.
class TimerHandle {
 public:
  virtual ~TimerHandle() = default;
  virtual void cancel() = 0;
};

class Scheduler {
 public:
  virtual ~Scheduler() = default;
  virtual std::shared_ptr<TimerHandle> after(Duration delay, std::function<void()> fn) = 0;
};

// Fires callbacks when the test advances it. Single-threaded.
class ManualScheduler final : public Scheduler {
 public:
  explicit ManualScheduler(ManualClock& clock) : clock_(clock) {}
  std::shared_ptr<TimerHandle> after(Duration delay, std::function<void()> fn) override;
  // Advances the clock by d, running every callback that falls due, in order.
  void advance(Duration d);
  size_t pending() const { return timers_.size(); }

 private:
  class Handle;
  ManualClock& clock_;
  uint64_t next_id_ = 0;
  std::map<std::pair<Instant, uint64_t>, std::function<void()>> timers_;
};

}  // namespace cairn
