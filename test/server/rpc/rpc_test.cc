// Port 8300 end to end over real sockets on 127.0.0.1 (port 0): RpcListener
// + RpcServer against a fake Handler, RpcClient calling it, raw sockets for
// bad input, and Raft frames through the mux into a TcpTransport (the
// fixture: rpc_fixture.h; TLS: rpc_tls_test.cc). Waits are on futures and
// condition variables with a generous bound; nothing sleeps.
#include "test/server/rpc/rpc_fixture.h"

namespace cairn::server::rpc {
namespace {

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

}  // namespace
}  // namespace cairn::server::rpc
