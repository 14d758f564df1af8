// /v1/connect/intentions and /v1/agent/connect/authorize over a FakeRpc:
// what each request asks the servers (reads, CAS writes of the destination's
// service-intentions entry) and what it answers; IntentionWatch's blocking loop.
#include <nlohmann/json.hpp>

#include "agent/http/intentions.h"
#include "api/intentions.h"
#include "test/agent/fake_rpc.h"

namespace cairn::agent::test {
namespace {

using nlohmann::json;

api::ConfigEntry entry(const std::string& body, uint64_t index = 10) {
  auto norm = api::normalize_service_intentions(body);
  EXPECT_TRUE(norm.ok()) << (norm.ok() ? "" : norm.error().message());
  return api::ConfigEntry{"service-intentions", json::parse(body)["Name"].get<std::string>(), norm.ok() ? *norm : "",
                          index - 2, index};
}

// An error's one-line body without its newline.
std::string line(const Response& r) {
  return !r.body.empty() && r.body.back() == '\n' ? r.body.substr(0, r.body.size() - 1) : r.body;
}

const char* kDbWebAllow = R"({"Kind":"service-intentions","Name":"db","Sources":[{"Name":"web","Action":"allow"}]})";
const char* kLegacy = R"({"Kind":"service-intentions","Name":"db","Sources":[
  {"Name":"web","Action":"allow","LegacyID":"11111111-2222-4333-8444-555555555555","LegacyMeta":{"k":"v"},
   "LegacyCreateTime":"2026-01-01T00:00:00Z","LegacyUpdateTime":"2026-01-01T00:00:00Z"},
  {"Name":"api","Action":"deny"}]})";

class IntentionsEndpoint : public ::testing::Test {
 protected:
  IntentionsEndpoint() { http::register_intentions(e.router, e.ctx); }
  RpcEndpoints e;
  FakeRpc& rpc() { return *e.rpc; }
  std::optional<Response> post(const std::string& target, std::string body) {
    return e.call(Method::post, target, std::move(body));
  }
  std::optional<Response> del(const std::string& target) { return e.call(Method::del, target); }
  // POST /v1/agent/connect/authorize: `source` calling db, with `entry_json`
  // the servers' only service-intentions entry; the answer's JSON.
  json authorize(const std::string& source, const char* entry_json) {
    rpc().answer<ConfigEntryList>({entry(entry_json)});
    auto r = post("/v1/agent/connect/authorize",
                  R"({"Target":"db","ClientCertURI":"spiffe://11111111-2222-3333-4444-555555555555.consul/ns/default/dc/dc1/svc/)" +
                      source + R"("})");
    EXPECT_TRUE(r && r->status == 200) << (r ? r->body : "no answer");
    return r ? json::parse(r->body, nullptr, false) : json();
  }
};

TEST_F(IntentionsEndpoint, ListPrintsEveryIntentionByPrecedenceWithTheIndex) {
  rpc().answer<ConfigEntryList>({entry(kDbWebAllow, 10),
                                 entry(R"({"Kind":"service-intentions","Name":"*","Sources":[{"Name":"*","Action":"deny"}]})", 12)},
                                QueryMeta{12, {}, true});
  auto r = e.get("/v1/connect/intentions?index=5");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(header(*r, "X-Consul-Index"), "12");
  const auto& q = rpc().last_query<ConfigEntryList>();
  EXPECT_EQ(q.kind, "service-intentions");
  EXPECT_EQ(rpc().queries.back().options.min_index, 5u);
  auto j = json::parse(r->body);
  ASSERT_EQ(j.size(), 2u);
  EXPECT_EQ(j[0]["SourceName"], "web");
  EXPECT_EQ(j[0]["Precedence"], 9);
  EXPECT_EQ(j[1]["SourceName"], "*");
  EXPECT_EQ(j[1]["Precedence"], 5);
}

TEST_F(IntentionsEndpoint, ListAppliesFilter) {
  rpc().answer<ConfigEntryList>({entry(kLegacy)});
  auto r = e.get("/v1/connect/intentions?filter=" + std::string("Action%20%3D%3D%20deny"));
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  auto j = json::parse(r->body);
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0]["SourceName"], "api");
}

