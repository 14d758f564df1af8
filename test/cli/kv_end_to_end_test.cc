// `cairn kv` end to end over real sockets: the CLI commands against the
// agent's real /v1/kv endpoints (agent/http/kv.cc) on core/io/http_server,
// backed by a small in-memory api::rpc::Handler.
#include <gtest/gtest.h>

#include <map>
#include <mutex>

#include "agent/http/endpoints.h"
#include "api/rpc.h"
#include "test/cli/cli_harness.h"

namespace cairn::cli {
namespace {

using namespace std::chrono_literals;
using namespace api::rpc;

// The KV part of the contract in memory: set/cas/delete/delete-tree with a
// Raft-like index, enough for the CLI's round trips.
class MemoryKv : public Handler {
 public:
  void query(QueryOptions, Query q, QueryCallback done) override {
    std::lock_guard lock(mu_);
    QueryResponse r;
    r.meta.index = index_;
    if (auto* get = std::get_if<KvGet>(&q)) {
      auto it = kv_.find(get->key);
      r.value = make_value<KvGet, QueryValue>(it == kv_.end() ? std::nullopt : std::optional(it->second));
    } else if (auto* list = std::get_if<KvList>(&q)) {
      std::vector<api::KVPair> out;
      for (auto it = kv_.lower_bound(list->prefix); it != kv_.end() && it->first.starts_with(list->prefix); ++it)
        out.push_back(it->second);
      r.value = make_value<KvList, QueryValue>(std::move(out));
    } else if (auto* keys = std::get_if<KvKeys>(&q)) {
      std::vector<std::string> out;
      for (auto it = kv_.lower_bound(keys->prefix); it != kv_.end() && it->first.starts_with(keys->prefix); ++it)
        out.push_back(it->first);
      r.value = make_value<KvKeys, QueryValue>(std::move(out));
    } else {
      return done(Error(errc::invalid_argument, "not in this fake"));
    }
    done(std::move(r));
  }

  void write(WriteOptions, Write w, WriteCallback done) override {
    std::lock_guard lock(mu_);
    auto* apply = std::get_if<KvApply>(&w);
    if (apply == nullptr) return done(Error(errc::invalid_argument, "not in this fake"));
    const auto& e = apply->entry;
    auto it = kv_.find(e.key);
    bool ok = true;
    switch (apply->op) {
      case api::KvOp::cas:
        ok = e.raft.modify_index == 0 ? it == kv_.end() : it != kv_.end() && it->second.raft.modify_index == e.raft.modify_index;
        [[fallthrough]];
      case api::KvOp::set:
        if (ok) {
          api::KVPair kv = e;
          kv.raft.create_index = it == kv_.end() ? index_ + 1 : it->second.raft.create_index;
          kv.raft.modify_index = ++index_;
          kv_[e.key] = kv;
        }
        break;
      case api::KvOp::delete_key:
        kv_.erase(e.key);
        ++index_;
        break;
      case api::KvOp::delete_tree:
        std::erase_if(kv_, [&](const auto& p) { return p.first.starts_with(e.key); });
        ++index_;
        break;
      default:
        return done(Error(errc::invalid_argument, "not in this fake"));
    }
    done(WriteResponse{index_, make_value<KvApply, WriteValue>(ok)});
  }

 private:
  std::mutex mu_;
  std::map<std::string, api::KVPair> kv_;
  uint64_t index_ = 1;
};

class KvEndToEnd : public ::testing::Test {
 protected:
  void SetUp() override {
    config_.datacenter = "dc1";
    config_.node_name = "node-a";
    agent::http::register_kv(http_.router, ctx_);
    http_.start();
  }

  test::CliRun run(std::vector<std::string> args) { return test::run_cli(std::move(args), 2, http_.addr); }

  agent::Config config_;
  std::shared_ptr<MemoryKv> kv_ = std::make_shared<MemoryKv>();
  agent::http::EndpointContext ctx_{config_, {}, nullptr, false, nullptr, {}, kv_};
  test::HttpFixture http_;  // last: stopped first, while the handler still lives
};

TEST_F(KvEndToEnd, PutGetCasDeleteRoundTrip) {
  auto r = run({"kv", "put", "--flags", "5", "app/config/port", "8080"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, "Success! Data written to: app/config/port\n");

  r = run({"kv", "get", "app/config/port"});
  EXPECT_EQ(r.out, "8080\n");
  r = run({"kv", "get", "--detailed", "app/config/port"});
  EXPECT_NE(r.out.find("Flags            5\n"), std::string::npos);
  EXPECT_NE(r.out.find("ModifyIndex      2\n"), std::string::npos);

  // A stale index loses the CAS; the current one wins.
  r = run({"kv", "put", "--cas", "--modify-index", "1", "app/config/port", "9090"});
  EXPECT_EQ(r.code, kExitError);
  EXPECT_EQ(r.err, "Error! Did not write to app/config/port: CAS failed\n");
  r = run({"kv", "put", "--cas", "--modify-index", "2", "app/config/port", "9090"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(run({"kv", "get", "app/config/port"}).out, "9090\n");

  run({"kv", "put", "app/name", "web"});
  r = run({"kv", "get", "--recurse", "app/"});
  EXPECT_EQ(r.out, "app/config/port:9090\napp/name:web\n");
  r = run({"kv", "get", "--keys", "app/"});
  EXPECT_EQ(r.out, "app/config/port\napp/name\n");

  r = run({"kv", "delete", "--recurse", "app/"});
  EXPECT_EQ(r.out, "Success! Deleted keys with prefix: app/\n");
  r = run({"kv", "get", "app/name"});
  EXPECT_EQ(r.code, kExitError);
  EXPECT_EQ(r.err, "Error! No key exists at: app/name\n");
}

TEST_F(KvEndToEnd, ExportThenImportRestoresTheTree) {
  run({"kv", "put", "--flags", "7", "cfg/a", "alpha"});
  run({"kv", "put", "cfg/b", "beta"});
  auto exported = run({"kv", "export", "cfg/"});
  ASSERT_EQ(exported.code, kExitOk) << exported.err;
  run({"kv", "delete", "--recurse", "cfg/"});
  EXPECT_EQ(run({"kv", "get", "--recurse", "cfg/"}).out, "");
  auto r = run({"kv", "import", exported.out});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, "Imported: cfg/a\nImported: cfg/b\n");
  EXPECT_EQ(run({"kv", "get", "--recurse", "cfg/"}).out, "cfg/a:alpha\ncfg/b:beta\n");
  EXPECT_NE(run({"kv", "get", "--detailed", "cfg/a"}).out.find("Flags            7\n"), std::string::npos);
}

TEST_F(KvEndToEnd, KeysWithReservedCharactersSurviveTheWire) {
  auto r = run({"kv", "put", "odd/a b%c?d", "v"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(run({"kv", "get", "--keys", "odd/"}).out, "odd/a b%c?d\n");
  EXPECT_EQ(run({"kv", "get", "odd/a b%c?d"}).out, "v\n");
}

}  // namespace
}  // namespace cairn::cli
