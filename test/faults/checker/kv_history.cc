#include "test/faults/checker/kv_history.h"

#include <algorithm>
#include <cstdio>

namespace cairn::faults {
namespace {

std::string show(const std::optional<std::string>& v) { return v ? "\"" + *v + "\"" : "<absent>"; }

}  // namespace

std::string format_op(const KvOp& op, int64_t origin) {
  char times[64];
  double invoke_ms = static_cast<double>(op.invoke - origin) / 1e6;
  if (op.outcome == KvOutcome::info) {
    std::snprintf(times, sizeof times, "[%10.3f,          ?]", invoke_ms);
  } else {
    std::snprintf(times, sizeof times, "[%10.3f, %10.3f]", invoke_ms, static_cast<double>(op.complete - origin) / 1e6);
  }
  std::string line = std::string(times) + " p" + std::to_string(op.process) + " ";
  bool info = op.outcome == KvOutcome::info;
  switch (op.kind) {
    case KvOpKind::get:
      line += "get " + op.key + (info ? " = ?" : " = " + show(op.value));
      break;
    case KvOpKind::put:
      line += "put " + op.key + " " + show(op.value) + (info ? " = ? (info)" : " = ok");
      break;
    case KvOpKind::del:
      line += "delete " + op.key + (info ? " = ? (info)" : " = ok");
      break;
    case KvOpKind::cas:
      line += "cas " + op.key + " " + show(op.expected) + "->" + show(op.value) +
              (info ? " = ? (info)" : op.cas_succeeded ? " = true" : " = false");
      break;
  }
  return line;
}

std::string format_history(const std::vector<KvOp>& ops) {
  std::vector<KvOp> sorted = ops;
  std::stable_sort(sorted.begin(), sorted.end(), [](const KvOp& a, const KvOp& b) { return a.invoke < b.invoke; });
  int64_t origin = sorted.empty() ? 0 : sorted.front().invoke;
  std::string out;
  for (const auto& op : sorted) out += "    " + format_op(op, origin) + "\n";
  return out;
}

}  // namespace cairn::faults
