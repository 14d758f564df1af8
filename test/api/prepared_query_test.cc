// api/prepared_query.h: decoding (Consul's and python3-consul's bodies),
// JSON out, Consul's rules naming the field, template interpolation and
// regexp groups, the execution filters, and the binary record round trip.
#include "api/prepared_query.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace cairn::api {
namespace {

PreparedQuery valid() {
  PreparedQuery q;
  q.name = "web-q";
  q.service.service = "web";
  return q;
}

std::string detail_of(const Status& st) { return st.ok() ? "" : st.error().detail(); }

TEST(PreparedQuery, DecodesConsulBody) {
  auto q = decode_prepared_query(R"({"Name":"geo","Session":"s1","Token":"t",
    "Template":{"Type":"name_prefix_match","Regexp":"^geo-(.*)$","RemoveEmptyTags":true},
    "Service":{"Service":"${match(1)}","Failover":{"NearestN":3,"Datacenters":["dc2"]},"OnlyPassing":true,
      "IgnoreCheckIDs":["c1"],"Near":"_agent","Tags":["a","!b"],"NodeMeta":{"rack":"r1"},
      "ServiceMeta":{"env":"prod"},"Connect":true},"DNS":{"TTL":"10s"}})");
  ASSERT_TRUE(q.ok()) << q.error().message();
  EXPECT_EQ(q->name, "geo");
  EXPECT_EQ(q->session, "s1");
  EXPECT_EQ(q->templ.type, "name_prefix_match");
  EXPECT_TRUE(q->templ.remove_empty_tags);
  EXPECT_EQ(q->service.failover.nearest_n, 3);
  EXPECT_EQ(q->service.failover.datacenters, std::vector<std::string>{"dc2"});
  EXPECT_TRUE(q->service.only_passing);
  EXPECT_EQ(q->service.ignore_check_ids, std::vector<std::string>{"c1"});
  EXPECT_EQ(q->service.tags, (std::vector<std::string>{"a", "!b"}));
  EXPECT_EQ(q->service.node_meta.at("rack"), "r1");
  EXPECT_EQ(q->service.service_meta.at("env"), "prod");
  EXPECT_TRUE(q->service.connect);
  EXPECT_EQ(q->dns.ttl, "10s");
}

TEST(PreparedQuery, DecodesPythonConsulLowercaseBody) {
  auto q = decode_prepared_query(
      R"({"name":"n","service":{"service":"web","onlypassing":true,"tags":["x"],"failover":{"nearestn":2,"datacenters":[]}},"dns":{"ttl":"5s"}})");
  ASSERT_TRUE(q.ok()) << q.error().message();
  EXPECT_EQ(q->service.service, "web");
  EXPECT_TRUE(q->service.only_passing);
  EXPECT_EQ(q->service.failover.nearest_n, 2);
  EXPECT_EQ(q->dns.ttl, "5s");
}

TEST(PreparedQuery, DecodeErrorNamesTheField) {
  auto q = decode_prepared_query(R"({"Service":{"OnlyPassing":"yes"}})");
  ASSERT_FALSE(q.ok());
  EXPECT_NE(q.error().detail().find("Service.OnlyPassing"), std::string::npos) << q.error().detail();
}

TEST(PreparedQuery, JsonRoundTripKeepsEveryField) {
  PreparedQuery q = valid();
  q.id = "id-1";
  q.templ = {"name_prefix_match", "^x$", true};
  q.service.failover = {1, {"dc2"}};
  q.service.tags = {"a"};
  q.service.node_meta = {{"k", "v"}};
  q.service.connect = true;
  q.dns.ttl = "3s";
  auto text = to_json(std::vector<PreparedQuery>{q});
  auto j = nlohmann::json::parse(text);
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0]["Service"]["Failover"]["NearestN"], 1);
  EXPECT_TRUE(j[0]["Service"]["IgnoreCheckIDs"].is_null());  // Go's nil slice
  auto back = decode_prepared_query(j[0].dump());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->id, q.id);
  back->raft = q.raft;
  EXPECT_EQ(*back, q);
  EXPECT_EQ(to_json(std::vector<PreparedQuery>{}), "[]");
}

