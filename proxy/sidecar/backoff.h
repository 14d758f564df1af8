// The retry schedule of the sidecar's watch loops after an error: 1 s,
// doubling, at most 30 s; a success resets it. A value, no clock: the loop
// sleeps for what next() says.
#pragma once

#include <chrono>

#include "core/clock.h"

namespace cairn::proxy::sidecar {

class Backoff {
 public:
  static constexpr Duration kFirst = std::chrono::seconds(1);
  static constexpr Duration kMax = std::chrono::seconds(30);

  // The wait before the next attempt; each call doubles the following one.
  Duration next() {
    Duration d = current_;
    current_ = current_ * 2 > kMax ? kMax : current_ * 2;
    return d;
  }
  void reset() { current_ = kFirst; }

 private:
  Duration current_ = kFirst;
};

}  // namespace cairn::proxy::sidecar
