// TcpTransport over real sockets on 127.0.0.1 (port 0). Each test runs the
// io_context on a thread and waits on conditions with a generous bound; no
// test sleeps for a fixed time to make something happen.
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

namespace cairn::raft {
namespace {

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

Message heartbeat(NodeId from, NodeId to, Term term) {
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
  // A receiver into `dir` takes the first `bytes` of `m` from a raw sender, then stops.
  void receive_then_stop(const test::TempDir& dir, const Message& m, uint64_t bytes);
  static std::string addr(const std::shared_ptr<TcpTransport>& t) { return "127.0.0.1:" + std::to_string(t->port()); }


  // Owned by the fixture: transports call their handlers until TearDown joined the io thread.
  Inbox& inbox() { return inboxes_.emplace_back(); }

  std::deque<Inbox> inboxes_;
  asio::io_context io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_{io_.get_executor()};
  std::thread runner_;
  std::vector<std::shared_ptr<TcpTransport>> transports_;
};

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

TEST_F(TransportTest, SnapshotMessagesReportTheirOutcome) {
  Inbox &a_in = inbox(), &b_in = inbox();
  auto b = make(2, {}, &b_in);
  auto a = make(1, {{2, addr(b)}}, &a_in);
  Message m;
  m.type = MessageType::snap;
  m.from = 1;
  m.to = 2;
  m.term = 1;
  m.snapshot = Snapshot{{10, 1, ConfState{{1, 2}, {}}}, std::string(4096, 's')};
  a->send({m});
  ASSERT_TRUE(a_in.wait([](Inbox& i) { return i.snap_ok == 1; }));
  ASSERT_TRUE(b_in.wait([](Inbox& i) { return i.messages.size() == 1; }));
  EXPECT_EQ(b_in.messages[0].snapshot->data.size(), 4096u);
}

Message snapshot_message(NodeId from, NodeId to, size_t bytes) {
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

// One chunk frame read off a raw socket.
struct RawChunk {
  uint64_t total = 0, offset = 0;
  std::string data;
};

std::optional<RawChunk> read_chunk(asio::ip::tcp::socket& s) {
  unsigned char len_bytes[4];
  boost::system::error_code ec;
  asio::read(s, asio::buffer(len_bytes), ec);
  if (ec) return std::nullopt;
  uint32_t len = (uint32_t{len_bytes[0]} << 24) | (uint32_t{len_bytes[1]} << 16) | (uint32_t{len_bytes[2]} << 8) | len_bytes[3];
  if ((len & kChunkFrameBit) == 0) return std::nullopt;
  std::string body(len & ~kChunkFrameBit, '\0');
  asio::read(s, asio::buffer(body), ec);
  if (ec) return std::nullopt;
  ByteReader r(body);
  for (int i = 0; i < 4; ++i) r.varint();  // from, to, index, term
  RawChunk c;
  c.total = r.varint();
  c.offset = r.varint();
  r.u64();    // the checksum
  r.bytes();  // the header
  c.data = std::string(r.bytes());
  if (!r.ok()) return std::nullopt;
  return c;
}

std::array<uint64_t, 3> read_ack(asio::ip::tcp::socket& s) {
  unsigned char ack[kSnapshotAckBytes];
  asio::read(s, asio::buffer(ack));
  ByteReader r(std::string_view(reinterpret_cast<const char*>(ack), sizeof ack));
  uint64_t index = r.u64(), term = r.u64(), held = r.u64();
  return {index, term, held};
}

void write_ack(asio::ip::tcp::socket& s, uint64_t held) {
  std::string out;
  ByteWriter w(&out);
  w.u64(40);
  w.u64(3);
  w.u64(held);
  asio::write(s, asio::buffer(out));
}

TEST_F(TransportTest, ALargeSnapshotTravelsInChunks) {
  Inbox &a_in = inbox(), &b_in = inbox();
  TcpTransportOptions o;
  o.snapshot_chunk_bytes = 1000;
  auto b = make(2, {}, &b_in, o);
  auto a = make(1, {{2, addr(b)}}, &a_in, o);
  Message m = snapshot_message(1, 2, 10500);
  a->send({m});
  ASSERT_TRUE(b_in.wait([](Inbox& i) { return i.messages.size() == 1; }));
  EXPECT_EQ(b_in.messages[0], m);
  ASSERT_TRUE(a_in.wait([](Inbox& i) { return i.snap_ok == 1; }));
  EXPECT_EQ(a->counters().snapshot_chunks_sent, 11u);
  EXPECT_EQ(a->counters().frames_sent, 1u);
  EXPECT_TRUE(eventually([&] { return b->counters().snapshot_chunks_received == 11; }));
  EXPECT_EQ(b->counters().frames_received, 1u);
  // The sender cuts one chunk at a time; a receiver without a snapshot_dir
  // holds the whole snapshot in memory, and the counter says so.
  EXPECT_LE(a->counters().snapshot_bytes_buffered_peak, 2000u);
  EXPECT_GE(b->counters().snapshot_bytes_buffered_peak, 10500u);
}

TEST_F(TransportTest, TheReceiverKeepsAPartialSnapshotAcrossConnections) {
  Inbox& b_in = inbox();
  auto b = make(2, {}, &b_in);
  Message m = snapshot_message(1, 2, 5000);
  asio::io_context io;
  {
    asio::ip::tcp::socket s(io);
    s.connect({asio::ip::make_address("127.0.0.1"), b->port()});
    for (uint64_t off = 0; off < 3000; off += 1000) {
      asio::write(s, asio::buffer(encode_chunk_frame(m, off, 1000)));
      EXPECT_EQ(read_ack(s), (std::array<uint64_t, 3>{40, 3, off + 1000}));
    }
  }  // the connection breaks with 3000 of 5000 bytes across
  asio::ip::tcp::socket s(io);
  s.connect({asio::ip::make_address("127.0.0.1"), b->port()});
  asio::write(s, asio::buffer(encode_chunk_frame(m, 4500, 500)));  // past what it holds: ignored
  EXPECT_EQ(read_ack(s)[2], 3000u);
  asio::write(s, asio::buffer(encode_chunk_frame(m, 2500, 1500)));  // overlaps: the new part is kept
  EXPECT_EQ(read_ack(s)[2], 4000u);
  asio::write(s, asio::buffer(encode_chunk_frame(m, 4000, 1000)));
  EXPECT_EQ(read_ack(s)[2], 5000u);
  ASSERT_TRUE(b_in.wait([](Inbox& i) { return i.messages.size() == 1; }));
  EXPECT_EQ(b_in.messages[0], m);
  EXPECT_EQ(b->counters().bad_frames, 0u);
}

TEST_F(TransportTest, AResentSnapshotResumesFromWhatThePeerAcknowledged) {
  // The peer is a raw listener: of the first transfer it acknowledges only
  // three chunks (the other acknowledgements are "lost"), then the
  // connection breaks.
  asio::io_context peer_io;
  asio::ip::tcp::acceptor acceptor(peer_io, {asio::ip::make_address("127.0.0.1"), 0});
  uint16_t port = acceptor.local_endpoint().port();
  std::vector<uint64_t> second_offsets;
  std::thread peer([&] {
    {
      asio::ip::tcp::socket s(peer_io);
      acceptor.accept(s);
      while (auto c = read_chunk(s)) {
        if (c->offset < 3000) write_ack(s, c->offset + c->data.size());
        if (c->offset + c->data.size() == c->total) break;
      }
    }
    asio::ip::tcp::socket s(peer_io);
    acceptor.accept(s);
    while (auto c = read_chunk(s)) {
      second_offsets.push_back(c->offset);
      write_ack(s, c->offset + c->data.size());
      if (c->offset + c->data.size() == c->total) break;
    }
  });
  Inbox& a_in = inbox();
  TcpTransportOptions o;
  o.snapshot_chunk_bytes = 1000;
  auto a = make(1, {{2, "127.0.0.1:" + std::to_string(port)}}, &a_in, o);
  Message m = snapshot_message(1, 2, 8000);
  a->send({m});
  ASSERT_TRUE(a_in.wait([](Inbox& i) { return i.snap_ok + i.snap_failed == 1; }));
  ASSERT_TRUE(eventually([&] { return a->counters().closed_by_peer == 1; }));
  a->send({m});  // the leader sends the same snapshot again (§7)
  peer.join();
  ASSERT_FALSE(second_offsets.empty());
  EXPECT_EQ(second_offsets.front(), 3000u) << "resumed after the three acknowledged chunks";
  EXPECT_EQ(second_offsets.back(), 7000u);
  EXPECT_EQ(a->counters().snapshot_bytes_resumed, 3000u);
}

// A leader whose snapshot is a file (raft/io/snapshot_file.h) and a follower
// with a snapshot_dir: the file goes across 64 KiB at a time, lands in a
// file, and neither side ever holds more than a couple of chunks.
TEST_F(TransportTest, ASnapshotFileStreamsFromDiskIntoAFileWithBoundedBuffers) {
  test::TempDir dir;
  constexpr uint64_t kChunk = 64 << 10;
  constexpr uint64_t kSize = 200 * kChunk + 123;  // 12.5 MiB: 201 chunks
  auto w = SnapshotWriter::create(snapshot_file_path(dir.file("leader"), 40, 3), dir.file("leader/packing.part"));
  ASSERT_TRUE(w.ok()) << w.error().message();
  std::string piece(kChunk, '\0');
  for (uint64_t off = 0; off < kSize; off += piece.size()) {
    for (size_t i = 0; i < piece.size(); ++i) piece[i] = static_cast<char>((off + i) * 7 % 251);
    ASSERT_TRUE(w->write(std::string_view(piece).substr(0, std::min<uint64_t>(piece.size(), kSize - off))).ok());
  }
  auto ref = w->finish();
  ASSERT_TRUE(ref.ok()) << ref.error().message();
  ASSERT_EQ(ref->size, kSize);

  Inbox &a_in = inbox(), &b_in = inbox();
  TcpTransportOptions o;
  o.snapshot_chunk_bytes = kChunk;
  TcpTransportOptions bo = o;
  bo.snapshot_dir = dir.file("follower");
  auto b = make(2, {}, &b_in, bo);
  auto a = make(1, {{2, addr(b)}}, &a_in, o);
  Message m = snapshot_message(1, 2, 0);
  m.snapshot->data = encode_snapshot_ref(*ref);
  a->send({m, heartbeat(1, 2, 3)});
  ASSERT_TRUE(b_in.wait([](Inbox& i) { return i.messages.size() == 2; }, 60s));
  ASSERT_TRUE(a_in.wait([](Inbox& i) { return i.snap_ok == 1; }));
  // The heartbeat queued behind the snapshot overtook it between chunks.
  EXPECT_EQ(b_in.messages.front().type, MessageType::heartbeat);
  const Message& got = b_in.messages.back();
  ASSERT_EQ(got.type, MessageType::snap);
  EXPECT_EQ(got.snapshot->metadata, m.snapshot->metadata);
  auto got_ref = decode_snapshot_ref(got.snapshot->data);
  ASSERT_TRUE(got_ref.has_value()) << "delivered as a reference to the received file";
  EXPECT_EQ(got_ref->path, snapshot_file_path(dir.file("follower"), 40, 3));
  EXPECT_EQ(got_ref->size, kSize);
  EXPECT_EQ(got_ref->checksum, ref->checksum);
  auto sent = read_snapshot_data(m.snapshot->data);
  auto received = read_snapshot_data(got.snapshot->data);
  ASSERT_TRUE(sent.ok() && received.ok());
  EXPECT_TRUE(*sent == *received);
  EXPECT_FALSE(std::filesystem::exists(dir.file("follower/receiving-from-1.part")));

  TransportCounters ac = a->counters(), bc = b->counters();
  EXPECT_EQ(ac.snapshot_chunks_sent, 201u);
  EXPECT_EQ(bc.snapshot_chunks_received, 201u);
  EXPECT_EQ(bc.snapshots_received, 1u);
  // Bounded by the chunk, not the snapshot: one chunk frame (plus its header)
  // in flight on each side.
  const uint64_t bound = kChunk + 1024;
  EXPECT_LE(ac.snapshot_bytes_buffered_peak, bound);
  EXPECT_GE(ac.snapshot_bytes_buffered_peak, kChunk);
  EXPECT_LE(bc.snapshot_bytes_buffered_peak, bound);
  EXPECT_EQ(ac.snapshot_bytes_buffered, 0u);
  EXPECT_EQ(bc.snapshot_bytes_buffered, 0u);
}

// Chunks whose bytes do not sum to the checksum the sender announced: the
// receiver discards the snapshot (no file left, nothing delivered) and closes
// the connection.
TEST_F(TransportTest, ASnapshotWhoseChecksumDoesNotMatchIsDiscarded) {
  test::TempDir dir;
  Inbox& b_in = inbox();
  auto b = file_receiver(dir, &b_in);
  Message m = snapshot_message(1, 2, 3000);
  Fnv1a64 sum;
  sum.update(m.snapshot->data);
  asio::io_context io;
  asio::ip::tcp::socket s(io);
  s.connect({asio::ip::make_address("127.0.0.1"), b->port()});
  std::string_view data(m.snapshot->data);
  asio::write(s, asio::buffer(encode_chunk_frame(m, 3000, sum.value(), 0, data.substr(0, 1500))));
  EXPECT_EQ(read_ack(s)[2], 1500u);
  std::string flipped(data.substr(1500));
  flipped[10] ^= 1;
  asio::write(s, asio::buffer(encode_chunk_frame(m, 3000, sum.value(), 1500, flipped)));
  char byte;
  boost::system::error_code ec;
  s.read_some(asio::buffer(&byte, 1), ec);
  EXPECT_TRUE(ec) << "the connection is closed";
  EXPECT_TRUE(eventually([&] { return b->counters().snapshot_checksum_failures == 1; }));
  EXPECT_EQ(b->counters().snapshots_received, 0u);
  EXPECT_TRUE(b_in.messages.empty());
  EXPECT_FALSE(std::filesystem::exists(snapshot_file_path(dir.path(), 40, 3)));
  EXPECT_FALSE(std::filesystem::exists(dir.file("receiving-from-1.part")));
}

// A new member's bootstrap snapshot has no image: it arrives empty, not as a
// reference to an empty file (a server would try to unpack that).
TEST_F(TransportTest, AnEmptySnapshotIsDeliveredEmptyEvenWithASnapshotDir) {
  test::TempDir dir;
  Inbox &a_in = inbox(), &b_in = inbox();
  auto b = file_receiver(dir, &b_in);
  auto a = make(1, {{2, addr(b)}}, &a_in);
  a->send({snapshot_message(1, 2, 0)});
  ASSERT_TRUE(b_in.wait([](Inbox& i) { return i.messages.size() == 1; }));
  EXPECT_TRUE(b_in.messages[0].snapshot->data.empty());
  EXPECT_FALSE(std::filesystem::exists(snapshot_file_path(dir.path(), 40, 3)));
}

// The partial snapshot survives a broken connection on disk too.
TEST_F(TransportTest, TheReceiverKeepsAPartialSnapshotFileAcrossConnections) {
  test::TempDir dir;
  Inbox& b_in = inbox();
  auto b = file_receiver(dir, &b_in);
  Message m = snapshot_message(1, 2, 5000);
  asio::io_context io;
  {
    asio::ip::tcp::socket s(io);
    s.connect({asio::ip::make_address("127.0.0.1"), b->port()});
    asio::write(s, asio::buffer(encode_chunk_frame(m, 0, 3000)));
    EXPECT_EQ(read_ack(s)[2], 3000u);
  }
  EXPECT_TRUE(std::filesystem::exists(dir.file("receiving-from-1.part")));
  asio::ip::tcp::socket s(io);
  s.connect({asio::ip::make_address("127.0.0.1"), b->port()});
  asio::write(s, asio::buffer(encode_chunk_frame(m, 2000, 3000)));  // overlaps what it holds
  EXPECT_EQ(read_ack(s)[2], 5000u);
  ASSERT_TRUE(b_in.wait([](Inbox& i) { return i.messages.size() == 1; }));
  auto data = read_snapshot_data(b_in.messages[0].snapshot->data);
  ASSERT_TRUE(data.ok()) << data.error().message();
  EXPECT_EQ(*data, m.snapshot->data);
}

void TransportTest::receive_then_stop(const test::TempDir& dir, const Message& m, uint64_t bytes) {
  Inbox& in = inbox();
  auto b = file_receiver(dir, &in);
  asio::io_context io;
  asio::ip::tcp::socket s(io);
  s.connect({asio::ip::make_address("127.0.0.1"), b->port()});
  asio::write(s, asio::buffer(encode_chunk_frame(m, 0, bytes)));
  EXPECT_EQ(read_ack(s)[2], bytes);
  b->stop();
}

// A receiver that restarts mid-transfer (a new transport on the same
// snapshot_dir) resumes the part file when it still sums to its record, and
// starts over when it does not.
TEST_F(TransportTest, AReceiverRestartedMidTransferResumesItsPartFile) {
  test::TempDir dir;
  Message m = snapshot_message(1, 2, 5000);
  receive_then_stop(dir, m, 3000);  // the process goes away: its part file and record stay
  asio::io_context io;
  ASSERT_TRUE(std::filesystem::exists(dir.file("receiving-from-1.part")));
  ASSERT_TRUE(std::filesystem::exists(dir.file("receiving-from-1.meta")));
  Inbox& b_in = inbox();
  auto b = file_receiver(dir, &b_in);
  EXPECT_EQ(b->counters().snapshot_bytes_kept, 3000u);
  asio::ip::tcp::socket s(io);
  s.connect({asio::ip::make_address("127.0.0.1"), b->port()});
  asio::write(s, asio::buffer(encode_chunk_frame(m, 3000, 2000)));  // the sender resumes where it was acknowledged
  EXPECT_EQ(read_ack(s)[2], 5000u);
  ASSERT_TRUE(b_in.wait([](Inbox& i) { return i.messages.size() == 1; }));
  auto data = read_snapshot_data(b_in.messages[0].snapshot->data);
  ASSERT_TRUE(data.ok()) << data.error().message();
  EXPECT_EQ(*data, m.snapshot->data);
  EXPECT_FALSE(std::filesystem::exists(dir.file("receiving-from-1.part")));
  EXPECT_FALSE(std::filesystem::exists(dir.file("receiving-from-1.meta")));
}

// The fsyncs that make a received file durable run where the handlers say
// (RaftDriver: its persist thread), and the snapshot is delivered only after.
TEST_F(TransportTest, AReceivedSnapshotFileIsFinishedWhereRunBlockingSays) {
  test::TempDir dir;
  Inbox& b_in = inbox();
  std::mutex mu;
  std::vector<std::function<void()>> blocking;
  TcpTransportOptions o;
  o.id = 2;
  o.snapshot_dir = dir.path();
  auto created = TcpTransport::create(io_, o);
  ASSERT_TRUE(created.ok());
  auto b = *created;
  TransportHandlers h = b_in.handlers();
  h.run_blocking = [&](std::function<void()> work) {
    std::lock_guard l(mu);
    blocking.push_back(std::move(work));
  };
  b->start(h);
  transports_.push_back(b);
  if (!runner_.joinable()) runner_ = std::thread([this] { io_.run(); });
  Message m = snapshot_message(1, 2, 5000);
  asio::io_context io;
  asio::ip::tcp::socket s(io);
  s.connect({asio::ip::make_address("127.0.0.1"), b->port()});
  asio::write(s, asio::buffer(encode_chunk_frame(m, 0, 5000)));
  EXPECT_EQ(read_ack(s)[2], 5000u);
  ASSERT_TRUE(eventually([&] {
    std::lock_guard l(mu);
    return blocking.size() == 1;
  }));
  EXPECT_TRUE(b_in.messages.empty()) << "not delivered before its file is finished";
  EXPECT_FALSE(std::filesystem::exists(snapshot_file_path(dir.path(), 40, 3)));
  std::function<void()> work;
  {
    std::lock_guard l(mu);
    work = std::move(blocking.front());
  }
  work();
  ASSERT_TRUE(b_in.wait([](Inbox& i) { return i.messages.size() == 1; }));
  EXPECT_TRUE(std::filesystem::exists(snapshot_file_path(dir.path(), 40, 3)));
  auto data = read_snapshot_data(b_in.messages[0].snapshot->data);
  ASSERT_TRUE(data.ok()) << data.error().message();
  EXPECT_EQ(*data, m.snapshot->data);
}

TEST_F(TransportTest, APartFileThatNoLongerMatchesItsRecordStartsOver) {
  test::TempDir dir;
  Message m = snapshot_message(1, 2, 5000);
  receive_then_stop(dir, m, 3000);
  asio::io_context io;
  {
    std::fstream f(dir.file("receiving-from-1.part"), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(1234);
    f.put('!');  // what is kept no longer sums to the record
  }
  Inbox& b_in = inbox();
  auto b = file_receiver(dir, &b_in);
  EXPECT_EQ(b->counters().snapshot_bytes_kept, 0u);
  EXPECT_FALSE(std::filesystem::exists(dir.file("receiving-from-1.part")));
  EXPECT_FALSE(std::filesystem::exists(dir.file("receiving-from-1.meta")));
  asio::ip::tcp::socket s(io);
  s.connect({asio::ip::make_address("127.0.0.1"), b->port()});
  asio::write(s, asio::buffer(encode_chunk_frame(m, 3000, 2000)));
  EXPECT_EQ(read_ack(s)[2], 0u) << "a resumed chunk it cannot continue: the sender starts over";
  asio::write(s, asio::buffer(encode_chunk_frame(m, 0, 5000)));
  EXPECT_EQ(read_ack(s)[2], 5000u);
  ASSERT_TRUE(b_in.wait([](Inbox& i) { return i.messages.size() == 1; }));
  auto data = read_snapshot_data(b_in.messages[0].snapshot->data);
  ASSERT_TRUE(data.ok()) << data.error().message();
  EXPECT_EQ(*data, m.snapshot->data);
}

TEST_F(TransportTest, ABadSnapshotChunkClosesTheConnection) {
  Inbox& b_in = inbox();
  auto b = make(2, {}, &b_in);
  Message m = snapshot_message(1, 3, 100);  // addressed to node 3
  EXPECT_TRUE(sends_and_gets_closed(b->port(), encode_chunk_frame(m, 0, 100)));
  EXPECT_TRUE(eventually([&] { return b->counters().bad_frames == 1; }));
}

// ---- TLS (core/io/tls.h): the transport's own acceptor with a certificate ----

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
