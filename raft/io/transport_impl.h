// Internal to raft/io's TCP transport: TcpTransport::Impl and the frame and
// snapshot types it queues, shared by transport.cc (connections, outbound
// batches, inbound reads) and transport_snapshot.cc (receiving snapshot
// chunks into files). Includes Asio: never include it outside those two.
#pragma once

#include "raft/io/transport.h"

#include <unistd.h>
#include <atomic>
#include <deque>
#include <filesystem>
#include <mutex>
#include <set>
#include "core/codec.h"
#include "core/io/pch.h"
#include "core/io/source_addr.h"
#include "core/io/stream.h"
#include "core/io/tls.h"
#include "core/log.h"
#include "raft/io/handoff.h"
#include "raft/io/snapshot_file.h"

namespace cairn::raft {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using Strand = asio::strand<asio::io_context::executor_type>;
using cairn::io::arm;
using cairn::io::Stream;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
constexpr size_t kReadBytes = 16 << 10;  // an inbound connection's read size

namespace transport_detail {

// A snapshot being sent: cut one chunk at a time, from the image in the
// message or read from the file it refers to.
struct OutSnapshot {
  std::shared_ptr<Message> snap;
  std::optional<SnapshotReader> file;  // open for the whole transfer (a pruned file stays readable)
  uint64_t total = 0;
  uint64_t checksum = 0;
  uint64_t next = 0;  // offset of the next chunk
};

struct Frame {
  NodeId to = kNoNode;
  bool snapshot = false;  // reports on_snapshot_status when written or dropped (a snapshot's last chunk)
  std::string bytes;
  std::shared_ptr<Message> snap;  // a snap message whose transfer has not started
  std::shared_ptr<OutSnapshot> stream;  // a transfer in progress: stays queued until its last chunk is cut
  bool chunk = false;  // bytes is a chunk frame
};

inline std::string encode_ack(Index index, Term term, uint64_t held) {
  std::string out;
  ByteWriter w(&out);
  w.u64(index);
  w.u64(term);
  w.u64(held);
  return out;
}

}  // namespace transport_detail

using transport_detail::Frame;
using transport_detail::OutSnapshot;
using transport_detail::encode_ack;

struct TcpTransport::Impl : std::enable_shared_from_this<TcpTransport::Impl> {
  struct Peer {
    Peer(asio::io_context& io, NodeId id_, tcp::endpoint ep_)
        : id(id_), ep(ep_), strand(asio::make_strand(io)), wake(strand), deadline(strand) {}
    NodeId id;
    tcp::endpoint ep;
    Strand strand;
    detail::Wakeup<Strand> wake;  // parked writer; notified when frames arrive
    asio::steady_timer deadline;  // closes the socket when a connect or handshake overruns
    // While connected: the write deadline when a batch is being written, the
    // idle_close deadline while parked (moved per batch without timer calls).
    std::shared_ptr<detail::LazyDeadline> writing;
    bool idle_expired = false;
    // Strand-only state.
    enum class State { idle, connecting, up, down } state = State::idle;
    std::deque<Frame> queue;
    uint64_t queued_bytes = 0;
    bool writer_parked = false;
    bool broken = false;  // the watcher saw the peer close the connection
    bool protocol_byte_due = false;  // the connection's first write has not gone yet
    bool tls_warned = false;  // a failed TLS handshake was logged at warn since the last good connect
    std::shared_ptr<Stream> socket;
    // What the peer last said it holds of a snapshot: where a resend resumes.
    struct SnapshotHeld {
      Index index = 0;
      Term term = 0;
      uint64_t bytes = 0;
    };
    SnapshotHeld snapshot_held;
  };
  // A snapshot being received from one peer; it outlives the connection.
  struct Partial {
    Index index = 0;
    Term term = 0;
    uint64_t total = 0;
    uint64_t checksum = 0;  // what the sender says the whole snapshot sums to
    uint64_t held = 0;
    Fnv1a64 sum;                          // of the bytes held
    std::string data;                     // in memory (no snapshot_dir)
    std::optional<SnapshotWriter> file;   // or in snapshot_dir,
    std::string meta;                     // with what it holds recorded here (resume after a restart)
  };
  struct ChunkOutcome {
    Status status;                 // not ok: the frame is bad, close the connection
    std::string ack;               // to write back
    std::optional<Message> whole;  // the snapshot is complete: deliver it
    std::shared_ptr<SnapshotWriter> finish;  // ... once this file is finished (its reference into the message)
  };

