// LogStorage on RocksDB: the Raft log, hard state and latest snapshot of one
// server, in `<dir>` (its own RocksDB instance, apart from the state
// machine's).
//
// Durability contract: every write method (append, set_hard_state,
// apply_snapshot, compact, persist) is one RocksDB WriteBatch written with
// sync = true, so it returns only after the WAL is fsynced; a crash keeps all
// of it or none of it. persist() writes a Ready's entries and hard state in
// one batch and one fsync — the driver group-commits many proposals through
// it. Reads see everything written before them.
//
// Layout: column family "log" maps an 8-byte big-endian index to the entry
// (varint term, type byte, length-prefixed data); "meta" holds "hard_state"
// and "snapshot" (metadata and data, or metadata and the index of an image
// staged in column family "images", key = 8-byte big-endian index). first_index/last_index are kept in
// memory and rebuilt at open from the snapshot and the last log key.
//
// Thread affinity: owned by the Raft driver's strand; not thread-safe, with
// one exception the driver relies on: persist() may run on another thread
// while the strand calls the read methods, as long as those reads stay below
// the entries being persisted (the Raft core reads storage only below its
// unstable offset, and the entries of an outstanding Ready are still
// unstable). first_/last_/syncs_ are atomics for that reason; RocksDB
// itself allows concurrent reads and writes. Every other write
// (apply_snapshot, compact) must not overlap a persist().
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "raft/storage.h"

namespace cairn::raft {

class RocksLogStorage final : public LogStorage {
 public:
  // Opens (creating if needed) the store in `dir`. When the store is new and
  // `bootstrap` is given, it starts as every initial member does:
  // bootstrap_snapshot(*bootstrap) and hard state {term 1, commit 1}.
  static Result<std::unique_ptr<RocksLogStorage>> open(const std::string& dir,
                                                       std::optional<ConfState> bootstrap = std::nullopt);
  ~RocksLogStorage() override;

  Result<InitialState> initial_state() const override;
  Result<std::vector<Entry>> entries(Index lo, Index hi, uint64_t max_size) const override;
  Result<Term> term(Index i) const override;
  Index first_index() const override { return first_; }
  Index last_index() const override { return last_; }
  Result<Snapshot> snapshot() const override;

  Status append(std::span<const Entry> entries) override;
  Status set_hard_state(const HardState& hs) override;
  Status apply_snapshot(const Snapshot& snapshot) override;
  Status compact(const Snapshot& snapshot) override;

  // A Ready's entries and hard state in one batch, one fsync.
  Status persist(std::span<const Entry> entries, const std::optional<HardState>& hs);

  // Whether the store holds anything: entries, a snapshot or a hard state.
  // False only for a brand-new store (a server that never joined a cluster).
  bool has_state() const;
  // Makes an EMPTY store start as every initial member does:
  // bootstrap_snapshot(cs) and hard state {term 1, commit 1}, in one batch and
  // one fsync. errc::already_exists when has_state(); invalid_argument when
  // cs has no voter. Call it before a driver runs on this store, or through
  // RaftDriver::bootstrap once one does.
  Status bootstrap(ConfState cs);

  // Writes a compaction image ahead of compact() (outside the WAL: flushed to
  // a synced table file, so the log's fsyncs do not carry it), so that
  // the strand's compact() of a snapshot with the same index, term and data
  // size stores only a reference to it: a large image is then not written
  // on the strand. The driver calls it from the thread that built the image
  // (Application::snapshot_async); it may overlap persist() and the reads (it
  // writes only its own key) but not compact() or apply_snapshot(), and it
  // must happen-before the compact() that uses it. A later compact() or
  // apply_snapshot() deletes images no longer referenced.
  Status stage_snapshot_data(Index index, Term term, std::string_view data);

  // fsyncs performed so far (for bench/ and tests).
  uint64_t syncs() const { return syncs_; }

 private:
  struct Db;
  explicit RocksLogStorage(std::unique_ptr<Db> db);
  Status load();
  // Adds the append of `entries` to the batch; updates last_ on success.
  Status stage_append(void* batch, std::span<const Entry> entries, Index* new_last);
  Status write(void* batch);

  std::unique_ptr<Db> db_;
  HardState hard_state_;
  SnapshotMetadata snapshot_meta_;
  std::atomic<Index> first_{1};  // snapshot index + 1
  std::atomic<Index> last_{0};   // snapshot index when the log is empty
  std::atomic<uint64_t> syncs_{0};
  struct Staged {
    Index index = 0;
    Term term = 0;
    uint64_t size = 0;
  };
  Staged staged_;  // the last image stage_snapshot_data() wrote
};

}  // namespace cairn::raft
