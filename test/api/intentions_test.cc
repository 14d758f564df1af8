// api/intentions: Consul's precedence table as data, decisions and matches
// against it (the index and the linear scan must agree), the
// service-intentions entry's validation messages and normalized form.
#include "api/intentions.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace cairn::api {
namespace {

// ---- precedence: Consul's table (docs "Intentions" › precedence, and
// config_entry_intentions.go computeIntentionPrecedence) ----
struct PrecedenceRow {
  const char* src_ns;
  const char* src;
  const char* dst_ns;
  const char* dst;
  int precedence;
};

constexpr PrecedenceRow kPrecedenceTable[] = {
    {"default", "web", "default", "db", 9},  // exact → exact
    {"default", "*", "default", "db", 8},    // ns/* → exact
    {"*", "*", "default", "db", 7},          // */* → exact
    {"default", "web", "default", "*", 6},   // exact → ns/*
    {"default", "*", "default", "*", 5},
    {"*", "*", "default", "*", 4},
    {"default", "web", "*", "*", 3},         // exact → */*
    {"default", "*", "*", "*", 2},
    {"*", "*", "*", "*", 1},
    {"", "web", "", "db", 9},                // an absent namespace is "default"
    {"team", "web", "default", "db", 9},     // any exact namespace counts the same
};

TEST(IntentionPrecedence, FollowsConsulsTable) {
  for (const auto& r : kPrecedenceTable) {
    EXPECT_EQ(intention_precedence(r.src_ns, r.src, r.dst_ns, r.dst), r.precedence)
        << r.src_ns << "/" << r.src << " -> " << r.dst_ns << "/" << r.dst;
  }
}

// One config entry per destination, sources as given; actions alternate so
// the winner is visible in the decision.
ConfigEntry entry(const std::string& body, uint64_t index = 5) {
  auto norm = normalize_service_intentions(body);
  EXPECT_TRUE(norm.ok()) << (norm.ok() ? "" : norm.error().message());
  ConfigEntry e;
  e.kind = "service-intentions";
  e.name = nlohmann::json::parse(body)["Name"].get<std::string>();
  e.body = norm.ok() ? *norm : "";
  e.create_index = index;
  e.modify_index = index + 1;
  return e;
}

// Every row of the table (default namespace only; wildcard namespaces need
// wildcard names) as stored intentions, each with a Description naming its
// precedence so a decision shows which one matched.
std::vector<ConfigEntry> table_entries() {
  return {
      entry(R"({"Kind":"service-intentions","Name":"db","Sources":[
        {"Name":"web","Action":"allow","Description":"9"},
        {"Name":"*","Action":"deny","Description":"8"},
        {"Name":"*","Namespace":"*","Action":"allow","Description":"7"}]})"),
      entry(R"({"Kind":"service-intentions","Name":"*","Sources":[
        {"Name":"web","Action":"deny","Description":"6"},
        {"Name":"*","Action":"allow","Description":"5"},
        {"Name":"*","Namespace":"*","Action":"deny","Description":"4"}]})"),
      entry(R"({"Kind":"service-intentions","Name":"*","Namespace":"*","Sources":[
        {"Name":"web","Namespace":"default","Action":"allow","Description":"3"},
        {"Name":"*","Namespace":"default","Action":"deny","Description":"2"},
        {"Name":"*","Namespace":"*","Action":"allow","Description":"1"}]})"),
  };
}

IntentionTarget T(const std::string& name, const std::string& ns = "default") { return IntentionTarget{ns, name}; }

struct DecisionCase {
  const char* src;
  const char* src_ns;
  const char* dst;
  int winner;  // the Description (= precedence) of the matching intention
  bool allowed;
};

