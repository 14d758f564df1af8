// Port 8300 end to end over real sockets on 127.0.0.1 (port 0): RpcListener
// + RpcServer against a fake Handler, RpcClient calling it, raw sockets for
// bad input, Raft frames through the mux into a TcpTransport, and TLS
// (0x04, certificates made at test time by test/support/tls_certs.h). Waits are
// on futures and condition variables with a generous bound; nothing sleeps.
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

TEST_F(RpcTest, QueryIsAnsweredWithItsMetaAndValueAndOptionsArrive) {
  auto& h = handlers_.emplace_back();
  auto& l = listen(h);
  auto& c = client({addr(l)});
  QueryOptions o{3, 2s, r::Consistency::consistent, "secret"};
  auto res = get(c, "a/b", o);
  ASSERT_TRUE(res.ok()) << res.error().message();
  EXPECT_EQ(res->meta.index, 42u);
  EXPECT_TRUE(res->meta.known_leader);
  EXPECT_EQ(value_of(res), "a/b");
  auto seen = h.last_options();
  EXPECT_EQ(seen.min_index, 3u);
  EXPECT_EQ(seen.max_wait, 2s);
  EXPECT_EQ(seen.consistency, r::Consistency::consistent);
  EXPECT_EQ(seen.token, "secret");
}

TEST_F(RpcTest, WriteIsAnsweredWithItsIndexAndValue) {
  auto& h = handlers_.emplace_back();
  auto& c = client({addr(listen(h))});
  auto res = apply_async(c, "k").get();
  ASSERT_TRUE(res.ok()) << res.error().message();
  EXPECT_EQ(res->index, 7u);
  EXPECT_TRUE(r::value_of<r::KvApply>(*res));
  EXPECT_EQ(h.last_write_token(), "w-token");
}

TEST_F(RpcTest, ErrorsArriveWithTheirCodeAndDetail) {
  auto& h = handlers_.emplace_back();
  auto& c = client({addr(listen(h))});
  Pending<WriteResponse> renew;
  c.write({}, r::SessionRenew{"unknown"}, renew.callback());
  auto res = renew.get();
  ASSERT_FALSE(res.ok());
  EXPECT_TRUE(res.error().is(errc::not_found));
  EXPECT_EQ(res.error().detail(), "Session id 'unknown' not found");

  Pending<QueryResponse> other;
  c.query({}, r::CatalogNodes{}, other.callback());
  auto q = other.get();
  ASSERT_FALSE(q.ok());
  EXPECT_TRUE(q.error().is(errc::invalid_argument));
  EXPECT_EQ(q.error().detail(), "fake: only KvGet");
}

TEST_F(RpcTest, ManyConcurrentRequestsOnOneConnectionAreAnsweredOutOfOrder) {
  auto& h = handlers_.emplace_back();
  auto& l = listen(h);
  auto& c = client({addr(l)});
  constexpr int kCalls = 200;
  std::vector<Pending<QueryResponse>> calls;
  for (int i = 0; i < kCalls; ++i) calls.push_back(get_async(c, "park/" + std::to_string(i)));
  ASSERT_TRUE(h.wait_parked(kCalls));
  h.release_reversed();
  for (int i = 0; i < kCalls; ++i) EXPECT_EQ(value_of(calls[i].get()), "park/" + std::to_string(i));
  EXPECT_EQ(l.counters().rpc_connections, 1u);
  EXPECT_EQ(l.counters().responses, static_cast<uint64_t>(kCalls));
}

TEST_F(RpcTest, ABlockingRequestDoesNotDelayAFastOne) {
  auto& h = handlers_.emplace_back();
  auto& c = client({addr(listen(h))});
  auto slow = get_async(c, "park/slow", QueryOptions{5, 10min, r::Consistency::leader, "", ""});
  ASSERT_TRUE(h.wait_parked(1));
  EXPECT_EQ(value_of(get(c, "fast")), "fast");
  EXPECT_FALSE(slow.ready(0s));
  h.release_reversed();
  EXPECT_EQ(value_of(slow.get()), "park/slow");
}

