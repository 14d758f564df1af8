// Time as an interface. Pure code never reads a clock (DESIGN.md): it is given
// `now` or ticks. The real clock lives in core/io/system_clock.h; tests and the
// simulator use ManualClock.
#pragma once

#include <chrono>
#include <cstdint>

namespace cairn {

using Duration = std::chrono::nanoseconds;

// A monotonic instant, in nanoseconds since an arbitrary epoch.
struct Instant {
  Duration since_epoch{0};

  friend constexpr auto operator<=>(const Instant&, const Instant&) = default;
  friend constexpr Instant operator+(Instant t, Duration d) { return Instant{t.since_epoch + d}; }
  friend constexpr Instant operator-(Instant t, Duration d) { return Instant{t.since_epoch - d}; }
  friend constexpr Duration operator-(Instant a, Instant b) { return a.since_epoch - b.since_epoch; }
  Instant& operator+=(Duration d) { since_epoch += d; return *this; }
};

// Wall-clock time, nanoseconds since the Unix epoch (for TTLs shown to users,
// certificate validity, event timestamps).
struct WallTime {
  Duration since_unix_epoch{0};
  friend constexpr auto operator<=>(const WallTime&, const WallTime&) = default;
};

class Clock {
 public:
  virtual ~Clock() = default;
  virtual Instant now() const = 0;
  virtual WallTime wall_now() const = 0;
};

// A clock that moves only when told to. Not thread-safe: owned by one test or
// one simulation loop.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(Instant start = Instant{}, WallTime wall_start = WallTime{Duration{1'700'000'000'000'000'000}})
      : now_(start), wall_offset_(wall_start.since_unix_epoch - start.since_epoch) {}

  Instant now() const override { return now_; }
  WallTime wall_now() const override { return WallTime{now_.since_epoch + wall_offset_}; }

  void advance(Duration d) { now_ += d; }
  void set(Instant t) { now_ = t; }

 private:
  Instant now_;
  Duration wall_offset_;
};

}  // namespace cairn