TEST(IntentionIndex, DecidesByTheHighestPrecedenceMatch) {
  auto idx = IntentionIndex::build(table_entries());
  ASSERT_EQ(idx.all().size(), 9u);
  EXPECT_EQ(idx.skipped(), 0u);
  const DecisionCase cases[] = {
      {"web", "default", "db", 9, true},     {"api", "default", "db", 8, false},
      {"api", "other", "db", 7, true},       {"web", "default", "cache", 6, false},
      {"api", "default", "cache", 5, true},  {"api", "other", "cache", 4, false},
  };
  for (const auto& c : cases) {
    auto d = idx.decide(T(c.src, c.src_ns), T(c.dst), false, true);
    ASSERT_NE(d.intention, nullptr) << c.src << " -> " << c.dst;
    EXPECT_EQ(d.intention->description, std::to_string(c.winner)) << c.src << " -> " << c.dst;
    EXPECT_EQ(d.allowed, c.allowed) << c.src << " -> " << c.dst;
  }
  // A destination in another namespace only meets the */* band.
  auto d = idx.decide(T("web"), T("db", "other"), false, true);
  ASSERT_NE(d.intention, nullptr);
  EXPECT_EQ(d.intention->description, "3");
  EXPECT_TRUE(d.allowed);
  d = idx.decide(T("api"), T("db", "other"), false, true);
  EXPECT_EQ(d.intention->description, "2");
  d = idx.decide(T("api", "x"), T("db", "other"), false, true);
  EXPECT_EQ(d.intention->description, "1");
}

TEST(IntentionIndex, AgreesWithALinearScanOnEveryPair) {
  auto idx = IntentionIndex::build(table_entries());
  for (const char* src_ns : {"default", "other"})
    for (const char* src : {"web", "api", "db"})
      for (const char* dst_ns : {"default", "other"})
        for (const char* dst : {"db", "web", "cache"}) {
          auto a = idx.decide(T(src, src_ns), T(dst, dst_ns), false, true);
          auto b = decide_by_scan(idx.all(), T(src, src_ns), T(dst, dst_ns), false, true);
          EXPECT_EQ(a.intention, b.intention) << src_ns << "/" << src << " -> " << dst_ns << "/" << dst;
          EXPECT_EQ(a.allowed, b.allowed);
        }
}

TEST(IntentionIndex, NoMatchTakesTheDefault) {
  auto idx = IntentionIndex::build({entry(R"({"Kind":"service-intentions","Name":"db","Sources":[{"Name":"web","Action":"allow"}]})")});
  auto d = idx.decide(T("api"), T("db"), false, true);
  EXPECT_EQ(d.intention, nullptr);
  EXPECT_FALSE(d.allowed);
  EXPECT_TRUE(idx.decide(T("api"), T("db"), true, true).allowed);
}

TEST(IntentionIndex, L7IntentionIsAllowedOnlyWhenPermissionsAreDecidedLater) {
  auto idx = IntentionIndex::build({entry(R"({"Kind":"service-intentions","Name":"db","Sources":[
    {"Name":"web","Permissions":[{"Action":"allow","HTTP":{"PathPrefix":"/v1"}}]}]})")});
  auto check = idx.decide(T("web"), T("db"), false, /*allow_permissions=*/true);
  EXPECT_TRUE(check.allowed);
  EXPECT_TRUE(check.has_permissions);
  auto authorize = idx.decide(T("web"), T("db"), true, /*allow_permissions=*/false);
  EXPECT_FALSE(authorize.allowed);
  ASSERT_NE(authorize.intention, nullptr);
}

TEST(IntentionIndex, MatchByDestinationListsExactAndWildcardsByPrecedence) {
  auto idx = IntentionIndex::build(table_entries());
  auto m = idx.match(IntentionMatchBy::destination, T("db"));
  std::vector<int> got;
  for (const auto& x : m) got.push_back(x.precedence);
  EXPECT_EQ(got, (std::vector<int>{9, 8, 7, 6, 5, 4, 3, 2, 1}));
  m = idx.match(IntentionMatchBy::destination, T("cache"));
  got.clear();
  for (const auto& x : m) got.push_back(x.precedence);
  EXPECT_EQ(got, (std::vector<int>{6, 5, 4, 3, 2, 1}));
}

