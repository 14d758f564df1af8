// The pure half of the check runners: what a definition asks for (kind,
// interval, timeout, script permission) and what a series of probe results
// means after the thresholds. No I/O and no clock, so it is unit-tested
// directly (test/agent/checks/plan_test.cc). Thread-safety: value types.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "agent/checks/runner.h"
#include "core/clock.h"
#include "core/result.h"

namespace cairn::agent::checks {

// Consul's checks.MinInterval: a polling check with a smaller (non-zero)
// interval runs every second instead (Consul warns and clamps).
inline constexpr Duration kMinInterval = std::chrono::seconds(1);
// The probe timeout when the definition gives none (Consul's HTTP client).
inline constexpr Duration kDefaultTimeout = std::chrono::seconds(10);
// Consul's CheckMonitor runs a script for at most 30 s unless told otherwise.
inline constexpr Duration kDefaultScriptTimeout = std::chrono::seconds(30);

inline constexpr std::string_view kScriptsDisabled =
    "Scripts are disabled on this agent; to enable, configure 'enable_script_checks' or "
    "'enable_local_script_checks' to true";

// What the runner does for one check definition.
struct CheckPlan {
  std::string kind;      // as check_type()
  Duration interval{0};  // polling kinds: clamped to kMinInterval; 0 for ttl and alias
  Duration timeout{0};   // polling kinds: the probe's deadline
  Duration ttl{0};       // ttl
  std::string initial_status;  // the definition's status, default critical
  // Thresholds; failures_before_warning defaults to failures_before_critical.
  int success_before_passing = 0;
  int failures_before_warning = 0;
  int failures_before_critical = 0;
};

struct ScriptPolicy {
  bool enable_script_checks = false;
  bool enable_local_script_checks = false;
};

// Validates `check` and derives its plan; the error names the field
// (invalid_argument, or permission_denied for disabled scripts).
Result<CheckPlan> plan_check(const api::CheckDefinition& check, Origin origin, ScriptPolicy policy);

// Consul's HTTP rule, used for every polling kind but scripts: the timeout
// when set and below the interval, else the interval capped at 10 s.
Duration effective_timeout(Duration interval, Duration timeout);

// Consul's StatusHandler: counts consecutive results and decides what to
// report. passing/warning results count as successes, critical as failures;
// each resets the other counter.
class Thresholds {
 public:
  Thresholds(int success_before_passing, int failures_before_warning, int failures_before_critical)
      : success_before_passing_(success_before_passing),
        failures_before_warning_(failures_before_warning),
        failures_before_critical_(failures_before_critical) {}
  // The status to report for a probe result, or "" to report nothing yet.
  std::string apply(std::string_view status);

 private:
  int success_before_passing_;
  int failures_before_warning_;
  int failures_before_critical_;
  int successes_ = 0;
  int failures_ = 0;
};

// At most `max` bytes of `text` (its head); max <= 0 means the default 4096.
std::string truncate_output(std::string text, int64_t max);

}  // namespace cairn::agent::checks
