#include "test/faults/checker/linearizability.h"

#include <algorithm>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <unordered_map>

namespace cairn::faults {
namespace {

constexpr int kAbsent = -1;
constexpr int64_t kNever = std::numeric_limits<int64_t>::max();

// One op of one key, its values interned (kAbsent for "no value").
struct RegisterOp {
  KvOpKind kind;
  int value;     // get: the value read; put/cas: the value written
  int expected;  // cas
  bool succeeded;
  bool info;
};

// Applies `op` to `state`: whether it is legal there, and the state after.
bool step(const RegisterOp& op, int state, int* next) {
  *next = state;
  switch (op.kind) {
    case KvOpKind::get:
      return op.value == state;
    case KvOpKind::put:
      *next = op.value;
      return true;
    case KvOpKind::del:
      *next = kAbsent;
      return true;
    case KvOpKind::cas:
      // An info CAS is the CAS itself, taking effect iff the state matches;
      // "it never happened" is the same as linearizing it after everything
      // (its return is at +infinity), so both outcomes are covered.
      if (op.info) {
        if (state == op.expected) *next = op.value;
        return true;
      }
      if (op.succeeded) {
        if (state != op.expected) return false;
        *next = op.value;
        return true;
      }
      return state != op.expected;
  }
  return false;
}

class Bitset {
 public:
  explicit Bitset(size_t n) : words_((n + 63) / 64, 0) {}
  void set(size_t i) { words_[i / 64] |= (uint64_t{1} << (i % 64)); }
  void clear(size_t i) { words_[i / 64] &= ~(uint64_t{1} << (i % 64)); }
  size_t hash() const {
    uint64_t h = 1469598103934665603ull;
    for (auto w : words_) h = (h ^ w) * 1099511628211ull;
    return static_cast<size_t>(h);
  }
  bool operator==(const Bitset& o) const { return words_ == o.words_; }
  size_t bytes() const { return words_.size() * sizeof(uint64_t) + sizeof(*this); }

 private:
  std::vector<uint64_t> words_;
};

// Porcupine's search (porcupine/checker.go, checkSingle) over one key.
class RegisterSearch {
 public:
  RegisterSearch(const std::vector<RegisterOp>& ops, const std::vector<std::pair<int64_t, int64_t>>& times)
      : ops_(ops) {
    struct Event {
      int64_t time;
      bool is_return;
      int id;
    };
    std::vector<Event> events;
    for (size_t i = 0; i < ops.size(); ++i) {
      events.push_back({times[i].first, false, static_cast<int>(i)});
      events.push_back({times[i].second, true, static_cast<int>(i)});
    }
    // At equal times calls come first: overlapping ops are concurrent, the
    // permissive reading (an anomaly reported is then a real one).
    std::stable_sort(events.begin(), events.end(), [](const Event& a, const Event& b) {
      if (a.time != b.time) return a.time < b.time;
      return !a.is_return && b.is_return;
    });
    nodes_.resize(events.size() + 1);  // nodes_[0] is the head sentinel
    std::vector<int> call_node(ops.size(), -1);
    for (size_t i = 0; i < events.size(); ++i) {
      Node& n = nodes_[i + 1];
      n.id = events[i].id;
      n.is_call = !events[i].is_return;
      n.prev = static_cast<int>(i);
      n.next = i + 1 < events.size() ? static_cast<int>(i + 2) : -1;
      if (n.is_call) {
        call_node[n.id] = static_cast<int>(i + 1);
      } else {
        n.match = call_node[n.id];
        nodes_[call_node[n.id]].match = static_cast<int>(i + 1);
      }
    }
    nodes_[0].next = events.empty() ? -1 : 1;
  }

  Verdict run(uint64_t max_steps, uint64_t* steps, const std::function<bool()>& out_of_time, uint64_t max_memo_bytes) {
    uint64_t memo_bytes = 0;
    Bitset linearized(ops_.size());
    std::unordered_map<size_t, std::vector<std::pair<Bitset, int>>> cache;
    struct Frame {
      int node;
      int state;
    };
    std::vector<Frame> calls;
    int state = kAbsent;
    int entry = nodes_[0].next;
    while (nodes_[0].next != -1) {
      if (++*steps > max_steps) return Verdict::unknown;
      if ((*steps & 4095) == 0 && out_of_time && out_of_time()) return Verdict::unknown;
      Node& n = nodes_[entry];
      if (n.is_call) {
        int next_state = state;
        if (step(ops_[n.id], state, &next_state)) {
          Bitset candidate = linearized;
          candidate.set(n.id);
          auto& bucket = cache[candidate.hash()];
          bool seen = std::any_of(bucket.begin(), bucket.end(),
                                  [&](const auto& e) { return e.second == next_state && e.first == candidate; });
          if (!seen) {
            memo_bytes += candidate.bytes() + sizeof(int);
            if (memo_bytes > max_memo_bytes) return Verdict::unknown;
            bucket.emplace_back(candidate, next_state);
            calls.push_back({entry, state});
            state = next_state;
            linearized = std::move(candidate);
            lift(entry);
            entry = nodes_[0].next;
            continue;
          }
        }
        entry = n.next;
      } else {
        if (calls.empty()) return Verdict::not_linearizable;
        Frame top = calls.back();
        calls.pop_back();
        entry = top.node;
        state = top.state;
        linearized.clear(nodes_[entry].id);
        unlift(entry);
        entry = nodes_[entry].next;
      }
    }
    return Verdict::linearizable;
  }

