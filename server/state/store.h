// The server's state machine storage: Consul's catalog, KV and sessions in
// RocksDB, one column family per table (layout in server/state/README.md).
//
// Writes. Each write method applies one Raft command at `index` as ONE
// rocksdb::WriteBatch that also records `index` as the applied index: after a
// crash either all of the command is visible or none of it. A command that
// fails (a CAS that loses, a missing node) still records its index, so the
// applied index always equals the last log entry handed to the store.
// Indexes must grow: a write at index <= applied_index() is refused
// (errc::out_of_range) without touching anything, so replaying a log over a
// reopened store is harmless. Errors for which is_storage_failure() holds
// (RocksDB I/O errors, corrupt records) record nothing: the state may no
// longer follow the log, and the caller must stop applying. Each write adds
// the watch keys it changed to `touched` (server/state/watch.h), only on
// success.
//
// Time. Nothing here reads a clock. Session invalidation records lock-delay
// expiry as `now` + the session's LockDelay, and an acquire at `now` fails
// while that expiry is in the future; the proposer puts `now` in the command
// so every replica decides the same way.
//
// Durability contract. Writes go to the RocksDB WAL WITHOUT fsync
// (Options::sync_writes=false by default). The Raft log is the durable record:
// it is fsynced before an entry commits, and entries above the store's
// durable applied index are re-applied after a crash (idempotent because of
// the index check above). A process crash loses nothing (the WAL is in the
// OS page cache); a power loss may roll the store back to an earlier applied
// index, never to a half-applied command. Hence the rule for the Raft log:
// compact only up to the index returned by sync() (or by a checkpoint), never
// up to applied_index() alone.
//
// Snapshots. checkpoint(dir) writes a RocksDB checkpoint (hard links to the
// immutable SST files + a consistent MANIFEST): a complete, openable copy of
// the state at applied_index(), cheap and without a stop-the-world pause.
// restore() replaces the data directory by such a checkpoint and opens it;
// reopening restores state and indexes without any replay.
//
// Thread-safety: write methods must be called from one thread at a time (the
// FSM's apply loop). read() and checkpoint() may be called from any thread
// concurrently with writes.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "api/types.h"
#include "core/clock.h"
#include "core/result.h"
#include "server/state/read_view.h"
#include "server/state/watch.h"

namespace cairn::server::state {

// One Connect CA write (server/state/ca.cc, fsm::ConnectCACommand): the
// configuration, and when `roots` is set the whole roots list (each new
// root's private key in `keys`, by root ID; keys of roots no longer listed
// are deleted). With cas, it happens only when the stored configuration's
// ModifyIndex equals cas_index (0: only when there is none).
struct CaWrite {
  api::CAConfiguration config;
  std::optional<std::vector<api::CARoot>> roots;
  std::map<std::string, std::string> keys;
  bool cas = false;
  uint64_t cas_index = 0;
};

struct StoreOptions {
  // fsync the WAL on every write. Off by default: see the durability contract.
  bool sync_writes = false;
  bool create_if_missing = true;
};

// KV operations of one command: api::KvOp (api/types.h), Consul's api.KVOp.
using KvOp = api::KvOp;

// errc::io_error or errc::internal: the store could not do its job (as
// opposed to refusing a command, which still records the index).
bool is_storage_failure(const Error& e);

class Store {
 public:
  // Opens (or creates) the store in `dir`.
  static Result<std::unique_ptr<Store>> open(const std::string& dir, StoreOptions options = {});
  // Replaces `data_dir` with the checkpoint in `checkpoint_dir` (moved when on
  // the same filesystem, else copied) and opens it. The caller must have
  // closed (destroyed) any Store open on `data_dir`.
  static Result<std::unique_ptr<Store>> restore(const std::string& checkpoint_dir, const std::string& data_dir,
                                                StoreOptions options = {});
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  uint64_t applied_index() const;
  ReadView read() const;

