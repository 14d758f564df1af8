// The deterministic RaftDriver test bed shared by driver_test.cc and
// driver_membership_test.cc: drivers on one io_context run by the test
// thread, ticked by hand (tick_interval zero), talking through an in-memory
// network that checks the driver's ordering rule on every message it carries
// (persist before send, §5 Figure 2).
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <set>

#include "core/codec.h"
#include "raft/errc.h"
#include "raft/io/driver.h"
#include "raft/io/rocks_storage.h"

namespace cairn::raft::driver_test {

namespace fs = std::filesystem;

// Applies "key=value" entries into a map; snapshot = the map serialized.
class MapApp final : public Application {
 public:
  void apply(const Entry& e) override {
    auto eq = e.data.find('=');
    kv[e.data.substr(0, eq)] = e.data.substr(eq + 1);
    applied.push_back(e.index);
  }
  std::string snapshot() override {
    std::string out;
    ByteWriter w(&out);
    w.varint(kv.size());
    for (auto& [k, v] : kv) {
      w.bytes(k);
      w.bytes(v);
    }
    return out;
  }
  Status restore(const Snapshot& s) override {
    kv.clear();
    ++restores;
    if (s.data.empty()) return {};
    ByteReader r(s.data);
    uint64_t n = r.varint();
    for (uint64_t i = 0; i < n && r.ok(); ++i) {
      std::string k(r.bytes());
      kv[k] = std::string(r.bytes());
    }
    return r.ok() ? Status{} : Status(Error(cairn::errc::parse_error, "bad snapshot"));
  }
  // With async_snapshots the image is captured when asked (as of `at`) and
  // handed back only when the test calls finish(), as a checkpoint read on
  // another thread would be.
  bool snapshot_async(Index at, std::function<void(Result<std::string>)> done) override {
    if (!async_snapshots) return false;
    images.push_back({at, snapshot(), std::move(done)});
    return true;
  }
  void finish(size_t i, bool ok = true) {
    auto done = std::move(images.at(i).done);
    if (ok) {
      done(images.at(i).data);
    } else {
      done(Error(cairn::errc::io_error, "checkpoint failed"));
    }
  }
  std::map<std::string, std::string> kv;
  std::vector<Index> applied;
  int restores = 0;
  bool async_snapshots = false;
  struct Image {
    Index at;
    std::string data;
    std::function<void(Result<std::string>)> done;
  };
  std::vector<Image> images;
};

class Net;

class FakeTransport final : public Transport {
 public:
  FakeTransport(Net* net, NodeId from) : net_(net), from_(from) {}
  void send(std::vector<Message> messages) override;

 private:
  Net* net_;
  NodeId from_;
};

struct Member {
  std::unique_ptr<LogStorage> storage;
  std::unique_ptr<FakeTransport> transport;
  MapApp app;
  std::shared_ptr<RaftDriver> driver;
};

class Net {
 public:
  std::map<NodeId, Member*> members;
  std::vector<Message> in_flight;
  std::set<NodeId> isolated;
  int order_violations = 0;
  int early_appends = 0;  // a leader's appends that left before its own fsync (thesis §10.2.1)
  std::vector<Message> carried;  // everything ever sent, for assertions

