// The prepared-query table: create/update/delete with Consul's rules
// (unique case-insensitive names, a name that is another query's ID, one
// empty-name template, an existing session), lookup by ID, name and the
// longest template prefix, the session cascade, the index and wake-ups, and
// a checkpoint/restore round trip.
#include "server/state/prepared_queries.h"

#include "test/server/state/fixture.h"

namespace cairn::server::state {
namespace {

constexpr const char* kId1 = "11111111-2222-4333-8444-555555555555";
constexpr const char* kId2 = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee";
constexpr const char* kId3 = "99999999-8888-4777-8666-555555555555";

api::PreparedQuery query(const std::string& id, const std::string& name, const std::string& service = "web") {
  api::PreparedQuery q;
  q.id = id;
  q.name = name;
  q.service.service = service;
  return q;
}

api::PreparedQuery templ(const std::string& id, const std::string& name, const std::string& service) {
  api::PreparedQuery q = query(id, name, service);
  q.templ.type = "name_prefix_match";
  return q;
}

class PreparedQueriesTest : public StoreTest {
 protected:
  Result<std::string> set(const api::PreparedQuery& q) {
    return store_->prepared_query_apply(next(), api::PreparedQueryOp::update, q, touched_);
  }
  Result<std::string> del(const std::string& id) {
    api::PreparedQuery q;
    q.id = id;
    return store_->prepared_query_apply(next(), api::PreparedQueryOp::del, q, touched_);
  }
  std::string error_of(const api::PreparedQuery& q) {
    auto r = set(q);
    return r.ok() ? "" : r.error().detail();
  }
  std::optional<api::PreparedQuery> resolve(const std::string& x) {
    auto r = store_->read().prepared_query_resolve(x, "");
    EXPECT_TRUE(r.ok()) << r.error().message();
    return r.ok() ? r->value : std::nullopt;
  }
};

TEST_F(PreparedQueriesTest, CreateUpdateDeleteKeepIndexes) {
  touched_ = {};
  auto r = set(query(kId1, "q1"));
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(*r, kId1);
  EXPECT_TRUE(touched_.contains(WatchKey::of_table(WatchTable::prepared_queries)));
  ASSERT_TRUE(set(query(kId1, "q1-renamed", "api")).ok());
  auto got = store_->read().prepared_query_get(kId1);
  ASSERT_TRUE(got.ok());
  ASSERT_TRUE(got->value);
  EXPECT_EQ(got->value->name, "q1-renamed");
  EXPECT_EQ(got->value->service.service, "api");
  EXPECT_EQ(got->value->raft.create_index, 1u);
  EXPECT_EQ(got->value->raft.modify_index, 2u);
  EXPECT_EQ(got->index, 2u);
  // The old name is free again; the new one resolves.
  EXPECT_FALSE(resolve("q1"));
  EXPECT_EQ(resolve("Q1-RENAMED")->id, kId1);
  ASSERT_TRUE(set(query(kId2, "q1")).ok());
  EXPECT_EQ(store_->read().prepared_query_list()->value.size(), 2u);
  ASSERT_TRUE(del(kId1).ok());
  EXPECT_FALSE(store_->read().prepared_query_get(kId1)->value);
  EXPECT_FALSE(resolve("q1-renamed"));
  EXPECT_EQ(store_->read().prepared_query_list()->index, 4u);
  EXPECT_TRUE(del(kId1).ok());  // a no-op
}

TEST_F(PreparedQueriesTest, NamesAreUniqueCaseInsensitively) {
  ASSERT_TRUE(set(query(kId1, "Web")).ok());
  EXPECT_EQ(error_of(query(kId2, "web")), "name 'web' aliases an existing query name");
  EXPECT_EQ(error_of(templ(kId2, "WEB", "x")), "name 'WEB' aliases an existing query name");
  EXPECT_EQ(error_of(query(kId2, kId1)), std::string("name '") + kId1 + "' aliases an existing query ID");
  EXPECT_TRUE(set(query(kId1, "web")).ok());  // its own name
}

TEST_F(PreparedQueriesTest, OnlyOneEmptyNameTemplate) {
  ASSERT_TRUE(set(templ(kId1, "", "${name.full}")).ok());
  EXPECT_EQ(error_of(templ(kId2, "", "x")), "a query template with an empty name already exists");
  EXPECT_TRUE(set(query(kId2, "", "web")).ok());  // an unnamed query that is not a template is fine
}

TEST_F(PreparedQueriesTest, InvalidQueriesAreRefusedNamingTheField) {
  EXPECT_EQ(error_of(query(kId1, "q", "")), "Service.Service: Must provide a Service name to query");
  auto bad = templ(kId1, "q", "${nope}");
  EXPECT_NE(error_of(bad).find("Service.Service"), std::string::npos);
  EXPECT_EQ(error_of(query("", "q")), "Missing query ID");
}

TEST_F(PreparedQueriesTest, ASessionMustExistAndItsDestructionDeletesTheQuery) {
  auto q = query(kId1, "q");
  q.session = "sess-1";
  EXPECT_EQ(error_of(q), "invalid session \"sess-1\"");
  register_agent_node("n1");
  create_session("sess-1", "n1");
  ASSERT_TRUE(set(q).ok());
  ASSERT_TRUE(set(query(kId2, "other")).ok());
  touched_ = {};
  ASSERT_TRUE(store_->session_destroy(next(), "sess-1", at_seconds(1000), touched_).ok());
  EXPECT_TRUE(touched_.contains(WatchKey::of_table(WatchTable::prepared_queries)));
  EXPECT_FALSE(store_->read().prepared_query_get(kId1)->value);
  EXPECT_FALSE(resolve("q"));
  EXPECT_TRUE(store_->read().prepared_query_get(kId2)->value);
}

TEST_F(PreparedQueriesTest, ResolveByIdThenNameThenLongestTemplatePrefix) {
  ASSERT_TRUE(set(query(kId1, "geo-db-exact", "exact")).ok());
  ASSERT_TRUE(set(templ(kId2, "geo-", "short-${name.suffix}")).ok());
  auto longer = templ(kId3, "geo-db-", "${match(1)}");
  longer.templ.regexp = "^geo-db-(.*)$";
  ASSERT_TRUE(set(longer).ok());
  EXPECT_EQ(resolve(kId1)->service.service, "exact");
  EXPECT_EQ(resolve("geo-db-exact")->service.service, "exact");
  EXPECT_EQ(resolve("GEO-DB-mysql")->service.service, "");  // case-folded prefix, case-sensitive regexp
  EXPECT_EQ(resolve("geo-db-mysql")->service.service, "mysql");
  EXPECT_EQ(resolve("geo-web")->service.service, "short-web");
  EXPECT_FALSE(resolve("other"));
  // A template is resolved by name only.
  auto by_id = store_->read().prepared_query_resolve(kId2, "");
  ASSERT_FALSE(by_id.ok());
  EXPECT_EQ(by_id.error().detail(), "prepared query templates can only be resolved up by name, not by ID");
  // The catch-all template takes whatever nothing else does.
  ASSERT_TRUE(set(templ("cccccccc-bbbb-4ccc-8ddd-eeeeeeeeeeee", "", "${name.full}")).ok());
  EXPECT_EQ(resolve("anything")->service.service, "anything");
}

TEST_F(PreparedQueriesTest, QueriesSurviveACheckpointRestoreAndARestart) {
  ASSERT_TRUE(set(query(kId1, "q1")).ok());
  ASSERT_TRUE(set(templ(kId2, "t-", "${name.suffix}")).ok());
  ASSERT_TRUE(store_->checkpoint(dir_.sub("cp")).ok());
  ASSERT_TRUE(del(kId1).ok());
  store_.reset();
  auto restored = Store::restore(dir_.sub("cp"), dir_.sub("db"));
  ASSERT_TRUE(restored.ok()) << restored.error().message();
  store_ = std::move(*restored);
  EXPECT_EQ(store_->read().prepared_query_list()->value.size(), 2u);
  EXPECT_EQ(resolve("q1")->id, kId1);
  reopen();
  EXPECT_EQ(resolve("t-x")->service.service, "x");
}

}  // namespace
}  // namespace cairn::server::state
