#include "core/wait_queue.h"

#include <vector>

namespace cairn {

WaitQueue::~WaitQueue() {
  *alive_ = false;
  for (auto& [id, w] : waiters_) w.timer->cancel();
}

void WaitQueue::wait(Duration timeout, Callback fn) {
  uint64_t id = next_id_++;
  auto& w = waiters_[id];
  w.fn = std::move(fn);
  std::weak_ptr<bool> alive = alive_;
  w.timer = scheduler_.after(timeout, [this, id, alive] {
    auto a = alive.lock();
    if (!a || !*a) return;
    auto it = waiters_.find(id);
    if (it == waiters_.end()) return;
    auto cb = std::move(it->second.fn);
    waiters_.erase(it);
    cb(false);
  });
}

void WaitQueue::notify_all() {
  std::vector<Callback> woken;
  woken.reserve(waiters_.size());
  for (auto& [id, w] : waiters_) {
    w.timer->cancel();
    woken.push_back(std::move(w.fn));
  }
  waiters_.clear();
  for (auto& cb : woken) cb(true);  // a callback may wait() again
}

}  // namespace cairn