TEST_F(RpcTest, NoKnownServersIsUnavailable) {
  auto& c = client({});
  auto res = get(c, "a");
  ASSERT_FALSE(res.ok());
  EXPECT_TRUE(res.error().is(errc::unavailable));
  EXPECT_EQ(res.error().detail(), "No known Consul servers");
}

TEST_F(RpcTest, FailsOverFromADeadAddressToALiveOne) {
  auto& h = handlers_.emplace_back();
  auto& l = listen(h);
  auto& c = client({dead_address(), addr(l)});
  EXPECT_EQ(value_of(get(c, "a")), "a");
  EXPECT_EQ(value_of(get(c, "b")), "b");  // sticks to the live one
  EXPECT_EQ(c.counters().connect_failures, 1u);
  EXPECT_EQ(c.counters().failovers, 1u);
  EXPECT_EQ(c.counters().connects, 1u);
}

TEST_F(RpcTest, AllServersDeadIsUnavailableNamingTheFailure) {
  auto& c = client({dead_address(), dead_address()});
  auto res = get(c, "a");
  ASSERT_FALSE(res.ok());
  EXPECT_TRUE(res.error().is(errc::unavailable));
  EXPECT_TRUE(res.error().detail().starts_with("rpc error: failed to connect to")) << res.error().detail();
}

TEST_F(RpcTest, AWrittenWriteIsNotRetriedButAQueryIsWhenTheConnectionBreaks) {
  auto& first = handlers_.emplace_back();
  auto& second = handlers_.emplace_back();
  auto& l1 = listen(first);
  auto& l2 = listen(second);
  auto& c = client({addr(l1), addr(l2)});
  auto w = apply_async(c, "park/w");
  auto q = get_async(c, "park/q");
  ASSERT_TRUE(first.wait_parked(1, 1));
  l1.stop();  // no grace: the connection closes under both
  auto wr = w.get();
  ASSERT_FALSE(wr.ok());
  EXPECT_TRUE(wr.error().is(errc::unavailable));
  EXPECT_TRUE(wr.error().detail().starts_with("rpc error: ")) << wr.error().detail();
  // The query moved to the second server, which parks it too.
  ASSERT_TRUE(second.wait_parked(1));
  second.release_reversed();
  EXPECT_EQ(value_of(q.get()), "park/q");
  EXPECT_EQ(second.writes(), 0);
}

TEST_F(RpcTest, AForwardingClientTalksToOneAddress) {
  auto& h = handlers_.emplace_back();
  auto& l = listen(h);
  auto leader = api::RpcClient::to(io_, addr(l));
  EXPECT_TRUE(apply_async(*leader, "k").get().ok());
  auto dead = api::RpcClient::to(io_, dead_address());
  auto res = apply_async(*dead, "k").get();
  ASSERT_FALSE(res.ok());
  EXPECT_TRUE(res.error().is(errc::unavailable));
}

TEST_F(RpcTest, ACallbackDroppedUnansweredBecomesAnInternalError) {
  auto& h = handlers_.emplace_back();
  auto& c = client({addr(listen(h))});
  auto res = get(c, "drop");
  ASSERT_FALSE(res.ok());
  EXPECT_TRUE(res.error().is(errc::internal));
  EXPECT_EQ(value_of(get(c, "after")), "after");  // the connection is still good
}

