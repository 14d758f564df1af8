// A state store in a fresh temp dir, with a Raft index counter and
// shorthands for the common writes.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "server/state/store.h"
#include "test/server/temp_dir.h"

namespace cairn::server::state {

inline WallTime at_seconds(int64_t s) { return WallTime{std::chrono::seconds(s)}; }

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override { reopen(); }

  void reopen() {
    store_.reset();
    auto s = Store::open(dir_.sub("db"));
    ASSERT_TRUE(s.ok()) << s.error().message();
    store_ = std::move(*s);
  }

  uint64_t next() { return ++index_; }

  bool kv(KvOp op, const std::string& key, std::optional<std::string> value = std::nullopt,
          std::string session = {}, uint64_t cas = 0, WallTime now = at_seconds(1000)) {
    api::KVPair e;
    e.key = key;
    e.value = std::move(value);
    e.session = std::move(session);
    e.raft.modify_index = cas;
    auto r = store_->kv_apply(next(), op, e, now, touched_);
    EXPECT_TRUE(r.ok()) << r.error().message();
    return r.ok() && *r;
  }
  bool put(const std::string& key, const std::string& value) { return kv(KvOp::set, key, value); }

  api::RegisterRequest node_request(const std::string& node, const std::string& address = "10.0.0.1") {
    api::RegisterRequest req;
    req.node = node;
    req.address = address;
    req.datacenter = "dc1";
    return req;
  }
  Status register_req(const api::RegisterRequest& req, WallTime now = at_seconds(1000)) {
    return store_->catalog_register(next(), req, now, touched_);
  }
  void register_node(const std::string& node) { ASSERT_TRUE(register_req(node_request(node)).ok()); }
  void register_service(const std::string& node, const std::string& name, const std::string& id,
                        std::vector<std::string> tags = {}) {
    auto req = node_request(node);
    req.service.emplace();
    req.service->service = name;
    req.service->id = id;
    req.service->tags = std::move(tags);
    req.service->port = 8080;
    auto st = register_req(req);
    ASSERT_TRUE(st.ok()) << st.error().message();
  }
  void register_check(const std::string& node, const std::string& check_id, const std::string& status,
                      const std::string& service_id = {}) {
    auto req = node_request(node);
    api::HealthCheck c;
    c.check_id = check_id;
    c.name = check_id;
    c.status = status;
    c.service_id = service_id;
    req.checks.push_back(c);
    auto st = register_req(req);
    ASSERT_TRUE(st.ok()) << st.error().message();
  }
  // A node with a passing serfHealth check, ready to hold sessions.
  void register_agent_node(const std::string& node) { register_check(node, "serfHealth", "passing"); }

  std::string create_session(const std::string& id, const std::string& node,
                             const std::string& behavior = "release", Duration lock_delay = std::chrono::seconds(15)) {
    api::Session s = api::Session{};
    s.id = id;
    s.node = node;
    s.node_checks = {"serfHealth"};
    s.behavior = behavior;
    s.lock_delay = lock_delay;
    auto r = store_->session_create(next(), s, touched_);
    EXPECT_TRUE(r.ok()) << r.error().message();
    return r.ok() ? *r : std::string();
  }

  test::TempDir dir_;
  std::unique_ptr<Store> store_;
  uint64_t index_ = 0;
  TouchSet touched_;
};

}  // namespace cairn::server::state
