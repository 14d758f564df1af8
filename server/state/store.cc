#include "server/state/store.h"

#include <filesystem>
#include <system_error>

#include <rocksdb/utilities/checkpoint.h>

#include "server/state/config_entries.h"
#include "server/state/coordinates.h"
#include "server/state/db.h"
#include "server/state/prepared_queries.h"
#include "server/state/tables.h"

namespace cairn::server::state {
namespace {

Error fs_error(const std::error_code& ec, std::string_view what) {
  return Error(errc::io_error, std::string(what) + ": " + ec.message());
}

}  // namespace

bool is_storage_failure(const Error& e) { return e.is(errc::io_error) || e.is(errc::internal); }

Store::Store(std::unique_ptr<Db> db) : db_(std::move(db)) {}
Store::~Store() = default;

Result<std::unique_ptr<Store>> Store::open(const std::string& dir, StoreOptions options) {
  CAIRN_TRY(auto db, Db::open(dir, options.create_if_missing ? Db::Mode::create : Db::Mode::read_write,
                              options.sync_writes));
  return std::unique_ptr<Store>(new Store(std::move(db)));
}

Result<std::unique_ptr<Store>> Store::restore(const std::string& checkpoint_dir, const std::string& data_dir,
                                              StoreOptions options) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(checkpoint_dir, ec))
    return Error(errc::not_found, "checkpoint directory " + checkpoint_dir + " does not exist");
  // Open the checkpoint first: a broken one must not cost us the current state.
  {
    CAIRN_TRY(auto probe, Db::open(checkpoint_dir, Db::Mode::read_only, false));
  }
  fs::remove_all(data_dir, ec);
  if (ec) return fs_error(ec, "removing " + data_dir);
  fs::rename(checkpoint_dir, data_dir, ec);
  if (ec) {
    // Another filesystem: copy, then drop the checkpoint.
    ec.clear();
    fs::copy(checkpoint_dir, data_dir, fs::copy_options::recursive, ec);
    if (ec) return fs_error(ec, "copying " + checkpoint_dir + " to " + data_dir);
    fs::remove_all(checkpoint_dir, ec);
  }
  options.create_if_missing = false;
  return open(data_dir, options);
}

uint64_t Store::applied_index() const { return db_->applied(); }

ReadView Store::read() const { return ReadView(std::make_unique<SnapshotReader>(*db_)); }

Result<uint64_t> Store::checkpoint(const std::string& dir) const {
  if (db_->broken()) return Error(errc::io_error, "creating a checkpoint: an earlier write failed");
  rocksdb::Checkpoint* raw = nullptr;
  auto st = rocksdb::Checkpoint::Create(db_->raw(), &raw);
  if (!st.ok()) return db_error(st, "creating a checkpoint");
  std::unique_ptr<rocksdb::Checkpoint> cp(raw);
  // log_size_for_flush = 0: flush the memtables first, so the checkpoint is
  // SST files only and needs no WAL replay when opened.
  st = cp->CreateCheckpoint(dir, /*log_size_for_flush=*/0);
  if (!st.ok()) return db_error(st, "writing checkpoint " + dir);
  // Writes may run concurrently with a checkpoint, so ask the checkpoint
  // itself which index it holds.
  CAIRN_TRY(auto db, Db::open(dir, Db::Mode::read_only, false));
  return db->applied();
}

Result<std::map<std::string, uint64_t>> Store::table_counts() const {
  SnapshotReader r(*db_);
  std::map<std::string, uint64_t> out;
  for (size_t cf = 0; cf < kCfCount; ++cf) {
    if (cf == kMeta) continue;
    uint64_t& n = out[kCfNames[cf]];
    CAIRN_RETURN_IF_ERROR(r.scan(static_cast<Cf>(cf), "", [&n](std::string_view, std::string_view) {
      ++n;
      return true;
    }));
  }
  return out;
}

Result<uint64_t> Store::sync() {
  uint64_t applied = db_->applied();  // read first: what is written by now is covered
  if (db_->broken()) return Error(errc::io_error, "syncing the state store WAL: an earlier write failed");
  auto st = db_->raw()->FlushWAL(/*sync=*/true);
  if (!st.ok()) return db_error(st, "syncing the state store WAL");
  return applied;
}