TEST_F(RpcTest, RequestsOverTheInFlightCapAreAnsweredUnavailable) {
  auto& h = handlers_.emplace_back();
  RpcListenerOptions o;
  o.max_in_flight = 2;
  auto& l = listen(h, o);
  auto& c = client({addr(l)});
  auto a = get_async(c, "park/a");
  auto b = get_async(c, "park/b");
  ASSERT_TRUE(h.wait_parked(2));
  auto res = get(c, "c");
  ASSERT_FALSE(res.ok());
  EXPECT_TRUE(res.error().is(errc::unavailable));
  EXPECT_EQ(l.counters().rejected_in_flight, 1u);
  h.release_reversed();
  EXPECT_EQ(value_of(a.get()), "park/a");
  EXPECT_EQ(value_of(b.get()), "park/b");
}

TEST_F(RpcTest, ClientTimesOutACallTheServerSitsOn) {
  auto& h = handlers_.emplace_back();
  api::RpcClientOptions o;
  o.call_timeout = 50ms;
  auto& c = client({addr(listen(h))}, o);
  auto res = get(c, "park/never");
  ASSERT_FALSE(res.ok());
  EXPECT_TRUE(res.error().is(errc::timeout));
  EXPECT_EQ(res.error().detail(), "rpc error: timeout");
  EXPECT_EQ(c.counters().timeouts, 1u);
  h.release_reversed();  // the late answer is dropped by the client
  EXPECT_EQ(value_of(get(c, "next")), "next");
}

TEST_F(RpcTest, GracefulStopAnswersRequestsInFlight) {
  auto& h = handlers_.emplace_back();
  auto& l = listen(h);
  auto& c = client({addr(l)});
  auto q = get_async(c, "park/q");
  ASSERT_TRUE(h.wait_parked(1));
  l.stop(30s);
  h.release_reversed();
  EXPECT_EQ(value_of(q.get()), "park/q");
  auto after = get(c, "late");  // the listener is gone
  ASSERT_FALSE(after.ok());
  EXPECT_TRUE(after.error().is(errc::unavailable));
}

TEST_F(RpcTest, OversizedFrameClosesTheConnection) {
  auto& h = handlers_.emplace_back();
  RpcListenerOptions o;
  o.max_frame_bytes = 1024;
  auto& l = listen(h, o);
  EXPECT_TRUE(sends_and_gets_closed(l.port(), std::string("\x00\x00\x00\x04\x01", 5)));
  EXPECT_EQ(l.counters().bad_frames, 1u);
  EXPECT_TRUE(sends_and_gets_closed(l.port(), std::string("\x00\x00\x00\x00\x00", 5)));  // length 0
  EXPECT_EQ(l.counters().bad_frames, 2u);
  EXPECT_EQ(h.queries(), 0);
}

TEST_F(RpcTest, GarbageFrameClosesTheConnection) {
  auto& h = handlers_.emplace_back();
  auto& l = listen(h);
  EXPECT_TRUE(sends_and_gets_closed(l.port(), std::string("\x00\x00\x00\x00\x05hello", 10)));
  EXPECT_EQ(l.counters().bad_frames, 1u);
  EXPECT_EQ(h.queries(), 0);
  auto& c = client({addr(l)});
  EXPECT_EQ(value_of(get(c, "still")), "still");  // the listener is unharmed
}

TEST_F(RpcTest, UnknownProtocolByteClosesTheConnection) {
  auto& h = handlers_.emplace_back();
  auto& l = listen(h);
  EXPECT_TRUE(sends_and_gets_closed(l.port(), "\x07"));
  // Raft with no transport to take it counts the same.
  EXPECT_TRUE(sends_and_gets_closed(l.port(), "\x01"));
  EXPECT_EQ(l.counters().unknown_protocol, 2u);
  EXPECT_EQ(l.counters().rpc_connections, 0u);
}

