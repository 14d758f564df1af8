// Suspicion timers with Lifeguard's dynamic timeout (Dadgar et al. 2018,
// §IV-B "Local Health Aware Suspicion"): a suspicion starts with a long
// timeout and shrinks, on a logarithmic curve, towards the SWIM minimum as
// independent members confirm it. The formulas are memberlist's
// suspicion.go (remainingSuspicionTime) and state.go (suspicionTimeout).
//
// Thread-safety: value types, owned by one Membership.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"

namespace cairn::gossip {

// SWIM §4.2's minimum suspicion timeout, scaled with log10 of the cluster
// size: suspicion_mult · max(1, log10(max(1, n))) · probe_interval.
Duration suspicion_timeout(uint32_t suspicion_mult, std::size_t n, Duration probe_interval);

// Time left on a suspicion that has `confirmations` of `expected` independent
// confirmations, started `elapsed` ago. Result may be negative (already due).
Duration remaining_suspicion_time(uint32_t confirmations, uint32_t expected, Duration elapsed,
                                  Duration min, Duration max);

class Suspicion {
 public:
  // `accuser` is the first member that suspected; its word is not counted
  // again as a confirmation. expected == 0 means "use min, no shrinking"
  // (too few members to wait for confirmations).
  Suspicion(Instant start, uint32_t expected, Duration min, Duration max, std::string accuser);

  // Counts a confirmation from a member not yet heard from. Returns true
  // when it was new (the caller re-gossips the suspect message then, as
  // memberlist does, so others can confirm too).
  bool confirm(std::string_view from);

  Instant deadline() const { return deadline_; }
  // Pushes the deadline to at least `t`, and keeps it there: later
  // confirmations do not pull it back in (used after a stall so that queued
  // refutations are read before we declare anyone dead, and to give the
  // last-chance check time to be answered).
  void extend_to(Instant t) {
    if (floor_ < t) floor_ = t;
    if (deadline_ < t) deadline_ = t;
  }
  uint32_t confirmations() const { return static_cast<uint32_t>(confirmers_.size()); }

  // The last-chance direct check, sent `lead` before the deadline (see
  // Membership::tick_suspicions): its sequence number, once sent.
  bool check_due(Instant now, Duration lead) const { return !checked_ && now + lead >= deadline_; }
  bool checked() const { return checked_; }
  uint32_t check_seq() const { return check_seq_; }
  // Records the check; the verdict waits at least until `earliest_verdict`
  // so the check has time to be answered even when confirmations pulled the
  // deadline in.
  void mark_checked(uint32_t seq, Instant earliest_verdict) {
    checked_ = true;
    check_seq_ = seq;
    extend_to(earliest_verdict);
  }

 private:
  Instant start_;
  uint32_t expected_;
  Duration min_, max_;
  std::vector<std::string> confirmers_;  // includes the accuser; at most expected_+1
  Instant deadline_;
  Instant floor_{};  // the deadline never moves before this (extend_to)
  bool checked_ = false;
  uint32_t check_seq_ = 0;
};

// Lifeguard §IV-A Local Health Multiplier: a saturating counter raised by
// signs that *we* are slow (missed nacks, refuting a suspicion about us,
// stalls) and lowered by successful probes. Timeouts are scaled by
// (score + 1), so an unhealthy member probes and accuses more slowly.
class Awareness {
 public:
  explicit Awareness(uint32_t max_multiplier) : max_(max_multiplier) {}
  void apply_delta(int delta) {
    int64_t s = static_cast<int64_t>(score_) + delta;
    if (s < 0) s = 0;
    if (s > static_cast<int64_t>(max_) - 1) s = static_cast<int64_t>(max_) - 1;
    score_ = static_cast<uint32_t>(s);
  }
  uint32_t score() const { return score_; }
  Duration scale(Duration d) const { return d * static_cast<int64_t>(score_ + 1); }

 private:
  uint32_t max_;
  uint32_t score_ = 0;
};

}  // namespace cairn::gossip
