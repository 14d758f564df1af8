// TcpTransport snapshots over real sockets: chunked transfers, resuming
// after a broken connection or a receiver restart, files streamed from and
// into disk with bounded buffers, checksums.
#include "test/raft/io/transport_fixture.h"

namespace cairn::raft {
namespace {

using namespace transport_testing;
using namespace std::chrono_literals;
namespace asio = boost::asio;

class TransportSnapshotTest : public TransportTest {
 protected:
  // A receiver into `dir` takes the first `bytes` of `m` from a raw sender, then stops.
  void receive_then_stop(const test::TempDir& dir, const Message& m, uint64_t bytes);
};

TEST_F(TransportSnapshotTest, SnapshotMessagesReportTheirOutcome) {
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

TEST_F(TransportSnapshotTest, ALargeSnapshotTravelsInChunks) {
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

TEST_F(TransportSnapshotTest, TheReceiverKeepsAPartialSnapshotAcrossConnections) {
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

TEST_F(TransportSnapshotTest, AResentSnapshotResumesFromWhatThePeerAcknowledged) {
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
TEST_F(TransportSnapshotTest, ASnapshotFileStreamsFromDiskIntoAFileWithBoundedBuffers) {
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
TEST_F(TransportSnapshotTest, ASnapshotWhoseChecksumDoesNotMatchIsDiscarded) {
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
TEST_F(TransportSnapshotTest, AnEmptySnapshotIsDeliveredEmptyEvenWithASnapshotDir) {
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
TEST_F(TransportSnapshotTest, TheReceiverKeepsAPartialSnapshotFileAcrossConnections) {
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

void TransportSnapshotTest::receive_then_stop(const test::TempDir& dir, const Message& m, uint64_t bytes) {
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
TEST_F(TransportSnapshotTest, AReceiverRestartedMidTransferResumesItsPartFile) {
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
TEST_F(TransportSnapshotTest, AReceivedSnapshotFileIsFinishedWhereRunBlockingSays) {
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

TEST_F(TransportSnapshotTest, APartFileThatNoLongerMatchesItsRecordStartsOver) {
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

TEST_F(TransportSnapshotTest, ABadSnapshotChunkClosesTheConnection) {
  Inbox& b_in = inbox();
  auto b = make(2, {}, &b_in);
  Message m = snapshot_message(1, 3, 100);  // addressed to node 3
  EXPECT_TRUE(sends_and_gets_closed(b->port(), encode_chunk_frame(m, 0, 100)));
  EXPECT_TRUE(eventually([&] { return b->counters().bad_frames == 1; }));
}

// ---- TLS (core/io/tls.h): the transport's own acceptor with a certificate ----

}  // namespace
}  // namespace cairn::raft
