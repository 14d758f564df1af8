// Long polls without threads. A WaitQueue parks callbacks until notify_all()
// or until each one's own timeout, whichever comes first; the callback learns
// which (true: woken by a change). Blocking queries build on this: a waiter
// costs one std::function and one timer, never a thread.
//
// Thread-safety: none. Use a WaitQueue on one strand, with a Scheduler whose
// callbacks run on that same strand.
#pragma once

#include <functional>
#include <memory>
#include <unordered_map>

#include "core/scheduler.h"

namespace cairn {

class WaitQueue {
 public:
  using Callback = std::function<void(bool woken)>;
  explicit WaitQueue(Scheduler& scheduler) : scheduler_(scheduler) {}
  ~WaitQueue();

  // Parks fn; it runs exactly once.
  void wait(Duration timeout, Callback fn);
  // Runs every parked callback with woken=true.
  void notify_all();
  size_t size() const { return waiters_.size(); }

 private:
  struct Waiter {
    Callback fn;
    std::shared_ptr<TimerHandle> timer;
  };
  Scheduler& scheduler_;
  uint64_t next_id_ = 0;
  std::unordered_map<uint64_t, Waiter> waiters_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace cairn
