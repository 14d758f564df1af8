// The history of a KV workload as the fault harness records it, and the
// register model it is checked against (test/faults/checker/linearizability.h).
//
// Each key is an independent register whose state is "absent" or a value.
// The harness writes every value at most once per key, so a value names the
// write that produced it; the checker's shrinking relies on that (it refuses
// to drop writes when values repeat).
//
// Pure: no I/O, no clock. Times are whatever monotonic unit the recorder
// used (the harness uses nanoseconds since the run started).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace cairn::faults {

enum class KvOpKind { get, put, cas, del };

// ok: the client saw the answer. info: the outcome is unknown (timed out, the
// connection dropped, a 5xx on a write): the op may or may not have taken
// effect, at any time after it was invoked. A read whose answer was lost is
// simply left out of the history (it has no effect), and so is a write the
// server refused before it could take effect (a 4xx).
enum class KvOutcome { ok, info };

struct KvOp {
  int process = 0;  // which client issued it (for printing only)
  KvOpKind kind = KvOpKind::get;
  std::string key;
  // get (ok): the value read, nullopt when the key was not found.
  // put / cas: the value written.
  std::optional<std::string> value;
  // cas: the value the key must hold for the write to happen (the harness
  // turns the ModifyIndex it sends into the value it read at that index);
  // nullopt: the key must be absent (Consul's ?cas=0).
  std::optional<std::string> expected;
  bool cas_succeeded = false;  // cas with outcome ok: the server's true/false
  KvOutcome outcome = KvOutcome::ok;
  int64_t invoke = 0;
  int64_t complete = 0;  // ignored for info ops (they may take effect any time later)
};

// One line per op, e.g. `[  12.345,   12.401] p3 cas k1 "v7"->"v9" = true`.
// Times are printed in milliseconds relative to `origin`.
std::string format_op(const KvOp& op, int64_t origin = 0);
std::string format_history(const std::vector<KvOp>& ops);

}  // namespace cairn::faults