TEST_F(IntentionsEndpoint, LegacyCreateWritesTheSourceWithItsNewIdByCas) {
  rpc().answer<ConfigEntryGet>(std::nullopt);
  rpc().answer_write<ConfigEntryApply>(true);
  auto r = post("/v1/connect/intentions",
                R"({"SourceName":"web","DestinationName":"db","Action":"allow","Meta":{"team":"a"}})");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  std::string id = json::parse(r->body)["ID"];
  EXPECT_EQ(id.size(), 36u);
  EXPECT_EQ(rpc().last_query<ConfigEntryGet>().name, "db");
  const auto& w = rpc().last_write<ConfigEntryApply>();
  EXPECT_TRUE(w.cas);
  EXPECT_EQ(w.cas_index, 0u);
  EXPECT_EQ(w.entry.kind, "service-intentions");
  EXPECT_EQ(w.entry.name, "db");
  auto body = json::parse(w.entry.body);
  EXPECT_EQ(body["Sources"][0]["LegacyID"], id);
  EXPECT_EQ(body["Sources"][0]["LegacyMeta"]["team"], "a");
  EXPECT_EQ(body["Sources"][0]["Precedence"], 9);
  EXPECT_FALSE(body["Sources"][0]["LegacyCreateTime"].get<std::string>().empty());
}

TEST_F(IntentionsEndpoint, LegacyCreateOfAnExistingPairIsADuplicate) {
  rpc().answer<ConfigEntryGet>(entry(kDbWebAllow));
  auto r = post("/v1/connect/intentions", R"({"SourceName":"web","DestinationName":"db","Action":"deny"})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(line(*r), "duplicate intention found: Precedence: 9, Action: ALLOW, Src: web, Dst: db");
  EXPECT_TRUE(rpc().writes.empty());
}

TEST_F(IntentionsEndpoint, BadCreateBodiesAre400sNamingTheField) {
  struct Case {
    const char* body;
    const char* message;
  } cases[] = {
      {R"({"SourceName":"web",)", "Request decode failed: "},
      {R"({"SourceName":"web","DestinationName":"db","Action":"permit"})", "Action must be set to 'allow' or 'deny'"},
      {R"({"SourceName":"web","DestinationName":"db"})", "Action must be set to 'allow' or 'deny'"},
      {R"({"DestinationName":"db","Action":"allow"})", "SourceName must be set"},
      {R"({"SourceName":"web","Action":"allow"})", "DestinationName must be set"},
      {R"({"ID":"x","SourceName":"web","DestinationName":"db","Action":"allow"})", "ID must be empty when creating a new intention"},
      {R"({"SourceName":7})", "SourceName: expected a string"},
  };
  for (const auto& c : cases) {
    auto r = post("/v1/connect/intentions", c.body);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400) << c.body;
    EXPECT_NE(r->body.find(c.message), std::string::npos) << c.body << " -> " << r->body;
  }
  EXPECT_TRUE(rpc().queries.empty());
}

TEST_F(IntentionsEndpoint, ALostCasReadsAgainAndRetries) {
  rpc().answer<ConfigEntryGet>(entry(kDbWebAllow, 10));
  rpc().answer_write<ConfigEntryApply>(false);
  rpc().answer<ConfigEntryGet>(entry(kDbWebAllow, 12));
  rpc().answer_write<ConfigEntryApply>(true);
  auto r = e.put("/v1/connect/intentions/exact?source=api&destination=db", R"({"Action":"deny"})");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(line(*r), "true");
  ASSERT_EQ(rpc().writes.size(), 2u);
  EXPECT_EQ(std::get<ConfigEntryApply>(rpc().writes[0].write).cas_index, 10u);
  EXPECT_EQ(std::get<ConfigEntryApply>(rpc().writes[1].write).cas_index, 12u);
  auto body = json::parse(rpc().last_write<ConfigEntryApply>().entry.body);
  ASSERT_EQ(body["Sources"].size(), 2u);
}

