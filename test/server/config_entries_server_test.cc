// Config entries through server::Server (test/server/cluster.h): writes
// through Raft, reads, blocking queries woken by a write or a delete of
// their kind (and only of their kind), refusals, and /v1/snapshot's archive
// carrying the table.
#include <gtest/gtest.h>

#include "api/config_entry.h"
#include "test/server/cluster.h"

namespace cairn::server::test {
namespace {

using rpc::value_of;

class ConfigEntryServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ServerOptions o = c.options(1);
    o.bootstrap = true;
    c.start(1, o);
    ASSERT_EQ(c.elect(), 1);
  }
  static rpc::ConfigEntryApply put(const std::string& body, bool cas = false, uint64_t cas_index = 0) {
    auto e = api::decode_config_entry(body);
    EXPECT_TRUE(e.ok()) << e.error().message();
    return rpc::ConfigEntryApply{e.ok() ? *e : api::ConfigEntry{}, cas, cas_index};
  }
  static rpc::QueryOptions blocking(uint64_t index) {
    rpc::QueryOptions o;
    o.min_index = index;
    o.max_wait = std::chrono::minutes(1);
    return o;
  }
  Cluster c;
};

constexpr const char* kWeb = R"({"Kind":"service-defaults","Name":"web","Protocol":"http"})";

TEST_F(ConfigEntryServerTest, WriteThenGetAndList) {
  auto w = c.write(1, put(kWeb));
  ASSERT_TRUE(w.ok()) << w.error().message();
  EXPECT_TRUE(value_of<rpc::ConfigEntryApply>(*w));
  auto got = c.query(1, rpc::ConfigEntryGet{"service-defaults", "web"});
  ASSERT_TRUE(got.ok());
  const auto& e = value_of<rpc::ConfigEntryGet>(*got);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->modify_index, w->index);
  EXPECT_EQ(got->meta.index, w->index);
  auto missing = c.query(1, rpc::ConfigEntryGet{"service-defaults", "db"});
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(value_of<rpc::ConfigEntryGet>(*missing));
  auto list = c.query(1, rpc::ConfigEntryList{"service-defaults"});
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(value_of<rpc::ConfigEntryList>(*list).size(), 1u);
}

TEST_F(ConfigEntryServerTest, CasAndDeleteAnswerWhetherTheyHappened) {
  auto first = c.write(1, put(kWeb, true, 0));
  ASSERT_TRUE(first.ok());
  EXPECT_TRUE(value_of<rpc::ConfigEntryApply>(*first));
  auto lost = c.write(1, put(kWeb, true, 0));
  ASSERT_TRUE(lost.ok());
  EXPECT_FALSE(value_of<rpc::ConfigEntryApply>(*lost));
  auto del = c.write(1, rpc::ConfigEntryDelete{"service-defaults", "web", true, first->index});
  ASSERT_TRUE(del.ok());
  EXPECT_TRUE(value_of<rpc::ConfigEntryDelete>(*del));
}

TEST_F(ConfigEntryServerTest, BadInputIsInvalidArgumentNamingIt) {
  rpc::ConfigEntryApply bad{api::ConfigEntry{"service-defaults", "web", R"({"Kind":"service-defaults","Name":"web","Bogus":1})"},
                            false, 0};
  auto r = c.write(1, bad);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.error().is(errc::invalid_argument));
  EXPECT_EQ(r.error().message(), "Request decode failed: Bogus: unknown field");
  auto mismatch = c.write(1, rpc::ConfigEntryApply{api::ConfigEntry{"service-resolver", "web", kWeb}, false, 0});
  ASSERT_FALSE(mismatch.ok());
  EXPECT_TRUE(mismatch.error().is(errc::invalid_argument));
  auto kind = c.query(1, rpc::ConfigEntryList{"nope"});
  ASSERT_FALSE(kind.ok());
  EXPECT_EQ(kind.error().message(), R"(invalid config entry kind: "nope")");
  auto router = c.write(1, put(R"({"Kind":"service-router","Name":"db"})"));
  ASSERT_FALSE(router.ok());
  EXPECT_TRUE(router.error().is(errc::invalid_argument));
  EXPECT_NE(router.error().message().find("does not permit advanced routing"), std::string::npos);
}

TEST_F(ConfigEntryServerTest, BlockingListWakesOnAWriteOfItsKindOnly) {
  auto first = c.write(1, put(kWeb));
  ASSERT_TRUE(first.ok());
  auto parked = c.begin_query(1, rpc::ConfigEntryList{"service-defaults"}, blocking(first->index));
  auto all = c.begin_query(1, rpc::ConfigEntryList{""}, blocking(first->index));
  EXPECT_FALSE(parked->has_value());
  ASSERT_TRUE(c.write(1, put(R"({"Kind":"service-resolver","Name":"web"})")).ok());
  c.pump();
  EXPECT_FALSE(parked->has_value()) << "another kind must not wake it";
  ASSERT_TRUE(all->has_value()) << "the list of every kind wakes on any kind";
  auto second = c.write(1, put(R"({"Kind":"service-defaults","Name":"api"})"));
  ASSERT_TRUE(second.ok());
  c.pump();
  ASSERT_TRUE(parked->has_value());
  ASSERT_TRUE((*parked)->ok());
  EXPECT_EQ((**parked)->meta.index, second->index);
  EXPECT_EQ(value_of<rpc::ConfigEntryList>(***parked).size(), 2u);
}

TEST_F(ConfigEntryServerTest, BlockingGetWakesOnDelete) {
  auto first = c.write(1, put(kWeb));
  ASSERT_TRUE(first.ok());
  auto parked = c.begin_query(1, rpc::ConfigEntryGet{"service-defaults", "web"}, blocking(first->index));
  EXPECT_FALSE(parked->has_value());
  auto del = c.write(1, rpc::ConfigEntryDelete{"service-defaults", "web", false, 0});
  ASSERT_TRUE(del.ok());
  c.pump();
  ASSERT_TRUE(parked->has_value());
  ASSERT_TRUE((*parked)->ok());
  EXPECT_EQ((**parked)->meta.index, del->index);
  EXPECT_FALSE(value_of<rpc::ConfigEntryGet>(***parked));
}

TEST_F(ConfigEntryServerTest, SnapshotArchiveCarriesConfigEntries) {
  ASSERT_TRUE(c.write(1, put(kWeb)).ok());
  auto saved = c.query(1, rpc::SnapshotSave{});
  ASSERT_TRUE(saved.ok()) << saved.error().message();
  std::string archive = value_of<rpc::SnapshotSave>(*saved);
  ASSERT_TRUE(c.write(1, rpc::ConfigEntryDelete{"service-defaults", "web", false, 0}).ok());
  ASSERT_TRUE(c.write(1, put(R"({"Kind":"service-resolver","Name":"later"})")).ok());
  auto restored = c.write(1, rpc::SnapshotRestore{archive});
  ASSERT_TRUE(restored.ok()) << restored.error().message();
  c.pump();
  auto got = c.query(1, rpc::ConfigEntryGet{"service-defaults", "web"});
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(value_of<rpc::ConfigEntryGet>(*got));
  auto later = c.query(1, rpc::ConfigEntryList{"service-resolver"});
  ASSERT_TRUE(later.ok());
  EXPECT_TRUE(value_of<rpc::ConfigEntryList>(*later).empty());
}

}  // namespace
}  // namespace cairn::server::test
