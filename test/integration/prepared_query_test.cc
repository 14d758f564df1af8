// Prepared queries on a real `cairn agent -dev`: /v1/query create, list
// (blocking), get, update, delete, execute (health filter, tags, ?limit,
// ?near=_agent, templates with a regexp) and explain, Consul's 400s naming
// the field and 404 "Query not found"; a query bound to a session goes when
// the session is destroyed; and DNS <name>.query.<domain> (A, SRV, the
// query's TTL, NXDOMAIN for an unknown query) asked with dig.
#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "test/support/agents.h"

namespace cairn::test {
namespace {

using Json = nlohmann::json;
using Lines = std::vector<std::string>;

class PreparedQueryTest : public AgentsFixture {
 protected:
  void SetUp() override {
    // start() turns DNS off; this agent needs it on an ephemeral port.
    std::vector<std::string> args{cairn_binary(), "agent", "-dev", "-node", "pq-agent", "-bind", "127.0.0.1",
                                  "-serf-lan-port", "0", "-http-port", "0", "-server-port", "0", "-dns-port", "0"};
    agents_.push_back(AgentProcess{std::make_unique<Process>(args, dir_.file("pq-agent.log")), {}});
    agent_ = &agents_.back();
    agent_->http = agent_->process->wait_for_log("Started HTTP server on (\\S+) ", std::chrono::seconds(20)).value_or("");
    ASSERT_FALSE(agent_->http.empty()) << agent_->process->log();
    ASSERT_TRUE(wait_for_leader(*agent_)) << agent_->process->log();
    dns_port_ = agent_->process->wait_for_log("Started DNS server on 127\\.0\\.0\\.1:([0-9]+) \\(udp\\)",
                                              std::chrono::seconds(10)).value_or("");
    ASSERT_FALSE(dns_port_.empty()) << agent_->process->log();
    // web: web-1 passing (tags v1, primary), web-2 critical, web-3 warning (tag v2).
    register_instance("web-1", "10.3.0.1", "web1", R"(["v1","primary"])", "passing");
    register_instance("web-2", "10.3.0.2", "web2", R"(["v1"])", "critical");
    register_instance("web-3", "10.3.0.3", "web3", R"(["v2"])", "warning");
  }
  void register_instance(const std::string& node, const std::string& addr, const std::string& id,
                         const std::string& tags, const std::string& status) {
    std::string body = R"({"Node":")" + node + R"(","Address":")" + addr + R"(","Service":{"ID":")" + id +
                       R"(","Service":"web","Tags":)" + tags + R"(,"Port":8080},"Check":{"CheckID":")" + id +
                       R"(-check","Name":"h","Status":")" + status + R"(","ServiceID":")" + id + R"("}})";
    auto r = http(*agent_, "PUT", "/v1/catalog/register", body);
    ASSERT_TRUE(r.ok() && r->status == 200) << (r.ok() ? r->body : r.error().message());
  }
  api::HttpResult call(const std::string& method, const std::string& path, const std::string& body = {}) {
    auto r = http(*agent_, method, path, body);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message());
    return r.ok() ? *r : api::HttpResult{};
  }
  Json get_json(const std::string& path) {
    auto r = call("GET", path);
    EXPECT_EQ(r.status, 200) << path << ": " << r.body;
    return Json::parse(r.body, nullptr, false);
  }
  std::string create(const std::string& body) {
    auto r = call("POST", "/v1/query", body);
    EXPECT_EQ(r.status, 200) << r.body;
    auto j = Json::parse(r.body, nullptr, false);
    return j.is_object() && j.contains("ID") ? j["ID"].get<std::string>() : "";
  }
  static Lines ids(const Json& result) {
    Lines out;
    for (const auto& n : result["Nodes"]) out.push_back(n["Service"]["ID"]);
    std::sort(out.begin(), out.end());
    return out;
  }
  Lines dig(std::vector<std::string> args) {
    std::vector<std::string> cmd{"/usr/bin/dig", "@127.0.0.1", "-p", dns_port_, "+time=3", "+tries=1"};
    cmd.insert(cmd.end(), args.begin(), args.end());
    auto r = run(cmd, dir_);
    Lines lines;
    std::istringstream in(r.output);
    for (std::string l; std::getline(in, l);)
      if (!l.empty() && l[0] != ';') lines.push_back(l);
    std::sort(lines.begin(), lines.end());
    return lines;
  }

  AgentProcess* agent_ = nullptr;
  std::string dns_port_;
};

