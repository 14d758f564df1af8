// Intentions against real `cairn agent` processes on 127.0.0.1: a dev agent
// through /v1/connect/intentions, /v1/config and /v1/agent/connect/authorize
// (the agent's watched index follows an entry written through /v1/config);
// three servers where `cairn intention` creates on one server and checks,
// matches, lists and deletes through another.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "test/support/agents.h"

namespace cairn::test {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

using Agent = AgentProcess;

class IntentionsTest : public AgentsFixture {
 protected:
  IntentionsTest() {
    server_config_ = R"({"performance": {"raft_multiplier": 1}, "acl": {"default_policy": "deny"}})";
  }
  RunResult cli(const Agent& via, std::vector<std::string> args, std::vector<std::string> positional = {}) {
    return cairn(via, "intention", std::move(args), std::move(positional));
  }
  // Polls `check` until it answers `want` (the agent's watch follows writes
  // made elsewhere within one blocking round trip).
  bool check_becomes(const Agent& via, const std::string& src, const std::string& dst, int want) {
    for (int i = 0; i < 100; ++i) {
      if (cli(via, {"check"}, {src, dst}).status == want) return true;
      std::this_thread::sleep_for(100ms);
    }
    return false;
  }
  // GET /v1/connect/intentions/check, polled until Allowed == want.
  bool allowed_becomes(const Agent& via, const std::string& src, const std::string& dst, bool want) {
    for (int i = 0; i < 100; ++i) {
      auto r = http(via, "GET", "/v1/connect/intentions/check?source=" + src + "&destination=" + dst);
      if (r.ok() && r->status == 200 && json::parse(r->body, nullptr, false).value("Allowed", !want) == want) return true;
      std::this_thread::sleep_for(100ms);
    }
    return false;
  }
};

TEST_F(IntentionsTest, DevAgentServesIntentionsOverConfigEntries) {
  Agent& dev = start("dev", {"-dev"});
  ASSERT_TRUE(wait_for_leader(dev)) << dev.process->log();

  auto created = http(dev, "POST", "/v1/connect/intentions", R"({"SourceName":"web","DestinationName":"db","Action":"allow"})");
  ASSERT_TRUE(created.ok());
  ASSERT_EQ(created->status, 200) << created->body;
  std::string id = json::parse(created->body)["ID"];
  EXPECT_EQ(id.size(), 36u);

  // The intention is a service-intentions config entry with the ID as LegacyID.
  auto entry = http(dev, "GET", "/v1/config/service-intentions/db");
  ASSERT_TRUE(entry.ok());
  ASSERT_EQ(entry->status, 200) << entry->body;
  auto e = json::parse(entry->body);
  EXPECT_EQ(e["Sources"][0]["Name"], "web");
  EXPECT_EQ(e["Sources"][0]["LegacyID"], id);
  EXPECT_EQ(e["Sources"][0]["Precedence"], 9);

  auto by_id = http(dev, "GET", "/v1/connect/intentions/" + id);
  ASSERT_TRUE(by_id.ok());
  ASSERT_EQ(by_id->status, 200) << by_id->body;
  EXPECT_EQ(json::parse(by_id->body)["DestinationName"], "db");

  auto dup = http(dev, "POST", "/v1/connect/intentions", R"({"SourceName":"web","DestinationName":"db","Action":"deny"})");
  ASSERT_TRUE(dup.ok());
  EXPECT_EQ(dup->status, 400);
  EXPECT_NE(dup->body.find("duplicate intention found: ID: " + id + ", Precedence: 9, Action: ALLOW, Src: web, Dst: db"),
            std::string::npos)
      << dup->body;

  auto bad_action = http(dev, "POST", "/v1/connect/intentions", R"({"SourceName":"a","DestinationName":"db","Action":"permit"})");
  ASSERT_TRUE(bad_action.ok());
  EXPECT_EQ(bad_action->status, 400);
  EXPECT_NE(bad_action->body.find("Action must be set to 'allow' or 'deny'"), std::string::npos);

  auto bad_regex = http(dev, "PUT", "/v1/connect/intentions/exact?source=api&destination=db",
                        R"({"Permissions":[{"Action":"allow","HTTP":{"PathRegex":"(oops"}}]})");
  ASSERT_TRUE(bad_regex.ok());
  EXPECT_EQ(bad_regex->status, 400);
  EXPECT_NE(bad_regex->body.find("Sources[1].Permissions[0].HTTP.PathRegex"), std::string::npos) << bad_regex->body;

  auto malformed = http(dev, "PUT", "/v1/config", R"({"Kind":"service-intentions","Name":"db","Sources":[{"Name":"x","Action":"maybe"}]})");
  ASSERT_TRUE(malformed.ok());
  EXPECT_EQ(malformed->status, 400);
  EXPECT_NE(malformed->body.find("Sources[0].Action must be set to 'allow' or 'deny'"), std::string::npos) << malformed->body;

  EXPECT_TRUE(allowed_becomes(dev, "web", "db", true));

  // A deny for everyone else, written as a config entry: the agent's watched
  // index follows it, and authorize decides from it.
  auto put = http(dev, "PUT", "/v1/config",
                  R"({"Kind":"service-intentions","Name":"*","Sources":[{"Name":"*","Action":"deny"}]})");
  ASSERT_TRUE(put.ok());
  ASSERT_EQ(put->status, 200) << put->body;
  EXPECT_TRUE(allowed_becomes(dev, "api", "db", false));
  EXPECT_TRUE(allowed_becomes(dev, "web", "db", true));

  auto authz = http(dev, "POST", "/v1/agent/connect/authorize",
                    R"({"Target":"db","ClientCertURI":"spiffe://11111111-2222-3333-4444-555555555555.consul/ns/default/dc/dc1/svc/api"})");
  ASSERT_TRUE(authz.ok());
  ASSERT_EQ(authz->status, 200) << authz->body;
  auto a = json::parse(authz->body);
  EXPECT_EQ(a["Authorized"], false);
  EXPECT_EQ(a["Reason"], "Matched L4 intention: Precedence: 5, Action: DENY, Src: *, Dst: *");

  auto bad_uri = http(dev, "POST", "/v1/agent/connect/authorize", R"({"Target":"db","ClientCertURI":"not-a-uri"})");
  ASSERT_TRUE(bad_uri.ok());
  EXPECT_EQ(bad_uri->status, 400);
  EXPECT_NE(bad_uri->body.find("ClientCertURI"), std::string::npos);

  auto list = http(dev, "GET", "/v1/connect/intentions");
  ASSERT_TRUE(list.ok());
  auto l = json::parse(list->body);
  ASSERT_EQ(l.size(), 2u);
  EXPECT_EQ(l[0]["Precedence"], 9);
  EXPECT_EQ(l[1]["Precedence"], 5);

  auto del = http(dev, "DELETE", "/v1/connect/intentions/" + id);
  ASSERT_TRUE(del.ok());
  EXPECT_EQ(del->status, 200);
  auto gone = http(dev, "GET", "/v1/config/service-intentions/db");
  ASSERT_TRUE(gone.ok());
  EXPECT_EQ(gone->status, 404);
}

TEST_F(IntentionsTest, CliAgainstThreeServers) {
  Agent& a = server("s1", "");
  std::string join = gossip_of(a);
  ASSERT_FALSE(join.empty());
  server("s2", join);
  Agent& c = server("s3", join);
  ASSERT_TRUE(wait_for_leader(a)) << a.process->log();
  ASSERT_TRUE(wait_for_leader(c)) << c.process->log();

  RunResult created;
  for (int i = 0; i < 50; ++i) {  // the cluster may still be settling its first leader
    created = cli(a, {"create"}, {"web", "db"});
    if (created.status == 0) break;
    std::this_thread::sleep_for(200ms);
  }
  ASSERT_EQ(created.status, 0) << created.output;
  EXPECT_NE(created.output.find("Created: web => db (allow)"), std::string::npos);

  // acl.default_policy deny: nothing matching is denied (exit 2).
  EXPECT_TRUE(check_becomes(c, "web", "db", 0));
  EXPECT_TRUE(check_becomes(c, "api", "db", 2));

  auto dup = cli(c, {"create", "-deny"}, {"web", "db"});
  EXPECT_EQ(dup.status, 1);
  EXPECT_NE(dup.output.find("duplicate intention found"), std::string::npos) << dup.output;
  auto replaced = cli(c, {"create", "-deny", "-replace"}, {"web", "db"});
  ASSERT_EQ(replaced.status, 0) << replaced.output;
  EXPECT_TRUE(check_becomes(a, "web", "db", 2));

  auto match = cli(agents_[1], {"match"}, {"db"});
  ASSERT_EQ(match.status, 0) << match.output;
  EXPECT_NE(match.output.find("web => db (deny)"), std::string::npos) << match.output;
  auto list = cli(a, {"list"});
  ASSERT_EQ(list.status, 0) << list.output;
  EXPECT_NE(list.output.find("web"), std::string::npos);

  auto del = cli(c, {"delete"}, {"web", "db"});
  ASSERT_EQ(del.status, 0) << del.output;
  EXPECT_NE(del.output.find("Intention deleted."), std::string::npos);
  auto empty = cli(a, {"list"});
  EXPECT_NE(empty.output.find("There are no intentions."), std::string::npos) << empty.output;
}

}  // namespace
}  // namespace cairn::test
