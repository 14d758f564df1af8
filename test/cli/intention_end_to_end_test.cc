// `cairn intention` end to end over real sockets: the CLI against the
// agent's real /v1/connect/intentions endpoints (agent/http/intentions.cc)
// on core/io/http_server, backed by an in-memory config-entry store that
// honours the contract's CAS (api/rpc.h ConfigEntryApply/Delete).
#include <gtest/gtest.h>

#include <map>
#include <mutex>

#include "agent/http/endpoints.h"
#include "api/intentions.h"
#include "api/rpc.h"
#include "test/cli/cli_harness.h"

namespace cairn::cli {
namespace {

using namespace api::rpc;

// Answers outside its lock: the endpoints write from inside a read's callback.
class MemoryConfigEntries : public Handler {
 public:
  void query(QueryOptions o, Query q, QueryCallback done) override { done(answer(o, std::move(q))); }
  void write(WriteOptions o, Write w, WriteCallback done) override { done(apply(o, std::move(w))); }

 private:
  Result<QueryResponse> answer(QueryOptions, Query q) {
    std::lock_guard lock(mu_);
    QueryResponse r;
    r.meta.index = index_;
    if (auto* get = std::get_if<ConfigEntryGet>(&q)) {
      auto it = entries_.find(get->name);
      r.value = make_value<ConfigEntryGet, QueryValue>(it == entries_.end() ? std::nullopt : std::optional(it->second));
    } else if (std::get_if<ConfigEntryList>(&q)) {
      std::vector<api::ConfigEntry> out;
      for (const auto& [name, e] : entries_) out.push_back(e);
      r.value = make_value<ConfigEntryList, QueryValue>(std::move(out));
    } else {
      return Error(errc::invalid_argument, "not in this fake");
    }
    return r;
  }

  Result<WriteResponse> apply(WriteOptions, Write w) {
    std::lock_guard lock(mu_);
    if (auto* apply = std::get_if<ConfigEntryApply>(&w)) {
      // The server checks the body again, as the real one does.
      auto norm = api::normalize_service_intentions(apply->entry.body);
      if (!norm.ok()) return norm.error();
      auto it = entries_.find(apply->entry.name);
      uint64_t current = it == entries_.end() ? 0 : it->second.modify_index;
      if (apply->cas && apply->cas_index != current)
        return WriteResponse{index_, make_value<ConfigEntryApply, WriteValue>(false)};
      api::ConfigEntry e = apply->entry;
      e.body = *norm;
      e.create_index = it == entries_.end() ? index_ + 1 : it->second.create_index;
      e.modify_index = ++index_;
      entries_[e.name] = e;
      return WriteResponse{index_, make_value<ConfigEntryApply, WriteValue>(true)};
    }
    if (auto* del = std::get_if<ConfigEntryDelete>(&w)) {
      auto it = entries_.find(del->name);
      uint64_t current = it == entries_.end() ? 0 : it->second.modify_index;
      if (del->cas && del->cas_index != current)
        return WriteResponse{index_, make_value<ConfigEntryDelete, WriteValue>(false)};
      if (it != entries_.end()) entries_.erase(it);
      ++index_;
      return WriteResponse{index_, make_value<ConfigEntryDelete, WriteValue>(true)};
    }
    return Error(errc::invalid_argument, "not in this fake");
  }

  std::mutex mu_;
  std::map<std::string, api::ConfigEntry> entries_;
  uint64_t index_ = 1;
};

class IntentionCli : public ::testing::Test {
 protected:
  void SetUp() override {
    config_.datacenter = "dc1";
    config_.acl_default_policy = "deny";
    agent::http::register_intentions(http.router, ctx_);
    http.start();
  }
  test::CliRun run(std::vector<std::string> args, size_t depth = 2) {
    return test::run_cli(std::move(args), depth, http.addr, {add_intention_command});
  }

  agent::Config config_;
  std::shared_ptr<MemoryConfigEntries> store_ = std::make_shared<MemoryConfigEntries>();
  agent::http::EndpointContext ctx_{config_, {}, nullptr, false, nullptr, {}, store_};
  test::HttpFixture http;
};

TEST_F(IntentionCli, CreateCheckMatchListGetDelete) {
  auto r = run({"intention", "create", "web", "db"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, "Created: web => db (allow)\n");
  r = run({"intention", "create", "--deny", "--description", "no", "*", "db"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, "Created: * => db (deny)\n");

  r = run({"intention", "check", "web", "db"});
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_EQ(r.out, "Allowed\n");
  r = run({"intention", "check", "api", "db"});
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.out, "Denied\n");
  r = run({"intention", "check", "api", "cache"});  // nothing matches: acl default deny
  EXPECT_EQ(r.code, 2);

  r = run({"intention", "match", "db"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, "web => db (allow)\n* => db (deny)\n");
  r = run({"intention", "match", "--source", "web"});  // "*" as the source applies to web too
  EXPECT_EQ(r.out, "web => db (allow)\n* => db (deny)\n");
  r = run({"intention", "match", "--source", "db"});
  EXPECT_EQ(r.out, "* => db (deny)\n");

  r = run({"intention", "list"}, 2);
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_NE(r.out.find("Precedence"), std::string::npos);
  EXPECT_NE(r.out.find("web"), std::string::npos);

  r = run({"intention", "get", "web", "db"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_NE(r.out.find("Source:"), std::string::npos);
  EXPECT_NE(r.out.find("allow"), std::string::npos);
  // The legacy create stored an ID; get by ID finds the same intention.
  auto id_line = r.out.find("ID:");
  ASSERT_NE(id_line, std::string::npos);
  std::string id = r.out.substr(r.out.find_first_not_of(' ', id_line + 3), 36);
  r = run({"intention", "get", id});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_NE(r.out.find("Destination:  db"), std::string::npos) << r.out;

  r = run({"intention", "delete", "web", "db"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, "Intention deleted.\n");
  r = run({"intention", "check", "web", "db"});
  EXPECT_EQ(r.code, 2);  // now the * => db deny decides
  r = run({"intention", "delete", "*", "db"});
  EXPECT_EQ(r.code, kExitOk);
  r = run({"intention", "list"});
  EXPECT_EQ(r.out, "There are no intentions.\n");
}

TEST_F(IntentionCli, DuplicateCreateFailsUnlessReplaced) {
  ASSERT_EQ(run({"intention", "create", "web", "db"}).code, kExitOk);
  auto r = run({"intention", "create", "--deny", "web", "db"});
  EXPECT_EQ(r.code, kExitError);
  EXPECT_NE(r.err.find("duplicate intention found"), std::string::npos) << r.err;
  r = run({"intention", "create", "--deny", "--replace", "web", "db"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  r = run({"intention", "check", "web", "db"});
  EXPECT_EQ(r.code, 2);
}

TEST_F(IntentionCli, BadInputExitsOne) {
  auto r = run({"intention", "create", "web"});
  EXPECT_EQ(r.code, kExitError);
  r = run({"intention", "check", "web"});
  EXPECT_EQ(r.code, kExitError);
  r = run({"intention", "get", "nope"});
  EXPECT_EQ(r.code, kExitError);
  EXPECT_NE(r.err.find("Intention not found"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace cairn::cli