TEST_F(IntentionsEndpoint, CasLostEveryTimeGivesUp) {
  for (int i = 0; i < 5; ++i) {
    rpc().answer<ConfigEntryGet>(entry(kDbWebAllow, 10 + i));
    rpc().answer_write<ConfigEntryApply>(false);
  }
  auto r = e.put("/v1/connect/intentions/exact?source=api&destination=db", R"({"Action":"deny"})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
  EXPECT_NE(r->body.find("lost to concurrent writes"), std::string::npos);
  EXPECT_EQ(rpc().writes.size(), 5u);
}

TEST_F(IntentionsEndpoint, ExactPutValidatesPermissions) {
  rpc().answer<ConfigEntryGet>(std::nullopt);
  auto r = e.put("/v1/connect/intentions/exact?source=web&destination=db",
                 R"({"Permissions":[{"Action":"allow","HTTP":{"PathRegex":"(a"}}]})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_NE(r->body.find("Sources[0].Permissions[0].HTTP.PathRegex: invalid regular expression"), std::string::npos)
      << r->body;
  EXPECT_TRUE(rpc().writes.empty());
}

TEST_F(IntentionsEndpoint, ExactNeedsSourceAndDestination) {
  auto r = e.get("/v1/connect/intentions/exact?destination=db");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(line(*r), "required query parameter 'source' not set");
  r = e.put("/v1/connect/intentions/exact?source=web", R"({"Action":"allow"})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(line(*r), "required query parameter 'destination' not set");
}

TEST_F(IntentionsEndpoint, ExactGetFindsThePairOr404) {
  rpc().answer<ConfigEntryGet>(entry(kLegacy));
  auto r = e.get("/v1/connect/intentions/exact?source=api&destination=db");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200);
  EXPECT_EQ(json::parse(r->body)["Action"], "deny");
  rpc().answer<ConfigEntryGet>(entry(kLegacy));
  r = e.get("/v1/connect/intentions/exact?source=cache&destination=db");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(line(*r), "Intention not found");
}

TEST_F(IntentionsEndpoint, ExactDeleteOfTheLastSourceDeletesTheEntry) {
  rpc().answer<ConfigEntryGet>(entry(kDbWebAllow, 10));
  rpc().answer_write<ConfigEntryDelete>(true);
  auto r = del("/v1/connect/intentions/exact?source=web&destination=db");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  const auto& w = rpc().last_write<ConfigEntryDelete>();
  EXPECT_EQ(w.name, "db");
  EXPECT_TRUE(w.cas);
  EXPECT_EQ(w.cas_index, 10u);
}

TEST_F(IntentionsEndpoint, ByIdGetUpdateDelete) {
  const std::string id = "11111111-2222-4333-8444-555555555555";
  rpc().answer<ConfigEntryList>({entry(kLegacy)});
  auto r = e.get("/v1/connect/intentions/" + id);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200);
  auto j = json::parse(r->body);
  EXPECT_EQ(j["ID"], id);
  EXPECT_EQ(j["Meta"]["k"], "v");
  EXPECT_EQ(j["CreatedAt"], "2026-01-01T00:00:00Z");

  rpc().answer<ConfigEntryList>({entry(kLegacy)});
  r = e.get("/v1/connect/intentions/00000000-0000-4000-8000-000000000000");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);

  // Update: the same ID, a new action; the create time stays.
  rpc().answer<ConfigEntryList>({entry(kLegacy)});
  rpc().answer<ConfigEntryGet>(entry(kLegacy));
  rpc().answer_write<ConfigEntryApply>(true);
  r = e.put("/v1/connect/intentions/" + id, R"({"SourceName":"web","DestinationName":"db","Action":"deny"})");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(json::parse(r->body)["ID"], id);
  auto body = json::parse(rpc().last_write<ConfigEntryApply>().entry.body);
  bool found = false;
  for (const auto& s : body["Sources"]) {
    if (s["Name"] != "web") continue;
    found = true;
    EXPECT_EQ(s["Action"], "deny");
    EXPECT_EQ(s["LegacyID"], id);
    EXPECT_EQ(s["LegacyCreateTime"], "2026-01-01T00:00:00Z");
  }
  EXPECT_TRUE(found);

  // Delete: the source goes, the other stays.
  rpc().answer<ConfigEntryList>({entry(kLegacy)});
  rpc().answer<ConfigEntryGet>(entry(kLegacy));
  rpc().answer_write<ConfigEntryApply>(true);
  r = del("/v1/connect/intentions/" + id);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  body = json::parse(rpc().last_write<ConfigEntryApply>().entry.body);
  ASSERT_EQ(body["Sources"].size(), 1u);
  EXPECT_EQ(body["Sources"][0]["Name"], "api");

  rpc().answer<ConfigEntryList>({});
  r = del("/v1/connect/intentions/" + id);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
}

TEST_F(IntentionsEndpoint, CheckDecidesAndFallsBackToTheConfiguredDefault) {
  rpc().answer<ConfigEntryList>({entry(kLegacy)});
  auto r = e.get("/v1/connect/intentions/check?source=web&destination=db");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200);
  EXPECT_EQ(json::parse(r->body)["Allowed"], true);
  rpc().answer<ConfigEntryList>({entry(kLegacy)});
  r = e.get("/v1/connect/intentions/check?source=api&destination=db");
  EXPECT_EQ(json::parse(r->body)["Allowed"], false);

  e.config.acl_default_policy = "deny";
  rpc().answer<ConfigEntryList>({entry(kLegacy)});
  r = e.get("/v1/connect/intentions/check?source=cache&destination=db");
  EXPECT_EQ(json::parse(r->body)["Allowed"], false);
  e.config.acl_default_policy = "allow";
  rpc().answer<ConfigEntryList>({entry(kLegacy)});
  r = e.get("/v1/connect/intentions/check?source=cache&destination=db");
  EXPECT_EQ(json::parse(r->body)["Allowed"], true);
}

