// The HTTP server over real sockets on 127.0.0.1 (ephemeral ports).
#include "core/io/http_server.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <deque>
#include <future>
#include <mutex>
#include <thread>

#include "core/io/asio_scheduler.h"
#include "core/io/metrics.h"
#include "core/io/runtime.h"
#include "core/wait_queue.h"
#include "test/support/raw_http.h"

namespace cairn::http {
namespace {

using namespace std::chrono_literals;
using test::body_of;
using test::RawConnection;
using test::status_of;

class HttpServerTest : public ::testing::Test {
 protected:
  void start(ServerOptions options = {}) {
    router_.add_sync(Method::get, "/v1/agent/self", [](Request&) { return Response::json("{\"ok\":true}"); });
    router_.add_sync({Method::get, Method::put}, "/v1/kv/<key...>", [](Request& r) {
      return Response::text("key=" + std::string(r.param("key")) + " body=" + std::to_string(r.body.size()) +
                            " recurse=" + (r.query.has("recurse") ? "yes" : "no"));
    });
    // A long poll: parks until /v1/wake is called or the wait runs out.
    router_.add(Method::get, "/v1/wait", [this](Request& r, Responder responder) {
      auto wait = r.query.get("wait").value_or("5000ms") == "100ms" ? Duration(100ms) : Duration(5s);
      boost::asio::post(strand_, [this, responder, wait] {
        queue_.wait(wait, [responder](bool woken) { responder.respond(Response::text(woken ? "woken" : "timeout")); });
      });
    });
    router_.add(Method::put, "/v1/wake", [this](Request&, Responder responder) {
      boost::asio::post(strand_, [this, responder] {
        queue_.notify_all();
        responder.respond(Response::text("ok"));
      });
    });
    // A streamed body: "one\n" at once, then a piece per /v1/push, and the
    // end after "last".
    router_.add_sync(Method::get, "/v1/stream", [this](Request&) {
      Response r;
      r.stream = stream_;
      return r;
    });
    router_.add_sync(Method::put, "/v1/push", [this](Request& r) {
      stream_->push(r.body == "end" ? std::nullopt : std::optional<std::string>(r.body));
      return Response::text("ok");
    });
    server_ = std::make_unique<Server>(runtime_.io(), router_, options);
    auto port = server_->listen("127.0.0.1", 0);
    ASSERT_TRUE(port.ok()) << port.error().message();
    port_ = *port;
    server_->start();
    thread_ = std::thread([this] { runtime_.run(2); });
  }

  void TearDown() override {
    if (thread_.joinable()) {
      std::promise<void> drained;
      server_->shutdown(1s, [&] { drained.set_value(); });
      drained.get_future().wait_for(5s);
      runtime_.stop();
      thread_.join();
    }
  }

  std::string roundtrip(const std::string& raw) {
    RawConnection c("127.0.0.1", port_);
    EXPECT_TRUE(c.connected());
    c.send(raw);
    return c.read_response();
  }

  // Pieces queue until the server asks for them.
  struct TestStream : BodyStream {
    std::mutex mu;
    std::deque<std::optional<std::string>> pieces{std::string("one\n")};
    Deliver waiting;
    std::atomic<bool> cancelled{false};
    void next(Deliver d) override {
      std::unique_lock l(mu);
      if (pieces.empty()) {
        waiting = std::move(d);
        return;
      }
      auto p = std::move(pieces.front());
      pieces.pop_front();
      l.unlock();
      d(std::move(p));
    }
    void cancel() override { cancelled = true; }
    void push(std::optional<std::string> p) {
      std::unique_lock l(mu);
      if (waiting) {
        auto d = std::exchange(waiting, nullptr);
        l.unlock();
        d(std::move(p));
        return;
      }
      pieces.push_back(std::move(p));
    }
  };
  std::shared_ptr<TestStream> stream_ = std::make_shared<TestStream>();

