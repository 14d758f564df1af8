// The real clock: steady for Instant, system for WallTime. Thread-safe.
#pragma once

#include "core/clock.h"

namespace cairn {

class SystemClock final : public Clock {
 public:
  Instant now() const override;
  WallTime wall_now() const override;
  static SystemClock& instance();
};

}  // namespace cairn
