// The shared fixture of server_rpc_test (rpc_test.cc: RPC and the mux;
// rpc_tls_test.cc: TLS on port 8300): real sockets on 127.0.0.1 (port 0),
// RpcListener + RpcServer against a fake Handler, RpcClient calling it.
// Waits are on futures and condition variables with a generous bound.
#pragma once

#include <gtest/gtest.h>

#include <boost/asio.hpp>
#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <thread>

#include "api/io/rpc_client.h"
#include "api/rpc_codec.h"
#include "core/io/tls.h"
#include "raft/io/transport.h"
#include "server/rpc/listener.h"
#include "test/support/raw_http.h"
#include "test/support/tls_certs.h"

namespace cairn::server::rpc {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using cairn::test::sends_and_gets_closed;
using api::KvOp;
using api::KVPair;
using api::rpc::QueryOptions;
using api::rpc::QueryResponse;
using api::rpc::WriteResponse;
namespace r = api::rpc;

// Answers KvGet at once with the key as value, parks KvGet "park/..." until
// released, drops the callback of KvGet "drop", answers KvApply true at index
// 7 and SessionRenew "unknown" with Consul's not-found error.
class FakeHandler : public r::Handler {
 public:
  void query(QueryOptions options, r::Query query, r::QueryCallback done) override {
    std::unique_lock lock(mu_);
    ++queries_;
    last_options_ = options;
    auto* get = std::get_if<r::KvGet>(&query);
    if (!get) {
      lock.unlock();
      return done(Error(errc::invalid_argument, "fake: only KvGet"));
    }
    if (get->key.starts_with("park")) {
      parked_.emplace_back(get->key, std::move(done));
      cv_.notify_all();
      return;
    }
    lock.unlock();
    if (get->key == "drop") return;  // the callback dies unanswered
    done(answer(get->key));
  }
  void write(r::WriteOptions options, r::Write write, r::WriteCallback done) override {
    std::unique_lock lock(mu_);
    ++writes_;
    last_write_token_ = options.token;
    if (auto* renew = std::get_if<r::SessionRenew>(&write); renew && renew->id == "unknown") {
      lock.unlock();
      return done(Error(errc::not_found, "Session id 'unknown' not found"));
    }
    if (auto* apply = std::get_if<r::KvApply>(&write); apply && apply->entry.key.starts_with("park")) {
      parked_writes_.push_back(std::move(done));
      cv_.notify_all();
      return;
    }
    lock.unlock();
    done(WriteResponse{7, r::make_value<r::KvApply, r::WriteValue>(true)});
  }

  static QueryResponse answer(const std::string& key) {
    KVPair kv;
    kv.key = key;
    kv.value = key;
    return QueryResponse{{42, 0ms, true}, r::make_value<r::KvGet, r::QueryValue>(kv)};
  }
  bool wait_parked(size_t n, size_t writes = 0) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, 10s, [&] { return parked_.size() >= n && parked_writes_.size() >= writes; });
  }
  // Answers the parked queries, last parked first.
  void release_reversed() {
    std::vector<std::pair<std::string, r::QueryCallback>> p;
    {
      std::lock_guard lock(mu_);
      p.swap(parked_);
    }
    for (auto it = p.rbegin(); it != p.rend(); ++it) it->second(answer(it->first));
  }
  int queries() {
    std::lock_guard lock(mu_);
    return queries_;
  }
  int writes() {
    std::lock_guard lock(mu_);
    return writes_;
  }
  QueryOptions last_options() {
    std::lock_guard lock(mu_);
    return last_options_;
  }
  std::string last_write_token() {
    std::lock_guard lock(mu_);
    return last_write_token_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int queries_ = 0, writes_ = 0;
  QueryOptions last_options_;
  std::string last_write_token_;
  std::vector<std::pair<std::string, r::QueryCallback>> parked_;
  std::vector<r::WriteCallback> parked_writes_;
};