  Impl(asio::io_context& io_, TcpTransportOptions o)
      : io(io_), acceptor_strand(asio::make_strand(io_)), acceptor(acceptor_strand), options(std::move(o)) {}
  // A transfer in progress stays on disk for the next process to resume.
  ~Impl() {
    for (auto& [from, pt] : partial) {
      if (pt.file) pt.file->detach();
    }
  }
  std::string part_path(NodeId from) const {
    return options.snapshot_dir + "/receiving-from-" + std::to_string(from) + ".part";
  }
  std::string meta_path(NodeId from) const {
    return options.snapshot_dir + "/receiving-from-" + std::to_string(from) + ".meta";
  }
  void keep_partial_snapshots();
  // Drops the partial snapshot from `from` and its files (mu held).
  void forget_partial(NodeId from) {
    auto it = partial.find(from);
    if (it == partial.end()) return;
    if (!it->second.meta.empty()) ::unlink(it->second.meta.c_str());
    release_locked(it->second.data.size());
    partial.erase(it);  // an unfinished SnapshotWriter removes its part file
  }

  asio::io_context& io;
  Strand acceptor_strand;
  tcp::acceptor acceptor;
  TcpTransportOptions options;
  TransportHandlers handlers;
  std::map<NodeId, std::unique_ptr<Peer>> peers;  // fixed after create()
  uint16_t port = 0;
  std::atomic<bool> stopped{false};

  mutable std::mutex mu;  // guards counters and inbound
  TransportCounters counters;
  std::set<std::shared_ptr<Stream>> inbound;
  std::map<NodeId, Partial> partial;  // by sender

  void bump(uint64_t TransportCounters::*field, uint64_t n = 1) {
    std::lock_guard lock(mu);
    counters.*field += n;
  }
  // Snapshot bytes held in memory (TransportCounters::snapshot_bytes_buffered); mu held.
  void hold_locked(uint64_t n) {
    counters.snapshot_bytes_buffered += n;
    counters.snapshot_bytes_buffered_peak =
        std::max(counters.snapshot_bytes_buffered_peak, counters.snapshot_bytes_buffered);
  }
  void release_locked(uint64_t n) { counters.snapshot_bytes_buffered -= std::min(n, counters.snapshot_bytes_buffered); }
  void hold(uint64_t n) {
    std::lock_guard lock(mu);
    hold_locked(n);
  }
  void release(uint64_t n) {
    std::lock_guard lock(mu);
    release_locked(n);
  }

  asio::awaitable<void> accept_loop();
  asio::awaitable<void> read_loop(std::shared_ptr<Stream> sock);
  asio::awaitable<void> accept_tls(std::shared_ptr<Stream> sock);
  void serve_inbound(std::shared_ptr<Stream> sock);
  asio::awaitable<void> peer_loop(Peer& p);
  asio::awaitable<boost::system::error_code> start_tls(Peer& p);
  asio::awaitable<void> watch(Peer& p, std::shared_ptr<Stream> sock);
  void enqueue(Peer& p, std::vector<Frame> frames);
  Result<std::shared_ptr<OutSnapshot>> start_snapshot(Peer& p, std::shared_ptr<Message> snap);
  Result<Frame> next_chunk(Peer& p, OutSnapshot& out);
  std::deque<Frame> take_batch(Peer& p);
  ChunkOutcome receive_chunk(std::string_view body);
  void deliver_file(Message m, std::shared_ptr<SnapshotWriter> file);
  void drop(Peer& p, std::deque<Frame>& frames, uint64_t TransportCounters::*why);
};

}  // namespace cairn::raft
