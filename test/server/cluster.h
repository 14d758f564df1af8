// Servers in one process for deterministic tests: one io_context run by the
// test thread, Raft ticked by hand (tick_interval zero), an in-memory Raft
// network, a ManualScheduler for blocking-query timers, and deps.connect
// handing back the other Server object directly (no RPC).
#pragma once

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "api/server_tags.h"
#include "server/server.h"
#include "test/server/temp_dir.h"

namespace cairn::server::test {

namespace rpc = api::rpc;

class Cluster;

class FakeTransport final : public raft::Transport {
 public:
  FakeTransport(Cluster* c, raft::NodeId from) : cluster_(c), from_(from) {}
  void send(std::vector<raft::Message> messages) override;

 private:
  Cluster* cluster_;
  raft::NodeId from_;
};

struct Member {
  int n = 0;  // 1-based number: node "sN", address 10.0.0.N
  std::string dir;
  std::unique_ptr<FakeTransport> transport;
  std::shared_ptr<Server> server;
  raft::TransportHandlers handlers;
};

inline std::string node_id(int n) {
  char c = static_cast<char>('0' + n);
  std::string h(8, c);
  return h + "-" + std::string(4, c) + "-" + std::string(4, c) + "-" + std::string(4, c) + "-" + std::string(12, c);
}
inline raft::NodeId raft_id(int n) { return api::raft_id_of(node_id(n)); }
inline std::string rpc_addr(int n) { return "10.0.0." + std::to_string(n) + ":8300"; }

inline gossip::MemberInfo member_info(int n, int expect, const std::string& dc = "dc1") {
  gossip::MemberInfo m;
  m.name = "s" + std::to_string(n);
  m.addr = "10.0.0." + std::to_string(n) + ":8301";
  m.tags = {{"role", "consul"}, {"dc", dc}, {"id", node_id(n)}, {"port", "8300"}};
  if (expect > 0) m.tags["expect"] = std::to_string(expect);
  return m;
}

class Cluster {
 public:
  boost::asio::io_context io;
  ManualClock clock;
  ManualScheduler scheduler{clock};
  cairn::test::TempDir tmp;
  std::map<int, Member> members;
  std::set<int> isolated;
  std::vector<raft::Message> in_flight;

  ~Cluster() {
    for (auto& [n, m] : members)
      if (m.server) m.server->stop();
    pump();
    members.clear();
  }

  ServerOptions options(int n) {
    ServerOptions o;
    o.data_dir = tmp.sub("s" + std::to_string(n));
    o.node_name = "s" + std::to_string(n);
    o.node_id = node_id(n);
    o.datacenter = "dc1";
    o.rpc_address = rpc_addr(n);
    o.raft.tick_interval = Duration::zero();
    o.raft.persist_on_thread = false;
    o.raft.raft.check_invariants = true;
    o.snapshot_on_thread = false;  // deterministic: the image is built on the strand
    o.rpc_hold_timeout = Duration::zero();  // no-leader answers at once unless a test says otherwise
    return o;
  }

  // Starts server n (again, on the same data dir after a stop).
  Server& start(int n, ServerOptions o) {
    Member& m = members[n];
    m.n = n;
    m.transport = std::make_unique<FakeTransport>(this, raft_id(n));
    ServerDeps deps;
    deps.transport = m.transport.get();
    deps.set_peer_address = [](raft::NodeId, std::string) {};
    deps.connect = [this](const std::string& addr) -> std::shared_ptr<rpc::Handler> {
      for (auto& [k, mm] : members)
        if (mm.server && rpc_addr(k) == addr && !isolated.contains(k)) return mm.server;
      return nullptr;
    };
    deps.clock = &clock;
    deps.scheduler = &scheduler;
    auto s = Server::start(io, std::move(o), deps);
    EXPECT_TRUE(s.ok()) << s.error().message();
    if (!s.ok()) std::abort();
    m.server = *s;
    m.handlers = m.server->transport_handlers();
    pump();
    return *m.server;
  }
  Server& start(int n) { return start(n, options(n)); }
  // Starts servers `first`..`last` with bootstrap_expect `expect`; `tweak`
  // adjusts each one's options.
  void start_expecting(int first, int last, int expect, const std::function<void(ServerOptions&)>& tweak = {}) {
    for (int n = first; n <= last; ++n) {
      ServerOptions o = options(n);
      o.bootstrap_expect = expect;
      if (tweak) tweak(o);
      start(n, o);
    }
  }

  // Stops server n and forgets the object (its storage closes once the
  // driver has run its stop).
  void kill(int n) {
    Member& m = members.at(n);
    m.server->stop();
    pump();
    m.server.reset();
    m.handlers = {};
    pump();
  }