TEST_F(IntentionsEndpoint, MatchAnswersEveryNameInOrder) {
  rpc().answer<ConfigEntryList>({entry(kLegacy), entry(R"({"Kind":"service-intentions","Name":"*","Sources":[{"Name":"web","Action":"deny"}]})")});
  auto r = e.get("/v1/connect/intentions/match?by=source&name=web&name=api");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  auto j = json::parse(r->body);
  ASSERT_EQ(j["web"].size(), 2u);
  EXPECT_EQ(j["web"][0]["DestinationName"], "db");
  EXPECT_EQ(j["web"][1]["DestinationName"], "*");
  ASSERT_EQ(j["api"].size(), 1u);

  r = e.get("/v1/connect/intentions/match?name=web");
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(line(*r), "required query parameter 'by' not set");
  r = e.get("/v1/connect/intentions/match?by=sideways&name=web");
  EXPECT_EQ(line(*r), "'by' parameter must be one of 'source' or 'destination'");
  r = e.get("/v1/connect/intentions/match?by=source");
  EXPECT_EQ(line(*r), "required query parameter 'name' not set");
}

TEST_F(IntentionsEndpoint, AuthorizeReadsTheSpiffeIdAndDecides) {
  auto j = authorize("web", kLegacy);
  EXPECT_EQ(j["Authorized"], true);
  EXPECT_EQ(j["Reason"],
            "Matched L4 intention: ID: 11111111-2222-4333-8444-555555555555, Precedence: 9, Action: ALLOW, Src: web, Dst: db");

  j = authorize("cache", kLegacy);
  EXPECT_EQ(j["Authorized"], true);  // acl_default_policy "allow"
  EXPECT_EQ(j["Reason"], "Default behavior configured by ACLs");

  j = authorize("web", R"({"Kind":"service-intentions","Name":"db","Sources":[
    {"Name":"web","Permissions":[{"Action":"allow","HTTP":{"PathPrefix":"/"}}]}]})");
  EXPECT_EQ(j["Authorized"], false);
  EXPECT_EQ(j["Reason"].get<std::string>().rfind("Matched L7 intention: ", 0), 0u);
}

