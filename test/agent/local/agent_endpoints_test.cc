// /v1/agent service, check, maintenance, health and reload endpoints through
// the real Router over a LocalState with a fake check runner.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "agent/local/local_state.h"
#include "test/agent/fake_rpc.h"
#include "test/agent/local/fake_runner.h"

namespace cairn::agent::local::test {
namespace {

using agent::test::header;
using agent::test::RpcEndpoints;
using cairn::http::Method;

struct Agent {
  Agent() {
    state.set_runner(&runner);
    e.ctx.local = &state;
    e.ctx.on_local_strand = [](std::function<void()> fn) { fn(); };
    e.ctx.reload = [this](std::function<void(Status)> done) {
      ++reloads;
      done(reload_result);
    };
    http::register_agent_services(e.router, e.ctx);
    http::register_agent_checks(e.router, e.ctx);
  }
  nlohmann::json get_json(const std::string& target, int want = 200) {
    auto r = e.get(target);
    EXPECT_TRUE(r);
    EXPECT_EQ(r->status, want) << target << ": " << r->body;
    return nlohmann::json::parse(r->body);
  }
  ManualClock clock;
  FakeRunner runner;
  LocalState state{LocalStateOptions{"node-a", &clock, nullptr, nullptr, 4096}};
  RpcEndpoints e;
  int reloads = 0;
  Status reload_result;
};

TEST(AgentEndpoints, RegisterListAndReadAService) {
  Agent a;
  auto r = a.e.call(Method::put, "/v1/agent/service/register?token=tok",
                    R"({"name":"web","id":"web/1","port":80,"tags":["a"],"meta":{"k":"v"},"enabletagoverride":true,
                        "check":{"ttl":"10s"}})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(a.state.service("web/1")->token, "tok");
  auto all = a.get_json("/v1/agent/services");
  ASSERT_TRUE(all.contains("web/1"));
  EXPECT_EQ(all["web/1"]["Service"], "web");
  EXPECT_EQ(all["web/1"]["Port"], 80);
  EXPECT_EQ(all["web/1"]["Datacenter"], "dc1");
  EXPECT_EQ(all["web/1"]["EnableTagOverride"], true);
  EXPECT_EQ(all["web/1"]["Weights"]["Passing"], 1);
  EXPECT_FALSE(all["web/1"].contains("CreateIndex"));

  auto one = a.e.get("/v1/agent/service/web/1");
  ASSERT_TRUE(one);
  EXPECT_EQ(one->status, 200);
  auto j = nlohmann::json::parse(one->body);
  EXPECT_EQ(j["ID"], "web/1");
  EXPECT_EQ(j["ContentHash"].get<std::string>().size(), 16u);
  EXPECT_EQ(header(*one, "X-Consul-ContentHash"), j["ContentHash"]);
  // The hash moves with the service.
  a.e.put("/v1/agent/service/register", R"({"name":"web","id":"web/1","port":81})");
  auto changed = nlohmann::json::parse(a.e.get("/v1/agent/service/web/1")->body);
  EXPECT_NE(changed["ContentHash"], j["ContentHash"]);

