// The application's handle on one Raft node (etcd's RawNode).
//
//   node->tick();                    every tick interval
//   node->step(msg);                 each message from a peer
//   node->propose(data);             a command; also read_index, conf changes, transfer
//   while (node->has_ready()) {
//     Ready rd = node->ready();
//     persist rd.snapshot, rd.entries and rd.hard_state   (fsync; group commit)
//     send rd.messages
//     install rd.snapshot, then apply rd.committed_entries to the state machine
//     node->advance();
//   }
//
// The order matters: messages may acknowledge entries, so they go out only
// after the entries and hard state are durable (§5, Figure 2 "Persistent
// state ... updated on stable storage before responding to RPCs"), and
// committed_entries may include entries of the same Ready's `entries`.
// Exception (thesis §10.2.1): a leader's messages may go out before its own
// persist when the Ready changes neither term nor vote, since the leader
// counts its own copy toward commitment only once advance() says it is
// durable.
// Between ready() and advance() has_ready() is false; proposals and messages
// stepped meanwhile accumulate and leave together in the next Ready, which
// is how many proposals share one fsync and one append per follower.
//
// Thread affinity: owned by one strand; not thread-safe. Durability: Node
// writes nothing itself except compact(), which writes through LogStorage.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "core/rng.h"
#include "raft/config.h"
#include "raft/invariants.h"
#include "raft/raft.h"
#include "raft/storage.h"

namespace cairn::raft {

struct Ready {
  std::optional<SoftState> soft_state;   // changed leader or role; not persisted
  std::optional<HardState> hard_state;   // persist when present
  std::vector<ReadState> read_states;    // serve each once applied ≥ its index
  std::vector<Entry> entries;            // append to stable storage
  std::optional<Snapshot> snapshot;      // install into storage and the state machine
  std::vector<Entry> committed_entries;  // apply in order, after the snapshot
  std::vector<Message> messages;         // send after persisting

  // Whether the writes must be fsynced before messages go out: a new term or
  // vote, entries or a snapshot. A commit index alone may be written lazily,
  // since it can be recovered from the cluster.
  bool must_sync = false;
};

class Node {
 public:
  // `storage` and `rng` must outlive the node. Fails if cfg.validate() does.
  static Result<std::unique_ptr<Node>> create(const Config& cfg, LogStorage* storage, Rng* rng);

  void tick();
  // Starts an election now (tests and bootstrap of a one-node cluster).
  void campaign();
  Status propose(std::string data);
  Status propose_conf_change(const ConfChange& cc);
  // A message from the network. Local-only types and responses from
  // non-members are refused.
  Status step(Message m);
  // A linearizable read (thesis §6.4): a ReadState with `context` appears in
  // a later Ready; serve the read once applied ≥ its index.
  Status read_index(std::string context);
  // Asks the leader to hand leadership to `to` (thesis §3.10).
  void transfer_leadership(NodeId to);
  void report_unreachable(NodeId id);
  // The outcome of sending a snapshot to `id` (the transport knows it).
  void report_snapshot(NodeId id, bool ok);
  // The state machine has captured everything up to `index` (≤ applied) in
  // `data`: store it as the snapshot and discard the log up to `index` (§7).
  // Returns after the storage made it durable.
  Status compact(Index index, std::string data);

  bool has_ready() const;
  // Must be followed by advance() before the next ready().
  Ready ready();
  void advance();

  const Raft& raft() const { return raft_; }
  NodeId id() const { return raft_.id(); }
  NodeId leader() const { return raft_.leader(); }
  Term term() const { return raft_.term(); }
  StateType state() const { return raft_.state(); }

 private:
  Node(const Config& cfg, LogStorage* storage, Rng* rng);
  void check_invariants();

  Raft raft_;
  LogStorage* storage_;
  SoftState prev_soft_;
  HardState prev_hard_;
  struct Handed {
    std::optional<SoftState> soft_state;
    std::optional<HardState> hard_state;
    std::optional<Entry> last_entry;      // index and term of the last entry handed out
    Index last_committed = 0;             // last committed entry handed out
    Index snapshot_index = 0;
  };
  std::optional<Handed> outstanding_;
  std::optional<InvariantChecker> checker_;
};

}  // namespace cairn::raft
