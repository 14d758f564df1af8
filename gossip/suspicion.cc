#include "gossip/suspicion.h"

#include <algorithm>
#include <cmath>

namespace cairn::gossip {

Duration suspicion_timeout(uint32_t suspicion_mult, std::size_t n, Duration probe_interval) {
  double node_scale = std::max(1.0, std::log10(std::max(1.0, static_cast<double>(n))));
  // memberlist multiplies by 1000 to keep precision in integer durations.
  auto scaled = static_cast<int64_t>(node_scale * 1000.0);
  return probe_interval * static_cast<int64_t>(suspicion_mult) * scaled / 1000;
}

Duration remaining_suspicion_time(uint32_t confirmations, uint32_t expected, Duration elapsed,
                                  Duration min, Duration max) {
  double frac = std::log(static_cast<double>(confirmations) + 1.0) /
                std::log(static_cast<double>(expected) + 1.0);
  double max_s = std::chrono::duration<double>(max).count();
  double min_s = std::chrono::duration<double>(min).count();
  double raw = max_s - frac * (max_s - min_s);
  Duration timeout = std::chrono::milliseconds(static_cast<int64_t>(std::floor(1000.0 * raw)));
  if (timeout < min) timeout = min;
  return timeout - elapsed;
}

Suspicion::Suspicion(Instant start, uint32_t expected, Duration min, Duration max, std::string accuser)
    : start_(start), expected_(expected), min_(min), max_(max) {
  confirmers_.push_back(std::move(accuser));
  // With nobody to confirm, the timer would never shrink: use the minimum.
  deadline_ = start + (expected_ < 1 ? min_ : max_);
}

bool Suspicion::confirm(std::string_view from) {
  if (expected_ < 1) return false;
  uint32_t n = confirmations() - 1;  // the accuser is not a confirmation
  if (n >= expected_) return false;
  if (std::find(confirmers_.begin(), confirmers_.end(), from) != confirmers_.end()) return false;
  confirmers_.emplace_back(from);
  ++n;
  Duration left = remaining_suspicion_time(n, expected_, Duration::zero(), min_, max_);
  Instant d = std::max(start_ + left, floor_);
  if (d < deadline_) deadline_ = d;
  return true;
}

}  // namespace cairn::gossip