  auto missing = a.e.get("/v1/agent/service/nope");
  EXPECT_EQ(missing->status, 404);
  EXPECT_EQ(missing->body, "unknown service ID: nope\n");
}

TEST(AgentEndpoints, ServicesFilter) {
  Agent a;
  a.e.put("/v1/agent/service/register", R"({"name":"web","port":80})");
  a.e.put("/v1/agent/service/register", R"({"name":"db","port":5432})");
  auto j = a.get_json("/v1/agent/services?filter=Service%20%3D%3D%20%22db%22");
  EXPECT_EQ(j.size(), 1u);
  EXPECT_TRUE(j.contains("db"));
  auto bad = a.e.get("/v1/agent/services?filter=%3D%3D");
  EXPECT_EQ(bad->status, 400);
}

TEST(AgentEndpoints, RegisterErrorsAre400sNamingTheField) {
  Agent a;
  auto r = a.e.put("/v1/agent/service/register", R"({"name":"web","port":"eighty"})");
  EXPECT_EQ(r->status, 400);
  EXPECT_NE(r->body.find("Port"), std::string::npos);
  r = a.e.put("/v1/agent/service/register", R"({"port":80})");
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(r->body, "Missing service name\n");
  r = a.e.put("/v1/agent/service/register", R"({"name":"web","check":{"http":"http://x/"}})");
  EXPECT_EQ(r->status, 400);
  EXPECT_NE(r->body.find("Interval"), std::string::npos);
  a.runner.refuse_id = "service:web";
  r = a.e.put("/v1/agent/service/register", R"({"name":"web","check":{"ttl":"5s"}})");
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(r->body, "refused: service:web\n");
  r = a.e.put("/v1/agent/service/register", "{not json");
  EXPECT_EQ(r->status, 400);
  EXPECT_TRUE(a.state.services().empty());
}

TEST(AgentEndpoints, ReplaceExistingChecks) {
  Agent a;
  a.e.put("/v1/agent/service/register", R"({"name":"web","checks":[{"ttl":"5s"},{"ttl":"6s"}]})");
  EXPECT_EQ(a.state.checks().size(), 2u);
  a.e.put("/v1/agent/service/register", R"({"name":"web","check":{"ttl":"5s","id":"only"}})");
  EXPECT_EQ(a.state.checks().size(), 3u);
  a.e.put("/v1/agent/service/register?replace-existing-checks", R"({"name":"web","check":{"ttl":"5s","id":"only"}})");
  ASSERT_EQ(a.state.checks().size(), 1u);
  EXPECT_EQ(a.state.checks()[0].check.check_id, "only");
}

TEST(AgentEndpoints, DeregisterByPutOrGetWithSlashes) {
  Agent a;
  a.e.put("/v1/agent/service/register", R"({"name":"web","id":"a/b"})");
  auto r = a.e.put("/v1/agent/service/deregister/a/b");
  EXPECT_EQ(r->status, 200);
  EXPECT_FALSE(a.state.service("a/b"));
  a.e.put("/v1/agent/service/register", R"({"name":"web","id":"x"})");
  r = a.e.get("/v1/agent/service/deregister/x");
  EXPECT_EQ(r->status, 200);
  r = a.e.put("/v1/agent/service/deregister/x");
  EXPECT_EQ(r->status, 404);
  EXPECT_NE(r->body.find("Unknown service ID \"x\""), std::string::npos);
}

TEST(AgentEndpoints, CheckRegisterListAndDeregister) {
  Agent a;
  a.e.put("/v1/agent/service/register", R"({"name":"web"})");
  auto r = a.e.put("/v1/agent/check/register", R"({"name":"web-alive","serviceid":"web","ttl":"10s","notes":"n"})");
  EXPECT_EQ(r->status, 200) << r->body;
  auto j = a.get_json("/v1/agent/checks");
  ASSERT_TRUE(j.contains("web-alive"));
  EXPECT_EQ(j["web-alive"]["Status"], "critical");
  EXPECT_EQ(j["web-alive"]["ServiceID"], "web");
  EXPECT_EQ(j["web-alive"]["ServiceName"], "web");
  EXPECT_EQ(j["web-alive"]["Node"], "node-a");
  EXPECT_EQ(j["web-alive"]["Type"], "ttl");
  auto filtered = a.get_json("/v1/agent/checks?filter=Status%20%3D%3D%20%22passing%22");
  EXPECT_TRUE(filtered.empty());

  r = a.e.put("/v1/agent/check/register", R"({"name":"x","serviceid":"nope","ttl":"10s"})");
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(r->body, "ServiceID \"nope\" does not exist\n");
  r = a.e.put("/v1/agent/check/register", R"({"ttl":"10s"})");
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(r->body, "Missing check name\n");
  r = a.e.put("/v1/agent/check/register", R"({"name":"x","ttl":12})");  // ns: fine
  EXPECT_EQ(r->status, 200);
  r = a.e.put("/v1/agent/check/register", R"({"name":"y","ttl":"soon"})");
  EXPECT_EQ(r->status, 400);
  EXPECT_NE(r->body.find("TTL"), std::string::npos);

  r = a.e.get("/v1/agent/check/deregister/web-alive");
  EXPECT_EQ(r->status, 200);
  r = a.e.put("/v1/agent/check/deregister/web-alive");
  EXPECT_EQ(r->status, 404);
}

TEST(AgentEndpoints, TtlPassWarnFailAndUpdate) {
  Agent a;
  a.e.put("/v1/agent/check/register", R"({"name":"mem","ttl":"10s"})");
  auto r = a.e.put("/v1/agent/check/pass/mem?note=all%20good");
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(a.state.check("mem")->check.status, "passing");
  EXPECT_EQ(a.state.check("mem")->check.output, "all good");
  r = a.e.get("/v1/agent/check/warn/mem");  // python-consul 0.7.1 uses GET
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(a.state.check("mem")->check.status, "warning");
  a.e.put("/v1/agent/check/fail/mem");
  EXPECT_EQ(a.state.check("mem")->check.status, "critical");
  EXPECT_EQ(a.runner.ttl_updates.size(), 3u);

  r = a.e.put("/v1/agent/check/update/mem", R"({"Status":"passing","Output":"from update"})");
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(a.state.check("mem")->check.output, "from update");
  r = a.e.put("/v1/agent/check/update/mem", R"({"Status":"fine"})");
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(r->body, "Invalid check status: 'fine'\n");
  r = a.e.put("/v1/agent/check/update/mem", R"({"Status":3})");
  EXPECT_EQ(r->status, 400);
  r = a.e.put("/v1/agent/check/pass/nope");
  EXPECT_EQ(r->status, 404);

  a.e.put("/v1/agent/check/register", R"({"name":"tcp","tcp":"127.0.0.1:1","interval":"5s"})");
  r = a.e.put("/v1/agent/check/pass/tcp");
  EXPECT_EQ(r->status, 404);
  EXPECT_NE(r->body.find("TTL"), std::string::npos);
}

TEST(AgentEndpoints, NodeAndServiceMaintenance) {
  Agent a;
  auto r = a.e.put("/v1/agent/maintenance");
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(r->body, "Missing value for enable\n");
  r = a.e.put("/v1/agent/maintenance?enable=maybe");
  EXPECT_EQ(r->status, 400);
  r = a.e.put("/v1/agent/maintenance?enable=True&reason=patching");
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(a.state.check("_node_maintenance")->check.notes, "patching");
  a.e.put("/v1/agent/maintenance?enable=false");
  EXPECT_FALSE(a.state.check("_node_maintenance"));

  r = a.e.put("/v1/agent/service/maintenance/web?enable=true");
  EXPECT_EQ(r->status, 404);
  a.e.put("/v1/agent/service/register", R"({"name":"web"})");
  r = a.e.put("/v1/agent/service/maintenance/web?enable=1&reason=deploy");
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(a.state.check("_service_maintenance:web")->check.notes, "deploy");
}

TEST(AgentEndpoints, HealthByIdAndNameWithStatusCodes) {
  Agent a;
  a.e.put("/v1/agent/service/register", R"({"name":"web","id":"w1","check":{"ttl":"10s","status":"passing"}})");
  a.e.put("/v1/agent/service/register", R"({"name":"web","id":"w2","check":{"ttl":"10s","status":"passing"}})");
  auto j = a.get_json("/v1/agent/health/service/id/w1", 200);
  EXPECT_EQ(j["AggregatedStatus"], "passing");
  EXPECT_EQ(j["Service"]["ID"], "w1");
  EXPECT_EQ(j["Checks"].size(), 1u);
  auto r = a.e.get("/v1/agent/health/service/id/w1?format=text");
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "passing");

  a.e.put("/v1/agent/check/warn/service:w2");
  auto list = a.get_json("/v1/agent/health/service/name/web", 429);
  EXPECT_EQ(list.size(), 2u);
  r = a.e.get("/v1/agent/health/service/name/web?format=text");
  EXPECT_EQ(r->status, 429);
  EXPECT_EQ(r->body, "warning");

  a.e.put("/v1/agent/check/fail/service:w1");
  a.get_json("/v1/agent/health/service/id/w1", 503);
  a.e.put("/v1/agent/check/pass/service:w1");
  a.e.put("/v1/agent/maintenance?enable=true");  // node checks count
  j = a.get_json("/v1/agent/health/service/id/w1", 503);
  EXPECT_EQ(j["AggregatedStatus"], "maintenance");

  r = a.e.get("/v1/agent/health/service/id/nope?format=text");
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(r->body, "ServiceId nope not found");
  r = a.e.get("/v1/agent/health/service/name/nope");
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(r->body, "[]");
}

TEST(AgentEndpoints, Reload) {
  Agent a;
  auto r = a.e.put("/v1/agent/reload");
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(a.reloads, 1);
  a.reload_result = Error(errc::invalid_argument, "config.json: services[0].port: bad");
  r = a.e.put("/v1/agent/reload");
  EXPECT_EQ(r->status, 500);
  EXPECT_EQ(r->body, "config.json: services[0].port: bad\n");
}

TEST(AgentEndpoints, WithoutLocalStateThey500) {
  RpcEndpoints e;
  http::register_agent_services(e.router, e.ctx);
  http::register_agent_checks(e.router, e.ctx);
  EXPECT_EQ(e.get("/v1/agent/services")->status, 500);
  EXPECT_EQ(e.put("/v1/agent/service/register", R"({"name":"x"})")->status, 500);
}

}  // namespace
}  // namespace cairn::agent::local::test
