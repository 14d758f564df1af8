// How Raft messages travel between servers.
//
// `Transport` is the interface the driver sends through (tests use an
// in-memory twin). `TcpTransport` is the real one: TCP, one framed message
// per frame — a 4-byte big-endian length, then raft::encode(message) —
// decoded with raft::decode under MessageLimits.
//
// Outbound: one connection per peer, opened on demand, with a bounded send
// queue. While a peer is down (the last connect or write failed and the
// backoff has not expired) messages to it are dropped at once rather than
// queued: Raft retransmits whatever matters (§5.3: the leader retries
// AppendEntries indefinitely), and stale queued heartbeats only delay fresh
// ones. Every drop is reported through on_unreachable so that the leader
// moves that follower to probing (etcd's ReportUnreachable). Reconnects back
// off exponentially from backoff_initial up to backoff_max. An outbound
// connection the peer closes (it restarted) is noticed at once by a pending
// one-byte read, so the next frame goes over a fresh connection rather than
// into the dead one.
//
// Inbound: an acceptor; each connection is read frame by frame. A malformed,
// oversized or misaddressed frame closes the connection and is counted; it
// never reaches an assert.
//
// Snapshots travel in chunks (snapshot_chunk_bytes each; a chunk frame sets
// the length prefix's top bit), cut one at a time as the connection takes
// them: from the image in the message, or read from the file when the
// image is a file reference (raft/io/snapshot_file.h), so a sender holds one
// chunk per transfer. Other messages to the peer overtake a transfer between
// chunks (heartbeats keep flowing). The receiver writes chunks to a file when
// options.snapshot_dir is set and delivers a reference to it; the receiver answers each chunk on the
// same connection with how much of that snapshot it holds. When the
// connection breaks mid-transfer the sender reports the snapshot failed; the
// leader later sends the same snapshot again (§7) and the transport resumes
// it from the last acknowledged offset, while the receiver keeps the part it
// has (one partial snapshot per sender). A chunk at an offset past what the
// receiver holds is ignored and acknowledged with what it holds. With a
// snapshot_dir the part is a file plus a small record of what it holds
// (receiving-from-<sender>.part / .meta): a transport created on that
// directory after a restart resumes it when the part file still sums to
// the record, and starts over otherwise.
//
// Every connect, read and write has a deadline. An outbound connection idle
// for idle_close is closed by its sender, before the receiver's idle_timeout
// would close it from the other side and lose a frame in flight.
//
// Thread-safety: every public method may be called from any thread. Handlers
// are called from the transport's strands; they must not block.
//
// TLS (options.tls, core/io/tls.h): when its dial_tls() holds, every
// outbound connection writes io::kProtocolTls (0x04), does the TLS handshake
// within handshake_timeout (checking the peer's certificate, and its name
// with verify_server_hostname), then the protocol byte and frames inside
// TLS; a failed handshake counts as a failed connect (backoff). The
// transport's own acceptor, when it has a certificate, expects the same:
// 0x04 and a handshake on every inbound connection (a shared listener does
// this itself and hands over the ready stream). A batch of frames still
// leaves in one gather-write, coalesced into full TLS records
// (core/io/stream.h), not one record per message.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "raft/message.h"

namespace boost::asio {
class io_context;
}
namespace cairn::io {
class Stream;
class TlsConfig;
}