  // Writes a checkpoint into `dir` (which must not exist yet) and returns the
  // applied index it holds. Its files are fsynced.
  Result<uint64_t> checkpoint(const std::string& dir) const;
  // Rows per table (column family name -> count; the meta table left out),
  // at one consistent view: what `cairn snapshot inspect` prints.
  Result<std::map<std::string, uint64_t>> table_counts() const;
  // fsyncs the WAL; returns the applied index that is now durable.
  Result<uint64_t> sync();

  // --- commands (each one batch, see above) ---
  // Returns Consul's KVS apply result: true if the write happened.
  Result<bool> kv_apply(uint64_t index, KvOp op, const api::KVPair& entry, WallTime now, TouchSet& touched);
  // Creates session.id (chosen by the proposer). Errors as Consul:
  // "Missing node registration", "Missing check 'c' registration",
  // "Check 'c' is in critical state", "Invalid session behavior ...".
  Result<std::string> session_create(uint64_t index, const api::Session& session, TouchSet& touched);
  // Destroys and invalidates the session (release or delete its keys, start
  // their lock delay). Returns false when there was no such session.
  Result<bool> session_destroy(uint64_t index, const std::string& id, WallTime now, TouchSet& touched);
  // /v1/catalog/register, with Consul's semantics (see catalog.cc).
  Status catalog_register(uint64_t index, const api::RegisterRequest& req, WallTime now, TouchSet& touched);
  Status catalog_deregister(uint64_t index, const api::DeregisterRequest& req, WallTime now, TouchSet& touched);
  // Forgets KV tombstones whose delete index is <= up_to_index. Returns how many.
  Result<uint64_t> reap_tombstones(uint64_t index, uint64_t up_to_index, TouchSet& touched);
  // /v1/txn: every op in one batch at `index`, or — when any op fails —
  // nothing but the index (the response then holds the errors, no results).
  // Err only for a storage failure or a stale index.
  Result<api::TxnResponse> txn(uint64_t index, const std::vector<api::TxnOp>& ops, WallTime now, TouchSet& touched);
  // The Connect CA (ca.cc). Returns whether it happened (a lost CAS: false).
  Result<bool> ca_set(uint64_t index, const CaWrite& w, TouchSet& touched);
  // Config entries (config_entries.cc). Upserts `entry` (its body already
  // normalized, api/config_entry.h) keeping CreateIndex; with cas, only when
  // the stored ModifyIndex equals cas_index (0: only when there is none).
  // Refuses (invalid_argument) a write that breaks the rules across entries
  // (api::check_config_entry_graph). Returns whether it happened.
  // Network coordinates (coordinates.cc): writes the entries of nodes the
  // catalog holds, skips the others; whether anything was written.
  Result<bool> coordinate_update(uint64_t index, const std::vector<api::CoordinateEntry>& entries,
                                 TouchSet& touched);
  Result<bool> config_entry_apply(uint64_t index, const api::ConfigEntry& entry, bool cas, uint64_t cas_index,
                                  TouchSet& touched);
  // Prepared queries (prepared_queries.cc): create/update by query.id
  // (Consul's rules; invalid_argument naming what broke them) or delete by
  // id (missing: a no-op). Returns the query's ID.
  Result<std::string> prepared_query_apply(uint64_t index, api::PreparedQueryOp op, const api::PreparedQuery& query,
                                    TouchSet& touched);
  // Deletes (kind, name); a missing entry is a no-op that returns true
  // (false with cas). Refused like apply when a router or splitter depends on it.
  Result<bool> config_entry_delete(uint64_t index, const std::string& kind, const std::string& name, bool cas,
                                   uint64_t cas_index, TouchSet& touched);
  // Records `index` as the applied index even when it is lower than the
  // current one: a restored snapshot continues at the Raft index of the
  // entry that restored it, whatever index the archive was taken at.
  Status rebase_applied_index(uint64_t index);
  // Records `index` as applied without changing anything (a command that
  // failed before reaching the store, or one flagged ignorable).
  Status apply_noop(uint64_t index);

 private:
  explicit Store(std::unique_ptr<Db> db);
  std::unique_ptr<Db> db_;
};

}  // namespace cairn::server::state
