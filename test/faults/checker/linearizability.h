// A linearizability checker for KV histories: Wing & Gong's search with the
// optimisations of Lowe ("Testing for linearizability", 2017) as Porcupine
// implements them: the history is partitioned by key (each key is an
// independent register, so a history is linearizable iff every key's
// sub-history is), the search runs over a linked list of call/return events
// with "lift"/"unlift", and every (set of linearized ops, register state)
// reached is memoised so no configuration is explored twice.
//
// The search is bounded by a step budget (and, optionally, a predicate the
// caller uses for a wall-clock deadline): when it runs out the verdict is
// `unknown`, never `linearizable`.
//
// When a key is not linearizable the checker shrinks its sub-history to a
// minimal anomalous one (greedy, delta-debugging style): ops are dropped
// while the rest stays non-linearizable, and only in ways that cannot create
// an anomaly that was not there (reads and failed CASes are constraints only;
// a write may go only when nothing left reads its value and no failed CAS is
// left). See linearizability.cc for the argument.
//
// Pure: no I/O, no threads, no clock.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "test/faults/checker/kv_history.h"

namespace cairn::faults {

enum class Verdict { linearizable, not_linearizable, unknown };
const char* verdict_name(Verdict v);

struct CheckOptions {
  uint64_t max_steps = 20'000'000;  // search steps across all keys; past it: unknown
  std::function<bool()> out_of_time;  // polled every 4096 steps; true: stop with unknown
  // Memory the memo may hold (linearized sets are bitsets of the key's ops);
  // past it: unknown. Long histories with many unknown-outcome ops need it.
  uint64_t max_memo_bytes = uint64_t{2} << 30;
  bool shrink = true;                 // minimise anomalous sub-histories
  uint64_t max_shrink_steps = 20'000'000;
};

struct KeyReport {
  std::string key;
  Verdict verdict = Verdict::linearizable;
  size_t ops = 0;
  std::vector<KvOp> anomaly;  // not_linearizable: the minimal anomalous sub-history found
};

struct CheckReport {
  Verdict verdict = Verdict::linearizable;
  size_t ops = 0;       // ops checked (reads without an answer are not in the history)
  size_t keys = 0;
  uint64_t steps = 0;
  std::vector<KeyReport> problems;  // keys whose verdict is not `linearizable`
  std::string summary() const;      // one paragraph, with each anomaly's history
};

CheckReport check_kv(const std::vector<KvOp>& history, const CheckOptions& options = {});

// The verdict for one key's ops only (all of `ops` must share a key).
Verdict check_register(const std::vector<KvOp>& ops, uint64_t max_steps, uint64_t* steps_used = nullptr,
                       const std::function<bool()>& out_of_time = {}, uint64_t max_memo_bytes = uint64_t{2} << 30);

}  // namespace cairn::faults
