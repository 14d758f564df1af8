// The TcpTransport test fixture: a transport per node on 127.0.0.1 (port 0),
// an Inbox recording what each was told, and a bounded wait. Shared by
// transport_test.cc and transport_snapshot_test.cc.
#pragma once

#include <gtest/gtest.h>

#include <boost/asio.hpp>
#include <array>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <fstream>
#include <mutex>
#include <thread>

#include "core/codec.h"
#include "core/io/stream.h"
#include "core/io/tls.h"
#include "raft/io/snapshot_file.h"
#include "raft/io/transport.h"
#include "test/support/process.h"
#include "test/support/raw_http.h"
#include "test/support/tls_certs.h"

namespace cairn::raft::transport_testing {


namespace asio = boost::asio;
using namespace std::chrono_literals;
using cairn::test::sends_and_gets_closed;

// Everything a transport told its handlers, waitable.
struct Inbox {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<Message> messages;
  int unreachable = 0;
  int snap_ok = 0, snap_failed = 0;

  TransportHandlers handlers() {
    return {[this](Message m) {
              std::lock_guard l(mu);
              messages.push_back(std::move(m));
              cv.notify_all();
            },
            [this](NodeId) {
              std::lock_guard l(mu);
              ++unreachable;
              cv.notify_all();
            },
            [this](NodeId, bool ok) {
              std::lock_guard l(mu);
              ++(ok ? snap_ok : snap_failed);
              cv.notify_all();
            }};
  }
  template <typename Pred>
  bool wait(Pred pred, std::chrono::seconds timeout = 10s) {
    std::unique_lock l(mu);
    return cv.wait_for(l, timeout, [&] { return pred(*this); });
  }
};

template <typename Pred>
bool eventually(Pred pred, std::chrono::seconds timeout = 10s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return false;
}

inline Message heartbeat(NodeId from, NodeId to, Term term) {
  Message m;
  m.type = MessageType::heartbeat;
  m.from = from;
  m.to = to;
  m.term = term;
  return m;
}

class TransportTest : public ::testing::Test {
 protected:
  void TearDown() override {
    for (auto& t : transports_) t->stop();
    work_.reset();
    io_.stop();
    if (runner_.joinable()) runner_.join();
  }
  std::shared_ptr<TcpTransport> make(NodeId id, std::map<NodeId, std::string> peers, Inbox* inbox,
                                     TcpTransportOptions o = {}) {
    o.id = id;
    o.peers = std::move(peers);
    auto t = TcpTransport::create(io_, o);
    EXPECT_TRUE(t.ok()) << t.error().message();
    (*t)->start(inbox->handlers());
    transports_.push_back(*t);
    if (!runner_.joinable()) runner_ = std::thread([this] { io_.run(); });
    return *t;
  }
  // Node 2, receiving snapshots into files in `dir`.
  std::shared_ptr<TcpTransport> file_receiver(const test::TempDir& dir, Inbox* inbox) {
    TcpTransportOptions o;
    o.snapshot_dir = dir.path();
    return make(2, {}, inbox, o);
  }
  static std::string addr(const std::shared_ptr<TcpTransport>& t) { return "127.0.0.1:" + std::to_string(t->port()); }


  // Owned by the fixture: transports call their handlers until TearDown joined the io thread.
  Inbox& inbox() { return inboxes_.emplace_back(); }

  std::deque<Inbox> inboxes_;
  asio::io_context io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_{io_.get_executor()};
  std::thread runner_;
  std::vector<std::shared_ptr<TcpTransport>> transports_;
};

// A snap message carrying `bytes` of image.
inline Message snapshot_message(NodeId from, NodeId to, size_t bytes) {
  Message m;
  m.type = MessageType::snap;
  m.from = from;
  m.to = to;
  m.term = 3;
  std::string data(bytes, '\0');
  for (size_t i = 0; i < bytes; ++i) data[i] = static_cast<char>('a' + i % 26);
  m.snapshot = Snapshot{{40, 3, ConfState{{1, 2}, {}}}, std::move(data)};
  return m;
}

}  // namespace cairn::raft::transport_testing
