#include "agent/checks/plan.h"

#include <algorithm>
#include <utility>
#include <vector>

namespace cairn::agent::checks {

namespace {

// Each kind with the field (Consul's JSON name) that selects it.
std::vector<std::pair<std::string, std::string>> kinds_set(const api::HealthCheckDefinition& d) {
  std::vector<std::pair<std::string, std::string>> set;
  if (!d.http.empty()) set.emplace_back("http", "HTTP");
  if (!d.tcp.empty()) set.emplace_back("tcp", "TCP");
  if (!d.udp.empty()) set.emplace_back("udp", "UDP");
  if (!d.script_args.empty()) set.emplace_back("script", "Args");
  if (!d.alias_service.empty() || !d.alias_node.empty()) set.emplace_back("alias", "AliasService");
  if (!d.grpc.empty()) set.emplace_back("grpc", "GRPC");
  if (!d.h2ping.empty()) set.emplace_back("h2ping", "H2PING");
  // TTL alone makes a TTL check; with another kind it is an error below.
  if (d.ttl.count() > 0 && set.empty()) set.emplace_back("ttl", "TTL");
  return set;
}

// Counters stop here: a check that has passed for years must not overflow.
constexpr int kCounterCap = 1 << 30;

bool polls(const std::string& kind) { return kind != "ttl" && kind != "alias"; }

}  // namespace

Result<std::string> check_type(const api::HealthCheckDefinition& def) {
  if (!def.docker_container_id.empty()) {
    return Error(errc::invalid_argument, "DockerContainerID checks are not supported by this agent");
  }
  auto set = kinds_set(def);
  if (set.empty()) {
    return Error(errc::invalid_argument,
                 "Check must set one of HTTP, TCP, UDP, TTL, Args (ScriptArgs), AliasService/AliasNode, GRPC or H2PING");
  }
  if (set.size() > 1) {
    std::string names;
    for (size_t i = 0; i < set.size(); ++i) names += (i ? (i + 1 == set.size() ? " and " : ", ") : "") + set[i].second;
    return Error(errc::invalid_argument, "Check may set only one kind, got " + names);
  }
  return set.front().first;
}

Duration effective_timeout(Duration interval, Duration timeout) {
  if (timeout.count() > 0 && timeout < interval) return timeout;
  return std::min(interval, kDefaultTimeout);
}

Result<CheckPlan> plan_check(const api::CheckDefinition& check, Origin origin, ScriptPolicy policy) {
  const auto& d = check.definition;
  CAIRN_TRY(std::string kind, check_type(d));
  CheckPlan plan;
  plan.kind = kind;
  if (d.interval.count() > 0 && d.ttl.count() > 0) {
    return Error(errc::invalid_argument, "Interval and TTL cannot both be specified");
  }
  if (polls(kind)) {
    if (d.interval.count() <= 0) {
      return Error(errc::invalid_argument, "Interval must be > 0 for Script, HTTP, H2PING, TCP, UDP or GRPC checks");
    }
    plan.interval = std::max(d.interval, kMinInterval);
    if (d.timeout.count() < 0) return Error(errc::invalid_argument, "Timeout must not be negative");
    plan.timeout = kind == "script" ? (d.timeout.count() > 0 ? d.timeout : kDefaultScriptTimeout)
                                    : effective_timeout(plan.interval, d.timeout);
  } else if (kind == "alias" && d.interval.count() > 0) {
    return Error(errc::invalid_argument, "Interval cannot be set for Alias checks");
  }
  if (kind == "ttl") plan.ttl = d.ttl;
  if (kind == "alias" && d.ttl.count() > 0) {
    return Error(errc::invalid_argument, "TTL must not be set for Alias checks");
  }
  if (kind == "script") {
    bool allowed = policy.enable_script_checks || (origin == Origin::config && policy.enable_local_script_checks);
    if (!allowed) return Error(errc::permission_denied, std::string(kScriptsDisabled));
  }
  if (check.status.empty()) {
    plan.initial_status = std::string(api::kHealthCritical);
  } else if (check.status == api::kHealthPassing || check.status == api::kHealthWarning ||
             check.status == api::kHealthCritical) {
    plan.initial_status = check.status;
  } else {
    return Error(errc::invalid_argument, "Status must be passing, warning or critical, got \"" + check.status + "\"");
  }
  if (check.success_before_passing < 0 || check.failures_before_warning < 0 || check.failures_before_critical < 0) {
    return Error(errc::invalid_argument,
                 "SuccessBeforePassing, FailuresBeforeWarning and FailuresBeforeCritical must not be negative");
  }
  plan.success_before_passing = check.success_before_passing;
  plan.failures_before_critical = check.failures_before_critical;
  plan.failures_before_warning =
      check.failures_before_warning == 0 ? check.failures_before_critical : check.failures_before_warning;
  return plan;
}

std::string Thresholds::apply(std::string_view status) {
  if (status == api::kHealthPassing || status == api::kHealthWarning) {
    successes_ = std::min(successes_ + 1, kCounterCap);
    failures_ = 0;
    if (successes_ >= success_before_passing_) return std::string(status);
    return {};
  }
  failures_ = std::min(failures_ + 1, kCounterCap);
  successes_ = 0;
  if (failures_ >= failures_before_critical_) return std::string(status);
  if (failures_ >= failures_before_warning_) return std::string(api::kHealthWarning);
  return {};
}

std::string truncate_output(std::string text, int64_t max) {
  if (max <= 0) max = 4096;
  if (text.size() > static_cast<size_t>(max)) text.resize(static_cast<size_t>(max));
  return text;
}

}  // namespace cairn::agent::checks