template <typename T>
struct Pending {
  std::shared_ptr<std::promise<Result<T>>> promise = std::make_shared<std::promise<Result<T>>>();
  std::future<Result<T>> future = promise->get_future();
  std::function<void(Result<T>)> callback() {
    return [p = promise](Result<T> r) { p->set_value(std::move(r)); };
  }
  bool ready(std::chrono::seconds within = 10s) { return future.wait_for(within) == std::future_status::ready; }
  Result<T> get() {
    if (!ready()) return Error(errc::timeout, "test: no answer within 10 s");
    return future.get();
  }
};

Pending<QueryResponse> get_async(r::Handler& h, std::string key, QueryOptions o = {}) {
  Pending<QueryResponse> p;
  h.query(std::move(o), r::KvGet{std::move(key)}, p.callback());
  return p;
}
Result<QueryResponse> get(r::Handler& h, std::string key, QueryOptions o = {}) {
  return get_async(h, std::move(key), std::move(o)).get();
}
Pending<WriteResponse> apply_async(r::Handler& h, std::string key) {
  Pending<WriteResponse> p;
  KVPair kv;
  kv.key = std::move(key);
  h.write(r::WriteOptions{"w-token"}, r::KvApply{KvOp::set, kv}, p.callback());
  return p;
}

std::string value_of(const Result<QueryResponse>& r) {
  if (!r.ok()) return "error: " + r.error().message();
  const auto& v = r::value_of<r::KvGet>(*r);
  return v && v->value ? *v->value : "none";
}

class RpcTest : public ::testing::Test {
 protected:
  void TearDown() override {
    clients_.clear();
    for (auto& l : listeners_) l->stop();
    for (auto& t : transports_) t->stop();
    work_.reset();
    io_.stop();
    for (auto& t : threads_) t.join();
  }
  void run() {
    if (threads_.empty()) {
      for (int i = 0; i < 2; ++i) threads_.emplace_back([this] { io_.run(); });
    }
  }
  RpcListener& listen(FakeHandler& h, RpcListenerOptions o = {}, RpcListener::RaftTaker raft = {}) {
    o.listen = "127.0.0.1:0";
    auto l = RpcListener::create(io_, o);
    EXPECT_TRUE(l.ok()) << l.error().message();
    (*l)->start(h, std::move(raft));
    listeners_.push_back(std::move(l).value());
    run();
    return *listeners_.back();
  }
  static std::string addr(const RpcListener& l) { return "127.0.0.1:" + std::to_string(l.port()); }
  api::RpcClient& client(std::vector<std::string> servers, api::RpcClientOptions o = {}) {
    clients_.push_back(std::make_unique<api::RpcClient>(io_, [servers] { return servers; }, o));
    run();
    return *clients_.back();
  }
  // An address nothing listens on: bound, then closed.
  std::string dead_address() {
    asio::ip::tcp::acceptor a(io_, {asio::ip::make_address("127.0.0.1"), 0});
    auto port = a.local_endpoint().port();
    a.close();
    return "127.0.0.1:" + std::to_string(port);
  }

  asio::io_context io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_{io_.get_executor()};
  std::vector<std::thread> threads_;
  // Handlers outlive the listeners and clients that call them (declared first, destroyed last).
  std::deque<FakeHandler> handlers_;
  std::vector<std::unique_ptr<RpcListener>> listeners_;
  std::vector<std::shared_ptr<raft::TcpTransport>> transports_;
  std::vector<std::unique_ptr<api::RpcClient>> clients_;
};


// Raft inbox for the mux test.
struct Inbox {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<raft::Message> messages;
  raft::TransportHandlers handlers() {
    return {[this](raft::Message m) {
              std::lock_guard l(mu);
              messages.push_back(std::move(m));
              cv.notify_all();
            },
            [](raft::NodeId) {}, [](raft::NodeId, bool) {}};
  }
  bool wait(size_t n) {
    std::unique_lock l(mu);
    return cv.wait_for(l, 10s, [&] { return messages.size() >= n; });
  }
};

}  // namespace
}  // namespace cairn::server::rpc
