// Durable Raft state as an interface (DESIGN.md: interfaces apart from
// implementations, each with an in-memory twin), modelled on etcd's Storage.
//
// The read side is used by the Raft core to read entries it no longer holds
// in memory. The write side is used by the driver after each Ready (append,
// set_hard_state, apply_snapshot) and by Node::compact. Every write method
// returns only once the data is durable (for RocksDB: after the WAL fsync).
//
// Thread affinity: owned by the driver's strand; not thread-safe.
#pragma once

#include <span>
#include <vector>

#include "core/result.h"
#include "raft/types.h"

namespace cairn::raft {

struct InitialState {
  HardState hard_state;
  ConfState conf_state;  // the configuration as of the snapshot (or the bootstrap one)
};

class LogStorage {
 public:
  virtual ~LogStorage() = default;

  virtual Result<InitialState> initial_state() const = 0;
  // Entries in [lo, hi). At least one entry is returned if any is in range,
  // then no more than max_size bytes in all. errc::compacted if lo is below
  // first_index(), errc::unavailable if hi is past last_index()+1.
  virtual Result<std::vector<Entry>> entries(Index lo, Index hi, uint64_t max_size) const = 0;
  // The term of entry i, for i in [first_index()-1, last_index()]; the entry
  // just below first_index() is the snapshot's (index, term).
  virtual Result<Term> term(Index i) const = 0;
  virtual Index first_index() const = 0;
  virtual Index last_index() const = 0;
  virtual Result<Snapshot> snapshot() const = 0;

  // Appends entries, replacing any that conflict from entries[0].index on.
  virtual Status append(std::span<const Entry> entries) = 0;
  virtual Status set_hard_state(const HardState& hs) = 0;
  // Replaces the whole log with `snapshot` (a follower installing InstallSnapshot, §7).
  virtual Status apply_snapshot(const Snapshot& snapshot) = 0;
  // Records `snapshot` (index ≤ last_index()) and discards entries up to its
  // index (log compaction, §7).
  virtual Status compact(const Snapshot& snapshot) = 0;
};

// In-memory LogStorage for tests and the simulator. "Durable" here means the
// object outlives the Raft node that uses it: a simulated crash drops the
// node and keeps this.
class MemoryStorage final : public LogStorage {
 public:
  MemoryStorage();
  // Cluster bootstrap: holds bootstrap_snapshot(cs) and hard state term 1.
  explicit MemoryStorage(ConfState cs);

  Result<InitialState> initial_state() const override;
  Result<std::vector<Entry>> entries(Index lo, Index hi, uint64_t max_size) const override;
  Result<Term> term(Index i) const override;
  Index first_index() const override;
  Index last_index() const override;
  Result<Snapshot> snapshot() const override;

  Status append(std::span<const Entry> entries) override;
  Status set_hard_state(const HardState& hs) override;
  Status apply_snapshot(const Snapshot& snapshot) override;
  Status compact(const Snapshot& snapshot) override;

  const HardState& hard_state() const { return hard_state_; }

 private:
  Index offset() const { return ents_.front().index; }

  HardState hard_state_;
  Snapshot snapshot_;
  // ents_[0] is a dummy entry holding the snapshot's index and term, so that
  // term(first_index()-1) needs no special case.
  std::vector<Entry> ents_;
};

// How every initial member of a cluster starts: a snapshot at index 1, term
// 1, of an empty state machine with configuration `cs`. Servers that join
// later start with empty storage and no configuration; since the log starts
// after index 1, the leader brings them in with this (or a later) snapshot
// and they learn the configuration from it (§7, thesis §4.1).
Snapshot bootstrap_snapshot(ConfState cs);

// Keeps a prefix of `ents` whose total size stays within max_size, but at least one entry.
void limit_size(std::vector<Entry>& ents, uint64_t max_size);

}  // namespace cairn::raft
