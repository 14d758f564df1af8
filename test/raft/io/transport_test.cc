// TcpTransport over real sockets on 127.0.0.1 (port 0). Each test runs the
// io_context on a thread and waits on conditions with a generous bound; no
// test sleeps for a fixed time to make something happen.
#include "test/raft/io/transport_fixture.h"

namespace cairn::raft {
namespace {

using namespace transport_testing;
using namespace std::chrono_literals;
namespace asio = boost::asio;

TEST(HostPort, ParsesIpAndPortAndRefusesNames) {
  auto hp = parse_host_port("127.0.0.1:8300");
  ASSERT_TRUE(hp.ok());
  EXPECT_EQ(hp->ip, "127.0.0.1");
  EXPECT_EQ(hp->port, 8300);
  EXPECT_TRUE(parse_host_port("[::1]:1").ok());
  EXPECT_FALSE(parse_host_port("localhost:1").ok());
  EXPECT_FALSE(parse_host_port("127.0.0.1").ok());
  EXPECT_FALSE(parse_host_port("127.0.0.1:99999").ok());
  EXPECT_FALSE(parse_host_port("127.0.0.1:").ok());
}

TEST(Frame, IsABigEndianLengthThenTheEncodedMessage) {
  Message m = heartbeat(1, 2, 7);
  std::string f = encode_frame(m);
  ASSERT_GE(f.size(), 4u);
  uint32_t n = (uint32_t{uint8_t(f[0])} << 24) | (uint32_t{uint8_t(f[1])} << 16) | (uint32_t{uint8_t(f[2])} << 8) | uint8_t(f[3]);
  EXPECT_EQ(n, f.size() - 4);
  auto back = decode(std::string_view(f).substr(4));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, m);
}

TEST_F(TransportTest, DeliversMessagesInOrderBothWays) {
  Inbox &a_in = inbox(), &b_in = inbox();
  auto b = make(2, {}, &b_in);
  auto a = make(1, {{2, addr(b)}}, &a_in);
  // b learns a's address only now: rebuild b with the peer (ports are fixed once bound).
  auto b2 = make(3, {{1, addr(a)}}, &b_in);
  std::vector<Message> batch;
  for (Term t = 1; t <= 100; ++t) batch.push_back(heartbeat(1, 2, t));
  a->send(batch);
  ASSERT_TRUE(b_in.wait([](Inbox& i) { return i.messages.size() == 100; }));
  for (size_t k = 0; k < 100; ++k) EXPECT_EQ(b_in.messages[k].term, k + 1);
  b2->send({heartbeat(3, 1, 9)});
  ASSERT_TRUE(a_in.wait([](Inbox& i) { return i.messages.size() == 1; }));
  EXPECT_EQ(a_in.messages[0].from, 3u);
  EXPECT_EQ(a->counters().frames_sent, 100u);
  EXPECT_EQ(b->counters().frames_received, 100u);
}

TEST_F(TransportTest, OversizedFrameClosesTheConnectionAndIsCounted) {
  Inbox& in = inbox();
  TcpTransportOptions o;
  o.limits.max_message_bytes = 1024;
  auto t = make(2, {}, &in, o);
  EXPECT_TRUE(sends_and_gets_closed(t->port(), std::string("\x7f\xff\xff\xff", 4)));
  EXPECT_TRUE(eventually([&] { return t->counters().bad_frames == 1; }));
}

TEST_F(TransportTest, MalformedAndMisaddressedFramesCloseTheConnection) {
  Inbox& in = inbox();
  auto t = make(2, {}, &in);
  std::string garbage = std::string("\0\0\0\x05", 4) + "hello";
  EXPECT_TRUE(sends_and_gets_closed(t->port(), garbage));
  EXPECT_TRUE(sends_and_gets_closed(t->port(), encode_frame(heartbeat(1, 9, 1))));  // to node 9, not 2
  std::string local = encode_frame(heartbeat(1, 2, 1));
  local[5] = static_cast<char>(MessageType::hup);  // after the version byte: a local-only type never comes off the wire
  EXPECT_TRUE(sends_and_gets_closed(t->port(), local));
  EXPECT_TRUE(eventually([&] { return t->counters().bad_frames == 3; }));
  EXPECT_TRUE(in.messages.empty());
  // The listener still serves well-formed peers.
  Inbox& a_in = inbox();
  auto a = make(1, {{2, addr(t)}}, &a_in);
  a->send({heartbeat(1, 2, 5)});
  EXPECT_TRUE(in.wait([](Inbox& i) { return i.messages.size() == 1; }));
}

// The deadlines move per frame without re-arming a timer (raft/io/handoff.h);
// they still fire: a frame that stalls after its length is closed after
// frame_timeout, and an outbound connection idle for idle_close is closed by
// its sender and reopened for the next message.
TEST_F(TransportTest, AFrameThatStallsAfterItsLengthIsClosed) {
  Inbox& in = inbox();
  TcpTransportOptions o;
  o.frame_timeout = 200ms;
  auto t = make(2, {}, &in, o);
  std::string frame = encode_frame(heartbeat(1, 2, 1));
  EXPECT_TRUE(sends_and_gets_closed(t->port(), frame + frame.substr(0, 6), 10s));
  EXPECT_TRUE(in.wait([](Inbox& i) { return i.messages.size() == 1; })) << "the whole frame before it was delivered";
}

TEST_F(TransportTest, FramesArrivingTogetherAreAllDeliveredInOrder) {
  Inbox& in = inbox();
  auto t = make(2, {}, &in);
  std::string bytes;
  for (Term term = 1; term <= 50; ++term) bytes += encode_frame(heartbeat(1, 2, term));
  test::RawConnection c("127.0.0.1", t->port());
  ASSERT_TRUE(c.connected());
  // One write, then the same frames split at awkward places.
  ASSERT_TRUE(c.send(bytes));
  for (size_t at = 0; at < bytes.size(); at += 7) ASSERT_TRUE(c.send(bytes.substr(at, 7)));
  ASSERT_TRUE(in.wait([](Inbox& i) { return i.messages.size() == 100; }));
  for (size_t i = 0; i < 100; ++i) EXPECT_EQ(in.messages[i].term, i % 50 + 1);
  EXPECT_EQ(t->counters().bad_frames, 0u);
}

TEST_F(TransportTest, AnIdleOutboundConnectionIsClosedAndTheNextMessageReopensIt) {
  asio::io_context peer_io;
  asio::ip::tcp::acceptor acceptor(peer_io, {asio::ip::make_address("127.0.0.1"), 0});
  uint16_t port = acceptor.local_endpoint().port();
  std::atomic<int> closed_by_sender{0};
  std::thread peer([&] {
    for (int conn = 0; conn < 2; ++conn) {
      asio::ip::tcp::socket s(peer_io);
      acceptor.accept(s);
      std::array<char, 256> buf;
      boost::system::error_code ec;
      while (!ec) s.read_some(asio::buffer(buf), ec);  // until the sender closes it
      if (ec == asio::error::eof) ++closed_by_sender;
    }
  });
  Inbox& a_in = inbox();
  TcpTransportOptions o;
  o.idle_close = 200ms;
  auto a = make(1, {{2, "127.0.0.1:" + std::to_string(port)}}, &a_in, o);
  a->send({heartbeat(1, 2, 1)});
  ASSERT_TRUE(eventually([&] { return closed_by_sender == 1; }));
  a->send({heartbeat(1, 2, 2)});
  ASSERT_TRUE(eventually([&] { return closed_by_sender == 2; }));
  peer.join();
  EXPECT_EQ(a->counters().connects, 2u);
  EXPECT_EQ(a->counters().frames_sent, 2u);
}

TEST_F(TransportTest, DropsAndReportsUnreachableWhilePeerIsDownThenReconnects) {
  // Reserve a port, then close it: nothing listens there.
  uint16_t port;
  {
    asio::io_context io;
    asio::ip::tcp::acceptor acc(io, {asio::ip::make_address("127.0.0.1"), 0});
    port = acc.local_endpoint().port();
  }
  Inbox& a_in = inbox();
  TcpTransportOptions o;
  o.backoff_initial = 20ms;
  o.backoff_max = 100ms;
  auto a = make(1, {{2, "127.0.0.1:" + std::to_string(port)}}, &a_in, o);
  a->send({heartbeat(1, 2, 1)});
  ASSERT_TRUE(a_in.wait([](Inbox& i) { return i.unreachable >= 1; }));
  EXPECT_TRUE(eventually([&] { return a->counters().connect_failures >= 1 && a->counters().dropped_peer_down >= 1; }));

  // The peer comes up on that port; sends succeed once the backoff expires.
  Inbox& b_in = inbox();
  TcpTransportOptions ob;
  ob.listen = "127.0.0.1:" + std::to_string(port);
  auto b = make(2, {}, &b_in, ob);
  bool delivered = eventually([&] {
    a->send({heartbeat(1, 2, 2)});
    std::lock_guard l(b_in.mu);
    return !b_in.messages.empty();
  });
  EXPECT_TRUE(delivered);
  EXPECT_GE(a->counters().connects, 1u);
}

TEST_F(TransportTest, APeerRestartIsNoticedSoTheFirstMessageAfterItIsNotLost) {
  Inbox &a_in = inbox(), &b_in = inbox(), &b2_in = inbox();
  auto b = make(2, {}, &b_in);
  uint16_t port = b->port();
  auto a = make(1, {{2, addr(b)}}, &a_in);
  a->send({heartbeat(1, 2, 1)});
  ASSERT_TRUE(b_in.wait([](Inbox& i) { return i.messages.size() == 1; }));
  b->stop();  // closes its inbound connections, as a killed process's kernel does
  ASSERT_TRUE(eventually([&] { return a->counters().closed_by_peer == 1; }));
  TcpTransportOptions o;
  o.listen = "127.0.0.1:" + std::to_string(port);
  auto b2 = make(2, {}, &b2_in, o);
  a->send({heartbeat(1, 2, 2)});  // once: it must not vanish into the dead socket
  ASSERT_TRUE(b2_in.wait([](Inbox& i) { return i.messages.size() == 1; }));
  EXPECT_EQ(b2_in.messages[0].term, 2u);
  EXPECT_EQ(a->counters().connects, 2u);
}

TEST_F(TransportTest, FullQueueDropsAndReportsUnreachable) {
  // A listener that never reads: the kernel buffers fill, the writer blocks,
  // the queue fills.
  asio::io_context sink_io;
  asio::ip::tcp::acceptor sink(sink_io, {asio::ip::make_address("127.0.0.1"), 0});
  Inbox& a_in = inbox();
  TcpTransportOptions o;
  o.max_queue_messages = 4;
  auto a = make(1, {{2, "127.0.0.1:" + std::to_string(sink.local_endpoint().port())}}, &a_in, o);
  Message big;
  big.type = MessageType::app;
  big.from = 1;
  big.to = 2;
  big.term = 1;
  big.entries.push_back(Entry{1, 1, EntryType::normal, std::string(1 << 20, 'x')});
  for (int i = 0; i < 64; ++i) a->send({big});
  EXPECT_TRUE(eventually([&] { return a->counters().dropped_queue_full > 0; }));
  EXPECT_TRUE(a_in.wait([](Inbox& i) { return i.unreachable >= 1; }));
}

class TransportTlsTest : public TransportTest {
 protected:
  void SetUp() override { ASSERT_TRUE(certs_.ok()) << "openssl could not make the test certificates"; }
  // A server's settings: mutual TLS with the name checked.
  std::shared_ptr<const io::TlsConfig> tls(const test::TlsCerts::Pair& pair, const std::string& ca = {}) {
    io::TlsSettings s;
    s.ca_file = ca.empty() ? certs_.ca : ca;
    s.cert_file = pair.cert;
    s.key_file = pair.key;
    s.verify_incoming = s.verify_outgoing = s.verify_server_hostname = true;
    auto c = io::TlsConfig::load(s);
    EXPECT_TRUE(c.ok()) << c.error().message();
    return c.ok() ? *c : nullptr;
  }
  TcpTransportOptions with(std::shared_ptr<const io::TlsConfig> t) {
    TcpTransportOptions o;
    o.tls = std::move(t);
    o.backoff_initial = 20ms;
    o.backoff_max = 100ms;
    return o;
  }
  test::TlsCerts certs_;
};

TEST_F(TransportTlsTest, MessagesAndAChunkedSnapshotTravelOverMutualTls) {
  Inbox &a_in = inbox(), &b_in = inbox();
  auto ob = with(tls(certs_.server));
  ob.snapshot_chunk_bytes = 1000;
  auto b = make(2, {}, &b_in, ob);
  auto oa = ob;
  auto a = make(1, {{2, addr(b)}}, &a_in, oa);
  std::vector<Message> batch;
  for (Term t = 1; t <= 500; ++t) batch.push_back(heartbeat(1, 2, t));
  a->send(batch);
  ASSERT_TRUE(b_in.wait([](Inbox& i) { return i.messages.size() == 500; }));
  for (size_t k = 0; k < 500; ++k) EXPECT_EQ(b_in.messages[k].term, k + 1);
  Message m = snapshot_message(1, 2, 10500);
  a->send({m});
  ASSERT_TRUE(b_in.wait([](Inbox& i) { return i.messages.size() == 501; }));
  EXPECT_EQ(b_in.messages[500], m);
  ASSERT_TRUE(a_in.wait([](Inbox& i) { return i.snap_ok == 1; }));
  EXPECT_EQ(a->counters().connects, 1u);
  EXPECT_EQ(a->counters().tls_handshake_failures, 0u);
}

TEST_F(TransportTlsTest, APeerWithACertificateFromAnotherCaIsRefusedAndReportedUnreachable) {
  Inbox &a_in = inbox(), &b_in = inbox();
  auto b = make(2, {}, &b_in, with(tls(certs_.server)));
  // a trusts only the other CA and presents its certificate: neither side accepts the other.
  auto a = make(1, {{2, addr(b)}}, &a_in, with(tls(certs_.other_ca, certs_.other_ca_file)));
  a->send({heartbeat(1, 2, 1)});
  ASSERT_TRUE(a_in.wait([](Inbox& i) { return i.unreachable >= 1; }));
  EXPECT_TRUE(eventually([&] { return a->counters().tls_handshake_failures >= 1; }));
  EXPECT_TRUE(eventually([&] { return b->counters().tls_handshake_failures >= 1; }));
  std::lock_guard l(b_in.mu);
  EXPECT_TRUE(b_in.messages.empty());
}

TEST_F(TransportTlsTest, AServerCertificateWithAnotherNameIsRefused) {
  Inbox &a_in = inbox(), &b_in = inbox();
  auto b = make(2, {}, &b_in, with(tls(certs_.wrong_name)));
  auto a = make(1, {{2, addr(b)}}, &a_in, with(tls(certs_.server)));
  a->send({heartbeat(1, 2, 1)});
  ASSERT_TRUE(a_in.wait([](Inbox& i) { return i.unreachable >= 1; }));
  EXPECT_TRUE(eventually([&] { return a->counters().tls_handshake_failures >= 1; }));
  std::lock_guard l(b_in.mu);
  EXPECT_TRUE(b_in.messages.empty());
}

TEST_F(TransportTlsTest, PlaintextFramesToATlsAcceptorAreRefused) {
  Inbox &a_in = inbox(), &b_in = inbox();
  auto b = make(2, {}, &b_in, with(tls(certs_.server)));
  EXPECT_TRUE(sends_and_gets_closed(b->port(), encode_frame(heartbeat(1, 2, 1))));
  auto a = make(1, {{2, addr(b)}}, &a_in);  // a plaintext peer
  a->send({heartbeat(1, 2, 2)});
  EXPECT_TRUE(eventually([&] { return b->counters().tls_handshake_failures >= 2; }));
  std::lock_guard l(b_in.mu);
  EXPECT_TRUE(b_in.messages.empty());
}

// The property the transport's batching relies on: a gather-write of many
// small frames over a TLS io::Stream leaves as a few full records, not one
// record per frame. The receiver reads the raw TCP bytes under its TLS layer
// and counts record headers (RFC 8446 §5.1: type, version, 2-byte length).
TEST(TlsStream, AGatherWriteOfSmallFramesLeavesInFullRecords) {
  test::TlsCerts certs;
  ASSERT_TRUE(certs.ok());
  io::TlsSettings settings;
  settings.ca_file = certs.ca;
  settings.cert_file = certs.server.cert;
  settings.key_file = certs.server.key;
  settings.verify_outgoing = true;
  auto tls = io::TlsConfig::load(settings);
  ASSERT_TRUE(tls.ok()) << tls.error().message();

  asio::io_context io;
  asio::ip::tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
  auto server = std::make_shared<io::Stream>(io.get_executor());
  auto client = std::make_shared<io::Stream>(io.get_executor());
  client->socket().connect(acceptor.local_endpoint());  // the listen backlog completes it
  acceptor.accept(server->socket());
  server->start_tls(*tls, io::Stream::Role::server);
  client->start_tls(*tls, io::Stream::Role::client);
  boost::system::error_code server_ec, client_ec;
  constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
  asio::co_spawn(io, [&]() -> asio::awaitable<void> { server_ec = co_await server->handshake(); }, asio::detached);
  asio::co_spawn(io, [&]() -> asio::awaitable<void> { client_ec = co_await client->handshake(); }, asio::detached);
  io.run();
  io.restart();
  ASSERT_FALSE(server_ec) << server_ec.message();
  ASSERT_FALSE(client_ec) << client_ec.message();

  constexpr size_t kFrames = 1000, kFrameBytes = 100;
  std::vector<std::string> frames(kFrames, std::string(kFrameBytes, 'f'));
  std::vector<asio::const_buffer> bufs;
  for (auto& f : frames) bufs.push_back(asio::buffer(f));
  std::string raw;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        auto [ec, n] = co_await client->write_all(bufs);
        EXPECT_FALSE(ec) << ec.message();
        EXPECT_EQ(n, kFrames * kFrameBytes);
        boost::system::error_code ignored;
        client->close(ignored);
      },
      asio::detached);
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        char buf[65536];
        for (;;) {
          auto [ec, n] = co_await server->socket().async_read_some(asio::buffer(buf), kTuple);
          raw.append(buf, n);
          if (ec) break;
        }
      },
      asio::detached);
  io.run();

  size_t records = 0, payload = 0;
  for (size_t at = 0; at + 5 <= raw.size(); ++records) {
    size_t len = (size_t(uint8_t(raw[at + 3])) << 8) | uint8_t(raw[at + 4]);
    payload += len;
    at += 5 + len;
  }
  EXPECT_GE(payload, kFrames * kFrameBytes);
  // 100,000 bytes fill 7 records of 16 KiB; one per frame would be 1,000.
  EXPECT_LE(records, 10u) << raw.size() << " raw bytes";
}

}  // namespace
}  // namespace cairn::raft