  Runtime runtime_;
  Router router_;
  boost::asio::strand<boost::asio::io_context::executor_type> strand_{boost::asio::make_strand(runtime_.io())};
  AsioScheduler scheduler_{strand_};
  WaitQueue queue_{scheduler_};
  std::unique_ptr<Server> server_;
  uint16_t port_ = 0;
  std::thread thread_;
};

TEST_F(HttpServerTest, ServesJsonWithContentType) {
  start();
  auto resp = roundtrip("GET /v1/agent/self HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(status_of(resp), 200);
  EXPECT_NE(resp.find("Content-Type: application/json"), std::string::npos);
  EXPECT_EQ(body_of(resp), "{\"ok\":true}");
}

TEST_F(HttpServerTest, KeepsConnectionsAlive) {
  start();
  RawConnection c("127.0.0.1", port_);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(c.send("GET /v1/agent/self HTTP/1.1\r\nHost: x\r\n\r\n"));
    EXPECT_EQ(status_of(c.read_response()), 200) << "request " << i;
  }
}

TEST_F(HttpServerTest, PercentDecodesThePathBeforeRouting) {
  start();
  auto resp = roundtrip("GET /v1/kv/a%2Fb%20c?recurse HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(body_of(resp), "key=a/b c body=0 recurse=yes");
}

TEST_F(HttpServerTest, MalformedEscapeGets400) {
  start();
  EXPECT_EQ(status_of(roundtrip("GET /v1/kv/a%zz HTTP/1.1\r\nHost: x\r\n\r\n")), 400);
}

TEST_F(HttpServerTest, GarbageRequestLineGets400) {
  start();
  EXPECT_EQ(status_of(roundtrip("NOT HTTP AT ALL\r\n\r\n")), 400);
}

TEST_F(HttpServerTest, WrongMethodGets405WithAllow) {
  start();
  auto resp = roundtrip("DELETE /v1/agent/self HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(status_of(resp), 405);
  EXPECT_NE(resp.find("Allow: GET, OPTIONS"), std::string::npos);
}

TEST_F(HttpServerTest, OversizedBodyGets413) {
  ServerOptions o;
  o.max_body_bytes = 1000;
  start(o);
  std::string body(2000, 'x');
  auto resp = roundtrip("PUT /v1/kv/big HTTP/1.1\r\nHost: x\r\nContent-Length: 2000\r\n\r\n" + body);
  EXPECT_EQ(status_of(resp), 413);
  auto ok = roundtrip("PUT /v1/kv/small HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n0123456789");
  EXPECT_EQ(body_of(ok), "key=small body=10 recurse=no");
}

TEST_F(HttpServerTest, AnswersExpectContinue) {
  start();
  RawConnection c("127.0.0.1", port_);
  c.send("PUT /v1/kv/k HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n");
  EXPECT_EQ(status_of(c.read_response()), 100);
  c.send("abc");
  EXPECT_EQ(body_of(c.read_response()), "key=k body=3 recurse=no");
}

TEST_F(HttpServerTest, OversizedHeaderGets431) {
  ServerOptions o;
  o.max_header_bytes = 512;
  start(o);
  auto resp = roundtrip("GET /v1/agent/self HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(2000, 'a') + "\r\n\r\n");
  EXPECT_EQ(status_of(resp), 431);
}

TEST_F(HttpServerTest, SlowClientIsCutOffAtTheReadDeadline) {
  ServerOptions o;
  o.read_timeout = 300ms;
  start(o);
  RawConnection c("127.0.0.1", port_);
  c.send("GET /v1/agent/self HTTP/1.1\r\nHo");
  auto begin = std::chrono::steady_clock::now();
  EXPECT_TRUE(c.wait_closed(5s));
  EXPECT_LT(std::chrono::steady_clock::now() - begin, 4s);
}

TEST_F(HttpServerTest, CapsConnectionsPerClientWith429) {
  ServerOptions o;
  o.max_conns_per_client = 2;
  start(o);
  RawConnection a("127.0.0.1", port_), b("127.0.0.1", port_);
  a.send("GET /v1/agent/self HTTP/1.1\r\nHost: x\r\n\r\n");
  b.send("GET /v1/agent/self HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(status_of(a.read_response()), 200);
  EXPECT_EQ(status_of(b.read_response()), 200);
  RawConnection third("127.0.0.1", port_);
  auto resp = third.read_response(5s);
  EXPECT_EQ(status_of(resp), 429);
}

TEST_F(HttpServerTest, LongPollWaitsWithoutAThreadAndWakes) {
  start();
  // More parked requests than io threads: none may hold a thread.
  std::vector<std::unique_ptr<RawConnection>> waiters;
  for (int i = 0; i < 8; ++i) {
    waiters.push_back(std::make_unique<RawConnection>("127.0.0.1", port_));
    waiters.back()->send("GET /v1/wait HTTP/1.1\r\nHost: x\r\n\r\n");
  }
  // The server still answers while they wait.
  EXPECT_EQ(status_of(roundtrip("GET /v1/agent/self HTTP/1.1\r\nHost: x\r\n\r\n")), 200);
  // Wait until all eight are parked, then wake them.
  for (int tries = 0; tries < 100; ++tries) {
    std::promise<size_t> n;
    boost::asio::post(strand_, [&] { n.set_value(queue_.size()); });
    if (n.get_future().get() == 8) break;
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(status_of(roundtrip("PUT /v1/wake HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")), 200);
  for (auto& w : waiters) EXPECT_EQ(body_of(w->read_response()), "woken");
}

TEST_F(HttpServerTest, LongPollTimesOut) {
  start();
  auto resp = roundtrip("GET /v1/wait?wait=100ms HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(body_of(resp), "timeout");
}

TEST_F(HttpServerTest, ShutdownClosesIdleConnectionsAndDrains) {
  start();
  RawConnection idle("127.0.0.1", port_);
  idle.send("GET /v1/agent/self HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(status_of(idle.read_response()), 200);
  std::promise<void> drained;
  server_->shutdown(2s, [&] { drained.set_value(); });
  EXPECT_EQ(drained.get_future().wait_for(5s), std::future_status::ready);
  EXPECT_TRUE(idle.wait_closed(2s));
  EXPECT_EQ(server_->open_connections(), 0u);
}

TEST_F(HttpServerTest, StreamsABodyInChunksAsItIsProduced) {
  start();
  RawConnection c("127.0.0.1", port_);
  c.send("GET /v1/stream HTTP/1.1\r\nHost: x\r\n\r\n");
  auto first = c.read_until("one\n");
  EXPECT_EQ(status_of(first), 200);
  EXPECT_NE(first.find("Transfer-Encoding: chunked"), std::string::npos) << first;
  EXPECT_NE(first.find("4\r\none\n\r\n"), std::string::npos) << first;
  EXPECT_EQ(first.find("two"), std::string::npos);
  // A later piece arrives when produced, the end closes the connection.
  EXPECT_EQ(status_of(roundtrip("PUT /v1/push HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\ntwo\n")), 200);
  EXPECT_NE(c.read_until("two\n").find("4\r\ntwo\n\r\n"), std::string::npos);
  EXPECT_EQ(status_of(roundtrip("PUT /v1/push HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nend")), 200);
  EXPECT_NE(c.read_until("0\r\n\r\n").find("0\r\n\r\n"), std::string::npos);
  EXPECT_TRUE(c.wait_closed(5s));
  EXPECT_TRUE(stream_->cancelled);
}

TEST_F(HttpServerTest, ShutdownEndsAStreamAtOnce) {
  start();
  RawConnection c("127.0.0.1", port_);
  c.send("GET /v1/stream HTTP/1.1\r\nHost: x\r\n\r\n");
  c.read_until("one\n");
  std::promise<void> drained;
  // A grace far longer than the test's wait: a stream must not hold shutdown.
  server_->shutdown(60s, [&] { drained.set_value(); });
  EXPECT_EQ(drained.get_future().wait_for(5s), std::future_status::ready);
  EXPECT_TRUE(c.wait_closed(2s));
  EXPECT_TRUE(stream_->cancelled);
}

TEST_F(HttpServerTest, TimesRequestsByMethodAndPathFamily) {
  metrics::reset_for_test();
  start();
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(status_of(roundtrip("GET /v1/kv/secret/key-" + std::to_string(i) + " HTTP/1.1\r\nHost: x\r\n\r\n")), 200);
  }
  EXPECT_EQ(status_of(roundtrip("GET /v1/agent/self HTTP/1.1\r\nHost: x\r\n\r\n")), 200);
  auto snap = metrics::snapshot();
  std::map<std::string, uint64_t> counts;
  for (const auto& s : snap.samples) {
    if (s.name != "consul.api.http") continue;
    ASSERT_EQ(s.labels.size(), 2u);
    EXPECT_EQ(s.labels[1].second.find("secret"), std::string::npos) << "keys never become labels";
    counts[s.labels[0].second + " " + s.labels[1].second] += s.count;
  }
  EXPECT_EQ(counts["GET v1_kv"], 3u);
  EXPECT_EQ(counts["GET v1_agent_self"], 1u);
}

}  // namespace
}  // namespace cairn::http
