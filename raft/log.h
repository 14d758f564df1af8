// The Raft log as the core sees it: a durable prefix in LogStorage followed by
// an unstable suffix (entries and maybe a snapshot) that the driver has not
// persisted yet (etcd's raftLog/unstable).
//
//   storage:   [first_index .. s.last]        durable
//   unstable:  [offset .. last_index]         handed out in Ready::entries
//   committed: known to be stored on a quorum (§5.3)
//   applied:   handed to the application and acknowledged by advance()
//
// Invariant: applied ≤ committed ≤ last_index.
#pragma once

#include <optional>
#include <utility>
#include <vector>

#include "core/result.h"
#include "raft/storage.h"
#include "raft/types.h"

namespace cairn::raft {

// Aborts with a message: a broken internal invariant (DESIGN.md "Errors").
[[noreturn]] void raft_panic(const std::string& what);

class Unstable {
 public:
  std::optional<Index> maybe_first_index() const;
  std::optional<Index> maybe_last_index() const;
  std::optional<Term> maybe_term(Index i) const;
  void stable_to(Index i, Term t);
  void stable_snap_to(Index i);
  void restore(const Snapshot& s);
  void truncate_and_append(std::span<const Entry> ents);
  std::vector<Entry> slice(Index lo, Index hi) const;

  std::optional<Snapshot> snapshot;
  std::vector<Entry> entries;
  Index offset = 0;  // index of entries[0]
};

class RaftLog {
 public:
  RaftLog(LogStorage* storage, uint64_t max_committed_size_per_ready);

  Index first_index() const;
  Index last_index() const;
  Term last_term() const;
  // errc::compacted below first_index()-1, errc::unavailable above last_index().
  Result<Term> term(Index i) const;
  // term(i), or 0 when i is outside the log: for comparisons where "absent"
  // must not match any real term.
  Term term_or_zero(Index i) const;
  bool match_term(Index i, Term t) const;

  // §5.3 AppendEntries receiver rules 2–5. Returns the index of the last new
  // entry when (index, log_term) matches, nullopt otherwise. `*first_written`
  // is the first index actually (re)written, or 0 when nothing was.
  std::optional<Index> maybe_append(Index index, Term log_term, Index committed,
                                    std::span<const Entry> ents, Index* first_written);
  Index append(std::span<const Entry> ents);
  // The first entry of `ents` whose term differs from ours at that index, or 0.
  Index find_conflict(std::span<const Entry> ents) const;
  // Scanning down from `index`, the first entry with term ≤ `term` (the
  // conflict-term hint of §5.3's closing optimisation, as in etcd).
  std::pair<Index, Term> find_conflict_by_term(Index index, Term term) const;

  // §5.4.1: a candidate's log is at least as up to date as ours.
  bool is_up_to_date(Index lasti, Term term) const;
  // §5.4.2: commit up to max_index only if that entry is from the current term.
  bool maybe_commit(Index max_index, Term term);
  void commit_to(Index i);
  void applied_to(Index i);
  void stable_to(Index i, Term t) { unstable_.stable_to(i, t); }
  // The last index known durable: below the unstable entries, or 0 while an
  // unstable snapshot waits (conservative: it only delays the leader's self-count).
  Index stable_last_index() const {
    if (unstable_.snapshot) return 0;
    return unstable_.entries.empty() ? last_index() : unstable_.offset - 1;
  }
  void stable_snap_to(Index i) { unstable_.stable_snap_to(i); }
  void restore(const Snapshot& s);

  const std::vector<Entry>& unstable_entries() const { return unstable_.entries; }
  const std::optional<Snapshot>& unstable_snapshot() const { return unstable_.snapshot; }
  bool has_next_committed_entries() const;
  std::vector<Entry> next_committed_entries() const;
  // Entries from i to the end, at most max_size bytes (at least one).
  Result<std::vector<Entry>> entries(Index i, uint64_t max_size) const;
  Result<std::vector<Entry>> slice(Index lo, Index hi, uint64_t max_size) const;
  Result<Snapshot> snapshot() const;

  Index committed() const { return committed_; }
  Index applied() const { return applied_; }
  // Restart: entries up to `i` were applied before the crash.
  void set_applied(Index i) { applied_ = i; }
  LogStorage* storage() const { return storage_; }

 private:
  LogStorage* storage_;
  Unstable unstable_;
  Index committed_ = 0;
  Index applied_ = 0;
  uint64_t max_committed_size_;
};

}  // namespace cairn::raft