  void carry(NodeId from, std::vector<Message> msgs) {
    LogStorage& s = *members.at(from)->storage;
    for (auto& m : msgs) {
      // The ordering rule: what a message claims is already durable. A
      // leader's append claims nothing about its own disk (§10.2.1), but its
      // term must be durable.
      if (!m.entries.empty() && s.last_index() < m.entries.back().index) {
        if (m.type == MessageType::app) ++early_appends;
        else ++order_violations;
      }
      bool future_term = m.type == MessageType::pre_vote || m.type == MessageType::pre_vote_resp;
      if (!future_term && m.term > s.initial_state()->hard_state.term) ++order_violations;
      if (m.type == MessageType::vote_resp && !m.reject && s.initial_state()->hard_state.vote != m.to) ++order_violations;
      carried.push_back(m);
      in_flight.push_back(std::move(m));
    }
  }
  // Delivers everything in flight (and what it provokes) until quiet.
  void pump(boost::asio::io_context& io) {
    for (int round = 0; round < 1000; ++round) {
      io.restart();
      io.poll();
      if (in_flight.empty()) return;
      auto batch = std::move(in_flight);
      in_flight.clear();
      for (auto& m : batch) {
        if (isolated.contains(m.from) || isolated.contains(m.to) || !members.contains(m.to)) continue;
        bool snap = m.type == MessageType::snap;
        NodeId from = m.from, to = m.to;
        members.at(to)->driver->receive(std::move(m));
        if (snap) members.at(from)->driver->report_snapshot(to, true);
      }
    }
  }
};

inline void FakeTransport::send(std::vector<Message> messages) { net_->carry(from_, std::move(messages)); }

class DriverTest : public ::testing::Test {
 protected:
  // A driver for node `id` with the default raft config (keeping o's read option).
  void start(NodeId id, std::unique_ptr<LogStorage> storage, DriverOptions o = {}) {
    ReadOnlyOption reads = o.raft.read_only_option;
    o.raft = Config::defaults(id);
    o.raft.read_only_option = reads;
    o.raft.check_invariants = true;
    launch(id, std::move(storage), o);
  }
  // Starts a driver with o.raft exactly as given.
  void launch(NodeId id, std::unique_ptr<LogStorage> storage, DriverOptions o) {
    auto m = std::make_unique<Member>();
    m->storage = std::move(storage);
    m->transport = std::make_unique<FakeTransport>(&net_, id);
    o.tick_interval = Duration::zero();
    o.persist_on_thread = false;
    auto d = RaftDriver::start(io_, o, m->storage.get(), m->transport.get(), &m->app);
    ASSERT_TRUE(d.ok()) << d.error().message();
    m->driver = *d;
    net_.members[id] = m.get();
    members_[id] = std::move(m);
  }
  void start_cluster(DriverOptions o = {}) {
    for (NodeId id : {1, 2, 3}) start(id, std::make_unique<MemoryStorage>(ConfState{{1, 2, 3}, {}}), o);
  }
  void tick_all(int n) {
    for (int i = 0; i < n; ++i) {
      for (auto& [id, m] : members_) m->driver->tick();
      net_.pump(io_);
    }
  }
  NodeId elect() {
    for (int i = 0; i < 100; ++i) {
      tick_all(1);
      for (auto& [id, m] : members_)
        if (m->driver->status().state == StateType::leader) return id;
    }
    return kNoNode;
  }
  // Issues a request through `call`, then pumps and ticks until it completes.
  Completion await(const std::function<void(CompletionCallback)>& call, int max_ticks = 50) {
    std::optional<Completion> got;
    call([&](Completion c) { got = c; });
    for (int i = 0; i < max_ticks && !got; ++i) {
      net_.pump(io_);
      if (!got) tick_all(1);
    }
    EXPECT_TRUE(got.has_value());
    return got.value_or(Completion{Error(cairn::errc::timeout), 0, 0});
  }
  // Writes k0=0 … k<n-1>=<n-1> through `leader`; true if every write was applied.
  bool write_numbered(NodeId leader, int n) {
    for (int i = 0; i < n; ++i) {
      Completion c = propose(leader, "k" + std::to_string(i) + "=" + std::to_string(i));
      if (!c.status.ok()) return false;
    }
    return true;
  }
  Completion propose(NodeId on, std::string data) {
    return await([&](CompletionCallback cb) { members_.at(on)->driver->propose(std::move(data), std::move(cb)); });
  }

  boost::asio::io_context io_;
  Net net_;
  std::map<NodeId, std::unique_ptr<Member>> members_;
};

inline std::string fresh_dir() {
  static int n = 0;
  auto p = fs::temp_directory_path() / ("raft-driver-test-" + std::to_string(::getpid()) + "-" + std::to_string(n++));
  fs::remove_all(p);
  return p.string();
}

}  // namespace cairn::raft::driver_test
