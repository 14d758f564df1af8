#include "agent/coordinate_sync.h"

#include <algorithm>

#include "core/log.h"

namespace cairn::agent {

Duration rate_scaled_interval(double rate, Duration min, size_t n) {
  if (rate <= 0) return min;
  auto scaled = std::chrono::duration_cast<Duration>(std::chrono::duration<double>(static_cast<double>(n) / rate));
  return std::max(min, scaled);
}

std::shared_ptr<CoordinateSync> CoordinateSync::make(CoordinateSyncOptions options, CoordinateSyncDeps deps) {
  return std::shared_ptr<CoordinateSync>(new CoordinateSync(std::move(options), std::move(deps)));
}

Duration CoordinateSync::stagger(Duration d) {
  if (d.count() <= 0 || !deps_.uniform) return Duration{0};
  return Duration(static_cast<int64_t>(deps_.uniform(static_cast<uint64_t>(d.count()))));
}

void CoordinateSync::start() {
  stopped_ = false;
  arm(stagger(options_.first_within));
}

void CoordinateSync::stop() {
  stopped_ = true;
  std::shared_ptr<TimerHandle> t;
  {
    std::lock_guard lock(mu_);
    t = std::move(timer_);
  }
  if (t) t->cancel();
}

void CoordinateSync::arm(Duration delay) {
  std::weak_ptr<CoordinateSync> weak = shared_from_this();
  auto t = deps_.scheduler->after(delay, [weak] {
    if (auto self = weak.lock(); self && !self->stopped_) self->send();
  });
  std::lock_guard lock(mu_);
  if (stopped_) {
    t->cancel();
    return;
  }
  timer_ = std::move(t);
}

void CoordinateSync::send() {
  if (auto coord = deps_.coordinate ? deps_.coordinate() : std::nullopt) {
    api::CoordinateEntry e;
    e.node = options_.node;
    e.coord = std::move(*coord);
    ++sent_;
    deps_.rpc->write({}, api::rpc::CoordinateUpdate{{std::move(e)}}, [](Result<api::rpc::WriteResponse> r) {
      if (!r.ok()) log::debug("agent", "coordinate update failed: {}", r.error().message());
    });
  }
  Duration every = rate_scaled_interval(options_.rate_target, options_.min_interval,
                                        deps_.cluster_size ? deps_.cluster_size() : 1);
  arm(every + stagger(every));
}

}  // namespace cairn::agent
