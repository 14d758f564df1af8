// The config-entry table: upsert, CAS, delete, lists by kind, the per-kind
// index, the watch keys a write touches, the rules across entries at apply,
// and a checkpoint restore bringing entries back.
#include <gtest/gtest.h>

#include "api/config_entry.h"
#include "server/state/store.h"
#include "test/server/state/fixture.h"

namespace cairn::server::state {
namespace {

class ConfigEntriesTest : public StoreTest {
 protected:
  api::ConfigEntry entry(const std::string& body) {
    auto e = api::decode_config_entry(body);
    EXPECT_TRUE(e.ok()) << e.error().message();
    return e.ok() ? *e : api::ConfigEntry{};
  }
  Result<bool> apply(const std::string& body, bool cas = false, uint64_t cas_index = 0) {
    touched_ = {};
    return store_->config_entry_apply(next(), entry(body), cas, cas_index, touched_);
  }
  Result<bool> remove(const std::string& kind, const std::string& name, bool cas = false, uint64_t cas_index = 0) {
    touched_ = {};
    return store_->config_entry_delete(next(), kind, name, cas, cas_index, touched_);
  }
  std::optional<api::ConfigEntry> get(const std::string& kind, const std::string& name) {
    auto r = store_->read().config_entry_get(kind, name);
    EXPECT_TRUE(r.ok());
    return r.ok() ? r->value : std::nullopt;
  }
  uint64_t list_index(const std::string& kind) { return store_->read().config_entry_list(kind)->index; }
};

constexpr const char* kWebHttp = R"({"Kind":"service-defaults","Name":"web","Protocol":"http"})";
constexpr const char* kWebGrpc = R"({"Kind":"service-defaults","Name":"web","Protocol":"grpc"})";

TEST_F(ConfigEntriesTest, UpsertKeepsCreateIndexAndMovesModifyIndex) {
  ASSERT_TRUE(*apply(kWebHttp));  // index 1
  auto e = get("service-defaults", "web");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->create_index, 1u);
  EXPECT_EQ(e->modify_index, 1u);
  EXPECT_EQ(e->body, R"({"Kind":"service-defaults","Name":"web","Protocol":"http"})");
  ASSERT_TRUE(*apply(kWebGrpc));  // index 2
  e = get("service-defaults", "web");
  EXPECT_EQ(e->create_index, 1u);
  EXPECT_EQ(e->modify_index, 2u);
  EXPECT_NE(e->body.find("grpc"), std::string::npos);
}

TEST_F(ConfigEntriesTest, NamesMatchCaseInsensitively) {
  ASSERT_TRUE(*apply(kWebHttp));
  auto e = get("service-defaults", "WEB");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->name, "web");
  EXPECT_FALSE(get("service-resolver", "web"));
}

TEST_F(ConfigEntriesTest, CasWritesOnlyOverTheIndexItNames) {
  EXPECT_FALSE(*apply(kWebHttp, true, 5));  // index 1: nothing there, cas 5 loses
  EXPECT_FALSE(get("service-defaults", "web"));
  EXPECT_TRUE(*apply(kWebHttp, true, 0));   // index 2: 0 means "only if absent"
  EXPECT_FALSE(*apply(kWebGrpc, true, 0));  // index 3: exists now
  EXPECT_FALSE(*apply(kWebGrpc, true, 1));  // index 4: stale
  EXPECT_TRUE(*apply(kWebGrpc, true, 2));   // index 5
  EXPECT_EQ(get("service-defaults", "web")->modify_index, 5u);
  // A lost CAS still records its index and touches nothing.
  EXPECT_FALSE(*apply(kWebHttp, true, 2));
  EXPECT_TRUE(touched_.empty());
  EXPECT_EQ(store_->applied_index(), 6u);
}

TEST_F(ConfigEntriesTest, DeleteIsANoOpWhenMissingAndHonoursCas) {
  EXPECT_TRUE(*remove("service-defaults", "web"));        // index 1: nothing to delete
  EXPECT_FALSE(*remove("service-defaults", "web", true));  // index 2: CAS on nothing
  ASSERT_TRUE(*apply(kWebHttp));                            // index 3
  EXPECT_FALSE(*remove("service-defaults", "web", true, 2));  // index 4
  EXPECT_TRUE(get("service-defaults", "web"));
  EXPECT_TRUE(*remove("service-defaults", "web", true, 3));  // index 5
  EXPECT_FALSE(get("service-defaults", "web"));
  EXPECT_EQ(list_index("service-defaults"), 5u);
}

TEST_F(ConfigEntriesTest, ListsByKindSortedByName) {
  ASSERT_TRUE(*apply(R"({"Kind":"service-defaults","Name":"zeta"})"));
  ASSERT_TRUE(*apply(R"({"Kind":"service-defaults","Name":"alpha"})"));
  ASSERT_TRUE(*apply(R"({"Kind":"service-resolver","Name":"alpha"})"));
  auto defaults = store_->read().config_entry_list("service-defaults");
  ASSERT_TRUE(defaults.ok());
  ASSERT_EQ(defaults->value.size(), 2u);
  EXPECT_EQ(defaults->value[0].name, "alpha");
  EXPECT_EQ(defaults->value[1].name, "zeta");
  EXPECT_EQ(defaults->index, 2u);
  auto all = store_->read().config_entry_list("");
  ASSERT_EQ(all->value.size(), 3u);
  EXPECT_EQ(all->index, 3u);
  EXPECT_TRUE(store_->read().config_entry_list("service-router")->value.empty());
}

