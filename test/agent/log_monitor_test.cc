#include "agent/log_monitor.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace cairn::agent {
namespace {

// The next piece a stream has now ("" when it would wait).
std::optional<std::string> take(http::BodyStream& s) {
  std::optional<std::string> got;
  bool called = false;
  s.next([&](std::optional<std::string> piece) {
    called = true;
    got = std::move(piece);
  });
  return called ? got : std::optional<std::string>("");
}

class LogMonitorTest : public ::testing::Test {
 protected:
  void SetUp() override { log::configure(log::Level::warn, false); }
  void TearDown() override { log::configure(log::Level::info, false); }
};

TEST_F(LogMonitorTest, SeesLinesBelowTheAgentsOwnLevelAndFiltersByItsOwn) {
  LogMonitor monitor;
  auto debug = monitor.subscribe(log::Level::debug, false);
  auto errors = monitor.subscribe(log::Level::error, false);
  EXPECT_TRUE(log::enabled(log::Level::debug)) << "a debug monitor turns debug lines on";
  log::debug("agent.test", "hello {}", 42);
  auto piece = take(*debug);
  ASSERT_TRUE(piece);
  EXPECT_NE(piece->find("[DEBUG] agent.test: hello 42\n"), std::string::npos) << *piece;
  EXPECT_EQ(take(*errors), std::optional<std::string>("")) << "below its level: nothing";
  debug->cancel();
  errors->cancel();
  EXPECT_EQ(monitor.subscribers(), 0u);
  EXPECT_FALSE(log::enabled(log::Level::debug)) << "without monitors the agent's level rules again";
}

TEST_F(LogMonitorTest, AWaitingReaderGetsTheNextLineAtOnce) {
  LogMonitor monitor;
  auto s = monitor.subscribe(log::Level::info, true);
  std::optional<std::string> got;
  s->next([&](std::optional<std::string> piece) { got = std::move(piece); });
  EXPECT_FALSE(got);
  log::warn("gossip", "member \"x\" failed");
  ASSERT_TRUE(got);
  auto j = nlohmann::json::parse(*got);
  EXPECT_EQ(j["@level"], "warn");
  EXPECT_EQ(j["@module"], "gossip");
  EXPECT_EQ(j["@message"], "member \"x\" failed");
  EXPECT_TRUE(j.contains("@timestamp"));
  s->cancel();
}

TEST_F(LogMonitorTest, ASlowReaderLosesLinesAndIsToldHowMany) {
  LogMonitor monitor;
  auto s = monitor.subscribe(log::Level::info, false);
  for (int i = 0; i < 600; ++i) log::info("t", "line {}", i);
  auto piece = take(*s);
  ASSERT_TRUE(piece);
  EXPECT_EQ(piece->rfind("Monitor dropped 88 logs during monitor request\n", 0), 0u) << piece->substr(0, 80);
  EXPECT_NE(piece->find("t: line 0\n"), std::string::npos);
  EXPECT_NE(piece->find("t: line 511\n"), std::string::npos);
  EXPECT_EQ(piece->find("t: line 512\n"), std::string::npos);
  s->cancel();
}

}  // namespace
}  // namespace cairn::agent
