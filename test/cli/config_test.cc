// `cairn config` in-process against recording handlers on an ephemeral
// port: what each subcommand sends, its messages and exit codes, stdin
// input, and the refusals that never reach the agent.
#include <gtest/gtest.h>

#include <mutex>
#include <sstream>

#include "test/cli/cli_harness.h"

namespace cairn::cli {
namespace {

class CliConfig : public ::testing::Test {
 protected:
  struct Seen {
    std::string method, target, body;
  };
  void SetUp() override {
    for (auto m : {http::Method::get, http::Method::put, http::Method::del}) {
      http_.router.add_sync(m, "/v1/config/<rest...>", [this, m](http::Request& req) { return record(m, req); });
    }
    http_.router.add_sync(http::Method::put, "/v1/config", [this](http::Request& req) { return record(http::Method::put, req); });
    http_.start();
  }
  http::Response record(http::Method m, http::Request& req) {
    std::lock_guard lock(mu_);
    seen_.push_back({std::string(http::method_name(m)), req.target, req.body});
    return reply_;
  }
  test::CliRun run(std::vector<std::string> args, std::string stdin_text = {}) {
    std::istringstream in(stdin_text);
    auto* old = std::cin.rdbuf(in.rdbuf());
    auto r = test::run_cli(std::move(args), 2, http_.addr, {&add_config_command});
    std::cin.rdbuf(old);
    return r;
  }

  test::HttpFixture http_;
  std::mutex mu_;
  std::vector<Seen> seen_;
  http::Response reply_ = http::Response::json("true");
};

TEST_F(CliConfig, WriteFromStdinSendsTheNormalizedEntry) {
  auto r = run({"config", "write", "-"}, R"({"kind":"service-defaults","name":"web","protocol":"HTTP"})");
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, "Config entry written: service-defaults/web\n");
  ASSERT_EQ(seen_.size(), 1u);
  EXPECT_EQ(seen_[0].method, "PUT");
  EXPECT_EQ(seen_[0].target, "/v1/config");
  EXPECT_EQ(seen_[0].body, R"({"Kind":"service-defaults","Name":"web","Protocol":"http"})");
}

TEST_F(CliConfig, WriteWithCasThatLosesFails) {
  reply_ = http::Response::json("false");
  auto r = run({"config", "write", "--cas", "--modify-index", "7", "-"}, R"({"Kind":"service-resolver","Name":"db"})");
  EXPECT_EQ(r.code, kExitError);
  EXPECT_EQ(r.err, "Config entry not updated: service-resolver/db\n");
  ASSERT_EQ(seen_.size(), 1u);
  EXPECT_EQ(seen_[0].target, "/v1/config?cas=7");
}

TEST_F(CliConfig, BadInputNeverReachesTheAgent) {
  auto hcl = run({"config", "write", "-"}, "Kind = \"service-defaults\"\nName = \"web\"\n");
  EXPECT_EQ(hcl.code, kExitError);
  EXPECT_NE(hcl.err.find("HCL config entries are not supported; write the entry as JSON"), std::string::npos);
  auto unknown = run({"config", "write", "-"}, R"({"Kind":"service-defaults","Name":"web","Bogus":1})");
  EXPECT_EQ(unknown.code, kExitError);
  EXPECT_EQ(unknown.err, "Failed to decode config entry input: Request decode failed: Bogus: unknown field\n");
  auto no_kind = run({"config", "read", "--name", "web"});
  EXPECT_EQ(no_kind.err, "Must specify the -kind parameter\n");
  auto no_name = run({"config", "delete", "--kind", "service-defaults"});
  EXPECT_EQ(no_name.err, "Must specify the -name parameter\n");
  auto cas = run({"config", "delete", "--kind", "service-defaults", "--name", "web", "--cas"});
  EXPECT_EQ(cas.err, "Must specify a -modify-index greater than 0 with -cas\n");
  auto missing = run({"config", "write", "/nonexistent/entry.json"});
  EXPECT_EQ(missing.code, kExitError);
  EXPECT_TRUE(seen_.empty());
}

TEST_F(CliConfig, ReadListAndDeleteUseTheirPaths) {
  reply_ = http::Response::json(R"({"Kind":"service-defaults","Name":"a/b","Protocol":"http","CreateIndex":1,"ModifyIndex":2})");
  auto read = run({"config", "read", "--kind", "service-defaults", "--name", "a/b"});
  EXPECT_EQ(read.code, kExitOk) << read.err;
  EXPECT_EQ(read.out,
            "{\n    \"Kind\": \"service-defaults\",\n    \"Name\": \"a/b\",\n    \"Protocol\": \"http\",\n"
            "    \"CreateIndex\": 1,\n    \"ModifyIndex\": 2\n}\n");
  reply_ = http::Response::json(R"([{"Kind":"service-defaults","Name":"api"},{"Kind":"service-defaults","Name":"web"}])");
  auto list = run({"config", "list", "--kind", "service-defaults"});
  EXPECT_EQ(list.out, "api\nweb\n");
  reply_ = http::Response::json("true");
  auto del = run({"config", "delete", "--kind", "service-defaults", "--name", "web", "--cas", "--modify-index", "4"});
  EXPECT_EQ(del.code, kExitOk) << del.err;
  EXPECT_EQ(del.out, "Config entry deleted: service-defaults/web\n");
  ASSERT_EQ(seen_.size(), 3u);
  EXPECT_EQ(seen_[0].target, "/v1/config/service-defaults/a/b");
  EXPECT_EQ(seen_[1].target, "/v1/config/service-defaults");
  EXPECT_EQ(seen_[2].method, "DELETE");
  EXPECT_EQ(seen_[2].target, "/v1/config/service-defaults/web?cas=4");
}

}  // namespace
}  // namespace cairn::cli
