#include <gtest/gtest.h>

#include "raft/config.h"
#include "raft/errc.h"

namespace cairn::raft {
namespace {

TEST(RaftConfig, DefaultsValidate) { EXPECT_TRUE(Config::defaults(1).validate().ok()); }

TEST(RaftConfig, DefaultsTurnOnPreVoteAndCheckQuorumAndSafeReads) {
  Config c = Config::defaults(1);
  EXPECT_TRUE(c.pre_vote);
  EXPECT_TRUE(c.check_quorum);
  EXPECT_EQ(c.read_only_option, ReadOnlyOption::safe);
  EXPECT_EQ(c.election_tick, 10);
  EXPECT_EQ(c.heartbeat_tick, 1);
}

TEST(RaftConfig, ValidateRejectsIdZero) {
  Status st = Config::defaults(0).validate();
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code(), errc::invalid_config);
  EXPECT_NE(st.error().message().find("id"), std::string::npos);
}

TEST(RaftConfig, ValidateNamesElectionTickWhenNotAboveHeartbeatTick) {
  Config c = Config::defaults(1);
  c.election_tick = 3;
  c.heartbeat_tick = 3;
  Status st = c.validate();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message().find("election_tick"), std::string::npos);
}

TEST(RaftConfig, ValidateNamesHeartbeatTickBelowOne) {
  Config c = Config::defaults(1);
  c.heartbeat_tick = 0;
  Status st = c.validate();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message().find("heartbeat_tick"), std::string::npos);
}

TEST(RaftConfig, ValidateNamesMaxInflightOutOfRange) {
  Config c = Config::defaults(1);
  c.max_inflight_msgs = 0;
  Status st = c.validate();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message().find("max_inflight_msgs must be in [1, 65536]"), std::string::npos);
}

TEST(RaftConfig, ValidateRejectsLeaseReadsWithoutCheckQuorum) {
  Config c = Config::defaults(1);
  c.read_only_option = ReadOnlyOption::lease;
  c.check_quorum = false;
  Status st = c.validate();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message().find("read_only_option"), std::string::npos);
}

TEST(RaftConfig, ValidateRejectsOversizedMessages) {
  Config c = Config::defaults(1);
  c.max_size_per_msg = (64u << 20) + 1;
  EXPECT_FALSE(c.validate().ok());
}

}  // namespace
}  // namespace cairn::raft
