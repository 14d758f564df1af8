// Server as the raft::Application: committed entries into the FSM, RocksDB
// checkpoints as snapshots, and the wake-up of blocking queries.
#include <atomic>
#include <filesystem>
#include <thread>

#include "core/log.h"
#include "server/server_impl.h"
#include "server/snapshot_archive.h"

namespace cairn::server {

namespace fs = std::filesystem;

void RaftSide::apply(const raft::Entry& entry) {
  if (auto s = server.lock()) s->apply(entry);
}

std::string RaftSide::snapshot() {
  auto s = server.lock();
  return s ? s->snapshot() : std::string();
}

bool RaftSide::snapshot_async(raft::Index applied, std::function<void(Result<std::string>)> done) {
  auto s = server.lock();
  if (!s) {  // the Server is gone: no image, no compaction
    done(Error(errc::cancelled, "server stopped"));
    return true;
  }
  return s->snapshot_async(applied, std::move(done));
}

Status RaftSide::restore(const raft::Snapshot& snapshot) {
  auto s = server.lock();
  return s ? s->restore(snapshot) : Status(Error(errc::cancelled, "server stopped"));
}

void Server::Impl::apply(const raft::Entry& entry) {
  last_applied.reset();
  std::shared_ptr<state::Store> s;
  {
    std::lock_guard lock(mu);
    if (stats.failed) return;  // the state no longer follows the log: apply nothing more
    s = store;
    if (!s) return;  // stopping
    if (entry.index <= s->applied_index()) {
      // Already in the store: a restart re-hands the log above the last Raft
      // snapshot, but the store kept everything it applied (it is not
      // rebuilt from a snapshot on start), so nothing is replayed.
      ++stats.entries_skipped;
      return;
    }
  }
  Result<fsm::Applied> r = fsm::Fsm(*s).apply(entry.index, entry.data);
  if (!r.ok()) return fail_server("applying entry " + std::to_string(entry.index), r.error());
  bool restored_now = false;
  if (r->restore_archive) {
    restored_now = true;
    // PUT /v1/snapshot: every replica swaps in the same archive here, at the
    // same index. The leader verified it before proposing, so a failure is
    // a local storage problem (swap_in has failed the server then).
    std::string archive = std::move(*r->restore_archive);
    r->restore_archive.reset();
    s.reset();
    if (Status st = swap_in(archive, entry.index); !st.ok()) {
      bool failed_already;
      {
        std::lock_guard lock(mu);
        failed_already = stats.failed;
      }
      if (!is_stopped() && !failed_already)
        fail_server("restoring the snapshot of entry " + std::to_string(entry.index), st.error());
      return;
    }
  }
  bool restored = restored_now;
  std::function<void()> restored_hook;
  {
    std::lock_guard lock(mu);
    ++stats.commands_applied;
    if (restored) restored_hook = hooks.on_state_restored;
  }
  if (restored_hook) restored_hook();
  state::TouchSet touched = std::move(r->touched);
  last_applied.emplace(entry.index, std::move(*r));
  wake(touched);
}

std::optional<fsm::Applied> Server::Impl::take_applied(uint64_t index) {
  if (!last_applied || last_applied->first != index) return std::nullopt;
  std::optional<fsm::Applied> out = std::move(last_applied->second);
  last_applied.reset();
  return out;
}

void Server::Impl::fail_server(const std::string& what, const Error& e) {
  // Consul panics here: a replica that cannot apply an entry the others
  // apply would diverge from them. Stop applying and stop Raft, loudly.
  log::error("server", "FATAL: {}: {}; this server stops applying the Raft log", what, e.message());
  std::function<void()> failed_hook;
  {
    std::lock_guard lock(mu);
    if (!stats.failed) failed_hook = hooks.on_failed;
    stats.failed = true;
  }
  if (driver) driver->stop();
  if (failed_hook) failed_hook();
}

void Server::Impl::wake(const state::TouchSet& touched) {
  if (touched.empty()) return;
  std::vector<state::WatchRegistry::Wake> wakes;
  {
    std::lock_guard lock(watch_mu);
    wakes = registry.collect(touched);
  }
  for (auto& w : wakes) w();
}

void Server::Impl::wake_all() {
  std::vector<std::shared_ptr<Waiter>> all;
  {
    std::lock_guard lock(watch_mu);
    for (auto& w : parked) {
      if (w->parked) registry.remove(w->id);
      w->parked = false;
      // Answer now rather than park again: a restored state may hold lower
      // indexes than the waiter saw (Consul abandons every blocking query on
      // a restore; clients start over at the index they get back).
      w->expired = true;
      all.push_back(w);
    }
  }
  for (auto& w : all) asio::post(strand, [self = shared_from_this(), w] { self->run(w); });
}

std::string Server::Impl::temp_dir(std::string_view what) {
  uint64_t seq;
  {
    std::lock_guard lock(mu);
    seq = ++snapshot_seq;
  }
  std::string dir = options.data_dir + "/" + std::string(what) + "-tmp-" + std::to_string(seq);
  std::error_code ec;
  fs::remove_all(dir, ec);  // a leftover of a crash
  return dir;
}

Result<std::pair<std::string, uint64_t>> Server::Impl::checkpoint_to_temp() {
  std::shared_ptr<state::Store> s = store_ref();
  if (!s) return Error(errc::cancelled, "server stopped");
  std::string dir = temp_dir("snapshot");
  std::error_code ec;
  // A checkpoint flushes the memtables into fsynced SST files, so the store
  // is durable up to the index it holds: the driver may compact the log up
  // to there (server/state/README.md "Atomicity and durability").
  Result<uint64_t> index = s->checkpoint(dir);
  if (!index.ok()) {
    fs::remove_all(dir, ec);
    fail_server("writing a checkpoint for a snapshot", index.error());
    return index.error();
  }
  return std::make_pair(dir, *index);
}

namespace {

// Packs a checkpoint (server/snapshot_archive.h) into a snapshot file of
// `snap_dir`, removes the checkpoint's directory and the snapshot files but
// the two newest, and returns the reference the Raft snapshot carries: the
// image never sits in memory whole. The application does not know the term,
// so its own files are named with term 0 (raft::snapshot_file_path).
Result<std::string> pack_and_remove(const std::string& dir, uint64_t index, const std::string& snap_dir,
                                    std::atomic<uint64_t>& taken) {
  Result<raft::SnapshotFileRef> packed =
      pack_checkpoint_to_file(dir, index, raft::snapshot_file_path(snap_dir, index, 0), snap_dir + "/packing.part");
  std::error_code ec;
  fs::remove_all(dir, ec);
  if (!packed.ok()) {
    log::error("server", "packing the snapshot at {} failed: {}", index, packed.error().message());
    return packed.error();
  }
  ++taken;
  raft::prune_snapshot_files(snap_dir, 2);
  return raft::encode_snapshot_ref(*packed);
}

}  // namespace

std::string Server::Impl::snapshot() {
  auto cp = checkpoint_to_temp();
  if (!cp.ok()) return {};  // the server failed (see fail_server); nothing is applied any more
  Result<std::string> packed = pack_and_remove(cp->first, cp->second, raft_snapshot_dir(options.data_dir), *snapshots_taken);
  if (!packed.ok()) {
    fail_server("taking a snapshot", packed.error());
    return {};
  }
  return std::move(packed).value();
}

bool Server::Impl::snapshot_async(raft::Index, std::function<void(Result<std::string>)> done) {
  if (!snapshot_pool) return false;
  // The checkpoint (hard links after a memtable flush) is taken here, on the
  // driver's strand, so it holds exactly the entries applied so far; reading
  // and packing its files, the slow part, runs on the snapshot thread.
  auto cp = checkpoint_to_temp();
  if (!cp.ok()) {
    done(cp.error());
    return true;
  }
  // The job holds no reference to the Server: ~Impl joins this thread.
  asio::post(*snapshot_pool, [taken = snapshots_taken, cp = std::move(cp).value(),
                              snap_dir = raft_snapshot_dir(options.data_dir), done = std::move(done)] {
    done(pack_and_remove(cp.first, cp.second, snap_dir, *taken));
  });
  return true;
}

Status Server::Impl::restore(const raft::Snapshot& snap) {
  // An empty image is the bootstrap snapshot: nothing to restore.
  if (snap.data.empty()) return {};
  // A snapshot file (ours, or one the transport received and verified) is
  // unpacked from disk piece by piece; an inline image (older stores) as it is.
  std::optional<raft::SnapshotFileRef> ref = raft::decode_snapshot_ref(snap.data);
  if (ref && ref->size == 0) return {};  // an empty image by reference: the bootstrap snapshot too
  uint64_t holds = snap.metadata.index;
  if (ref) {
    // A file pruned since (a newer snapshot replaced it) leaves the Raft
    // index, which is the checkpoint's: the image is taken at `applied`.
    if (auto in_file = archive_file_index(ref->path); in_file.ok()) holds = *in_file;
  } else {
    CAIRN_TRY(holds, packed_applied_index(snap.data));
  }
  {
    std::lock_guard lock(mu);
    if (!store) return Error(errc::cancelled, "server stopped");
    // At start-up the driver restores the last Raft snapshot, but the store
    // kept its own state, which is at least as new: keep it.
    if (store->applied_index() >= holds) return {};
  }
  Status st = swap_in(snap.data, 0);
  if (st.ok() && ref) raft::prune_snapshot_files(raft_snapshot_dir(options.data_dir), 2);
  return st;
}

// `archive` is the archive itself or, for a Raft snapshot, a reference to an
// archive file (raft/io/snapshot_file.h), which is unpacked piece by piece.
Status Server::Impl::swap_in(std::string_view archive, uint64_t rebase_to) {
  std::shared_ptr<state::Store> old;
  if (!store_ref()) return Error(errc::cancelled, "server stopped");
  std::string dir = temp_dir("restore");
  std::error_code ec;
  // The archive is verified (checksum, whole) as it unpacks, before the
  // store is touched: a bad one leaves the current state as it is.
  std::optional<raft::SnapshotFileRef> ref = raft::decode_snapshot_ref(archive);
  auto unpacked = ref ? unpack_checkpoint_file(ref->path, dir) : unpack_checkpoint(archive, dir);
  if (!unpacked.ok()) {
    fs::remove_all(dir, ec);
    return unpacked.error();
  }
  uint64_t holds = *unpacked;
  {
    std::lock_guard lock(mu);
    old = std::move(store);
  }
  // Reads hold the store only while they read; wait for them to let go
  // before RocksDB closes it (they take it under `mu`, which is now null).
  while (old.use_count() > 1) std::this_thread::yield();
  old.reset();
  auto restored = state::Store::restore(dir, options.data_dir + "/state", options.store);
  fs::remove_all(dir, ec);
  if (!restored.ok()) {
    fail_server("restoring a snapshot", restored.error());
    return restored.error();
  }
  if (rebase_to > 0) {
    // Durably, before anything else is applied: after a crash the store must
    // not claim the archive's index, or entries after the restore would be
    // skipped (archive index above this one) or replayed into it.
    Status st = (*restored)->rebase_applied_index(rebase_to);
    if (st.ok()) {
      auto synced = (*restored)->sync();
      if (!synced.ok()) st = synced.error();
    }
    if (!st.ok()) {
      fail_server("recording the index of a restored snapshot", st.error());
      return st;
    }
  }
  {
    std::lock_guard lock(mu);
    if (stopped) return Error(errc::cancelled, "server stopped");
    store = std::move(restored).value();
    ++stats.snapshots_restored;
  }
  log::info("server", "{} restored a snapshot taken at index {}{}", options.node_name, holds,
            rebase_to > 0 ? " (PUT /v1/snapshot, now at index " + std::to_string(rebase_to) + ")" : std::string());
  wake_all();  // everything may have changed
  return {};
}

Result<std::pair<std::string, uint64_t>> Server::Impl::save_archive() {
  std::shared_ptr<state::Store> s = store_ref();
  if (!s) return Error(errc::unavailable, "restoring a snapshot; try again");
  std::string dir = temp_dir("save");
  s.reset();  // the checkpoint below takes its own reference
  auto taken = [&]() -> Result<std::pair<std::string, uint64_t>> {
    std::shared_ptr<state::Store> st = store_ref();
    if (!st) return Error(errc::unavailable, "restoring a snapshot; try again");
    CAIRN_TRY(uint64_t index, st->checkpoint(dir));
    st.reset();
    CAIRN_TRY(std::string packed, pack_checkpoint(dir, index));
    return std::make_pair(std::move(packed), index);
  }();
  std::error_code ec;
  fs::remove_all(dir, ec);
  return taken;
}

Status Server::Impl::verify_archive(std::string_view archive) {
  std::string dir = temp_dir("verify");
  auto bad = [](const Error& e) { return Error(errc::invalid_argument, "Invalid snapshot: " + e.message()); };
  Status out;
  if (auto unpacked = unpack_checkpoint(archive, dir); !unpacked.ok()) {
    out = unpacked.error().is(errc::parse_error) ? bad(unpacked.error()) : unpacked.error();
  } else {
    state::StoreOptions o;
    o.create_if_missing = false;
    auto opened = state::Store::open(dir, o);  // a copy: opening it may write to it
    if (!opened.ok()) out = bad(opened.error());
  }
  std::error_code ec;
  fs::remove_all(dir, ec);
  return out;
}

}  // namespace cairn::server
