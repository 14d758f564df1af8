// RaftDriver: the shell that runs one raft::Node.
//
// The node lives on ONE strand. A steady_timer ticks it; messages from the
// transport, proposals and reads are posted to that strand. One coroutine
// takes each Ready and enforces the order the paper requires (§5, Figure 2:
// state is persisted "before responding to RPCs"):
//
//   persist  — snapshot (apply_snapshot), then entries + hard state in ONE
//              fsync (RocksLogStorage::persist);
//   send     — the Ready's messages, through the Transport; a LEADER sends
//              them before persisting (thesis §10.2.1: it writes its log in
//              parallel with replication; the core counts its own copy only
//              once durable) when their term and the vote are already durable;
//   apply    — the snapshot and the committed entries, to the Application;
//              completes proposals and serves reads that are now applied;
//   advance  — and compact the log when it grew past snapshot_threshold (§7).
//
// Group commit: the fsync runs on a dedicated thread (persist_on_thread, the
// default) while the strand keeps stepping messages and taking proposals; the
// Node accumulates them and they all leave in the next Ready, one fsync for
// the lot. Counters (fsyncs, entries persisted) show the batching.
//
// A Ready whose hard state changed only in its commit index (must_sync false)
// is not fsynced at once: the commit index can be recovered from the
// cluster, so it rides along with the next synced write (and is flushed before
// compaction, so the stored commit index never lags the snapshot).
//
// Lease reads (ReadOnlyOption::lease, off by default): the core keeps the
// startup vote lease itself — a Node that was just created refuses votes for
// election_tick ticks (thesis §4.2.3/§6.4.1, raft/README.md) — and the
// driver keeps that rule across restarts by creating a fresh Node on every
// start, never campaigning at start-up, and never catching up missed ticks
// (the timer is re-armed after each tick, so a stall slows ticks down and
// never speeds them up). The tick interval must be the same on every server
// and across restarts for the lease arithmetic to hold. With the default
// ReadIndex reads (safe) no lease is relied on.
//
// Thread-safety: every public method may be called from any thread.
// Callbacks run on the driver's strand and must not block. status() reads a
// snapshot kept under a mutex.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "raft/config.h"
#include "raft/message.h"
#include "raft/storage.h"
#include "raft/io/transport.h"

namespace boost::asio {
class io_context;
}

namespace cairn::raft {

// The replicated state machine.
class Application {
 public:
  virtual ~Application() = default;
  // A committed normal entry with data, in log order (no-op entries and
  // configuration changes are not passed on). Driver strand.
  virtual void apply(const Entry& entry) = 0;
  // An image of the state as of the last entry applied (log compaction, §7).
  // Runs on the strand, which applies nothing meanwhile. A large state
  // returns a reference to a snapshot file instead of the image
  // (raft/io/snapshot_file.h: encode_snapshot_ref of a finished
  // SnapshotWriter); the transport then streams the file and never holds it
  // whole. The same holds for snapshot_async's image.
  virtual std::string snapshot() = 0;
  // Optional asynchronous compaction: capture the state as of `applied` (the
  // last entry applied, the one just handed to apply()) cheaply on the strand
  // — a RocksDB checkpoint or snapshot handle — and return true; then build
  // the image on another thread and call `done` exactly once, from any
  // thread, with the image as of `applied` or an error. The strand keeps
  // applying meanwhile; the driver compacts the log up to `applied` (never
  // further) when `done` arrives, and starts no other snapshot before it.
  // With RocksLogStorage the image is also written to storage inside `done`,
  // on the caller's thread (stage_snapshot_data), so the strand's compaction
  // is a small write.
  // Returning false (the default) falls back to snapshot(). The io_context
  // must outlive the call to `done`; after stop() it is ignored.
  virtual bool snapshot_async(Index applied, std::function<void(Result<std::string>)> done) {
    (void)applied;
    (void)done;
    return false;
  }
  // Replaces the whole state by a snapshot's data: at start-up (the latest
  // stored snapshot) and when the leader sends one (InstallSnapshot, §7).
  // The data is an image or a file reference (decode_snapshot_ref): a
  // TcpTransport with a snapshot_dir delivers every received snapshot as a
  // reference to a complete, checksum-verified file in that directory.
  virtual Status restore(const Snapshot& snapshot) = 0;
};

struct DriverOptions {
  Config raft;                                              // raft.id must be set
  Duration tick_interval = std::chrono::milliseconds(100);  // zero: no timer; tests call tick()
  bool persist_on_thread = true;  // fsync on a dedicated thread (RocksLogStorage only)
  // Compact once this many entries are applied past the last snapshot; 0 = never.
  uint64_t snapshot_threshold = 10000;
  // ...and no sooner than this many ticks after the previous snapshot started
  // (Consul's raft_snapshot_interval): under a heavy write load a snapshot
  // every few thousand entries would cost more than the log it saves. 0: no
  // minimum.
  uint64_t snapshot_interval_ticks = 0;
  // A proposal, read, conf change or transfer not completed within this many
  // ticks fails with timeout.
  uint64_t request_timeout_ticks = 100;
  // The leader or this node's role or term changed (from Ready::soft_state and
  // the hard state's term; reported once the new term is durable). Strand.
  std::function<void(NodeId leader, StateType state, Term term)> on_leader_change;
  // A configuration was applied: after each committed conf-change entry is
  // applied (index = the entry's), after a snapshot from the leader is
  // restored (index = the snapshot's), and once at start with the stored
  // snapshot's configuration (index = the snapshot's; an empty configuration
  // and index 0 on a store that was never bootstrapped). Strand.
  std::function<void(const ConfState& conf, Index index)> on_conf_change;
};

// How a proposal or read ended.
struct Completion {
  Status status;            // ok; raft::errc::not_leader; proposal_dropped; cairn::errc::timeout/cancelled
  Index index = 0;          // propose: the entry's index, applied; read: the read index, applied
  NodeId leader = kNoNode;  // the leader as this node knows it (not_leader: where to go)
};
using CompletionCallback = std::function<void(Completion)>;

// The leader's view of one member's log (its Progress): what autopilot
// (server/leader.h) needs to call a server healthy and promote a learner.
struct PeerProgress {
  NodeId id = kNoNode;
  Index match = 0;             // highest index known replicated there
  bool recent_active = false;  // heard from within the last election timeout
  bool learner = false;
  friend bool operator==(const PeerProgress&, const PeerProgress&) = default;
};

struct DriverStatus {
  NodeId id = kNoNode;
  NodeId leader = kNoNode;
  StateType state = StateType::follower;
  Term term = 0;
  Index commit = 0;
  Index applied = 0;
  Index first_index = 0;
  Index last_index = 0;
  bool failed = false;            // storage failed; the driver stopped
  uint64_t readies = 0;
  uint64_t fsyncs = 0;            // synced persists (one per Ready with must_sync)
  uint64_t entries_persisted = 0;
  uint64_t max_entries_per_fsync = 0;
  uint64_t sends_before_persist = 0;  // leader Readies whose messages left before their fsync (§10.2.1)
  uint64_t proposals = 0;         // accepted by the leader
  uint64_t proposals_failed = 0;
  uint64_t reads = 0;             // served
  uint64_t snapshots_applied = 0; // InstallSnapshot restores
  uint64_t compactions = 0;
  uint64_t snapshots_async = 0;   // compactions whose image was built off the strand
  bool snapshot_in_flight = false;
  // The configuration in effect (thesis §4.1: the latest in the log, committed
  // or not) and the index of the entry or snapshot it came from.
  ConfState conf_state;
  Index conf_index = 0;
  // 0 on the leader; elsewhere the ticks since an append, heartbeat or
  // snapshot from the leader last arrived (since start if none did).
  uint64_t ticks_since_leader_contact = 0;
  // On the leader: every other member's progress, by id; empty elsewhere.
  std::vector<PeerProgress> peers;
};

class RaftDriver {
 public:
  // Restores the application from storage's snapshot, creates the Node and
  // starts ticking. `storage`, `transport` and `app` must outlive the driver.
  static Result<std::shared_ptr<RaftDriver>> start(boost::asio::io_context& io, DriverOptions options,
                                                   LogStorage* storage, Transport* transport, Application* app);
  ~RaftDriver();

