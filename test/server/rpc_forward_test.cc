// The forwarding hop limit: a request a follower forwards to the leader is
// marked forwarded; a server that receives a forwarded request and does not
// lead answers "No cluster leader" (Consul's structs.ErrNoLeader) instead of
// forwarding it again, and the server that forwarded it holds and retries.
// Servers in one process (test/server/cluster.h), ticked by hand.
#include <gtest/gtest.h>

#include "test/server/cluster.h"

namespace cairn::server::test {
namespace {

using rpc::value_of;
using namespace std::chrono_literals;

class ForwardTest : public ::testing::Test {
 protected:
  void start(Duration hold) {
    c.start_expecting(1, 3, 3, [&](ServerOptions& o) { o.rpc_hold_timeout = hold; });
    c.set_members_all({member_info(1, 3), member_info(2, 3), member_info(3, 3)});
    leader = c.elect();
    ASSERT_NE(leader, 0);
    c.tick_all(3);  // followers learn the leader
    for (int n = 1; n <= 3; ++n)
      if (n != leader) (f == 0 ? f : g) = n;
  }
  // `on` believes the leader's RPC address is `points_to`'s: gossip told it
  // the leader's node lives there (a stale view during an election).
  void misdirect(int on, int points_to) {
    std::vector<gossip::MemberInfo> view;
    for (int n = 1; n <= 3; ++n) {
      auto m = member_info(n, 3);
      if (n == leader) m.addr = "10.0.0." + std::to_string(points_to) + ":8301";
      view.push_back(m);
    }
    c.at(on).set_members(view);
    c.pump();
  }
  Result<rpc::WriteResponse> write(int on, rpc::WriteOptions o, rpc::Write w) {
    std::optional<Result<rpc::WriteResponse>> got;
    c.at(on).write(std::move(o), std::move(w), [&](Result<rpc::WriteResponse> r) { got.emplace(std::move(r)); });
    c.await(got);
    if (!got) return Error(errc::timeout, "test: write did not complete");
    return *got;
  }

  Cluster c;
  int leader = 0, f = 0, g = 0;
};

TEST_F(ForwardTest, AForwardedWriteAtAFollowerIsAnsweredNoLeaderAndNotForwardedAgain) {
  start(Duration::zero());
  rpc::WriteOptions o;
  o.forwarded = true;
  auto r = write(f, o, kv_set("hop", "1"));
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.error().is(errc::unavailable));
  EXPECT_EQ(r.error().message(), "No cluster leader");
  EXPECT_EQ(c.at(f).counters().writes_forwarded, 0u);
  auto v = c.query(leader, rpc::KvGet{"hop"});
  ASSERT_TRUE(v.ok());
  EXPECT_FALSE(value_of<rpc::KvGet>(*v).has_value());
  // Not forwarded, the same write is (and reaches the leader marked forwarded).
  ASSERT_TRUE(write(f, {}, kv_set("hop", "2")).ok());
  EXPECT_EQ(c.at(f).counters().writes_forwarded, 1u);
}

TEST_F(ForwardTest, AForwardedQueryAtAFollowerIsAnsweredNoLeader) {
  start(Duration::zero());
  rpc::QueryOptions o;
  o.forwarded = true;
  auto r = c.query(f, rpc::KvGet{"k"}, o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(), "No cluster leader");
  EXPECT_EQ(c.at(f).counters().queries_forwarded, 0u);
  // ?stale is answered locally whatever the flag says; the leader answers a forwarded query.
  o.consistency = rpc::Consistency::stale;
  EXPECT_TRUE(c.query(f, rpc::KvGet{"k"}, o).ok());
  o.consistency = rpc::Consistency::leader;
  EXPECT_TRUE(c.query(leader, rpc::KvGet{"k"}, o).ok());
}

TEST_F(ForwardTest, TwoFollowersThatEachBelieveTheOtherLeadsDoNotLoop) {
  start(Duration::zero());
  misdirect(f, g);
  misdirect(g, f);
  // Without the hop limit this would bounce between f and g for ever (here:
  // recurse until the stack ran out, the in-process network being synchronous).
  auto w = write(f, {}, kv_set("loop", "1"));
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.error().message(), "No cluster leader");
  EXPECT_EQ(c.at(f).counters().writes_forwarded, 1u);
  EXPECT_EQ(c.at(g).counters().writes_forwarded, 0u);
  auto q = c.query(g, rpc::KvGet{"loop"});
  ASSERT_FALSE(q.ok());
  EXPECT_EQ(q.error().message(), "No cluster leader");
  EXPECT_EQ(c.at(g).counters().queries_forwarded, 1u);
  EXPECT_EQ(c.at(f).counters().queries_forwarded, 0u);
}

TEST_F(ForwardTest, TheForwardingServerHoldsAndRetriesUntilItFindsTheLeader) {
  start(7s);  // Consul's rpc_hold_timeout
  misdirect(f, g);
  std::optional<Result<rpc::WriteResponse>> got;
  c.at(f).write({}, kv_set("held", "yes"), [&](Result<rpc::WriteResponse> r) { got.emplace(std::move(r)); });
  c.pump();
  EXPECT_FALSE(got.has_value()) << "answered instead of held";
  // Gossip catches up; the next retry (a stagger of at most 7s/16) finds the leader.
  c.set_members_all({member_info(1, 3), member_info(2, 3), member_info(3, 3)});
  c.scheduler.advance(1s);
  c.await(got);
  ASSERT_TRUE(got.has_value());
  ASSERT_TRUE(got->ok()) << got->error().message();
  c.tick_all(3);
  auto v = c.query(leader, rpc::KvGet{"held"});
  ASSERT_TRUE(v.ok());
  ASSERT_TRUE(value_of<rpc::KvGet>(*v).has_value());
  EXPECT_EQ(value_of<rpc::KvGet>(*v)->value, "yes");
}

}  // namespace
}  // namespace cairn::server::test