TEST_F(ConfigEntriesTest, EachKindHasItsOwnIndexAndDeletesMoveIt) {
  EXPECT_EQ(list_index("service-defaults"), 1u);  // never 0
  ASSERT_TRUE(*apply(kWebHttp));                                             // 1
  ASSERT_TRUE(*apply(R"({"Kind":"service-resolver","Name":"web"})"));      // 2
  EXPECT_EQ(list_index("service-defaults"), 1u);
  EXPECT_EQ(list_index("service-resolver"), 2u);
  EXPECT_EQ(store_->read().config_entry_get("service-defaults", "other")->index, 1u);
  ASSERT_TRUE(*remove("service-resolver", "web"));  // 3
  EXPECT_EQ(list_index("service-resolver"), 3u);
  EXPECT_EQ(list_index(""), 3u);
  EXPECT_EQ(list_index("service-defaults"), 1u);
}

TEST_F(ConfigEntriesTest, WritesAndDeletesTouchTheirKindAndTheTable) {
  ASSERT_TRUE(*apply(kWebHttp));
  EXPECT_TRUE(touched_.contains(WatchKey::of_key(WatchTable::config_entries, "service-defaults")));
  EXPECT_TRUE(touched_.contains(WatchKey::of_table(WatchTable::config_entries)));
  EXPECT_FALSE(touched_.contains(WatchKey::of_key(WatchTable::config_entries, "service-router")));
  WatchRegistry registry;
  int woken = 0;
  registry.add(watch_for::config_entries("service-defaults"), [&] { ++woken; });
  registry.add(watch_for::config_entries("service-resolver"), [&] { woken += 100; });
  registry.add(watch_for::config_entries(""), [&] { woken += 10; });
  ASSERT_TRUE(*remove("service-defaults", "web"));
  for (auto& wake : registry.collect(touched_)) wake();
  EXPECT_EQ(woken, 11);
}

TEST_F(ConfigEntriesTest, RouterNeedsHttpProtocolAtApply) {
  const char* router = R"({"Kind":"service-router","Name":"web","Routes":[{"Match":{"HTTP":{"PathPrefix":"/a"}}}]})";
  auto r = apply(router);  // index 1
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.error().is(errc::invalid_argument));
  EXPECT_NE(r.error().message().find("does not permit advanced routing or splitting behavior"), std::string::npos);
  EXPECT_FALSE(get("service-router", "web"));
  EXPECT_EQ(store_->applied_index(), 1u);  // the refusal is recorded
  ASSERT_TRUE(*apply(kWebHttp));
  ASSERT_TRUE(*apply(router));
  // The router depends on the service-defaults now: deleting it, or making it tcp, is refused.
  auto del = remove("service-defaults", "web");
  ASSERT_FALSE(del.ok());
  EXPECT_NE(del.error().message().find("uses a protocol \"tcp\""), std::string::npos);
  EXPECT_FALSE(apply(R"({"Kind":"service-defaults","Name":"web","Protocol":"tcp"})").ok());
  EXPECT_TRUE(get("service-defaults", "web"));
  // With the global default http, the service-defaults may go.
  ASSERT_TRUE(*apply(R"({"Kind":"proxy-defaults","Name":"global","Config":{"protocol":"http"}})"));
  EXPECT_TRUE(*remove("service-defaults", "web"));
}

TEST_F(ConfigEntriesTest, SplitterSubsetsMustBeDefinedByTheResolver) {
  ASSERT_TRUE(*apply(kWebHttp));
  const char* splitter =
      R"({"Kind":"service-splitter","Name":"web","Splits":[{"Weight":90,"ServiceSubset":"v1"},{"Weight":10,"ServiceSubset":"v2"}]})";
  auto r = apply(splitter);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find(R"(Splits[0].ServiceSubset: service "web" has no subset "v1")"), std::string::npos);
  ASSERT_TRUE(*apply(R"({"Kind":"service-resolver","Name":"web","Subsets":{"v1":{},"v2":{}}})"));
  ASSERT_TRUE(*apply(splitter));
  // Dropping a subset the splitter uses is refused.
  EXPECT_FALSE(apply(R"({"Kind":"service-resolver","Name":"web","Subsets":{"v1":{}}})").ok());
  EXPECT_FALSE(remove("service-resolver", "web").ok());
  ASSERT_TRUE(*remove("service-splitter", "web"));
  EXPECT_TRUE(*remove("service-resolver", "web"));
}

TEST_F(ConfigEntriesTest, UnknownKindIsRefused) {
  api::ConfigEntry e{"mesh", "x", "{}", 0, 0};
  auto r = store_->config_entry_apply(next(), e, false, 0, touched_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(), R"(invalid config entry kind: "mesh")");
}

TEST_F(ConfigEntriesTest, ACheckpointRestoreBringsEntriesBack) {
  ASSERT_TRUE(*apply(kWebHttp));
  ASSERT_TRUE(*apply(R"({"Kind":"service-resolver","Name":"api","DefaultSubset":"v1","Subsets":{"v1":{}}})"));
  ASSERT_TRUE(store_->checkpoint(dir_.sub("cp")).ok());
  ASSERT_TRUE(*remove("service-resolver", "api"));
  auto counts = store_->table_counts();
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->at("config_entries"), 1u);
  store_.reset();
  auto restored = Store::restore(dir_.sub("cp"), dir_.sub("db"));
  ASSERT_TRUE(restored.ok()) << restored.error().message();
  store_ = std::move(*restored);
  auto api_resolver = get("service-resolver", "api");
  ASSERT_TRUE(api_resolver);
  EXPECT_EQ(api_resolver->create_index, 2u);
  EXPECT_TRUE(get("service-defaults", "web"));
  EXPECT_EQ(list_index("service-resolver"), 2u);
}

}  // namespace
}  // namespace cairn::server::state
