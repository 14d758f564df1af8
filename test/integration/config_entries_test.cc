// Config entries against real `cairn agent` processes on 127.0.0.1: a dev
// agent through /v1/config (shapes, 404, 400s, CAS, a blocking list woken by
// a delete) and `cairn config` (write from a file and stdin, read, list,
// delete, HCL refused); three servers where an entry written with the CLI on
// one server is read with the CLI on another.
#include <gtest/gtest.h>

#include <fstream>
#include <future>
#include <nlohmann/json.hpp>
#include <thread>

#include "test/support/agents.h"

namespace cairn::test {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

using Agent = AgentProcess;

class ConfigEntriesTest : public AgentsFixture {
 protected:
  // `cairn config <args...> -http-addr ADDR [positional]`.
  RunResult cli(const Agent& via, std::vector<std::string> args, std::vector<std::string> positional = {}) {
    return cairn(via, "config", std::move(args), std::move(positional));
  }
};

TEST_F(ConfigEntriesTest, DevAgentServesConfigEntriesOverHttp) {
  Agent& dev = start("dev", {"-dev"});
  ASSERT_TRUE(wait_for_leader(dev)) << dev.process->log();

  auto put = http(dev, "PUT", "/v1/config", R"({"kind":"service-defaults","name":"web","protocol":"http"})");
  ASSERT_TRUE(put.ok());
  ASSERT_EQ(put->status, 200) << put->body;
  EXPECT_EQ(put->body, "true");

  auto got = http(dev, "GET", "/v1/config/service-defaults/web");
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->status, 200) << got->body;
  auto e = json::parse(got->body);
  EXPECT_EQ(e["Kind"], "service-defaults");
  EXPECT_EQ(e["Name"], "web");
  EXPECT_EQ(e["Protocol"], "http");
  uint64_t modify = e["ModifyIndex"].get<uint64_t>();
  EXPECT_GT(modify, 0u);
  EXPECT_EQ(got->header("X-Consul-Index"), std::to_string(modify));

  auto missing = http(dev, "GET", "/v1/config/service-defaults/db");
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(missing->status, 404);
  EXPECT_NE(missing->body.find(R"(Config entry not found for "service-defaults" / "db")"), std::string::npos);

  auto unknown = http(dev, "PUT", "/v1/config", R"({"Kind":"service-defaults","Name":"web","Protocl":"http"})");
  ASSERT_TRUE(unknown.ok());
  EXPECT_EQ(unknown->status, 400);
  EXPECT_NE(unknown->body.find("Protocl: unknown field"), std::string::npos);

  auto router = http(dev, "PUT", "/v1/config", R"({"Kind":"service-router","Name":"db","Routes":[{"Match":{"HTTP":{"PathPrefix":"/a"}}}]})");
  ASSERT_TRUE(router.ok());
  EXPECT_EQ(router->status, 400);
  EXPECT_NE(router->body.find("does not permit advanced routing or splitting behavior"), std::string::npos);

  auto stale_cas = http(dev, "PUT", "/v1/config?cas=" + std::to_string(modify + 100),
                        R"({"Kind":"service-defaults","Name":"web","Protocol":"grpc"})");
  ASSERT_TRUE(stale_cas.ok());
  EXPECT_EQ(stale_cas->body, "false");

  // service-intentions entries go through the same store (api/intentions.h normalizes them).
  auto intentions = http(dev, "PUT", "/v1/config",
                         R"({"Kind":"service-intentions","Name":"web","Sources":[{"Name":"api","Action":"allow"}]})");
  ASSERT_TRUE(intentions.ok());
  ASSERT_EQ(intentions->status, 200) << intentions->body;
  auto ixn = http(dev, "GET", "/v1/config/service-intentions/web");
  ASSERT_TRUE(ixn.ok());
  ASSERT_EQ(ixn->status, 200) << ixn->body;
  auto ixn_json = json::parse(ixn->body);
  EXPECT_EQ(ixn_json["Sources"][0]["Name"], "api");
  EXPECT_EQ(ixn_json["Sources"][0]["Action"], "allow");

  // A blocking list of the kind answers when the entry is deleted.
  auto list = http(dev, "GET", "/v1/config/service-defaults");
  ASSERT_TRUE(list.ok());
  std::string index = list->header("X-Consul-Index");
  ASSERT_FALSE(index.empty());
  auto blocked = std::async(std::launch::async, [&] {
    return http(dev, "GET", "/v1/config/service-defaults?index=" + index + "&wait=20s");
  });
  EXPECT_EQ(blocked.wait_for(300ms), std::future_status::timeout);
  auto del = http(dev, "DELETE", "/v1/config/service-defaults/web");
  ASSERT_TRUE(del.ok());
  EXPECT_EQ(del->status, 200);
  EXPECT_EQ(del->body, "{}");
  auto woken = blocked.get();
  ASSERT_TRUE(woken.ok());
  EXPECT_EQ(woken->body, "[]");
  EXPECT_GT(std::stoull(woken->header("X-Consul-Index")), std::stoull(index));
}

