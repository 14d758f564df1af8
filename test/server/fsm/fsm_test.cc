#include "server/fsm/fsm.h"

#include <gtest/gtest.h>

#include "test/server/fsm/fsm_fixture.h"

namespace cairn::server::fsm {
namespace {

WallTime at(int64_t s) { return WallTime{std::chrono::seconds(s)}; }

class FsmTest : public FsmFixture {
 protected:
  static std::string register_node(const std::string& node) {
    RegisterCommand c;
    c.now = at(100);
    c.request.node = node;
    c.request.address = "10.0.0.1";
    api::HealthCheck serf;
    serf.check_id = "serfHealth";
    serf.status = "passing";
    c.request.checks.push_back(serf);
    return encode(c);
  }
  static std::string kv(state::KvOp op, const std::string& key, const std::string& value = {},
                        const std::string& session = {}, int64_t now = 100) {
    KvCommand c;
    c.op = op;
    c.now = at(now);
    c.entry.key = key;
    c.entry.value = value;
    c.entry.session = session;
    return encode(c);
  }
  static std::string session(SessionOp op, const std::string& id, int64_t now = 100) {
    SessionCommand c;
    c.op = op;
    c.now = at(now);
    c.session.id = id;
    c.session.node = "n1";
    c.session.node_checks = {"serfHealth"};
    c.session.lock_delay = std::chrono::seconds(10);
    return encode(c);
  }
};

TEST_F(FsmTest, RegisterAppliesAndReportsTouchedKeys) {
  auto a = apply(register_node("n1"));
  EXPECT_FALSE(a.rejection.has_value());
  EXPECT_TRUE(std::holds_alternative<std::monostate>(a.response));
  EXPECT_TRUE(a.touched.contains(state::WatchKey::of_table(state::WatchTable::nodes)));
  EXPECT_EQ(store_->read().nodes()->value.size(), 1u);
}

TEST_F(FsmTest, DeregisterApplies) {
  apply(register_node("n1"));
  DeregisterCommand d;
  d.request.node = "n1";
  auto a = apply(encode(d));
  EXPECT_FALSE(a.rejection.has_value());
  EXPECT_TRUE(store_->read().nodes()->value.empty());
}

TEST_F(FsmTest, KvSetReturnsTrueAndCasReturnsFalseOnConflict) {
  EXPECT_EQ(std::get<bool>(apply(kv(state::KvOp::set, "k", "v")).response), true);
  KvCommand cas;
  cas.op = state::KvOp::cas;
  cas.entry.key = "k";
  cas.entry.raft.modify_index = 0;  // only if absent: it is not
  EXPECT_EQ(std::get<bool>(apply(encode(cas)).response), false);
}

TEST_F(FsmTest, SessionCreateReturnsTheProposersId) {
  apply(register_node("n1"));
  auto a = apply(session(SessionOp::create, "3f1c-uuid"));
  EXPECT_EQ(std::get<std::string>(a.response), "3f1c-uuid");
}

TEST_F(FsmTest, SessionDestroyReleasesAndStartsLockDelay) {
  apply(register_node("n1"));
  apply(session(SessionOp::create, "s1"));
  apply(session(SessionOp::create, "s2"));
  EXPECT_TRUE(std::get<bool>(apply(kv(state::KvOp::lock, "l", "v", "s1")).response));
  EXPECT_TRUE(std::get<bool>(apply(session(SessionOp::destroy, "s1", 200)).response));
  EXPECT_FALSE(std::get<bool>(apply(kv(state::KvOp::lock, "l", "v", "s2", 205)).response));
  EXPECT_TRUE(std::get<bool>(apply(kv(state::KvOp::lock, "l", "v", "s2", 211)).response));
}

TEST_F(FsmTest, TombstoneReapReturnsHowMany) {
  apply(kv(state::KvOp::set, "a"));
  apply(kv(state::KvOp::delete_key, "a"));
  auto a = apply(encode(TombstoneCommand{TombstoneOp::reap, index_}));
  EXPECT_EQ(std::get<uint64_t>(a.response), 1u);
}

TEST_F(FsmTest, RefusedCommandIsARejectionThatStillAdvancesTheIndex) {
  auto a = apply(session(SessionOp::create, "s1"));  // no node n1
  ASSERT_TRUE(a.rejection.has_value());
  EXPECT_EQ(a.rejection->message(), "Missing node registration");
  EXPECT_EQ(store_->applied_index(), 1u);
  EXPECT_TRUE(a.touched.empty());
}

TEST_F(FsmTest, CorruptBytesAreARejectionNeverACrash) {
  auto a = apply(std::string("\x02\x01\xff", 3));
  ASSERT_TRUE(a.rejection.has_value());
  EXPECT_EQ(store_->applied_index(), 1u);
}

TEST_F(FsmTest, UnknownCommandStopsTheFsmWithoutRecordingTheIndex) {
  auto r = fsm_->apply(1, std::string{static_cast<char>(77), static_cast<char>(kCommandVersion)});
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.error().is(errc::internal));
  EXPECT_EQ(store_->applied_index(), 0u);
}

TEST_F(FsmTest, IgnorableUnknownCommandIsSkippedAndRecorded) {
  auto a = apply(std::string{static_cast<char>(77 | kIgnoreUnknownTypeFlag), static_cast<char>(kCommandVersion)});
  EXPECT_FALSE(a.rejection.has_value());
  EXPECT_EQ(store_->applied_index(), 1u);
}

TEST_F(FsmTest, AnAlreadyAppliedIndexIsRejected) {
  apply(kv(state::KvOp::set, "k", "1"));
  auto r = fsm_->apply(1, kv(state::KvOp::set, "k", "2"));
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(r->rejection.has_value());
  EXPECT_EQ(store_->read().kv_get("k")->value->value->front(), '1');
}

TEST_F(FsmTest, TheSameLogGivesTheSameState) {
  std::vector<std::string> log = {register_node("n1"), session(SessionOp::create, "s1"),
                                  kv(state::KvOp::lock, "l", "v", "s1"), kv(state::KvOp::set, "a/b", "x"),
                                  kv(state::KvOp::delete_tree, "a/"), session(SessionOp::destroy, "s1", 300)};
  auto replay = [&](const std::string& dir) {
    auto s = state::Store::open(dir);
    EXPECT_TRUE(s.ok());
    Fsm f(**s);
    uint64_t i = 0;
    for (const auto& e : log) EXPECT_TRUE(f.apply(++i, e).ok());
    auto view = (*s)->read();
    std::string out;
    auto list = view.kv_list("");
    auto tombstones = view.kv_tombstones();
    for (const auto& e : list->value) out += e.key + "@" + std::to_string(e.raft.modify_index) + e.session + ";";
    for (const auto& [k, i2] : *tombstones) out += "t:" + k + "@" + std::to_string(i2) + ";";
    out += "sessions:" + std::to_string(view.session_list()->value.size());
    out += " kv-index:" + std::to_string(view.kv_list("")->index);
    return out;
  };
  EXPECT_EQ(replay(dir_.sub("one")), replay(dir_.sub("two")));
}

}  // namespace
}  // namespace cairn::server::fsm
