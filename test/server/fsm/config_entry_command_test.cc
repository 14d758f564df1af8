// The config-entry Raft command (Consul's ConfigEntryRequestType, 22):
// its encoding and its four operations through the FSM.
#include <gtest/gtest.h>

#include "api/config_entry.h"
#include "test/server/fsm/fsm_fixture.h"

namespace cairn::server::fsm {
namespace {

api::ConfigEntry defaults(const std::string& protocol) {
  auto e = api::decode_config_entry(R"({"Kind":"service-defaults","Name":"web","Protocol":")" + protocol + "\"}");
  EXPECT_TRUE(e.ok());
  return *e;
}

TEST(ConfigEntryCommand, RoundTripsWithConsulsTypeNumber) {
  ConfigEntryCommand c{ConfigEntryOp::delete_cas, defaults("http"), 42};
  std::string bytes = encode(c);
  EXPECT_EQ(static_cast<uint8_t>(bytes[0]), 22);
  auto d = decode(bytes);
  ASSERT_TRUE(d.ok());
  auto* got = std::get_if<ConfigEntryCommand>(&*d);
  ASSERT_NE(got, nullptr);
  EXPECT_EQ(got->op, ConfigEntryOp::delete_cas);
  EXPECT_EQ(got->cas_index, 42u);
  EXPECT_EQ(got->entry, c.entry);
}

TEST(ConfigEntryCommand, BadOpOrTruncationIsCorrupt) {
  std::string bytes = encode(ConfigEntryCommand{ConfigEntryOp::upsert, defaults("http"), 0});
  std::string bad_op = bytes;
  bad_op[2] = 9;
  EXPECT_TRUE(decode(bad_op).error().is(errc::invalid_argument));
  EXPECT_TRUE(decode(bytes.substr(0, bytes.size() - 3)).error().is(errc::invalid_argument));
}

class ConfigEntryFsmTest : public FsmFixture {
 protected:
  Applied apply(const ConfigEntryCommand& c) { return FsmFixture::apply(c); }
  static bool answer(const Applied& a) { return std::get<bool>(a.response); }
};

TEST_F(ConfigEntryFsmTest, UpsertCasAndDeleteAnswerWhetherTheyHappened) {
  EXPECT_TRUE(answer(apply({ConfigEntryOp::upsert, defaults("http"), 0})));     // 1
  EXPECT_FALSE(answer(apply({ConfigEntryOp::upsert_cas, defaults("grpc"), 7})));  // 2
  auto won = apply({ConfigEntryOp::upsert_cas, defaults("grpc"), 1});              // 3
  EXPECT_TRUE(answer(won));
  EXPECT_FALSE(won.touched.empty());
  EXPECT_FALSE(answer(apply({ConfigEntryOp::delete_cas, defaults(""), 1})));  // 4
  EXPECT_TRUE(answer(apply({ConfigEntryOp::delete_cas, defaults(""), 3})));   // 5
  EXPECT_TRUE(answer(apply({ConfigEntryOp::del, defaults(""), 0})));          // 6: nothing left, still true
  EXPECT_FALSE(store_->read().config_entry_get("service-defaults", "web")->value);
}

TEST_F(ConfigEntryFsmTest, AGraphRefusalIsARejectionNotAFailure) {
  auto router = api::decode_config_entry(R"({"Kind":"service-router","Name":"web"})");
  ASSERT_TRUE(router.ok());
  auto a = apply({ConfigEntryOp::upsert, *router, 0});
  ASSERT_TRUE(a.rejection);
  EXPECT_TRUE(a.rejection->is(errc::invalid_argument));
  EXPECT_EQ(store_->applied_index(), 1u);
}

}  // namespace
}  // namespace cairn::server::fsm
