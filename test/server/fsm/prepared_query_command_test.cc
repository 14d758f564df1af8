// The prepared-query Raft command (Consul's PreparedQueryRequestType, 9):
// its encoding and create/update/delete through the FSM, a refused query
// being a rejection (recorded, every replica alike), not a failure.
#include <gtest/gtest.h>

#include "test/server/fsm/fsm_fixture.h"

namespace cairn::server::fsm {
namespace {

api::PreparedQuery query(const std::string& name, const std::string& service) {
  api::PreparedQuery q;
  q.id = "11111111-2222-4333-8444-555555555555";
  q.name = name;
  q.service.service = service;
  q.templ = {"name_prefix_match", "^(.*)$", true};
  q.dns.ttl = "5s";
  return q;
}

TEST(PreparedQueryCommand, RoundTripsWithConsulsTypeNumber) {
  PreparedQueryCommand c{api::PreparedQueryOp::update, query("geo-", "${match(1)}")};
  std::string bytes = encode(c);
  EXPECT_EQ(static_cast<uint8_t>(bytes[0]), 9);
  auto d = decode(bytes);
  ASSERT_TRUE(d.ok()) << d.error().message();
  auto* got = std::get_if<PreparedQueryCommand>(&*d);
  ASSERT_NE(got, nullptr);
  EXPECT_EQ(got->op, api::PreparedQueryOp::update);
  EXPECT_EQ(got->query, c.query);
}

TEST(PreparedQueryCommand, BadOpOrTruncationIsCorrupt) {
  std::string bytes = encode(PreparedQueryCommand{api::PreparedQueryOp::create, query("q", "web")});
  std::string bad_op = bytes;
  bad_op[2] = 7;
  EXPECT_TRUE(decode(bad_op).error().is(errc::invalid_argument));
  EXPECT_TRUE(decode(bytes.substr(0, bytes.size() - 3)).error().is(errc::invalid_argument));
}

class PreparedQueryFsmTest : public FsmFixture {
 protected:
  Applied apply(const PreparedQueryCommand& c) { return FsmFixture::apply(c); }
};

TEST_F(PreparedQueryFsmTest, CreateAnswersTheIdAndDeleteRemovesIt) {
  auto q = query("geo-", "${match(1)}");
  auto created = apply({api::PreparedQueryOp::create, q});
  ASSERT_FALSE(created.rejection);
  EXPECT_EQ(std::get<std::string>(created.response), q.id);
  EXPECT_FALSE(created.touched.empty());
  auto resolved = store_->read().prepared_query_resolve("geo-web", "");
  ASSERT_TRUE(resolved.ok());
  ASSERT_TRUE(resolved->value);
  EXPECT_EQ(resolved->value->service.service, "geo-web");
  ASSERT_FALSE(apply({api::PreparedQueryOp::del, q}).rejection);
  EXPECT_FALSE(store_->read().prepared_query_get(q.id)->value);
}

TEST_F(PreparedQueryFsmTest, ARefusedQueryIsARejectionNotAFailure) {
  auto a = apply({api::PreparedQueryOp::create, query("q", "")});
  ASSERT_TRUE(a.rejection);
  EXPECT_TRUE(a.rejection->is(errc::invalid_argument));
  EXPECT_EQ(store_->applied_index(), 1u);
}

}  // namespace
}  // namespace cairn::server::fsm