// A server that reads one request and answers `reply` raw, then waits for
// the client to close the connection.
class RawServer {
 public:
  explicit RawServer(std::string reply) {
    thread_ = std::thread([this, reply = std::move(reply)] {
      asio::ip::tcp::socket s(io_);
      boost::system::error_code ec;
      acceptor_.accept(s, ec);
      if (ec) return;
      unsigned char head[5];  // the protocol byte and the request's length
      asio::read(s, asio::buffer(head), ec);
      std::string body((size_t{head[1]} << 24) | (size_t{head[2]} << 16) | (size_t{head[3]} << 8) | head[4], '\0');
      asio::read(s, asio::buffer(body), ec);
      asio::write(s, asio::buffer(reply), ec);
      char c;
      s.read_some(asio::buffer(&c, 1), ec);  // until the client closes
    });
  }
  ~RawServer() { thread_.join(); }
  std::string address() const { return "127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port()); }

 private:
  asio::io_context io_;
  asio::ip::tcp::acceptor acceptor_{io_, {asio::ip::make_address("127.0.0.1"), 0}};
  std::thread thread_;
};

TEST_F(RpcTest, ClientClosesAConnectionThatAnswersGarbage) {
  RawServer raw(std::string("\x00\x00\x00\x05hello", 9));
  auto& c = client({raw.address()});
  auto res = get(c, "a");
  ASSERT_FALSE(res.ok());
  EXPECT_TRUE(res.error().is(errc::unavailable));
  EXPECT_TRUE(res.error().detail().starts_with("rpc error: bad response from")) << res.error().detail();
  EXPECT_EQ(c.counters().bad_frames, 1u);
}

TEST_F(RpcTest, ClientRefusesAnOversizedResponse) {
  RawServer raw(std::string("\x7f\xff\xff\xff", 4));
  api::RpcClientOptions o;
  o.max_frame_bytes = 1024;
  auto& c = client({raw.address()}, o);
  auto res = get(c, "a");
  ASSERT_FALSE(res.ok());
  EXPECT_TRUE(res.error().is(errc::unavailable));
  EXPECT_NE(res.error().detail().find("over the limit"), std::string::npos) << res.error().detail();
  EXPECT_EQ(c.counters().bad_frames, 1u);
}

TEST_F(RpcTest, IdleDeadlineWaitsForRequestsInFlight) {
  auto& h = handlers_.emplace_back();
  RpcListenerOptions o;
  o.idle_timeout = 1ms;
  auto& l = listen(h, o);
  asio::io_context io;
  asio::ip::tcp::socket s(io);
  s.connect({asio::ip::make_address("127.0.0.1"), l.port()});
  // The protocol byte and the request in one write: the request is read at once.
  r::Request request{1, r::QueryCall{QueryOptions{9, 10min, r::Consistency::leader, "", ""}, r::KvGet{"park/long"}}};
  std::string frame = r::encode(request);
  uint32_t n = static_cast<uint32_t>(frame.size());
  std::string bytes{static_cast<char>(r::kProtocolRpc), static_cast<char>(n >> 24), static_cast<char>(n >> 16),
                    static_cast<char>(n >> 8), static_cast<char>(n)};
  asio::write(s, asio::buffer(bytes + frame));
  ASSERT_TRUE(h.wait_parked(1));
  // A connection opened after the request was parked is closed as idle:
  // the first one's idle deadline, had it been armed, has passed too.
  EXPECT_TRUE(sends_and_gets_closed(l.port(), std::string(1, static_cast<char>(r::kProtocolRpc))));
  h.release_reversed();
  unsigned char len[4];
  boost::system::error_code ec;
  asio::read(s, asio::buffer(len), ec);
  ASSERT_FALSE(ec) << ec.message();
  std::string body((size_t{len[0]} << 24) | (size_t{len[1]} << 16) | (size_t{len[2]} << 8) | len[3], '\0');
  asio::read(s, asio::buffer(body), ec);
  ASSERT_FALSE(ec) << ec.message();
  auto response = r::decode_response(body);
  ASSERT_TRUE(response.ok()) << response.error().message();
  EXPECT_EQ(response->id, 1u);
  ASSERT_EQ(response->result.index(), 1u);
  // Now idle, the connection closes.
  char c;
  s.read_some(asio::buffer(&c, 1), ec);
  EXPECT_EQ(ec, asio::error::eof);
}

TEST_F(RpcTest, ClosingTheClientCancelsCallsInFlight) {
  auto& h = handlers_.emplace_back();
  auto& c = client({addr(listen(h))});
  auto q = get_async(c, "park/q");
  ASSERT_TRUE(h.wait_parked(1));
  c.close();
  auto res = q.get();
  ASSERT_FALSE(res.ok());
  EXPECT_TRUE(res.error().is(errc::cancelled));
  auto late = get(c, "late");
  ASSERT_FALSE(late.ok());
  EXPECT_TRUE(late.error().is(errc::cancelled));
}

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

TEST_F(RpcTest, RaftFramesThroughTheMuxReachTheTransportAndRpcSharesThePort) {
  Inbox inbox;
  raft::TcpTransportOptions to1;
  to1.id = 1;
  to1.listen_enabled = false;
  auto t1 = raft::TcpTransport::create(io_, to1);
  ASSERT_TRUE(t1.ok()) << t1.error().message();
  EXPECT_EQ((*t1)->port(), 0);
  (*t1)->start(inbox.handlers());
  transports_.push_back(*t1);

  auto& h = handlers_.emplace_back();
  auto& l = listen(h, {}, [t = *t1](std::shared_ptr<io::Stream> s) { t->adopt_inbound(std::move(s)); });

  Inbox unused;
  raft::TcpTransportOptions to2;
  to2.id = 2;
  to2.peers = {{1, addr(l)}};
  to2.protocol_byte = api::rpc::kProtocolRaft;
  auto t2 = raft::TcpTransport::create(io_, to2);
  ASSERT_TRUE(t2.ok()) << t2.error().message();
  (*t2)->start(unused.handlers());
  transports_.push_back(*t2);

  std::vector<raft::Message> out;
  for (raft::Term term = 1; term <= 3; ++term) {
    raft::Message m;
    m.type = raft::MessageType::heartbeat;
    m.from = 2;
    m.to = 1;
    m.term = term;
    out.push_back(m);
  }
  (*t2)->send(out);
  ASSERT_TRUE(inbox.wait(3));
  {
    std::lock_guard lock(inbox.mu);
    for (int i = 0; i < 3; ++i) {
      EXPECT_EQ(inbox.messages[i].from, 2u);
      EXPECT_EQ(inbox.messages[i].term, static_cast<raft::Term>(i + 1));
    }
  }
  EXPECT_EQ(l.counters().raft_connections, 1u);
  EXPECT_EQ((*t1)->counters().frames_received, 3u);

  auto& c = client({addr(l)});
  EXPECT_EQ(value_of(get(c, "rpc too")), "rpc too");
  EXPECT_EQ(l.counters().rpc_connections, 1u);
}

// ---- TLS (core/io/tls.h) ----

class RpcTlsTest : public RpcTest {
 protected:
  void SetUp() override { ASSERT_TRUE(certs_.ok()) << "openssl could not make the test certificates"; }
  // A server's settings: its cert, the CA, verify_incoming as asked.
  std::shared_ptr<const io::TlsConfig> server_tls(const test::TlsCerts::Pair& pair, bool verify_incoming = true) {
    io::TlsSettings s;
    s.ca_file = certs_.ca;
    s.cert_file = pair.cert;
    s.key_file = pair.key;
    s.verify_incoming = verify_incoming;
    s.verify_outgoing = true;
    return load(s);
  }
  // A client's: verify_outgoing against `ca`, presenting `pair` when given.
  std::shared_ptr<const io::TlsConfig> client_tls(const std::string& ca, const test::TlsCerts::Pair* pair,
                                                  bool check_name = true) {
    io::TlsSettings s;
    s.ca_file = ca;
    if (pair) {
      s.cert_file = pair->cert;
      s.key_file = pair->key;
    }
    s.verify_outgoing = true;
    s.verify_server_hostname = check_name;
    return load(s);
  }
  static std::shared_ptr<const io::TlsConfig> load(const io::TlsSettings& s) {
    auto c = io::TlsConfig::load(s);
    EXPECT_TRUE(c.ok()) << c.error().message();
    return c.ok() ? *c : nullptr;
  }
  RpcListener& listen_tls(FakeHandler& h, std::shared_ptr<const io::TlsConfig> tls, RpcListener::RaftTaker raft = {}) {
    RpcListenerOptions o;
    o.tls = std::move(tls);
    return listen(h, o, std::move(raft));
  }
  api::RpcClient& client_with(const RpcListener& l, std::shared_ptr<const io::TlsConfig> tls) {
    api::RpcClientOptions o;
    o.tls = std::move(tls);
    return client({addr(l)}, o);
  }