TEST_F(PreparedQueryTest, CreateGetListUpdateAndDelete) {
  std::string id = create(R"({"Name":"web-q","Service":{"Service":"web","Tags":["v1"]},"DNS":{"TTL":"10s"}})");
  ASSERT_EQ(id.size(), 36u);
  Json one = get_json("/v1/query/" + id);
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0]["ID"], id);
  EXPECT_EQ(one[0]["Name"], "web-q");
  EXPECT_EQ(one[0]["Service"]["Tags"], Json::array({"v1"}));
  EXPECT_EQ(one[0]["DNS"]["TTL"], "10s");
  uint64_t created = one[0]["CreateIndex"];

  // A blocking list wakes on the update.
  auto before = call("GET", "/v1/query");
  ASSERT_EQ(before.status, 200);
  std::string index = before.header("X-Consul-Index");
  std::thread writer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    auto r = http(*agent_, "PUT", "/v1/query/" + id, R"({"Name":"web-q","Service":{"Service":"web","OnlyPassing":true}})");
    EXPECT_TRUE(r.ok() && r->status == 200);
  });
  Json after = get_json("/v1/query?index=" + index + "&wait=10s");
  writer.join();
  ASSERT_EQ(after.size(), 1u);
  EXPECT_TRUE(after[0]["Service"]["OnlyPassing"].get<bool>());
  EXPECT_EQ(after[0]["CreateIndex"], created);
  EXPECT_GT(after[0]["ModifyIndex"].get<uint64_t>(), created);

  EXPECT_EQ(call("DELETE", "/v1/query/" + id).status, 200);
  auto gone = call("GET", "/v1/query/" + id);
  EXPECT_EQ(gone.status, 404);
  EXPECT_EQ(gone.body, "Query not found\n");
  EXPECT_EQ(get_json("/v1/query"), Json::array());
  auto update_missing = call("PUT", "/v1/query/" + id, R"({"Service":{"Service":"web"}})");
  EXPECT_EQ(update_missing.status, 404);
  EXPECT_NE(update_missing.body.find("Cannot modify non-existent prepared query"), std::string::npos);
}

TEST_F(PreparedQueryTest, BadQueriesAreRefusedNamingTheField) {
  auto r = call("POST", "/v1/query", R"({"Name":"x","Service":{}})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, "Service.Service: Must provide a Service name to query\n");
  r = call("POST", "/v1/query", R"({"Name":"x","Service":{"Service":"web"},"DNS":{"TTL":"ten"}})");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("DNS.TTL"), std::string::npos);
  r = call("POST", "/v1/query", R"({"Name":"x","Template":{"Type":"name_prefix_match","Regexp":"("},"Service":{"Service":"web"}})");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("Template.Regexp"), std::string::npos);
  r = call("POST", "/v1/query", R"({"Name":"x","Session":"no-such-session","Service":{"Service":"web"}})");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("invalid session"), std::string::npos);
  ASSERT_FALSE(create(R"({"Name":"dup","Service":{"Service":"web"}})").empty());
  r = call("POST", "/v1/query", R"({"Name":"DUP","Service":{"Service":"web"}})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, "name 'DUP' aliases an existing query name\n");
}