namespace {

// One command: refuse stale indexes, run `op` in a Txn, commit it — or, if
// the command failed (or `rolled_back` says its result is a refusal), commit
// only the applied index.
template <typename T, typename Op>
Result<T> run(Db& db, uint64_t index, WallTime now, TouchSet& touched, Op&& op,
              bool (*rolled_back)(const T&) = nullptr) {
  if (index <= db.applied())
    return Error(errc::out_of_range,
                 "index " + std::to_string(index) + " is already applied (at " + std::to_string(db.applied()) + ")");
  Txn txn(db, index, now);
  Result<T> result = op(txn);
  if (!result.ok() && is_storage_failure(result.error())) return result;  // record nothing: the caller stops
  if (!result.ok() || (rolled_back && rolled_back(*result))) {
    rocksdb::WriteBatch only_index;
    CAIRN_RETURN_IF_ERROR(db.write(&only_index, index));
    return result;
  }
  CAIRN_RETURN_IF_ERROR(txn.commit());
  touched.merge(txn.touched());
  return result;
}

// Status-returning table operations, lifted into Result<bool> for run().
template <typename Op>
Status run_status(Db& db, uint64_t index, WallTime now, TouchSet& touched, Op&& op) {
  auto r = run<bool>(db, index, now, touched, [&](Txn& t) -> Result<bool> {
    CAIRN_RETURN_IF_ERROR(op(t));
    return true;
  });
  if (!r) return r.error();
  return {};
}

}  // namespace

Result<bool> Store::kv_apply(uint64_t index, KvOp op, const api::KVPair& entry, WallTime now, TouchSet& touched) {
  return run<bool>(*db_, index, now, touched, [&](Txn& t) { return state::kv_apply(t, op, entry); });
}

Result<std::string> Store::session_create(uint64_t index, const api::Session& session, TouchSet& touched) {
  return run<std::string>(*db_, index, WallTime{}, touched, [&](Txn& t) { return state::session_create(t, session); });
}

Result<bool> Store::session_destroy(uint64_t index, const std::string& id, WallTime now, TouchSet& touched) {
  return run<bool>(*db_, index, now, touched, [&](Txn& t) { return state::session_destroy(t, id); });
}

Status Store::catalog_register(uint64_t index, const api::RegisterRequest& req, WallTime now, TouchSet& touched) {
  return run_status(*db_, index, now, touched, [&](Txn& t) { return state::catalog_register(t, req); });
}

Status Store::catalog_deregister(uint64_t index, const api::DeregisterRequest& req, WallTime now,
                                 TouchSet& touched) {
  return run_status(*db_, index, now, touched, [&](Txn& t) { return state::catalog_deregister(t, req); });
}

Result<uint64_t> Store::reap_tombstones(uint64_t index, uint64_t up_to_index, TouchSet& touched) {
  return run<uint64_t>(*db_, index, WallTime{}, touched, [&](Txn& t) { return kv_reap_tombstones(t, up_to_index); });
}

Result<api::TxnResponse> Store::txn(uint64_t index, const std::vector<api::TxnOp>& ops, WallTime now,
                                    TouchSet& touched) {
  return run<api::TxnResponse>(
      *db_, index, now, touched, [&](Txn& t) { return state::txn_apply(t, ops); },
      +[](const api::TxnResponse& r) { return !r.errors.empty(); });
}

Result<bool> Store::ca_set(uint64_t index, const CaWrite& w, TouchSet& touched) {
  return run<bool>(*db_, index, WallTime{}, touched, [&](Txn& t) { return state::ca_apply(t, w); });
}

Result<bool> Store::coordinate_update(uint64_t index, const std::vector<api::CoordinateEntry>& entries,
                                      TouchSet& touched) {
  return run<bool>(*db_, index, WallTime{}, touched, [&](Txn& t) { return state::coordinate_update(t, entries); });
}

Result<std::string> Store::prepared_query_apply(uint64_t index, api::PreparedQueryOp op,
                                                const api::PreparedQuery& query, TouchSet& touched) {
  return run<std::string>(*db_, index, WallTime{}, touched, [&](Txn& t) -> Result<std::string> {
    auto r = op == api::PreparedQueryOp::del ? state::prepared_query_delete(t, query.id)
                                             : state::prepared_query_set(t, query);
    if (!r.ok()) return r.error();
    return query.id;
  });
}

Result<bool> Store::config_entry_apply(uint64_t index, const api::ConfigEntry& entry, bool cas, uint64_t cas_index,
                                       TouchSet& touched) {
  return run<bool>(*db_, index, WallTime{}, touched,
                   [&](Txn& t) { return state::config_entry_apply(t, entry, cas, cas_index); });
}

Result<bool> Store::config_entry_delete(uint64_t index, const std::string& kind, const std::string& name, bool cas,
                                        uint64_t cas_index, TouchSet& touched) {
  return run<bool>(*db_, index, WallTime{}, touched,
                   [&](Txn& t) { return state::config_entry_delete(t, kind, name, cas, cas_index); });
}

Status Store::rebase_applied_index(uint64_t index) {
  rocksdb::WriteBatch only_index;
  return db_->write(&only_index, index);
}

Status Store::apply_noop(uint64_t index) {
  TouchSet none;
  return run_status(*db_, index, WallTime{}, none, [](Txn&) { return Status{}; });
}

}  // namespace cairn::server::state
