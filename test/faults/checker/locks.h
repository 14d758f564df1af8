// Lock safety for the session-lock workload: no two holders of one lock at
// once, and no new holder inside the lock-delay of a holder that lost its
// lock to a session invalidation.
//
// What a client knows about its hold. It acquired the lock when its
// `?acquire=` returned true (the acquire took effect before `acquired`). It
// still held it whenever a `?consistent` read showed its session as the
// holder, or when its `?release=` returned true (Consul answers false to a
// release by a session that does not hold the lock); `last_proof` is the
// INVOKE time of the last such op, the latest moment we know it took effect
// after. So the hold certainly covers [acquired, last_proof], and two such
// intervals of one lock must not overlap.
//
// Lock-delay (Consul's session LockDelay): when the hold ended by the
// session's invalidation (`lost`: a later read showed another holder or
// none, or the release returned false), the invalidation happened after
// last_proof, and nobody may acquire for `lock_delay` after it. So the next
// acquire must complete at or after last_proof + lock_delay - slack. A hold
// whose end is unknown (a release that timed out) may have been released
// normally, which sets no delay: it is only checked for overlap.
//
// Pure: no I/O, no clock.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace cairn::faults {

enum class HoldEnd { released, lost, unknown };

struct LockHold {
  int process = 0;
  std::string lock;
  std::string session;
  int64_t acquired = 0;
  int64_t last_proof = 0;
  HoldEnd end = HoldEnd::unknown;
};

struct LockViolation {
  std::string what;  // one line, naming the lock, both holds and their times
};

std::vector<LockViolation> check_locks(std::vector<LockHold> holds, int64_t lock_delay, int64_t slack);

}  // namespace cairn::faults