TEST(IntentionIndex, MatchBySourceListsIntentionsThatApplyToTheSource) {
  auto idx = IntentionIndex::build(table_entries());
  auto m = idx.match(IntentionMatchBy::source, T("web"));
  std::vector<std::string> got;
  for (const auto& x : m) got.push_back(x.description);
  EXPECT_EQ(got, (std::vector<std::string>{"9", "8", "7", "6", "5", "4", "3", "2", "1"}));
  m = idx.match(IntentionMatchBy::source, T("api", "other"));
  got.clear();
  for (const auto& x : m) got.push_back(x.description);
  EXPECT_EQ(got, (std::vector<std::string>{"7", "4", "1"}));
}

TEST(IntentionIndex, FindsByLegacyIdAndExactPair) {
  auto idx = IntentionIndex::build({entry(R"({"Kind":"service-intentions","Name":"db","Sources":[
    {"Name":"web","Action":"allow","LegacyID":"8a0b8e3c-0000-4000-8000-000000000001","LegacyMeta":{"a":"b"}},
    {"Name":"api","Action":"deny"}]})")});
  const Intention* x = idx.find_id("8a0b8e3c-0000-4000-8000-000000000001");
  ASSERT_NE(x, nullptr);
  EXPECT_EQ(x->source_name, "web");
  EXPECT_EQ(x->meta.at("a"), "b");
  EXPECT_EQ(x->create_index, 5u);
  EXPECT_EQ(x->modify_index, 6u);
  EXPECT_EQ(idx.find_id("nope"), nullptr);
  const Intention* y = idx.find_exact(T("api"), T("db"));
  ASSERT_NE(y, nullptr);
  EXPECT_EQ(y->action, "deny");
  EXPECT_EQ(idx.find_exact(T("db"), T("api")), nullptr);
}

TEST(IntentionIndex, SkipsEntriesThatDoNotDecode) {
  ConfigEntry bad{"service-intentions", "x", "{not json", 1, 1};
  ConfigEntry other{"service-defaults", "x", R"({"Kind":"service-defaults","Name":"x"})", 1, 1};
  auto idx = IntentionIndex::build({bad, other});
  EXPECT_EQ(idx.skipped(), 2u);
  EXPECT_TRUE(idx.all().empty());
}

// ---- the entry: normalization ----

TEST(ServiceIntentions, NormalizeComputesPrecedenceSortsAndUppercasesMethods) {
  auto out = normalize_service_intentions(R"({"kind":"service-intentions","name":"db","sources":[
    {"name":"*","action":"deny"},
    {"name":"web","permissions":[{"action":"allow","http":{"path_prefix":"/a","methods":["get","Post"]}}]}],
    "meta":{"k":"v"}})");
  ASSERT_TRUE(out.ok()) << out.error().message();
  auto j = nlohmann::json::parse(*out);
  EXPECT_EQ(j["Kind"], "service-intentions");
  EXPECT_EQ(j["Name"], "db");
  ASSERT_EQ(j["Sources"].size(), 2u);
  EXPECT_EQ(j["Sources"][0]["Name"], "web");
  EXPECT_EQ(j["Sources"][0]["Precedence"], 9);
  EXPECT_EQ(j["Sources"][0]["Type"], "consul");
  EXPECT_EQ(j["Sources"][0]["Permissions"][0]["HTTP"]["Methods"], nlohmann::json({"GET", "POST"}));
  EXPECT_FALSE(j["Sources"][0].contains("Action"));
  EXPECT_EQ(j["Sources"][1]["Precedence"], 8);
  EXPECT_EQ(j["Meta"]["k"], "v");
  // Normalizing the normalized form changes nothing.
  auto again = normalize_service_intentions(*out);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *out);
}

