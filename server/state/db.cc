#include "server/state/db.h"

#include "raft/io/rocks_logger.h"
#include "server/state/keys.h"

#include <rocksdb/env.h>
#include <rocksdb/options.h>

namespace cairn::server::state {

const char* const kCfNames[kCfCount] = {
    "meta",    "nodes",      "services",      "service_names", "checks",       "kv",
    "kv_tombstones", "kv_lock_delays", "sessions", "session_keys", "node_sessions", "check_sessions",
    "node_ids", "config_entries", "connect_ca", "coordinates", "prepared_queries", "connect_names",
};

namespace {
const char* index_table_name(IndexTable t) {
  switch (t) {
    case IndexTable::nodes: return "nodes";
    case IndexTable::services: return "services";
    case IndexTable::checks: return "checks";
    case IndexTable::kv: return "kv";
    case IndexTable::tombstones: return "tombstones";
    case IndexTable::sessions: return "sessions";
    case IndexTable::connect_ca: return "connect_ca";
    case IndexTable::coordinates: return "coordinates";
    case IndexTable::prepared_queries: return "prepared_queries";
  }
  return "unknown";
}
}  // namespace

std::string table_index_key(IndexTable t) { return std::string("index/") + index_table_name(t); }
std::string service_index_key(std::string_view service) { return "service_index/" + fold_case(service); }
std::string connect_index_key(std::string_view destination) { return "connect_index/" + fold_case(destination); }

std::string encode_u64(uint64_t v) {
  std::string out;
  ByteWriter w(&out);
  w.u64(v);
  return out;
}

std::optional<uint64_t> decode_u64(std::string_view bytes) {
  if (bytes.size() != 8) return std::nullopt;
  ByteReader r(bytes);
  return r.u64();
}

Error db_error(const rocksdb::Status& s, std::string_view what) {
  return Error(errc::io_error, std::string(what) + ": " + s.ToString());
}

Result<uint64_t> Reader::meta_u64(std::string_view key) const {
  CAIRN_TRY(auto raw, get(kMeta, key));
  if (!raw) return uint64_t{0};
  auto v = decode_u64(*raw);
  if (!v) return Error(errc::internal, "corrupt meta value for " + std::string(key));
  return *v;
}

Result<std::vector<std::string>> Reader::keys(Cf cf, std::string_view prefix) const {
  std::vector<std::string> out;
  CAIRN_RETURN_IF_ERROR(scan(cf, prefix, [&](std::string_view k, std::string_view) {
    out.emplace_back(k);
    return true;
  }));
  return out;
}

// --- Db ---


Result<std::unique_ptr<Db>> Db::open(const std::string& dir, Mode mode, bool sync_writes) {
  rocksdb::DBOptions options;
  options.create_if_missing = mode == Mode::create;
  options.create_missing_column_families = mode != Mode::read_only;
  // The WAL is not fsynced per write (see store.h): after a power loss its
  // tail may be torn. Point-in-time recovery replays the intact prefix and
  // stops there — whole batches only, so whole commands only.
  options.wal_recovery_mode = rocksdb::WALRecoveryMode::kPointInTimeRecovery;
  // Small by default: a server's state is mostly small records; RocksDB's
  // defaults (64 MB memtables per CF x 12 CFs) would dwarf it.
  options.max_background_jobs = 2;
  options.max_total_wal_size = 64 << 20;
  options.info_log = std::make_shared<raft::io::RocksLogger>();  // not a LOG file on the data disk
  rocksdb::ColumnFamilyOptions cf_options;
  cf_options.write_buffer_size = 8 << 20;

  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  descriptors.emplace_back(rocksdb::kDefaultColumnFamilyName, cf_options);
  for (size_t i = 0; i < kCfCount; ++i) descriptors.emplace_back(kCfNames[i], cf_options);

  // A directory written by a newer Cairn may hold tables we do not know;
  // opening it would silently drop them from checkpoints. Refuse instead.
  std::vector<std::string> existing;
  if (rocksdb::DB::ListColumnFamilies(options, dir, &existing).ok()) {
    for (const auto& name : existing) {
      bool known = name == rocksdb::kDefaultColumnFamilyName;
      for (size_t i = 0; i < kCfCount; ++i) known = known || name == kCfNames[i];
      if (!known) return Error(errc::invalid_argument, "state store " + dir + " has unknown column family " + name);
    }
  }

  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  auto st = mode == Mode::read_only ? rocksdb::DB::OpenForReadOnly(options, dir, descriptors, &handles, &raw)
                                    : rocksdb::DB::Open(options, dir, descriptors, &handles, &raw);
  if (!st.ok()) return db_error(st, "opening state store " + dir);

  std::unique_ptr<Db> db(new Db());
  db->db_ = raw;
  db->sync_writes_ = sync_writes;
  // handles[0] is the default CF, which we do not use.
  db->default_cf_ = handles[0];
  db->cfs_.assign(handles.begin() + 1, handles.end());
  SnapshotReader reader(*db);
  CAIRN_TRY(uint64_t applied, reader.meta_u64(kAppliedIndexKey));
  db->applied_.store(applied, std::memory_order_release);
  return db;
}

Db::~Db() {
  if (!db_) return;
  for (auto* h : cfs_) db_->DestroyColumnFamilyHandle(h);
  db_->DestroyColumnFamilyHandle(default_cf_);
  db_->Close();
  delete db_;
}

Status Db::write(rocksdb::WriteBatch* batch, uint64_t applied_index) {
  auto st = batch->Put(cfs_[kMeta], rocksdb::Slice(kAppliedIndexKey.data(), kAppliedIndexKey.size()),
                       encode_u64(applied_index));
  if (!st.ok()) return db_error(st, "recording the applied index");
  rocksdb::WriteOptions wo;
  wo.sync = sync_writes_;
  st = db_->Write(wo, batch);
  if (!st.ok()) {
    broken_.store(true, std::memory_order_release);
    return db_error(st, "writing to the state store");
  }
  applied_.store(applied_index, std::memory_order_release);
  return {};
}

// --- SnapshotReader ---

SnapshotReader::SnapshotReader(const Db& db) : db_(db), snapshot_(db.raw()->GetSnapshot()) {
  options_.snapshot = snapshot_;
}

SnapshotReader::~SnapshotReader() {
  for (auto& it : iterators_) it.reset();  // iterators pin the snapshot's data: drop them first
  db_.raw()->ReleaseSnapshot(snapshot_);
}

Result<std::optional<std::string>> SnapshotReader::get(Cf cf, std::string_view key) const {
  std::string value;
  auto st = db_.raw()->Get(options_, db_.cf(cf), rocksdb::Slice(key.data(), key.size()), &value);
  if (st.IsNotFound()) return std::optional<std::string>();
  if (!st.ok()) return db_error(st, "reading the state store");
  return std::optional<std::string>(std::move(value));
}

namespace {
Status scan_iterator(rocksdb::Iterator* it, std::string_view prefix, const ScanFn& fn) {
  for (it->Seek(rocksdb::Slice(prefix.data(), prefix.size())); it->Valid(); it->Next()) {
    auto k = it->key();
    if (!k.starts_with(rocksdb::Slice(prefix.data(), prefix.size()))) break;
    if (!fn(std::string_view(k.data(), k.size()), std::string_view(it->value().data(), it->value().size()))) break;
  }
  if (!it->status().ok()) return db_error(it->status(), "scanning the state store");
  return {};
}
}  // namespace

Status SnapshotReader::scan(Cf cf, std::string_view prefix, const ScanFn& fn) const {
  auto& it = iterators_[cf];
  if (!it) it.reset(db_.raw()->NewIterator(options_, db_.cf(cf)));
  return scan_iterator(it.get(), prefix, fn);
}

// --- Txn ---

Txn::Txn(Db& db, uint64_t index, WallTime now)
    : db_(db), index_(index), now_(now), batch_(rocksdb::BytewiseComparator(), 0, /*overwrite_key=*/true) {}

Result<std::optional<std::string>> Txn::get(Cf cf, std::string_view key) const {
  std::string value;
  auto& batch = const_cast<rocksdb::WriteBatchWithIndex&>(batch_);  // lookups do not mutate
  auto st = batch.GetFromBatchAndDB(db_.raw(), rocksdb::ReadOptions(), db_.cf(cf),
                                    rocksdb::Slice(key.data(), key.size()), &value);
  if (st.IsNotFound()) return std::optional<std::string>();
  if (!st.ok()) return db_error(st, "reading the state store");
  return std::optional<std::string>(std::move(value));
}

Status Txn::scan(Cf cf, std::string_view prefix, const ScanFn& fn) const {
  auto* handle = db_.cf(cf);
  auto& batch = const_cast<rocksdb::WriteBatchWithIndex&>(batch_);
  std::unique_ptr<rocksdb::Iterator> it(
      batch.NewIteratorWithBase(handle, db_.raw()->NewIterator(rocksdb::ReadOptions(), handle)));
  return scan_iterator(it.get(), prefix, fn);
}

void Txn::put(Cf cf, std::string_view key, std::string_view value) {
  // Put/Delete on a WriteBatchWithIndex fail only for oversized batches
  // (> 4 GB); Raft entries are bounded far below that.
  (void)batch_.Put(db_.cf(cf), rocksdb::Slice(key.data(), key.size()),
                   rocksdb::Slice(value.data(), value.size()));
}

void Txn::del(Cf cf, std::string_view key) {
  (void)batch_.Delete(db_.cf(cf), rocksdb::Slice(key.data(), key.size()));
}

Status Txn::commit() { return db_.write(batch_.GetWriteBatch(), index_); }

}  // namespace cairn::server::state
