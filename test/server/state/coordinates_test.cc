// The network-coordinate table: updates of catalog nodes only, the table
// index, blocking wake-ups, removal with the node, and restart.
#include "test/server/state/fixture.h"

namespace cairn::server::state {
namespace {

api::CoordinateEntry entry(const std::string& node, double x, const std::string& segment = {}) {
  api::CoordinateEntry e;
  e.node = node;
  e.segment = segment;
  e.coord.vec = {x, 0, 0, 0, 0, 0, 0, 0};
  e.coord.error = 0.5;
  e.coord.height = 1e-5;
  return e;
}

class CoordinatesTest : public StoreTest {
 protected:
  Result<bool> update(std::vector<api::CoordinateEntry> entries) {
    return store_->coordinate_update(next(), entries, touched_);
  }
};

TEST_F(CoordinatesTest, OnlyNodesOfTheCatalogAreWritten) {
  register_node("n1");
  touched_ = {};
  auto r = update({entry("n1", 0.001), entry("ghost", 0.002)});
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_TRUE(*r);
  EXPECT_TRUE(touched_.contains(WatchKey::of_table(WatchTable::coordinates)));
  auto all = store_->read().coordinates();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->value.size(), 1u);
  EXPECT_EQ(all->value[0], entry("n1", 0.001));
  EXPECT_EQ(all->index, 2u);
  // Nothing of the catalog's: nothing written, no index moves, nobody wakes.
  touched_ = {};
  auto none = update({entry("ghost", 0.003)});
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(*none);
  EXPECT_FALSE(touched_.contains(WatchKey::of_table(WatchTable::coordinates)));
  EXPECT_EQ(store_->read().coordinates()->index, 2u);
}

TEST_F(CoordinatesTest, ANodeIsFoundCaseInsensitivelyWithEachSegment) {
  register_node("Web-1");
  ASSERT_TRUE(update({entry("Web-1", 0.001), entry("Web-1", 0.002, "alpha")}).ok());
  ASSERT_TRUE(update({entry("Web-1", 0.004)}).ok());  // replaces the default segment's
  auto of = store_->read().coordinate("web-1");
  ASSERT_TRUE(of.ok());
  ASSERT_EQ(of->value.size(), 2u);
  EXPECT_EQ(of->value[0], entry("Web-1", 0.004));
  EXPECT_EQ(of->value[1], entry("Web-1", 0.002, "alpha"));
  EXPECT_TRUE(store_->read().coordinate("other")->value.empty());
}

TEST_F(CoordinatesTest, DeregisteringTheNodeRemovesItsCoordinates) {
  register_node("n1");
  register_node("n2");
  ASSERT_TRUE(update({entry("n1", 0.001), entry("n2", 0.002)}).ok());
  api::DeregisterRequest d;
  d.node = "n1";
  touched_ = {};
  ASSERT_TRUE(store_->catalog_deregister(next(), d, at_seconds(1000), touched_).ok());
  EXPECT_TRUE(touched_.contains(WatchKey::of_table(WatchTable::coordinates)));
  auto all = store_->read().coordinates();
  ASSERT_EQ(all->value.size(), 1u);
  EXPECT_EQ(all->value[0].node, "n2");
  EXPECT_EQ(all->index, index_);
}

TEST_F(CoordinatesTest, CoordinatesSurviveAReopen) {
  register_node("n1");
  ASSERT_TRUE(update({entry("n1", 0.25)}).ok());
  reopen();
  auto of = store_->read().coordinate("n1");
  ASSERT_EQ(of->value.size(), 1u);
  EXPECT_EQ(of->value[0].coord.vec[0], 0.25);
}

}  // namespace
}  // namespace cairn::server::state