  // Appends `data` (not empty) to the log if this node leads; `done` gets the
  // entry's index once it is applied here, or not_leader with the leader's
  // id, or proposal_dropped if another leader overwrote it, or timeout.
  void propose(std::string data, CompletionCallback done);
  // A linearizable read (thesis §6.4) from any member: `done` runs once the
  // state machine applied the read index — read the state inside it.
  void read_index(CompletionCallback done);

  // One membership change (thesis §4.1), proposed on the leader. `done` gets
  // the entry's index once it is applied here; not_leader with the leader's
  // id; the core's refusal (invalid_conf_change, e.g. removing the last voter
  // or adding a voter twice; config_change_pending while the previous change
  // is uncommitted or before this leader committed an entry of its term;
  // learner_not_caught_up); proposal_dropped; or timeout. The core adopts the
  // new configuration as soon as the entry is in its log; nothing more is
  // needed at apply time.
  void propose_conf_change(ConfChange cc, CompletionCallback done);
  // Hands leadership to voter `to` (thesis §3.10); kNoNode picks the other
  // voter with the most of the log. `done`: ok once this node sees `to` lead
  // (Completion.leader); not_leader if this node does not lead;
  // invalid_argument if `to` is not a voter (or there is no other voter);
  // timeout after request_timeout_ticks. While a transfer runs the leader
  // refuses proposals (proposal_dropped); the core gives up on it after an
  // election timeout.
  void transfer_leadership(NodeId to, CompletionCallback done);
  // Starts an election now, skipping the election timeout: for a one-server
  // cluster just bootstrapped (-dev). A node that is not a voter ignores it.
  void campaign();
  // Bootstraps a running driver whose storage is still empty (a server that
  // waited for bootstrap_expect peers in gossip): the storage gets the
  // initial-member snapshot of `cs` (RocksLogStorage::bootstrap) and the Node
  // is recreated from it. `done` gets already_exists when the node holds any
  // state (log, snapshot, term or vote) — e.g. a leader reached it first.
  void bootstrap(ConfState cs, std::function<void(Status)> done);

  // From the transport.
  void receive(Message m);
  void report_unreachable(NodeId id);
  void report_snapshot(NodeId id, bool ok);
  // Hands `handlers` wired to this driver (for TcpTransport::start).
  TransportHandlers transport_handlers();

  // One tick now (tests with tick_interval zero).
  void tick();

  DriverStatus status() const;
  // How long the log write + fsync itself took (µs, p50 and p99) over the last
  // 1,024 persists: the disk's part of a commit, on the thread that ran it
  // (bench/raft's floor). Sorts the samples: not for a hot path ({0, 0} before any).
  std::pair<uint64_t, uint64_t> persist_latency_us() const;
  // Stops ticking, fails pending requests with cancelled. Waits only for a
  // snapshot image being written to RocksLogStorage off the strand (see
  // Application::snapshot_async); images that arrive later are dropped.
  void stop();

 private:
  struct Impl;
  explicit RaftDriver(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<Impl> impl_;
};

}  // namespace cairn::raft
