#include "raft/storage.h"

#include <string>

#include "raft/errc.h"

namespace cairn::raft {

void limit_size(std::vector<Entry>& ents, uint64_t max_size) {
  if (ents.empty()) return;
  uint64_t size = ents[0].size();
  size_t keep = 1;
  while (keep < ents.size()) {
    size += ents[keep].size();
    if (size > max_size) break;
    ++keep;
  }
  ents.resize(keep);
}

MemoryStorage::MemoryStorage() : ents_(1) {}

Snapshot bootstrap_snapshot(ConfState cs) {
  Snapshot s;
  s.metadata.index = 1;
  s.metadata.term = 1;
  s.metadata.conf_state = std::move(cs);
  return s;
}

MemoryStorage::MemoryStorage(ConfState cs) : ents_(1) {
  (void)apply_snapshot(bootstrap_snapshot(std::move(cs)));
  hard_state_.term = 1;  // the snapshot's term; no vote yet, commit 1
  hard_state_.commit = 1;
}

Result<InitialState> MemoryStorage::initial_state() const {
  return InitialState{hard_state_, snapshot_.metadata.conf_state};
}

Index MemoryStorage::first_index() const { return offset() + 1; }
Index MemoryStorage::last_index() const { return offset() + ents_.size() - 1; }

Result<std::vector<Entry>> MemoryStorage::entries(Index lo, Index hi, uint64_t max_size) const {
  if (lo <= offset()) return raft_error(errc::compacted, "entries: index " + std::to_string(lo) + " is compacted");
  if (hi > last_index() + 1) {
    return raft_error(errc::unavailable, "entries: hi " + std::to_string(hi) + " past last index " +
                                             std::to_string(last_index()));
  }
  std::vector<Entry> out(ents_.begin() + static_cast<std::ptrdiff_t>(lo - offset()),
                         ents_.begin() + static_cast<std::ptrdiff_t>(hi - offset()));
  limit_size(out, max_size);
  return out;
}

Result<Term> MemoryStorage::term(Index i) const {
  if (i < offset()) return raft_error(errc::compacted, "term: index " + std::to_string(i) + " is compacted");
  if (i - offset() >= ents_.size()) {
    return raft_error(errc::unavailable, "term: index " + std::to_string(i) + " is unavailable");
  }
  return ents_[i - offset()].term;
}

Result<Snapshot> MemoryStorage::snapshot() const { return snapshot_; }

Status MemoryStorage::append(std::span<const Entry> entries) {
  if (entries.empty()) return ok_status();
  Index first = first_index();
  Index last = entries.back().index;
  if (last < first) return ok_status();  // all already compacted: nothing to keep
  Index start = entries.front().index;
  if (start > last_index() + 1) {
    return raft_error(errc::unavailable, "append: gap, first new index " + std::to_string(start) +
                                             " after last index " + std::to_string(last_index()));
  }
  size_t skip = start < first ? static_cast<size_t>(first - start) : 0;
  Index from = entries[skip].index;
  ents_.resize(static_cast<size_t>(from - offset()));  // truncate conflicting suffix (§5.3)
  ents_.insert(ents_.end(), entries.begin() + static_cast<std::ptrdiff_t>(skip), entries.end());
  return ok_status();
}

Status MemoryStorage::set_hard_state(const HardState& hs) {
  hard_state_ = hs;
  return ok_status();
}

Status MemoryStorage::apply_snapshot(const Snapshot& snapshot) {
  if (snapshot.metadata.index <= snapshot_.metadata.index && !snapshot_.empty()) {
    return raft_error(errc::snapshot_out_of_date, "apply_snapshot: index " +
                                                      std::to_string(snapshot.metadata.index) +
                                                      " not after " +
                                                      std::to_string(snapshot_.metadata.index));
  }
  snapshot_ = snapshot;
  ents_.assign(1, Entry{snapshot.metadata.term, snapshot.metadata.index, EntryType::normal, {}});
  return ok_status();
}

Status MemoryStorage::compact(const Snapshot& snapshot) {
  Index i = snapshot.metadata.index;
  if (i <= offset()) {
    return raft_error(errc::snapshot_out_of_date,
                      "compact: index " + std::to_string(i) + " already compacted");
  }
  if (i > last_index()) {
    return raft_error(errc::unavailable, "compact: index " + std::to_string(i) + " past last index " +
                                             std::to_string(last_index()));
  }
  snapshot_ = snapshot;
  size_t cut = static_cast<size_t>(i - offset());
  ents_.erase(ents_.begin(), ents_.begin() + static_cast<std::ptrdiff_t>(cut));
  ents_[0].data.clear();  // the dummy keeps only index and term
  ents_[0].type = EntryType::normal;
  return ok_status();
}

}  // namespace cairn::raft
