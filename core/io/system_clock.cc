#include "core/io/system_clock.h"

#include <chrono>

namespace cairn {

Instant SystemClock::now() const {
  return Instant{std::chrono::duration_cast<Duration>(std::chrono::steady_clock::now().time_since_epoch())};
}

WallTime SystemClock::wall_now() const {
  return WallTime{std::chrono::duration_cast<Duration>(std::chrono::system_clock::now().time_since_epoch())};
}

SystemClock& SystemClock::instance() {
  static SystemClock clock;
  return clock;
}

}  // namespace cairn
