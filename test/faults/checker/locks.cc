#include "test/faults/checker/locks.h"

#include <algorithm>
#include <map>

namespace cairn::faults {
namespace {

std::string show(const LockHold& h) {
  const char* end = h.end == HoldEnd::released ? "released" : h.end == HoldEnd::lost ? "lost" : "end unknown";
  return "p" + std::to_string(h.process) + " session " + h.session + " held [" +
         std::to_string(h.acquired / 1000000) + " ms, " + std::to_string(h.last_proof / 1000000) + " ms] (" + end +
         ")";
}

}  // namespace

std::vector<LockViolation> check_locks(std::vector<LockHold> holds, int64_t lock_delay, int64_t slack) {
  std::map<std::string, std::vector<LockHold>> by_lock;
  for (auto& h : holds) by_lock[h.lock].push_back(std::move(h));
  std::vector<LockViolation> out;
  for (auto& [lock, hs] : by_lock) {
    std::sort(hs.begin(), hs.end(), [](const LockHold& a, const LockHold& b) { return a.acquired < b.acquired; });
    for (size_t i = 0; i < hs.size(); ++i) {
      for (size_t j = i + 1; j < hs.size(); ++j) {
        const LockHold& a = hs[i];
        const LockHold& b = hs[j];  // b.acquired >= a.acquired
        if (b.acquired < a.last_proof) {  // a still held after b's acquire took effect
          out.push_back({"lock " + lock + ": two holders at once: " + show(a) + " and " + show(b)});
        } else if (a.end == HoldEnd::lost && b.acquired + slack < a.last_proof + lock_delay) {
          out.push_back({"lock " + lock + ": acquired inside the lock-delay (" + std::to_string(lock_delay / 1000000) +
                         " ms) of a lost hold: " + show(a) + " then " + show(b)});
        }
      }
    }
  }
  return out;
}

}  // namespace cairn::faults