TEST(PreparedQuery, ExecuteJsonHasConsulShape) {
  PreparedQueryExecuteResult r;
  r.service = "web";
  r.dns.ttl = "10s";
  r.datacenter = "dc1";
  r.nodes.resize(1);
  r.nodes[0].node.node = "n1";
  r.nodes[0].service.service = "web";
  auto j = nlohmann::json::parse(to_json(r, EmbeddedQueryMeta{7, std::chrono::milliseconds(2), true}));
  EXPECT_EQ(j["Service"], "web");
  EXPECT_EQ(j["Nodes"][0]["Node"]["Node"], "n1");
  EXPECT_EQ(j["Nodes"][0]["Service"]["Service"], "web");
  EXPECT_EQ(j["DNS"]["TTL"], "10s");
  EXPECT_EQ(j["Datacenter"], "dc1");
  EXPECT_EQ(j["Failovers"], 0);
  EXPECT_EQ(j["Index"], 7);
  EXPECT_EQ(j["LastContact"], 2000000);
  EXPECT_EQ(j["KnownLeader"], true);
  auto e = nlohmann::json::parse(explain_json(valid(), EmbeddedQueryMeta{3, {}, true}));
  EXPECT_EQ(e["Query"]["Service"]["Service"], "web");
  EXPECT_EQ(e["Index"], 3);
}

TEST(PreparedQuery, ServiceNameIsRequired) {
  PreparedQuery q = valid();
  q.service.service.clear();
  EXPECT_EQ(detail_of(validate_prepared_query(q)), "Service.Service: Must provide a Service name to query");
  EXPECT_TRUE(validate_prepared_query(valid()).ok());
}

TEST(PreparedQuery, NegativeNearestNIsRefused) {
  PreparedQuery q = valid();
  q.service.failover.nearest_n = -1;
  EXPECT_NE(detail_of(validate_prepared_query(q)).find("Service.Failover.NearestN"), std::string::npos);
}

TEST(PreparedQuery, BadOrNegativeTtlIsRefused) {
  PreparedQuery q = valid();
  q.dns.ttl = "5x";
  EXPECT_NE(detail_of(validate_prepared_query(q)).find("DNS.TTL: Bad DNS TTL '5x'"), std::string::npos);
  q.dns.ttl = "-5s";
  EXPECT_EQ(detail_of(validate_prepared_query(q)), "DNS.TTL: DNS TTL '-5s', must be >=0");
  q.dns.ttl = "15s";
  EXPECT_TRUE(validate_prepared_query(q).ok());
  EXPECT_EQ(prepared_query_dns_ttl(q), std::chrono::seconds(15));
}

TEST(PreparedQuery, TemplateTypeRegexpAndInterpolationsAreChecked) {
  PreparedQuery q = valid();
  q.templ.type = "prefix";
  EXPECT_EQ(detail_of(validate_prepared_query(q)), "Template.Type: Bad Template.Type 'prefix'");
  q.templ.type = "name_prefix_match";
  q.templ.regexp = "(unclosed";
  EXPECT_NE(detail_of(validate_prepared_query(q)).find("Template.Regexp: Bad Regexp"), std::string::npos);
  q.templ.regexp = "";
  q.service.tags = {"${nope}"};
  EXPECT_NE(detail_of(validate_prepared_query(q)).find("Service.Tags[0]"), std::string::npos);
  q.service.tags = {"${name.suffix}"};
  EXPECT_TRUE(validate_prepared_query(q).ok());
}

TEST(PreparedQuery, TemplateInterpolatesNameAndMatches) {
  PreparedQuery q;
  q.name = "geo-db-";
  q.templ = {"name_prefix_match", "^geo-db-(.*?)-([^-]*)$", false};
  q.service.service = "mysql-${match(1)}";
  q.service.tags = {"${match(2)}", "${name.full}", "${name.prefix}", "${name.suffix}", "${match(9)}", "$${x}"};
  q.service.node_meta = {{"seg", "s-${agent.segment}"}};
  auto r = render_prepared_query(q, "geo-db-customer-primary", "alpha");
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->service.service, "mysql-customer");
  EXPECT_EQ(r->service.tags, (std::vector<std::string>{"primary", "geo-db-customer-primary", "geo-db-",
                                                        "customer-primary", "", "${x}"}));
  EXPECT_EQ(r->service.node_meta.at("seg"), "s-alpha");
  EXPECT_EQ(r->name, "geo-db-");  // the stored query's fields outside Service stay
}

