// Network coordinates on a real `cairn agent -dev`: the agent sends its own
// Vivaldi coordinate to the servers on its own; PUT /v1/coordinate/update
// stores one for a catalog node (refused for a bad vector, skipped for an
// unknown node); /v1/coordinate/nodes, /node/<n> and /datacenters read them;
// ?near=<node> and ?near=_agent sort /v1/catalog/nodes, /v1/catalog/service
// and /v1/health/service by estimated round-trip time.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "test/support/agents.h"
#include "test/support/poll.h"

namespace cairn::test {
namespace {

using namespace std::chrono_literals;
using Json = nlohmann::json;

class CoordinateTest : public AgentsFixture {
 protected:
  void SetUp() override {
    agent_ = &start("coord-agent", {"-dev"});
    ASSERT_TRUE(wait_for_leader(*agent_)) << agent_->process->log();
  }

  // The body of a GET expected to answer `want` (-1: any status; the body
  // only when it is 200, else null).
  Json get(const std::string& path, int want = 200) {
    auto r = http(*agent_, "GET", path);
    EXPECT_TRUE(r.ok());
    if (!r.ok()) return Json();
    if (want >= 0) {
      EXPECT_EQ(r->status, want) << path << ": " << r->body;
    }
    if (r->status != 200 || r->body.empty()) return Json();
    return Json::parse(r->body, nullptr, false);
  }
  Result<api::HttpResult> put(const std::string& path, const std::string& body) {
    return http(*agent_, "PUT", path, body);
  }
  void register_node(const std::string& node, const std::string& service = {}) {
    Json body = {{"Node", node}, {"Address", "10.1.0.1"}};
    if (!service.empty()) body["Service"] = {{"Service", service}, {"ID", service + "-" + node}, {"Port", 80}};
    auto r = put("/v1/catalog/register", body.dump());
    ASSERT_TRUE(r.ok() && r->status == 200) << (r.ok() ? r->body : r.error().message());
  }
  // A coordinate x seconds out on the first axis.
  int put_coordinate(const std::string& node, double x) {
    Json body = {{"Node", node},
                 {"Coord", {{"Vec", {x, 0, 0, 0, 0, 0, 0, 0}}, {"Error", 0.1}, {"Adjustment", 0}, {"Height", 1e-5}}}};
    auto r = put("/v1/coordinate/update", body.dump());
    return r.ok() ? r->status : -1;
  }
  static std::vector<std::string> names(const Json& list, const char* field) {
    std::vector<std::string> out;
    for (const auto& e : list) out.push_back(e[field]);
    return out;
  }

  AgentProcess* agent_ = nullptr;
};

TEST_F(CoordinateTest, TheAgentSendsItsOwnCoordinate) {
  // The first update goes out within a couple of seconds of start.
  ASSERT_TRUE(eventually([&] { return get("/v1/coordinate/node/coord-agent", -1).is_array(); }, 15s));
  Json own = get("/v1/coordinate/node/coord-agent");
  ASSERT_EQ(own.size(), 1u) << own.dump();
  EXPECT_EQ(own[0]["Node"], "coord-agent");
  EXPECT_EQ(own[0]["Coord"]["Vec"].size(), 8u);
  Json all = get("/v1/coordinate/nodes");
  EXPECT_EQ(names(all, "Node"), std::vector<std::string>{"coord-agent"});
  // The servers of the datacenter (here: this one), as Consul's WAN view.
  Json dcs = get("/v1/coordinate/datacenters");
  ASSERT_EQ(dcs.size(), 1u) << dcs.dump();
  EXPECT_EQ(dcs[0]["Datacenter"], "dc1");
  EXPECT_EQ(dcs[0]["AreaID"], "WAN");
  EXPECT_EQ(names(dcs[0]["Coordinates"], "Node"), std::vector<std::string>{"coord-agent"});
}

TEST_F(CoordinateTest, UpdatesAreValidatedAndUnknownNodesSkipped) {
  register_node("n1");
  EXPECT_EQ(put_coordinate("n1", 0.010), 200);
  ASSERT_TRUE(eventually([&] { return get("/v1/coordinate/node/n1", -1).is_array(); }, 10s));
  EXPECT_EQ(get("/v1/coordinate/node/n1")[0]["Coord"]["Vec"][0], 0.010);
  EXPECT_EQ(put_coordinate("nobody", 0.010), 200);  // skipped, as Consul does
  get("/v1/coordinate/node/nobody", 404);
  auto bad = put("/v1/coordinate/update", R"({"Node":"n1","Coord":{"Vec":[1,2,3]}})");
  ASSERT_TRUE(bad.ok());
  EXPECT_EQ(bad->status, 400);
  EXPECT_NE(bad->body.find("Coord.Vec: expected 8 dimensions, got 3"), std::string::npos) << bad->body;
  auto garbled = put("/v1/coordinate/update", R"({"Node":"n1","Coord":{"Vec":"x"}})");
  ASSERT_TRUE(garbled.ok());
  EXPECT_EQ(garbled->status, 400);
  EXPECT_NE(garbled->body.find("Coord.Vec"), std::string::npos) << garbled->body;
  // A deregistered node's coordinate goes with it.
  auto d = put("/v1/catalog/deregister", R"({"Node":"n1"})");
  ASSERT_TRUE(d.ok() && d->status == 200);
  get("/v1/coordinate/node/n1", 404);
}

TEST_F(CoordinateTest, NearSortsCatalogAndHealthByEstimatedRoundTrip) {
  // far (50 ms) and mid (20 ms) and near (1 ms) from "origin"; "blind" has no coordinate.
  for (const char* n : {"blind", "far", "mid", "near", "origin"}) register_node(n, "api");
  ASSERT_EQ(put_coordinate("origin", 0.0), 200);
  ASSERT_EQ(put_coordinate("far", 0.050), 200);
  ASSERT_EQ(put_coordinate("mid", 0.020), 200);
  ASSERT_EQ(put_coordinate("near", 0.001), 200);
  ASSERT_TRUE(eventually([&] { return get("/v1/coordinate/nodes").size() >= 5u; }, 10s));
  std::vector<std::string> want = {"origin", "near", "mid", "far", "blind"};
  EXPECT_EQ(names(get("/v1/catalog/service/api?near=origin"), "Node"), want);
  std::vector<std::string> health;
  for (const auto& e : get("/v1/health/service/api?near=origin")) health.push_back(e["Node"]["Node"]);
  EXPECT_EQ(health, want);
  // The agent's own node has a coordinate of its own somewhere near the
  // origin: leave it out and compare the order of ours.
  std::vector<std::string> nodes;
  for (const auto& n : names(get("/v1/catalog/nodes?near=far"), "Node"))
    if (n != "coord-agent") nodes.push_back(n);
  EXPECT_EQ(nodes, (std::vector<std::string>{"far", "mid", "near", "origin", "blind"}));
  // Unknown near node: the usual order (by node name).
  EXPECT_EQ(names(get("/v1/catalog/service/api?near=nobody"), "Node"),
            (std::vector<std::string>{"blind", "far", "mid", "near", "origin"}));
  // _agent is the agent's own node: first in the list once its coordinate is in.
  ASSERT_TRUE(eventually([&] { return get("/v1/coordinate/node/coord-agent", -1).is_array(); }, 15s));
  EXPECT_EQ(names(get("/v1/catalog/nodes?near=_agent"), "Node").front(), "coord-agent");
}

}  // namespace
}  // namespace cairn::test