  test::TlsCerts certs_;
};

TEST_F(RpcTlsTest, MutualTlsRoundTripWithTheServerNameChecked) {
  auto& h = handlers_.emplace_back();
  auto& l = listen_tls(h, server_tls(certs_.server));
  auto& c = client_with(l, client_tls(certs_.ca, &certs_.client));
  EXPECT_EQ(value_of(get(c, "over/tls")), "over/tls");
  auto res = apply_async(c, "k").get();
  ASSERT_TRUE(res.ok()) << res.error().message();
  EXPECT_EQ(res->index, 7u);
  EXPECT_EQ(l.counters().tls_connections, 1u);
  EXPECT_EQ(l.counters().rpc_connections, 1u);
  EXPECT_EQ(c.counters().tls_handshake_failures, 0u);
}

TEST_F(RpcTlsTest, ACertificateNamingTheConsulDomainIsAccepted) {
  auto& h = handlers_.emplace_back();
  auto& l = listen_tls(h, server_tls(certs_.server_consul));
  auto& c = client_with(l, client_tls(certs_.ca, &certs_.client));
  EXPECT_EQ(value_of(get(c, "k")), "k");
}

TEST_F(RpcTlsTest, ClientRefusesAServerCertificateFromAnotherCa) {
  auto& h = handlers_.emplace_back();
  io::TlsSettings s;  // a server whose certificate another CA signed
  s.ca_file = certs_.ca;
  s.cert_file = certs_.other_ca.cert;
  s.key_file = certs_.other_ca.key;
  auto& l = listen_tls(h, load(s));
  auto& c = client_with(l, client_tls(certs_.ca, &certs_.client));
  auto res = get(c, "k");
  ASSERT_FALSE(res.ok());
  EXPECT_TRUE(res.error().is(errc::unavailable)) << res.error().message();
  EXPECT_NE(res.error().message().find("TLS handshake"), std::string::npos) << res.error().message();
  EXPECT_GE(c.counters().tls_handshake_failures, 1u);
  EXPECT_EQ(h.queries(), 0);
}

TEST_F(RpcTlsTest, ServerRefusesAClientCertificateFromAnotherCa) {
  auto& h = handlers_.emplace_back();
  auto& l = listen_tls(h, server_tls(certs_.server));
  auto& c = client_with(l, client_tls(certs_.ca, &certs_.other_ca));
  EXPECT_FALSE(get(c, "k").ok());
  EXPECT_EQ(h.queries(), 0);
  EXPECT_GE(l.counters().tls_handshake_failures, 1u);
}

TEST_F(RpcTlsTest, ServerWithVerifyIncomingRefusesAClientWithoutCertificate) {
  auto& h = handlers_.emplace_back();
  auto& l = listen_tls(h, server_tls(certs_.server));
  auto& c = client_with(l, client_tls(certs_.ca, nullptr));
  EXPECT_FALSE(get(c, "k").ok());
  EXPECT_EQ(h.queries(), 0);
}

TEST_F(RpcTlsTest, PlaintextRpcAndRaftAreRefusedWithVerifyIncoming) {
  auto& h = handlers_.emplace_back();
  int raft_taken = 0;
  auto& l = listen_tls(h, server_tls(certs_.server), [&](std::shared_ptr<io::Stream>) { ++raft_taken; });
  auto& c = client({addr(l)});
  auto res = get(c, "k");
  ASSERT_FALSE(res.ok());
  EXPECT_TRUE(res.error().is(errc::unavailable)) << res.error().message();
  EXPECT_TRUE(sends_and_gets_closed(l.port(), std::string(1, char(api::rpc::kProtocolRaft))));
  EXPECT_EQ(h.queries(), 0);
  EXPECT_EQ(raft_taken, 0);
  EXPECT_GE(l.counters().plaintext_refused, 2u);
}

TEST_F(RpcTlsTest, HostnameMismatchIsRefusedOnlyWhenTheNameIsChecked) {
  auto& h = handlers_.emplace_back();
  auto& l = listen_tls(h, server_tls(certs_.wrong_name));
  auto& checked = client_with(l, client_tls(certs_.ca, &certs_.client, true));
  auto res = get(checked, "k");
  ASSERT_FALSE(res.ok());
  EXPECT_NE(res.error().message().find("hostname mismatch"), std::string::npos) << res.error().message();
  auto& unchecked = client_with(l, client_tls(certs_.ca, &certs_.client, false));
  EXPECT_EQ(value_of(get(unchecked, "k")), "k");
}

TEST_F(RpcTlsTest, WithoutVerifyIncomingTlsAndPlaintextAreBothServed) {
  auto& h = handlers_.emplace_back();
  auto& l = listen_tls(h, server_tls(certs_.server, false));
  EXPECT_EQ(value_of(get(client_with(l, client_tls(certs_.ca, nullptr)), "tls")), "tls");
  EXPECT_EQ(value_of(get(client({addr(l)}), "plain")), "plain");
  EXPECT_EQ(l.counters().tls_connections, 1u);
  EXPECT_EQ(l.counters().rpc_connections, 2u);
  EXPECT_EQ(l.counters().plaintext_refused, 0u);
}

TEST_F(RpcTlsTest, TlsByteIsRefusedByAServerWithoutCertificate) {
  auto& h = handlers_.emplace_back();
  auto& l = listen(h);
  auto& c = client_with(l, client_tls(certs_.ca, &certs_.client));
  EXPECT_FALSE(get(c, "k").ok());
  EXPECT_EQ(l.counters().unknown_protocol, 1u);
}

TEST_F(RpcTlsTest, SilentTlsClientIsClosedAtTheHandshakeDeadline) {
  auto& h = handlers_.emplace_back();
  RpcListenerOptions o;
  o.tls = server_tls(certs_.server);
  o.handshake_timeout = 100ms;
  auto& l = listen(h, o);
  // 0x04, then nothing: the server must give up rather than wait forever.
  EXPECT_TRUE(sends_and_gets_closed(l.port(), std::string(1, char(io::kProtocolTls))));
  // The deadline closes the socket first; the failed handshake is counted
  // when its coroutine resumes, which may be just after the client saw EOF.
  for (int i = 0; i < 500 && l.counters().tls_handshake_failures == 0; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(l.counters().tls_handshake_failures, 1u);
}

TEST_F(RpcTlsTest, ManyRaftMessagesCrossTheMuxOverTlsInOrder) {
  Inbox inbox;
  raft::TcpTransportOptions to1;
  to1.id = 1;
  to1.listen_enabled = false;
  auto t1 = raft::TcpTransport::create(io_, to1);
  ASSERT_TRUE(t1.ok()) << t1.error().message();
  (*t1)->start(inbox.handlers());
  transports_.push_back(*t1);
  auto& h = handlers_.emplace_back();
  auto& l = listen_tls(h, server_tls(certs_.server),
                       [t = *t1](std::shared_ptr<io::Stream> s) { t->adopt_inbound(std::move(s)); });

  Inbox unused;
  raft::TcpTransportOptions to2;
  to2.id = 2;
  to2.peers = {{1, addr(l)}};
  to2.protocol_byte = api::rpc::kProtocolRaft;
  to2.tls = server_tls(certs_.server);  // servers dial each other with their own certificate
  auto t2 = raft::TcpTransport::create(io_, to2);
  ASSERT_TRUE(t2.ok()) << t2.error().message();
  (*t2)->start(unused.handlers());
  transports_.push_back(*t2);

  constexpr int kMessages = 2000;
  std::vector<raft::Message> out;
  for (int i = 1; i <= kMessages; ++i) {
    raft::Message m;
    m.type = raft::MessageType::app;
    m.from = 2;
    m.to = 1;
    m.term = static_cast<raft::Term>(i);
    m.entries.push_back(raft::Entry{1, static_cast<raft::Index>(i), raft::EntryType::normal, std::string(100, 'x')});
    out.push_back(std::move(m));
  }
  (*t2)->send(out);
  ASSERT_TRUE(inbox.wait(kMessages));
  {
    std::lock_guard lock(inbox.mu);
    for (int i = 0; i < kMessages; ++i) ASSERT_EQ(inbox.messages[i].term, static_cast<raft::Term>(i + 1));
  }
  EXPECT_EQ(l.counters().tls_connections, 1u);
  EXPECT_EQ(l.counters().raft_connections, 1u);
  EXPECT_EQ((*t2)->counters().tls_handshake_failures, 0u);
}

// The error TlsConfig::load gives for `s` ("" when it loads).
std::string load_error(const io::TlsSettings& s) {
  auto c = io::TlsConfig::load(s);
  return c.ok() ? std::string() : c.error().message();
}

TEST(TlsConfig, SettingsErrorsNameTheField) {
  auto off = io::TlsConfig::load(io::TlsSettings{});
  ASSERT_TRUE(off.ok());
  EXPECT_EQ(*off, nullptr);  // nothing asked for: plaintext

  io::TlsSettings s;
  s.verify_outgoing = true;
  EXPECT_NE(load_error(s).find("tls.ca_file: needed"), std::string::npos) << load_error(s);
  s.ca_file = "/nonexistent/ca.pem";
  EXPECT_NE(load_error(s).find("tls.ca_file: cannot read"), std::string::npos) << load_error(s);
  io::TlsSettings half;
  half.cert_file = "/x.pem";
  EXPECT_NE(load_error(half).find("tls.key_file"), std::string::npos) << load_error(half);
}

TEST(TlsConfig, KeyThatDoesNotMatchTheCertificateIsRefused) {
  test::TlsCerts certs;
  ASSERT_TRUE(certs.ok());
  io::TlsSettings s;
  s.ca_file = certs.ca;
  s.cert_file = certs.server.cert;
  s.key_file = certs.client.key;
  EXPECT_NE(load_error(s).find("tls.key_file"), std::string::npos) << load_error(s);
}

TEST(TlsConfig, ServerNamesCoverTheDomainAndConsulAndVerifyServerHostnameImpliesOutgoing) {
  test::TlsCerts certs;
  ASSERT_TRUE(certs.ok());
  io::TlsSettings s;
  s.ca_file = certs.ca;
  s.verify_server_hostname = true;
  s.datacenter = "east";
  s.domain = "example.";
  auto c = io::TlsConfig::load(s);
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_TRUE((*c)->dial_tls());
  EXPECT_TRUE((*c)->check_server_name());
  EXPECT_FALSE((*c)->require_tls());
  EXPECT_EQ((*c)->server_names(),
            (std::vector<std::string>{"server.east.example", "server.east.cairn", "server.east.consul"}));
}

}  // namespace
}  // namespace cairn::server::rpc
