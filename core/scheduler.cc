#include "core/scheduler.h"

namespace cairn {

class ManualScheduler::Handle final : public TimerHandle {
 public:
  Handle(ManualScheduler* owner, std::pair<Instant, uint64_t> key) : owner_(owner), key_(key) {}
  void cancel() override { owner_->timers_.erase(key_); }

 private:
  ManualScheduler* owner_;
  std::pair<Instant, uint64_t> key_;
};

std::shared_ptr<TimerHandle> ManualScheduler::after(Duration delay, std::function<void()> fn) {
  auto key = std::make_pair(clock_.now() + delay, next_id_++);
  timers_.emplace(key, std::move(fn));
  return std::make_shared<Handle>(this, key);
}

void ManualScheduler::advance(Duration d) {
  Instant until = clock_.now() + d;
  while (!timers_.empty() && timers_.begin()->first.first <= until) {
    auto it = timers_.begin();
    clock_.set(it->first.first);
    auto fn = std::move(it->second);
    timers_.erase(it);
    fn();
  }
  clock_.set(until);
}

}  // namespace cairn