TEST(PreparedQuery, RemoveEmptyTagsDropsTagsLeftEmpty) {
  PreparedQuery q;
  q.name = "x-";
  q.templ = {"name_prefix_match", "^x-(a)?(b)?$", true};
  q.service.service = "svc";
  q.service.tags = {"${match(1)}", "${match(2)}", "keep"};
  auto r = render_prepared_query(q, "x-b");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->service.tags, (std::vector<std::string>{"b", "keep"}));
}

TEST(PreparedQuery, NonTemplateRendersUnchanged) {
  PreparedQuery q = valid();
  q.service.service = "${name.full}";
  auto r = render_prepared_query(q, "anything");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->service.service, "${name.full}");
}

HealthServiceEntry entry(std::string node, std::vector<std::string> tags, std::vector<std::string> statuses) {
  HealthServiceEntry e;
  e.node.node = std::move(node);
  e.service.service = "web";
  e.service.tags = std::move(tags);
  for (size_t i = 0; i < statuses.size(); ++i) {
    HealthCheck c;
    c.check_id = "c" + std::to_string(i);
    c.status = statuses[i];
    e.checks.push_back(c);
  }
  return e;
}

std::vector<std::string> names(const std::vector<HealthServiceEntry>& v) {
  std::vector<std::string> out;
  for (const auto& e : v) out.push_back(e.node.node);
  return out;
}

TEST(PreparedQuery, FilterDropsCriticalAndWarningWhenOnlyPassing) {
  std::vector<HealthServiceEntry> in{entry("ok", {}, {"passing"}), entry("warn", {}, {"passing", "warning"}),
                                     entry("crit", {}, {"critical"})};
  ServiceQuery s;
  EXPECT_EQ(names(filter_query_nodes(s, in)), (std::vector<std::string>{"ok", "warn"}));
  s.only_passing = true;
  EXPECT_EQ(names(filter_query_nodes(s, in)), (std::vector<std::string>{"ok"}));
  s.ignore_check_ids = {"c1"};  // warn's warning check
  EXPECT_EQ(names(filter_query_nodes(s, in)), (std::vector<std::string>{"ok", "warn"}));
}

TEST(PreparedQuery, FilterTagsRequireAndExcludeCaseInsensitively) {
  std::vector<HealthServiceEntry> in{entry("a", {"Primary", "v1"}, {}), entry("b", {"primary", "v2"}, {}),
                                     entry("c", {"secondary"}, {})};
  ServiceQuery s;
  s.tags = {"PRIMARY", "!V1"};
  EXPECT_EQ(names(filter_query_nodes(s, in)), (std::vector<std::string>{"b"}));
}

TEST(PreparedQuery, FilterNodeAndServiceMeta) {
  auto a = entry("a", {}, {});
  a.node.meta = {{"rack", "r1"}};
  a.service.meta = {{"env", "prod"}};
  auto b = entry("b", {}, {});
  b.node.meta = {{"rack", "r1"}};
  ServiceQuery s;
  s.node_meta = {{"rack", "r1"}};
  EXPECT_EQ(names(filter_query_nodes(s, {a, b})), (std::vector<std::string>{"a", "b"}));
  s.service_meta = {{"env", "prod"}};
  EXPECT_EQ(names(filter_query_nodes(s, {a, b})), (std::vector<std::string>{"a"}));
}

TEST(PreparedQuery, BinaryRecordRoundTrips) {
  PreparedQuery q = valid();
  q.id = "id";
  q.templ = {"name_prefix_match", "re", true};
  q.service.failover = {2, {"dc2"}};
  q.service.node_meta = {{"a", "b"}};
  q.raft = {3, 4};
  std::string bytes;
  ByteWriter w(&bytes);
  wire::put(w, q);
  ByteReader r(bytes);
  PreparedQuery back;
  ASSERT_TRUE(wire::get(r, back));
  EXPECT_TRUE(r.at_end());
  EXPECT_EQ(back, q);
}

}  // namespace
}  // namespace cairn::api