TEST(ServiceIntentions, PrecedenceInTheInputIsRecomputed) {
  auto out = normalize_service_intentions(
      R"({"Kind":"service-intentions","Name":"db","Sources":[{"Name":"web","Action":"allow","Precedence":1}]})");
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(nlohmann::json::parse(*out)["Sources"][0]["Precedence"], 9);
}

TEST(ServiceIntentions, ReadOnlyIndexesAreAcceptedAndDropped) {
  auto out = normalize_service_intentions(
      R"({"Kind":"service-intentions","Name":"db","CreateIndex":3,"ModifyIndex":4,"Sources":[{"Name":"web","Action":"allow"}]})");
  ASSERT_TRUE(out.ok()) << out.error().message();
  EXPECT_FALSE(nlohmann::json::parse(*out).contains("CreateIndex"));
}

// ---- the entry: validation messages (Consul's texts) ----

struct BadEntry {
  const char* name;
  const char* body;
  const char* message;  // a substring of the error
};

const BadEntry kBadEntries[] = {
    {"malformed", R"({"Name":)", "Request decode failed: "},
    {"no name", R"({"Sources":[{"Name":"web","Action":"allow"}]})", "Name is required"},
    {"no sources", R"({"Name":"db"})", "At least one source is required"},
    {"source without name", R"({"Name":"db","Sources":[{"Action":"allow"}]})", "Sources[0].Name is required"},
    {"unknown action", R"({"Name":"db","Sources":[{"Name":"web","Action":"permit"}]})",
     "Sources[0].Action must be set to 'allow' or 'deny'"},
    {"no action", R"({"Name":"db","Sources":[{"Name":"web"}]})", "Sources[0].Action must be set to 'allow' or 'deny'"},
    {"action with permissions",
     R"({"Name":"db","Sources":[{"Name":"web","Action":"allow","Permissions":[{"Action":"allow","HTTP":{"PathExact":"/"}}]}]})",
     "Sources[0].Action must be omitted if Permissions are specified"},
    {"source twice", R"({"Name":"db","Sources":[{"Name":"web","Action":"allow"},{"Name":"web","Action":"deny"}]})",
     "Sources[1] defines \"web\" more than once"},
    {"partial wildcard", R"({"Name":"db","Sources":[{"Name":"we*","Action":"allow"}]})",
     "Sources[0].Name: wildcard character '*' cannot be used with partial values"},
    {"destination partial wildcard", R"({"Name":"d*","Sources":[{"Name":"web","Action":"allow"}]})",
     "Name: wildcard character '*' cannot be used with partial values"},
    {"exact after wildcard namespace", R"({"Name":"db","Sources":[{"Name":"web","Namespace":"*","Action":"allow"}]})",
     "Sources[0].Name: exact value cannot follow wildcard namespace"},
    {"bad type", R"({"Name":"db","Sources":[{"Name":"web","Action":"allow","Type":"other"}]})",
     "Sources[0].Type must be set to 'consul'"},
    {"permission action", R"({"Name":"db","Sources":[{"Name":"web","Permissions":[{"Action":"maybe","HTTP":{"PathExact":"/"}}]}]})",
     "Sources[0].Permissions[0].Action must be set to 'allow' or 'deny'"},
    {"permission without http", R"({"Name":"db","Sources":[{"Name":"web","Permissions":[{"Action":"allow"}]}]})",
     "Sources[0].Permissions[0].HTTP is required"},
    {"empty http", R"({"Name":"db","Sources":[{"Name":"web","Permissions":[{"Action":"allow","HTTP":{}}]}]})",
     "Sources[0].Permissions[0].HTTP should not be empty"},
    {"two paths",
     R"({"Name":"db","Sources":[{"Name":"web","Permissions":[{"Action":"allow","HTTP":{"PathExact":"/a","PathPrefix":"/b"}}]}]})",
     "Sources[0].Permissions[0].HTTP should only contain at most one of PathExact, PathPrefix, or PathRegex"},
    {"path without slash",
     R"({"Name":"db","Sources":[{"Name":"web","Permissions":[{"Action":"allow","HTTP":{"PathExact":"a"}}]}]})",
     "Sources[0].Permissions[0].HTTP.PathExact doesn't start with '/': \"a\""},
    {"bad path regex",
     R"({"Name":"db","Sources":[{"Name":"web","Permissions":[{"Action":"allow","HTTP":{"PathRegex":"/(a"}}]}]})",
     "Sources[0].Permissions[0].HTTP.PathRegex: invalid regular expression \"/(a\""},
    {"bad method",
     R"({"Name":"db","Sources":[{"Name":"web","Permissions":[{"Action":"allow","HTTP":{"Methods":["FETCH"]}}]}]})",
     "Sources[0].Permissions[0].HTTP.Methods contains an invalid method \"FETCH\""},
    {"method twice",
     R"({"Name":"db","Sources":[{"Name":"web","Permissions":[{"Action":"allow","HTTP":{"Methods":["GET","get"]}}]}]})",
     "Sources[0].Permissions[0].HTTP.Methods contains \"GET\" more than once"},
    {"header without name",
     R"({"Name":"db","Sources":[{"Name":"web","Permissions":[{"Action":"allow","HTTP":{"Header":[{"Exact":"x"}]}}]}]})",
     "Sources[0].Permissions[0].HTTP.Header[0] missing required Name field"},
    {"header two kinds",
     R"({"Name":"db","Sources":[{"Name":"web","Permissions":[{"Action":"allow","HTTP":{"Header":[{"Name":"x","Exact":"a","Prefix":"b"}]}}]}]})",
     "Sources[0].Permissions[0].HTTP.Header[0] should only contain one of Present, Exact, Prefix, Suffix, or Regex"},
    {"header no kind",
     R"({"Name":"db","Sources":[{"Name":"web","Permissions":[{"Action":"allow","HTTP":{"Header":[{"Name":"x","Invert":true}]}}]}]})",
     "Sources[0].Permissions[0].HTTP.Header[0] should only contain one of Present"},
    {"bad header regex",
     R"({"Name":"db","Sources":[{"Name":"web","Permissions":[{"Action":"allow","HTTP":{"Header":[{"Name":"x","Regex":"[a"}]}}]}]})",
     "Sources[0].Permissions[0].HTTP.Header[0].Regex: invalid regular expression"},
    {"permissions on wildcard destination",
     R"({"Name":"*","Sources":[{"Name":"web","Permissions":[{"Action":"allow","HTTP":{"PathExact":"/"}}]}]})",
     "Sources[0].Permissions cannot be specified on intentions with wildcarded destinations"},
    {"legacy meta without legacy id", R"({"Name":"db","Sources":[{"Name":"web","Action":"allow","LegacyMeta":{"a":"b"}}]})",
     "Sources[0].LegacyMeta must be omitted"},
    {"unknown field", R"({"Name":"db","Sources":[{"Name":"web","Action":"allow","Peer":"p"}]})",
     "Request decode failed: Sources[0].Peer: unknown field"},
    {"unknown top-level field", R"({"Name":"db","JWT":{},"Sources":[{"Name":"web","Action":"allow"}]})",
     "Request decode failed: JWT: unknown field"},
    {"wrong type", R"({"Name":"db","Sources":[{"Name":"web","Action":7}]})", "Sources[0].Action: expected a string"},
    {"other kind", R"({"Kind":"service-defaults","Name":"db","Sources":[{"Name":"web","Action":"allow"}]})",
     "Kind: expected \"service-intentions\""},
    {"partition", R"({"Name":"db","Partition":"p1","Sources":[{"Name":"web","Action":"allow"}]})",
     "Partition: admin partitions are not supported"},
};

TEST(ServiceIntentions, RefusesBadEntriesNamingTheField) {
  for (const auto& c : kBadEntries) {
    auto out = normalize_service_intentions(c.body);
    ASSERT_FALSE(out.ok()) << c.name;
    EXPECT_TRUE(out.error().is(errc::invalid_argument)) << c.name;
    EXPECT_NE(out.error().message().find(c.message), std::string::npos)
        << c.name << ": got \"" << out.error().message() << "\"";
  }
}

// ---- the intention view ----

TEST(IntentionView, PrintsConsulsFields) {
  auto idx = IntentionIndex::build({entry(R"({"Kind":"service-intentions","Name":"db","Sources":[
    {"Name":"web","Action":"allow","Description":"d"}],"Meta":{"m":"1"}})")});
  ASSERT_EQ(idx.all().size(), 1u);
  auto j = nlohmann::json::parse(to_json(idx.all()[0]));
  EXPECT_EQ(j["ID"], "");
  EXPECT_EQ(j["Description"], "d");
  EXPECT_EQ(j["SourceNS"], "default");
  EXPECT_EQ(j["SourceName"], "web");
  EXPECT_EQ(j["DestinationNS"], "default");
  EXPECT_EQ(j["DestinationName"], "db");
  EXPECT_EQ(j["SourceType"], "consul");
  EXPECT_EQ(j["Action"], "allow");
  EXPECT_EQ(j["Meta"]["m"], "1");
  EXPECT_EQ(j["Precedence"], 9);
  EXPECT_EQ(j["CreatedAt"], "0001-01-01T00:00:00Z");
  EXPECT_EQ(j["CreateIndex"], 5);
  EXPECT_EQ(j["ModifyIndex"], 6);
  // Clients read it back.
  auto back = decode_intentions(to_json(idx.all()));
  ASSERT_TRUE(back.ok()) << back.error().message();
  ASSERT_EQ(back->size(), 1u);
  EXPECT_EQ((*back)[0].precedence, 9);
  EXPECT_EQ((*back)[0].source_name, "web");
}

TEST(IntentionView, DescribesAsConsulsString) {
  Intention x;
  x.id = "abc";
  x.precedence = 9;
  x.action = "allow";
  x.source_name = "web";
  x.destination_name = "db";
  EXPECT_EQ(describe_intention(x), "ID: abc, Precedence: 9, Action: ALLOW, Src: web, Dst: db");
  x.id.clear();
  x.source_ns = "team";
  EXPECT_EQ(describe_intention(x), "Precedence: 9, Action: ALLOW, Src: team/web, Dst: db");
}

TEST(IntentionView, RequestBodyDecodesAndNamesBadFields) {
  auto x = decode_intention(R"({"SourceName":"web","DestinationName":"db","Action":"deny","Meta":{"a":"b"},"Precedence":3})");
  ASSERT_TRUE(x.ok());
  EXPECT_EQ(x->source_name, "web");
  EXPECT_EQ(x->action, "deny");
  EXPECT_EQ(x->meta.at("a"), "b");
  auto bad = decode_intention(R"({"SourceName":5})");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("SourceName"), std::string::npos);
  EXPECT_FALSE(decode_intention("{").ok());
}

TEST(IntentionView, SourceRoundTripKeepsLegacyFields) {
  Intention x;
  x.id = "id-1";
  x.source_name = "web";
  x.action = "allow";
  x.meta = {{"a", "b"}};
  x.created_at = "2026-01-01T00:00:00Z";
  auto s = to_source(x);
  EXPECT_EQ(s.legacy_id, "id-1");
  EXPECT_EQ(s.legacy_meta.at("a"), "b");
  EXPECT_EQ(s.legacy_create_time, "2026-01-01T00:00:00Z");
  EXPECT_TRUE(s.ns.empty());
}

TEST(IntentionTarget, ParsesNamespaceAndName) {
  auto t = parse_intention_target("web");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->ns, "default");
  EXPECT_EQ(t->name, "web");
  t = parse_intention_target("team/web");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->ns, "team");
  EXPECT_FALSE(parse_intention_target("a/b/c").ok());
}

}  // namespace
}  // namespace cairn::api