TEST_F(ConfigEntriesTest, CliWritesReadsListsAndDeletes) {
  Agent& dev = start("dev", {"-dev"});
  ASSERT_TRUE(wait_for_leader(dev)) << dev.process->log();
  std::string defaults = write_file("defaults.json", R"({"Kind":"service-defaults","Name":"api","Protocol":"http"})");
  auto w = cli(dev, {"write"}, {defaults});
  ASSERT_EQ(w.status, 0) << w.output;
  EXPECT_NE(w.output.find("Config entry written: service-defaults/api"), std::string::npos);

  std::string resolver = write_file("resolver.json", R"({"kind":"service-resolver","name":"api","default_subset":"v1",
      "subsets":{"v1":{"filter":"Service.Meta.version == 1"},"v2":{"filter":"Service.Meta.version == 2"}}})");
  ASSERT_EQ(cli(dev, {"write"}, {resolver}).status, 0);
  std::string splitter = write_file("splitter.json", R"({"Kind":"service-splitter","Name":"api",
      "Splits":[{"Weight":90,"ServiceSubset":"v1"},{"Weight":10,"ServiceSubset":"v2"}]})");
  ASSERT_EQ(cli(dev, {"write"}, {splitter}).status, 0);

  auto read = cli(dev, {"read", "-kind", "service-resolver", "-name", "api"});
  ASSERT_EQ(read.status, 0) << read.output;
  EXPECT_NE(read.output.find("\"DefaultSubset\": \"v1\""), std::string::npos) << read.output;

  auto list = cli(dev, {"list", "-kind", "service-defaults"});
  ASSERT_EQ(list.status, 0);
  EXPECT_NE(list.output.find("api\n"), std::string::npos);

  // Bad input: a split that does not sum to 100, an HCL file, a missing entry.
  std::string bad = write_file("bad.json", R"({"Kind":"service-splitter","Name":"api","Splits":[{"Weight":50}]})");
  auto refused = cli(dev, {"write"}, {bad});
  EXPECT_EQ(refused.status, 1);
  EXPECT_NE(refused.output.find("the sum of all split weights must be 100"), std::string::npos) << refused.output;
  std::string hcl = write_file("defaults.hcl", "Kind = \"service-defaults\"\nName = \"web\"\n");
  auto hcl_run = cli(dev, {"write"}, {hcl});
  EXPECT_EQ(hcl_run.status, 1);
  EXPECT_NE(hcl_run.output.find("HCL config entries are not supported"), std::string::npos) << hcl_run.output;
  auto none = cli(dev, {"read", "-kind", "service-defaults", "-name", "nope"});
  EXPECT_EQ(none.status, 1);
  EXPECT_NE(none.output.find("404"), std::string::npos) << none.output;

  // The resolver's subsets are in use by the splitter: deleting it is refused, the splitter first works.
  auto blocked = cli(dev, {"delete", "-kind", "service-resolver", "-name", "api"});
  EXPECT_EQ(blocked.status, 1) << blocked.output;
  auto del = cli(dev, {"delete", "-kind", "service-splitter", "-name", "api"});
  ASSERT_EQ(del.status, 0) << del.output;
  EXPECT_NE(del.output.find("Config entry deleted: service-splitter/api"), std::string::npos);
  auto cas_lost = cli(dev, {"delete", "-kind", "service-resolver", "-name", "api", "-cas", "-modify-index", "1"});
  EXPECT_EQ(cas_lost.status, 1);
  EXPECT_NE(cas_lost.output.find("Config entry not deleted: service-resolver/api"), std::string::npos);
  ASSERT_EQ(cli(dev, {"delete", "-kind", "service-resolver", "-name", "api"}).status, 0);
}

TEST_F(ConfigEntriesTest, ThreeServersWriteOnOneReadOnAnother) {
  Agent& a = server("s1", "");
  std::string join = gossip_of(a);
  ASSERT_FALSE(join.empty());
  server("s2", join);
  Agent& c = server("s3", join);
  ASSERT_TRUE(wait_for_leader(a)) << a.process->log();
  ASSERT_TRUE(wait_for_leader(c)) << c.process->log();

  std::string entry = write_file("proxy.json", R"({"Kind":"proxy-defaults","Name":"global","Config":{"protocol":"http"}})");
  RunResult w;
  for (int i = 0; i < 50; ++i) {  // the cluster may still be settling its first leader
    w = cli(a, {"write"}, {entry});
    if (w.status == 0) break;
    std::this_thread::sleep_for(200ms);
  }
  ASSERT_EQ(w.status, 0) << w.output;
  auto read = cli(c, {"read", "-kind", "proxy-defaults", "-name", "global"});
  ASSERT_EQ(read.status, 0) << read.output;
  auto j = json::parse(read.output, nullptr, false);
  ASSERT_TRUE(j.is_object()) << read.output;
  EXPECT_EQ(j["Config"]["protocol"], "http");
  // A router is now allowed for any service (the global protocol is http), written through the third server.
  std::string router = write_file("router.json", R"({"Kind":"service-router","Name":"web","Routes":[{"Match":{"HTTP":{"PathPrefix":"/admin"}},"Destination":{"Service":"admin"}}]})");
  auto wr = cli(agents_[1], {"write"}, {router});
  ASSERT_EQ(wr.status, 0) << wr.output;
  auto list = cli(a, {"list", "-kind", "service-router"});
  ASSERT_EQ(list.status, 0);
  EXPECT_EQ(list.output, "web\n");
}

}  // namespace
}  // namespace cairn::test