TEST_F(PreparedQueryTest, ExecuteFiltersSortsAndLimits) {
  std::string id = create(R"({"Name":"web-all","Service":{"Service":"web"},"DNS":{"TTL":"7s"}})");
  Json all = get_json("/v1/query/web-all/execute");
  EXPECT_EQ(all["Service"], "web");
  EXPECT_EQ(ids(all), (Lines{"web1", "web3"}));  // critical left out, warning kept
  EXPECT_EQ(all["DNS"]["TTL"], "7s");
  EXPECT_EQ(all["Datacenter"], "dc1");
  EXPECT_EQ(all["Failovers"], 0);
  EXPECT_TRUE(all["KnownLeader"].get<bool>());
  EXPECT_GT(all["Index"].get<uint64_t>(), 0u);
  EXPECT_EQ(ids(get_json("/v1/query/" + id + "/execute")), (Lines{"web1", "web3"}));  // by ID too
  EXPECT_EQ(get_json("/v1/query/web-all/execute?limit=1")["Nodes"].size(), 1u);
  EXPECT_EQ(ids(get_json("/v1/query/web-all/execute?near=_agent")), (Lines{"web1", "web3"}));

  create(R"({"Name":"web-passing","Service":{"Service":"web","OnlyPassing":true}})");
  EXPECT_EQ(ids(get_json("/v1/query/web-passing/execute")), (Lines{"web1"}));
  create(R"({"Name":"web-ignore","Service":{"Service":"web","OnlyPassing":true,"IgnoreCheckIDs":["web3-check"]}})");
  EXPECT_EQ(ids(get_json("/v1/query/web-ignore/execute")), (Lines{"web1", "web3"}));
  create(R"({"Name":"web-not-primary","Service":{"Service":"web","Tags":["!Primary"]}})");
  EXPECT_EQ(ids(get_json("/v1/query/web-not-primary/execute")), (Lines{"web3"}));

  auto missing = call("GET", "/v1/query/nothing-here/execute");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.body, "Query not found\n");
  EXPECT_EQ(call("GET", "/v1/query/web-all/execute?limit=x").status, 400);
}

TEST_F(PreparedQueryTest, NearSortsByRoundTripTimeFromTheRequestOrTheQuery) {
  // web-1 far out on the first axis, web-3 at the origin.
  for (auto [node, x] : {std::pair<const char*, double>{"web-1", 0.5}, {"web-3", 0.0}}) {
    Json body = {{"Node", node},
                 {"Coord", {{"Vec", {x, 0, 0, 0, 0, 0, 0, 0}}, {"Error", 0.1}, {"Adjustment", 0}, {"Height", 1e-5}}}};
    ASSERT_EQ(call("PUT", "/v1/coordinate/update", body.dump()).status, 200);
  }
  auto first = [](const Json& r) { return r["Nodes"].empty() ? std::string() : r["Nodes"][0]["Node"]["Node"].get<std::string>(); };
  create(R"({"Name":"near-q","Service":{"Service":"web"}})");
  create(R"({"Name":"near-web1","Service":{"Service":"web","Near":"web-1"}})");
  for (int i = 0; i < 5; ++i) {  // shuffled first, so a lucky order cannot pass every round
    EXPECT_EQ(first(get_json("/v1/query/near-q/execute?near=web-3")), "web-3");
    EXPECT_EQ(first(get_json("/v1/query/near-q/execute?near=web-1")), "web-1");
    EXPECT_EQ(first(get_json("/v1/query/near-web1/execute")), "web-1");            // the query's Near
    EXPECT_EQ(first(get_json("/v1/query/near-web1/execute?near=web-3")), "web-3");  // ?near wins
  }
}

TEST_F(PreparedQueryTest, ConnectAnswersTheProxiesAndNativeInstances) {
  auto r = call("PUT", "/v1/catalog/register", R"({"Node":"web-1","Address":"10.3.0.1",
    "Service":{"ID":"web-proxy","Service":"web-sidecar-proxy","Kind":"connect-proxy","Port":21000,
      "Proxy":{"DestinationServiceName":"web","DestinationServiceID":"web1"}}})");
  ASSERT_EQ(r.status, 200) << r.body;
  r = call("PUT", "/v1/catalog/register", R"({"Node":"web-3","Address":"10.3.0.3",
    "Service":{"ID":"web-native","Service":"web","Port":8443,"Connect":{"Native":true}}})");
  ASSERT_EQ(r.status, 200) << r.body;
  create(R"({"Name":"web-mesh","Service":{"Service":"web"}})");
  EXPECT_EQ(ids(get_json("/v1/query/web-mesh/execute?connect=true")), (Lines{"web-native", "web-proxy"}));
  EXPECT_EQ(ids(get_json("/v1/query/web-mesh/execute")), (Lines{"web-native", "web1", "web3"}));
  create(R"({"Name":"web-mesh-always","Service":{"Service":"web","Connect":true}})");
  EXPECT_EQ(ids(get_json("/v1/query/web-mesh-always/execute")), (Lines{"web-native", "web-proxy"}));
  EXPECT_EQ(call("GET", "/v1/query/web-mesh/execute?connect=maybe").status, 400);
}