  Server& at(int n) { return *members.at(n).server; }

  void carry(std::vector<raft::Message> msgs) {
    for (auto& m : msgs) in_flight.push_back(std::move(m));
  }

  // Runs the io_context and delivers messages until quiet.
  void pump() {
    for (int round = 0; round < 1000; ++round) {
      io.restart();
      io.poll();
      if (in_flight.empty()) return;
      auto batch = std::move(in_flight);
      in_flight.clear();
      for (auto& msg : batch) {
        int from = number_of(msg.from), to = number_of(msg.to);
        if (from == 0 || to == 0 || isolated.contains(from) || isolated.contains(to)) continue;
        Member& dst = members.at(to);
        if (!dst.server) continue;
        bool snap = msg.type == raft::MessageType::snap;
        dst.handlers.on_message(std::move(msg));
        Member& src = members.at(from);
        if (snap && src.server) src.handlers.on_snapshot_status(raft_id(to), true);
      }
    }
  }

  void tick_all(int ticks = 1) {
    for (int i = 0; i < ticks; ++i) {
      for (auto& [n, m] : members)
        if (m.server) m.server->tick();
      pump();
    }
  }

  // Ticks until some server leads; its number, or 0.
  int elect(int max_ticks = 200) {
    for (int i = 0; i < max_ticks; ++i) {
      for (auto& [n, m] : members)
        if (m.server && !isolated.contains(n) && m.server->is_leader()) return n;
      tick_all(1);
    }
    return 0;
  }

  // Runs until `done` holds a value (ticking now and then), at most max_ticks ticks.
  template <typename T>
  std::optional<T> await(std::optional<T>& got, int max_ticks = 100) {
    pump();
    for (int i = 0; i < max_ticks && !got; ++i) tick_all(1);
    return got;
  }

  Result<rpc::WriteResponse> write(int on, rpc::Write w) {
    std::optional<Result<rpc::WriteResponse>> got;
    at(on).write({}, std::move(w), [&](Result<rpc::WriteResponse> r) { got.emplace(std::move(r)); });
    await(got);
    if (!got) return Error(errc::timeout, "test: write did not complete");
    return *got;
  }

  // Starts a query on server `on` and runs what it provoked; the answer
  // lands in the returned slot (blocking queries: later).
  using Answer = std::shared_ptr<std::optional<Result<rpc::QueryResponse>>>;
  Answer begin_query(int on, rpc::Query q, rpc::QueryOptions o = {}) {
    auto got = std::make_shared<std::optional<Result<rpc::QueryResponse>>>();
    at(on).query(o, std::move(q), [got](Result<rpc::QueryResponse> r) { got->emplace(std::move(r)); });
    pump();
    return got;
  }

  Result<rpc::QueryResponse> query(int on, rpc::Query q, rpc::QueryOptions o = {}) {
    Answer got = begin_query(on, std::move(q), o);
    await(*got);
    if (!*got) return Error(errc::timeout, "test: query did not complete");
    return **got;
  }

  void set_members_all(const std::vector<gossip::MemberInfo>& view) {
    for (auto& [n, m] : members)
      if (m.server) m.server->set_members(view);
    pump();
  }

  int number_of(raft::NodeId id) const {
    for (auto& [n, m] : members)
      if (raft_id(n) == id) return n;
    return 0;
  }
};

inline void FakeTransport::send(std::vector<raft::Message> messages) { cluster_->carry(std::move(messages)); }

// Helpers to build writes.
inline rpc::Write kv_set(std::string key, std::string value) {
  rpc::KvApply a;
  a.op = api::KvOp::set;
  a.entry.key = std::move(key);
  a.entry.value = std::move(value);
  return a;
}

inline rpc::Write register_node(std::string node, std::string address, std::string service = {}) {
  rpc::CatalogRegister r;
  r.request.node = std::move(node);
  r.request.address = std::move(address);
  if (!service.empty()) {
    api::NodeService s;
    s.id = service;
    s.service = service;
    s.port = 80;
    r.request.service = s;
  }
  return r;
}

// ?stale
inline rpc::QueryOptions stale() {
  rpc::QueryOptions o;
  o.consistency = rpc::Consistency::stale;
  return o;
}

// The value of `key` read on server `on` (nullopt when missing).
inline std::optional<std::string> kv_value(Cluster& c, int on, const std::string& key, rpc::QueryOptions o = {}) {
  auto r = c.query(on, rpc::KvGet{key}, o);
  EXPECT_TRUE(r.ok()) << r.error().message();
  if (!r.ok() || !rpc::value_of<rpc::KvGet>(*r)) return std::nullopt;
  return rpc::value_of<rpc::KvGet>(*r)->value;
}

}  // namespace cairn::server::test
