#include "raft/log.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "raft/errc.h"

namespace cairn::raft {

void raft_panic(const std::string& what) {
  std::fprintf(stderr, "raft: broken invariant: %s\n", what.c_str());
  std::abort();
}

// ---- Unstable ----

std::optional<Index> Unstable::maybe_first_index() const {
  if (snapshot) return snapshot->metadata.index + 1;
  return std::nullopt;
}

std::optional<Index> Unstable::maybe_last_index() const {
  if (!entries.empty()) return offset + entries.size() - 1;
  if (snapshot) return snapshot->metadata.index;
  return std::nullopt;
}

std::optional<Term> Unstable::maybe_term(Index i) const {
  if (i < offset) {
    if (snapshot && snapshot->metadata.index == i) return snapshot->metadata.term;
    return std::nullopt;
  }
  auto last = maybe_last_index();
  if (!last || i > *last) return std::nullopt;
  if (entries.empty()) return snapshot->metadata.term;  // i == snapshot index == offset-1 handled above
  return entries[i - offset].term;
}

void Unstable::stable_to(Index i, Term t) {
  auto gt = maybe_term(i);
  if (!gt) return;
  // Only if the entry was not replaced since it was handed out (a newer leader
  // may have truncated it while the write was in flight).
  if (*gt == t && i >= offset) {
    entries.erase(entries.begin(), entries.begin() + static_cast<std::ptrdiff_t>(i + 1 - offset));
    offset = i + 1;
  }
}

void Unstable::stable_snap_to(Index i) {
  if (snapshot && snapshot->metadata.index == i) snapshot.reset();
}

void Unstable::restore(const Snapshot& s) {
  offset = s.metadata.index + 1;
  entries.clear();
  snapshot = s;
}

void Unstable::truncate_and_append(std::span<const Entry> ents) {
  Index after = ents.front().index;
  if (after == offset + entries.size()) {
    // after is the next index: a plain append.
  } else if (after <= offset) {
    // The log is replaced from `after` on; that may reach into storage, whose
    // suffix the driver overwrites when it persists these entries.
    offset = after;
    entries.clear();
  } else {
    entries.resize(static_cast<size_t>(after - offset));
  }
  entries.insert(entries.end(), ents.begin(), ents.end());
}

std::vector<Entry> Unstable::slice(Index lo, Index hi) const {
  if (lo > hi || lo < offset || hi > offset + entries.size()) {
    raft_panic("unstable slice [" + std::to_string(lo) + "," + std::to_string(hi) +
               ") out of bounds [" + std::to_string(offset) + "," +
               std::to_string(offset + entries.size()) + ")");
  }
  return std::vector<Entry>(entries.begin() + static_cast<std::ptrdiff_t>(lo - offset),
                            entries.begin() + static_cast<std::ptrdiff_t>(hi - offset));
}

// ---- RaftLog ----

RaftLog::RaftLog(LogStorage* storage, uint64_t max_committed_size_per_ready)
    : storage_(storage), max_committed_size_(max_committed_size_per_ready) {
  Index first = storage_->first_index();
  Index last = storage_->last_index();
  unstable_.offset = last + 1;
  committed_ = first - 1;
  applied_ = first - 1;
}

Index RaftLog::first_index() const {
  if (auto i = unstable_.maybe_first_index()) return *i;
  return storage_->first_index();
}

Index RaftLog::last_index() const {
  if (auto i = unstable_.maybe_last_index()) return *i;
  return storage_->last_index();
}

Term RaftLog::last_term() const {
  auto t = term(last_index());
  if (!t.ok()) raft_panic("term of the last index unavailable: " + t.error().message());
  return *t;
}

Result<Term> RaftLog::term(Index i) const {
  Index dummy = first_index() - 1;
  if (i < dummy) return raft_error(errc::compacted, "term: index " + std::to_string(i) + " compacted");
  if (i > last_index()) {
    return raft_error(errc::unavailable, "term: index " + std::to_string(i) + " unavailable");
  }
  if (auto t = unstable_.maybe_term(i)) return *t;
  return storage_->term(i);
}

Term RaftLog::term_or_zero(Index i) const {
  auto t = term(i);
  return t.ok() ? *t : 0;
}

bool RaftLog::match_term(Index i, Term t) const {
  auto got = term(i);
  return got.ok() && *got == t;
}

std::optional<Index> RaftLog::maybe_append(Index index, Term log_term, Index committed,
                                           std::span<const Entry> ents, Index* first_written) {
  *first_written = 0;
  if (!match_term(index, log_term)) return std::nullopt;  // §5.3 receiver rule 2
  Index lastnewi = index + ents.size();
  Index ci = find_conflict(ents);
  if (ci != 0) {
    if (ci <= committed_) {
      // A leader never sends entries that conflict with committed ones
      // (Leader Completeness, §5.4); if it did, safety is already lost.
      raft_panic("entry " + std::to_string(ci) + " conflicts with committed entry (committed " +
                 std::to_string(committed_) + ")");
    }
    auto rest = ents.subspan(static_cast<size_t>(ci - (index + 1)));
    append(rest);  // receiver rules 3 and 4
    *first_written = ci;
  }
  commit_to(std::min(committed, lastnewi));  // receiver rule 5
  return lastnewi;
}

Index RaftLog::append(std::span<const Entry> ents) {
  if (ents.empty()) return last_index();
  if (ents.front().index - 1 < committed_) {
    raft_panic("append at " + std::to_string(ents.front().index) + " would overwrite committed " +
               std::to_string(committed_));
  }
  unstable_.truncate_and_append(ents);
  return last_index();
}

Index RaftLog::find_conflict(std::span<const Entry> ents) const {
  for (const Entry& e : ents) {
    if (!match_term(e.index, e.term)) return e.index;
  }
  return 0;
}

std::pair<Index, Term> RaftLog::find_conflict_by_term(Index index, Term term) const {
  for (; index > 0; --index) {
    auto our = this->term(index);
    if (!our.ok()) return {index, 0};  // compacted: let the leader probe from here
    if (*our <= term) return {index, *our};
  }
  return {0, 0};
}

bool RaftLog::is_up_to_date(Index lasti, Term t) const {
  Term lt = last_term();
  return t > lt || (t == lt && lasti >= last_index());
}

bool RaftLog::maybe_commit(Index max_index, Term t) {
  // Only entries of the leader's current term are committed by counting
  // replicas; earlier ones commit indirectly (§5.4.2, Figure 8).
  if (max_index > committed_ && term_or_zero(max_index) == t) {
    commit_to(max_index);
    return true;
  }
  return false;
}

void RaftLog::commit_to(Index i) {
  if (i <= committed_) return;  // commit never regresses
  if (i > last_index()) {
    raft_panic("commit " + std::to_string(i) + " past last index " + std::to_string(last_index()));
  }
  committed_ = i;
}

void RaftLog::applied_to(Index i) {
  if (i == 0) return;
  if (i > committed_ || i < applied_) {
    raft_panic("applied " + std::to_string(i) + " outside [" + std::to_string(applied_) + ", " +
               std::to_string(committed_) + "]");
  }
  applied_ = i;
}

void RaftLog::restore(const Snapshot& s) {
  committed_ = s.metadata.index;
  unstable_.restore(s);
}

bool RaftLog::has_next_committed_entries() const {
  Index off = std::max(applied_ + 1, first_index());
  return committed_ + 1 > off;
}

std::vector<Entry> RaftLog::next_committed_entries() const {
  Index off = std::max(applied_ + 1, first_index());
  if (committed_ + 1 <= off) return {};
  auto ents = slice(off, committed_ + 1, max_committed_size_);
  if (!ents.ok()) raft_panic("committed entries unavailable: " + ents.error().message());
  return std::move(ents).value();
}

Result<std::vector<Entry>> RaftLog::entries(Index i, uint64_t max_size) const {
  if (i > last_index()) return std::vector<Entry>{};
  return slice(i, last_index() + 1, max_size);
}

Result<std::vector<Entry>> RaftLog::slice(Index lo, Index hi, uint64_t max_size) const {
  if (lo > hi) raft_panic("slice lo > hi");
  if (lo < first_index()) return raft_error(errc::compacted, "slice: index " + std::to_string(lo) + " compacted");
  if (hi > last_index() + 1) raft_panic("slice hi " + std::to_string(hi) + " past the log");
  std::vector<Entry> out;
  if (lo == hi) return out;
  if (lo < unstable_.offset) {
    auto stored = storage_->entries(lo, std::min(hi, unstable_.offset), max_size);
    if (!stored.ok()) return stored.error();
    out = std::move(stored).value();
    // Storage stopped early because of the size limit: that is all for now.
    if (out.size() < std::min(hi, unstable_.offset) - lo) return out;
  }
  if (hi > unstable_.offset) {
    auto un = unstable_.slice(std::max(lo, unstable_.offset), hi);
    out.insert(out.end(), std::make_move_iterator(un.begin()), std::make_move_iterator(un.end()));
  }
  limit_size(out, max_size);
  return out;
}

Result<Snapshot> RaftLog::snapshot() const {
  if (unstable_.snapshot) return *unstable_.snapshot;
  return storage_->snapshot();
}

}  // namespace cairn::raft