TEST_F(PreparedQueryTest, TemplatesRenderAndExplain) {
  std::string id = create(R"({"Name":"geo-","Template":{"Type":"name_prefix_match","Regexp":"^geo-([^-]+)-(.*)$",
    "RemoveEmptyTags":true},"Service":{"Service":"${match(1)}","Tags":["${match(2)}"]}})");
  ASSERT_FALSE(id.empty());
  EXPECT_EQ(ids(get_json("/v1/query/geo-web-primary/execute")), (Lines{"web1"}));
  Json explained = get_json("/v1/query/geo-web-v2/explain");
  EXPECT_EQ(explained["Query"]["Service"]["Service"], "web");
  EXPECT_EQ(explained["Query"]["Service"]["Tags"], Json::array({"v2"}));
  EXPECT_EQ(explained["Query"]["Name"], "geo-");
  // A template is resolved by name only, as in Consul.
  EXPECT_EQ(call("GET", "/v1/query/" + id + "/execute").status, 400);
}

TEST_F(PreparedQueryTest, DestroyingItsSessionDeletesTheQuery) {
  auto s = call("PUT", "/v1/session/create", R"({"Name":"pq"})");
  ASSERT_EQ(s.status, 200) << s.body;
  std::string session = Json::parse(s.body)["ID"];
  std::string id = create(R"({"Name":"bound","Session":")" + session + R"(","Service":{"Service":"web"}})");
  ASSERT_FALSE(id.empty());
  EXPECT_EQ(call("GET", "/v1/query/" + id).status, 200);
  EXPECT_EQ(call("PUT", "/v1/session/destroy/" + session).status, 200);
  EXPECT_EQ(call("GET", "/v1/query/" + id).status, 404);
  EXPECT_EQ(call("GET", "/v1/query/bound/execute").status, 404);
}

TEST_F(PreparedQueryTest, DnsAnswersQueryNames) {
  create(R"({"Name":"dnsq","Service":{"Service":"web","OnlyPassing":true},"DNS":{"TTL":"42s"}})");
  EXPECT_EQ(dig({"+short", "dnsq.query.cairn", "A"}), (Lines{"10.3.0.1"}));
  EXPECT_EQ(dig({"+short", "DNSQ.query.dc1.consul", "A"}), (Lines{"10.3.0.1"}));
  EXPECT_EQ(dig({"+short", "dnsq.query.cairn", "SRV"}), (Lines{"1 1 8080 web-1.node.dc1.cairn."}));
  EXPECT_EQ(dig({"+short", "_dnsq._tcp.query.cairn", "SRV"}), (Lines{"1 1 8080 web-1.node.dc1.cairn."}));
  Lines answer = dig({"+noall", "+answer", "dnsq.query.cairn", "A"});
  ASSERT_EQ(answer.size(), 1u);
  EXPECT_NE(answer[0].find("\t42\t"), std::string::npos) << answer[0];
  // No DNS.TTL: dns_config.service_ttl (0 by default).
  create(R"({"Name":"dnsq0","Service":{"Service":"web"}})");
  Lines zero = dig({"+noall", "+answer", "dnsq0.query.cairn", "SRV"});
  ASSERT_EQ(zero.size(), 2u);
  EXPECT_NE(zero[0].find("\t0\t"), std::string::npos) << zero[0];
  auto none = run({"/usr/bin/dig", "@127.0.0.1", "-p", dns_port_, "+time=3", "+tries=1", "nope.query.cairn", "A"}, dir_);
  EXPECT_NE(none.output.find("status: NXDOMAIN"), std::string::npos) << none.output;
}

}  // namespace
}  // namespace cairn::test