 private:
  struct Node {
    int id = -1;
    bool is_call = false;
    int match = -1;  // the call's return node / the return's call node
    int prev = -1, next = -1;
  };

  void unlink(int i) {
    Node& n = nodes_[i];
    nodes_[n.prev].next = n.next;
    if (n.next != -1) nodes_[n.next].prev = n.prev;
  }
  void relink(int i) {
    Node& n = nodes_[i];
    nodes_[n.prev].next = i;
    if (n.next != -1) nodes_[n.next].prev = i;
  }
  void lift(int call) {
    unlink(call);
    unlink(nodes_[call].match);
  }
  void unlift(int call) {
    relink(nodes_[call].match);
    relink(call);
  }

  const std::vector<RegisterOp>& ops_;
  std::vector<Node> nodes_;
};

// Interns the values of one key's ops.
struct InternedKey {
  std::vector<RegisterOp> ops;
  std::vector<std::pair<int64_t, int64_t>> times;
};

InternedKey intern(const std::vector<KvOp>& history) {
  std::map<std::string, int> ids;
  auto id_of = [&](const std::optional<std::string>& v) {
    if (!v) return kAbsent;
    auto [it, fresh] = ids.emplace(*v, static_cast<int>(ids.size()));
    (void)fresh;
    return it->second;
  };
  InternedKey k;
  for (const auto& op : history) {
    bool info = op.outcome == KvOutcome::info;
    k.ops.push_back({op.kind, id_of(op.value), id_of(op.expected), op.cas_succeeded, info});
    k.times.emplace_back(op.invoke, info ? kNever : std::max(op.complete, op.invoke));
  }
  return k;
}

bool writes(const KvOp& op) {
  if (op.kind == KvOpKind::put || op.kind == KvOpKind::del) return true;
  return op.kind == KvOpKind::cas && (op.cas_succeeded || op.outcome == KvOutcome::info);
}
bool failed_cas(const KvOp& op) {
  return op.kind == KvOpKind::cas && op.outcome == KvOutcome::ok && !op.cas_succeeded;
}
// The value an op needs some write to have produced: a read's answer, a
// successful or unknown CAS's expected value. nullopt inside: "absent".
std::optional<std::optional<std::string>> observed(const KvOp& op) {
  if (op.kind == KvOpKind::get) return op.value;
  if (op.kind == KvOpKind::cas && !failed_cas(op)) return op.expected;
  return std::nullopt;
}

// Whether keeping only the ops marked in `keep` can only lose anomalies,
// never invent one. Given a linearization L of the full history, drop the
// removed ops from L: reads and failed CASes only constrain, so dropping them
// keeps L legal. A dropped write W matters only to ops linearized after it
// and before the next write: a read or CAS that observed W's value (values
// are unique per key, so "observed W" is "read W's value"; for "absent", any
// delete), or a failed CAS (whose inequality might now hold). Forbid those.
bool removal_is_sound(const std::vector<KvOp>& ops, const std::vector<bool>& keep) {
  bool write_removed = false, delete_removed = false;
  std::set<std::string> removed_values;
  for (size_t i = 0; i < ops.size(); ++i) {
    if (keep[i] || !writes(ops[i])) continue;
    write_removed = true;
    if (ops[i].kind == KvOpKind::del) delete_removed = true;
    if (ops[i].value) removed_values.insert(*ops[i].value);
  }
  if (!write_removed) return true;
  for (size_t i = 0; i < ops.size(); ++i) {
    if (!keep[i]) continue;
    if (failed_cas(ops[i])) return false;
    auto seen = observed(ops[i]);
    if (!seen) continue;
    if (!*seen && delete_removed) return false;
    if (*seen && removed_values.count(**seen)) return false;
  }
  return true;
}

bool values_unique(const std::vector<KvOp>& ops) {
  std::set<std::string> seen;
  for (const auto& op : ops)
    if ((op.kind == KvOpKind::put || op.kind == KvOpKind::cas) && op.value && !seen.insert(*op.value).second)
      return false;
  return true;
}

std::vector<KvOp> kept(const std::vector<KvOp>& ops, const std::vector<bool>& keep) {
  std::vector<KvOp> out;
  for (size_t i = 0; i < ops.size(); ++i)
    if (keep[i]) out.push_back(ops[i]);
  return out;
}

// Greedy delta debugging: try to drop chunks (halves, quarters, ... single
// ops), keeping a drop when it is sound and the rest is still not
// linearizable. A check that runs out of budget counts as "keep the ops".
std::vector<KvOp> shrink(const std::vector<KvOp>& ops, uint64_t budget) {
  bool may_drop_writes = values_unique(ops);
  std::vector<bool> keep(ops.size(), true);
  uint64_t used = 0;
  auto still_anomalous = [&](const std::vector<bool>& k) {
    if (!removal_is_sound(ops, k)) return false;
    if (!may_drop_writes) {
      for (size_t i = 0; i < ops.size(); ++i)
        if (!k[i] && writes(ops[i])) return false;
    }
    if (used >= budget) return false;
    uint64_t steps = 0;
    auto v = check_register(kept(ops, k), budget - used, &steps);
    used += steps;
    return v == Verdict::not_linearizable;
  };
  for (size_t chunk = std::max<size_t>(ops.size() / 2, 1);; chunk /= 2) {
    bool changed = true;
    while (changed) {
      changed = false;
      for (size_t start = 0; start < ops.size(); start += chunk) {
        std::vector<bool> trial = keep;
        bool any = false;
        for (size_t i = start; i < std::min(ops.size(), start + chunk); ++i) {
          any = any || trial[i];
          trial[i] = false;
        }
        if (any && still_anomalous(trial)) {
          keep = std::move(trial);
          changed = true;
        }
      }
    }
    if (chunk == 1) break;
  }
  return kept(ops, keep);
}

}  // namespace

const char* verdict_name(Verdict v) {
  switch (v) {
    case Verdict::linearizable:
      return "linearizable";
    case Verdict::not_linearizable:
      return "NOT linearizable";
    case Verdict::unknown:
      return "unknown (search budget, deadline or memory cap exhausted)";
  }
  return "?";
}

Verdict check_register(const std::vector<KvOp>& ops, uint64_t max_steps, uint64_t* steps_used,
                       const std::function<bool()>& out_of_time, uint64_t max_memo_bytes) {
  InternedKey k = intern(ops);
  RegisterSearch search(k.ops, k.times);
  uint64_t steps = 0;
  Verdict v = search.run(max_steps, &steps, out_of_time, max_memo_bytes);
  if (steps_used) *steps_used = steps;
  return v;
}

CheckReport check_kv(const std::vector<KvOp>& history, const CheckOptions& options) {
  std::map<std::string, std::vector<KvOp>> by_key;
  for (const auto& op : history) {
    if (op.kind == KvOpKind::get && op.outcome == KvOutcome::info) continue;  // no effect, no answer
    by_key[op.key].push_back(op);
  }
  CheckReport report;
  report.keys = by_key.size();
  for (auto& [key, ops] : by_key) {
    report.ops += ops.size();
    uint64_t left = options.max_steps > report.steps ? options.max_steps - report.steps : 0;
    uint64_t steps = 0;
    Verdict v = check_register(ops, left, &steps, options.out_of_time, options.max_memo_bytes);
    report.steps += steps;
    if (v == Verdict::linearizable) continue;
    KeyReport kr{key, v, ops.size(), {}};
    if (v == Verdict::not_linearizable) kr.anomaly = options.shrink ? shrink(ops, options.max_shrink_steps) : ops;
    report.problems.push_back(std::move(kr));
    if (v == Verdict::not_linearizable || report.verdict == Verdict::linearizable) report.verdict = v;
  }
  return report;
}

std::string CheckReport::summary() const {
  std::ostringstream out;
  out << "kv linearizability: " << verdict_name(verdict) << " (" << ops << " ops over " << keys << " keys, "
      << steps << " search steps)\n";
  for (const auto& p : problems) {
    out << "  key " << p.key << ": " << verdict_name(p.verdict) << " (" << p.ops << " ops)\n";
    if (!p.anomaly.empty()) out << "  minimal anomalous history (" << p.anomaly.size() << " ops):\n" << format_history(p.anomaly);
  }
  return out.str();
}

}  // namespace cairn::faults
