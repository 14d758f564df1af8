// The pure half of the check runners: kinds, validation, timeouts, thresholds.
#include "agent/checks/plan.h"

#include <gtest/gtest.h>

namespace cairn::agent::checks {
namespace {

using namespace std::chrono_literals;

api::CheckDefinition http_check(Duration interval = 10s) {
  api::CheckDefinition c;
  c.id = "web";
  c.definition.http = "http://127.0.0.1:8080/health";
  c.definition.interval = interval;
  return c;
}

TEST(CheckType, NamesTheKindFromTheFieldSet) {
  api::HealthCheckDefinition d;
  d.tcp = "127.0.0.1:22";
  EXPECT_EQ(check_type(d).value(), "tcp");
  d = {};
  d.ttl = 30s;
  EXPECT_EQ(check_type(d).value(), "ttl");
  d = {};
  d.script_args = {"/bin/true"};
  EXPECT_EQ(check_type(d).value(), "script");
  d = {};
  d.alias_node = "other";
  EXPECT_EQ(check_type(d).value(), "alias");
  d = {};
  d.h2ping = "127.0.0.1:443";
  EXPECT_EQ(check_type(d).value(), "h2ping");
  d = {};
  d.grpc = "127.0.0.1:50051/svc";
  EXPECT_EQ(check_type(d).value(), "grpc");
  d = {};
  d.udp = "127.0.0.1:53";
  EXPECT_EQ(check_type(d).value(), "udp");
}

TEST(CheckType, NoKindIsAnErrorNamingTheFields) {
  auto r = check_type({});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), errc::invalid_argument);
  EXPECT_NE(r.error().detail().find("HTTP, TCP"), std::string::npos);
}

TEST(CheckType, TwoKindsAreAnErrorNamingBoth) {
  api::HealthCheckDefinition d;
  d.http = "http://x/";
  d.tcp = "x:1";
  auto r = check_type(d);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().detail().find("HTTP and TCP"), std::string::npos) << r.error().detail();
}

TEST(PlanCheck, IntervalIsRequiredForPollingKinds) {
  auto r = plan_check(http_check(0s), Origin::api, {});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().detail().find("Interval"), std::string::npos);
}

TEST(PlanCheck, IntervalBelowOneSecondIsClampedAsConsulDoes) {
  auto r = plan_check(http_check(100ms), Origin::api, {});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->interval, kMinInterval);
}

TEST(PlanCheck, TimeoutDefaultsToTenSecondsCappedAtTheInterval) {
  EXPECT_EQ(plan_check(http_check(30s), Origin::api, {})->timeout, 10s);
  EXPECT_EQ(plan_check(http_check(2s), Origin::api, {})->timeout, 2s);
  auto c = http_check(30s);
  c.definition.timeout = 3s;
  EXPECT_EQ(plan_check(c, Origin::api, {})->timeout, 3s);
  c.definition.timeout = 60s;  // not below the interval: Consul's rule falls back to 10 s
  EXPECT_EQ(plan_check(c, Origin::api, {})->timeout, 10s);
}

TEST(PlanCheck, IntervalAndTtlTogetherAreRejected) {
  auto c = http_check();
  c.definition.http.clear();
  c.definition.ttl = 10s;
  auto r = plan_check(c, Origin::api, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().detail(), "Interval and TTL cannot both be specified");
}

TEST(PlanCheck, ScriptsNeedTheSwitchForTheirOrigin) {
  api::CheckDefinition c;
  c.id = "s";
  c.definition.script_args = {"/bin/true"};
  c.definition.interval = 10s;
  auto denied = plan_check(c, Origin::api, {false, true});
  ASSERT_FALSE(denied.ok());
  EXPECT_EQ(denied.error().detail(), kScriptsDisabled);
  EXPECT_TRUE(plan_check(c, Origin::config, {false, true}).ok());
  EXPECT_TRUE(plan_check(c, Origin::api, {true, false}).ok());
  EXPECT_FALSE(plan_check(c, Origin::config, {false, false}).ok());
  EXPECT_EQ(plan_check(c, Origin::api, {true, false})->timeout, kDefaultScriptTimeout);
}

TEST(PlanCheck, InitialStatusDefaultsToCritical) {
  EXPECT_EQ(plan_check(http_check(), Origin::api, {})->initial_status, "critical");
  auto c = http_check();
  c.status = "passing";
  EXPECT_EQ(plan_check(c, Origin::api, {})->initial_status, "passing");
  c.status = "bogus";
  EXPECT_FALSE(plan_check(c, Origin::api, {}).ok());
}

TEST(PlanCheck, FailuresBeforeWarningDefaultsToFailuresBeforeCritical) {
  auto c = http_check();
  c.failures_before_critical = 3;
  EXPECT_EQ(plan_check(c, Origin::api, {})->failures_before_warning, 3);
}

// What Thresholds reports for each result in turn ("" = nothing yet).
std::vector<std::string> reported(Thresholds t, const std::vector<std::string>& results) {
  std::vector<std::string> out;
  for (const auto& r : results) out.push_back(t.apply(r));
  return out;
}

using Seq = std::vector<std::string>;

TEST(Thresholds, WithoutThresholdsEveryResultIsReported) {
  EXPECT_EQ(reported({0, 0, 0}, {"passing", "critical", "warning"}), (Seq{"passing", "critical", "warning"}));
}

TEST(Thresholds, SuccessBeforePassingCountsConsecutiveSuccesses) {
  // The critical result resets the success counter.
  EXPECT_EQ(reported({3, 0, 0}, {"passing", "passing", "critical", "passing", "passing", "passing"}),
            (Seq{"", "", "critical", "", "", "passing"}));
}

TEST(Thresholds, FailuresGoThroughWarningToCritical) {
  // The success resets the failure counter.
  EXPECT_EQ(reported({0, 1, 3}, {"critical", "critical", "critical", "passing", "critical"}),
            (Seq{"warning", "warning", "critical", "passing", "warning"}));
}

TEST(Thresholds, FailuresBelowBothThresholdsReportNothing) {
  EXPECT_EQ(reported({0, 2, 2}, {"critical", "critical"}), (Seq{"", "critical"}));
}

TEST(TruncateOutput, KeepsTheHead) {
  EXPECT_EQ(truncate_output("abcdef", 3), "abc");
  EXPECT_EQ(truncate_output("abc", 0), "abc");
  EXPECT_EQ(truncate_output(std::string(5000, 'x'), 0).size(), 4096u);
}

}  // namespace
}  // namespace cairn::agent::checks