namespace cairn::raft {

class Transport {
 public:
  virtual ~Transport() = default;
  // Queues each message for its `to` peer; never blocks.
  virtual void send(std::vector<Message> messages) = 0;
};

// Where a transport delivers what it learns.
struct TransportHandlers {
  std::function<void(Message)> on_message;
  // A message to this peer was dropped (queue full, peer down, write failed).
  std::function<void(NodeId)> on_unreachable;
  // A snapshot message to this peer was written out (true) or lost (false).
  std::function<void(NodeId, bool)> on_snapshot_status;
  // Where a blocking disk step runs — a received snapshot file's fsync,
  // rename and directory fsync before it is delivered: RaftDriver hands its
  // persist thread (where the log's fsyncs run). Unset: inline, on an io thread.
  std::function<void(std::function<void()>)> run_blocking;
};

struct TcpTransportOptions {
  NodeId id = kNoNode;
  std::string listen = "127.0.0.1:0";    // "ip:port"; port 0 picks a free one
  std::map<NodeId, std::string> peers;   // id → "ip:port" (this node's own id is ignored)
  size_t max_queue_messages = 4096;      // per peer
  uint64_t max_queue_bytes = 256u << 20; // per peer (a snapshot may be 64 MiB)
  Duration connect_timeout = std::chrono::seconds(1);
  Duration write_timeout = std::chrono::seconds(10);  // one batch of frames
  Duration frame_timeout = std::chrono::seconds(10);  // the rest of a frame once its length arrived
  Duration idle_timeout = std::chrono::seconds(120);  // inbound: no frame starts
  Duration idle_close = std::chrono::seconds(60);     // outbound: nothing to send
  Duration backoff_initial = std::chrono::milliseconds(50);
  Duration backoff_max = std::chrono::seconds(2);
  MessageLimits limits;
  // Snapshot data per chunk frame (≥ 1). A snapshot held in memory is limited
  // to limits.max_snapshot_bytes.
  uint64_t snapshot_chunk_bytes = 1u << 20;
  // Set: a received snapshot is written chunk by chunk to a file here (the
  // part file receiving-from-<sender>.part, then snapshot-<index>-<term>.snap,
  // raft/io/snapshot_file.h) and delivered as a reference to that file, up to
  // max_snapshot_file_bytes. Empty: received snapshots are held in memory.
  std::string snapshot_dir;
  uint64_t max_snapshot_file_bytes = uint64_t{64} << 30;
  // Written first on every outbound connection when set: a server's port
  // 8300 is shared with agent RPC and reads this byte to tell the protocols
  // apart (server/rpc; Consul's pool.RPCType, 0x01 for Raft).
  std::optional<uint8_t> protocol_byte;
  // false: no acceptor of its own (`listen` is ignored, port() is 0); inbound
  // connections arrive through adopt_inbound() from a shared listener.
  bool listen_enabled = true;
  std::shared_ptr<const io::TlsConfig> tls;  // null: plaintext
  Duration handshake_timeout = std::chrono::seconds(5);
  // Outbound connections leave from this address when it is a specific one
  // (the server's bind address; core/io/source_addr.h). Empty: the kernel picks.
  std::string source_ip;
};

struct TransportCounters {
  uint64_t frames_sent = 0;
  uint64_t frames_received = 0;
  uint64_t bad_frames = 0;          // malformed, oversized or misaddressed: connection closed
  uint64_t dropped_queue_full = 0;
  uint64_t dropped_peer_down = 0;   // dropped while in backoff, or lost with a failed write
  uint64_t connects = 0;
  uint64_t connect_failures = 0;   // including failed TLS handshakes
  uint64_t tls_handshake_failures = 0;  // outbound and (own acceptor) inbound
  uint64_t write_failures = 0;
  uint64_t closed_by_peer = 0;      // outbound connections the peer closed (restart, idle)
  uint64_t snapshot_chunks_sent = 0;
  uint64_t snapshot_chunks_received = 0;
  uint64_t snapshot_bytes_resumed = 0;  // sender: snapshot bytes not sent again thanks to a resume
  uint64_t snapshots_received = 0;      // complete and verified, delivered
  uint64_t snapshot_bytes_kept = 0;     // receiver: bytes of part files picked up at start (resumable)
  uint64_t snapshot_checksum_failures = 0;  // a complete snapshot whose checksum did not match: discarded
  // Snapshot bytes this transport holds in memory for transfers, both ways:
  // chunks read from a file or cut from an image and not yet written out,
  // chunk frames being received, and snapshots received into memory (no
  // snapshot_dir). Now and the highest it was.
  uint64_t snapshot_bytes_buffered = 0;
  uint64_t snapshot_bytes_buffered_peak = 0;
};

// "ip:port" → (ip, port); the ip must be literal.
struct HostPort {
  std::string ip;
  uint16_t port = 0;
};
Result<HostPort> parse_host_port(std::string_view text);

// A frame's 4-byte big-endian length prefix followed by the message.
std::string encode_frame(const Message& m);

// One chunk of the snapshot a `snap` message carries: `chunk` at `offset` of
// `total` bytes whose Fnv1a64 is `checksum` (raft/io/snapshot_file.h). The
// frame's length prefix has its top bit set; the body is varints from, to,
// snapshot index, term, total size, offset, then the u64 checksum, the message
// without its snapshot data (length-prefixed) and the chunk (length-prefixed).
// The receiver answers on the same connection with a SnapshotAck: three
// big-endian u64 (index, term, bytes held), and delivers the snapshot only
// once it holds all of it and the checksum matches.
std::string encode_chunk_frame(const Message& snap, uint64_t total, uint64_t checksum, uint64_t offset,
                               std::string_view chunk);
// The same for a snap message that carries its image inline: [offset, offset + len).
std::string encode_chunk_frame(const Message& snap, uint64_t offset, uint64_t len);
inline constexpr uint32_t kChunkFrameBit = 0x80000000u;
inline constexpr size_t kSnapshotAckBytes = 24;

class TcpTransport final : public Transport {
 public:
  // Binds the listener (so port() is known) but accepts nothing until start().
  static Result<std::shared_ptr<TcpTransport>> create(boost::asio::io_context& io, TcpTransportOptions options);
  ~TcpTransport() override;

  void start(TransportHandlers handlers);
  uint16_t port() const;
  void send(std::vector<Message> messages) override;
  // Serves `stream`, an accepted connection whose protocol byte (and TLS
  // handshake, if any) a shared listener already handled, exactly like a
  // connection its own acceptor accepted; it runs on the stream's executor
  // (a strand of its own). After stop() it is closed at once. Any thread.
  void adopt_inbound(std::shared_ptr<io::Stream> stream);
  TransportCounters counters() const;
  // Closes every connection and the listener; queued messages are dropped.
  void stop();

 private:
  struct Impl;
  explicit TcpTransport(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<Impl> impl_;
};

}  // namespace cairn::raft