// DESIGN.md's security default: with acl.default_policy "deny" a caller
// that no intention matches is refused, with Consul's reason.
TEST_F(IntentionsEndpoint, AuthorizeDeniesWhatNoIntentionMatchesWhenAclsDefaultToDeny) {
  e.config.acl_default_policy = "deny";
  auto j = authorize("cache", kLegacy);
  EXPECT_EQ(j["Authorized"], false);
  EXPECT_EQ(j["Reason"], "Default behavior configured by ACLs");
  EXPECT_EQ(authorize("web", kLegacy)["Authorized"], true);  // a matching allow still allows
  EXPECT_EQ(authorize("api", kLegacy)["Authorized"], false);
}

TEST_F(IntentionsEndpoint, AuthorizeRefusesBadInput) {
  auto r = post("/v1/agent/connect/authorize", R"({"Target":"db","ClientCertURI":"https://x/ns/default/dc/dc1/svc/web"})");
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(line(*r), "ClientCertURI not a valid Connect identifier");
  r = post("/v1/agent/connect/authorize", R"({"Target":"db","ClientCertURI":"spiffe://td/agent/client/dc/dc1/id/x"})");
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(line(*r), "ClientCertURI not a valid Service identifier");
  r = post("/v1/agent/connect/authorize", R"({"ClientCertURI":"spiffe://td/ns/default/dc/dc1/svc/web"})");
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(line(*r), "Target service must be specified");
  r = post("/v1/agent/connect/authorize", R"({"Target":)");
  EXPECT_EQ(r->status, 400);
  r = post("/v1/agent/connect/authorize", R"({"Target":5})");
  EXPECT_EQ(r->status, 400);
  EXPECT_NE(r->body.find("Target"), std::string::npos);
  EXPECT_TRUE(rpc().queries.empty());
}

TEST_F(IntentionsEndpoint, CheckUsesTheWatchedIndexWithoutAServerRoundTrip) {
  ManualClock clock;
  ManualScheduler scheduler(clock);
  auto watch = http::IntentionWatch::make(e.rpc, scheduler);
  e.ctx.intentions = watch;
  rpc().answer<ConfigEntryList>({entry(kLegacy)}, QueryMeta{10, {}, true});
  watch->start();
  scheduler.advance(Duration{0});
  ASSERT_NE(watch->current(), nullptr);
  EXPECT_EQ(watch->index(), 10u);
  // The next blocking query is parked at the index seen.
  scheduler.advance(Duration{0});
  ASSERT_EQ(rpc().queries.size(), 2u);
  EXPECT_EQ(rpc().queries.back().options.min_index, 10u);
  EXPECT_EQ(rpc().queries.back().options.max_wait, http::IntentionWatch::kMaxWait);

  auto r = e.get("/v1/connect/intentions/check?source=api&destination=db");
  ASSERT_TRUE(r);
  EXPECT_EQ(json::parse(r->body)["Allowed"], false);
  EXPECT_EQ(rpc().queries.size(), 2u);  // answered from the watch

  // A change wakes the parked query; the index follows.
  auto done = rpc().queries.back().done;
  done(QueryResponse{QueryMeta{11, {}, true}, make_value<ConfigEntryList, QueryValue>({entry(kDbWebAllow, 11)})});
  r = e.get("/v1/connect/intentions/check?source=api&destination=db");
  EXPECT_EQ(json::parse(r->body)["Allowed"], true);  // no intention: the default (allow)
  watch->stop();
}

TEST_F(IntentionsEndpoint, WatchBacksOffAfterAnError) {
  ManualClock clock;
  ManualScheduler scheduler(clock);
  auto watch = http::IntentionWatch::make(e.rpc, scheduler);
  rpc().fail_query(Error(errc::unavailable, "No cluster leader"));
  watch->start();
  scheduler.advance(Duration{0});
  EXPECT_EQ(watch->current(), nullptr);
  EXPECT_EQ(rpc().queries.size(), 1u);
  scheduler.advance(std::chrono::milliseconds(999));
  EXPECT_EQ(rpc().queries.size(), 1u);
  rpc().answer<ConfigEntryList>({});
  scheduler.advance(std::chrono::milliseconds(1));
  // The retry answered; the next blocking query is parked at once.
  EXPECT_EQ(rpc().queries.size(), 3u);
  ASSERT_NE(watch->current(), nullptr);
  watch->stop();
}

}  // namespace
}  // namespace cairn::agent::test
