#include "raft/io/rocks_storage.h"

#include <rocksdb/db.h>
#include <rocksdb/options.h>

#include "raft/io/rocks_logger.h"
#include <rocksdb/write_batch.h>

#include "core/codec.h"
#include "raft/errc.h"

namespace cairn::raft {
namespace {

constexpr const char* kHardStateKey = "hard_state";
constexpr const char* kSnapshotKey = "snapshot";

std::string index_key(Index i) {
  std::string k;
  ByteWriter w(&k);
  w.u64(i);  // big-endian: keys sort by index
  return k;
}

Index key_index(const rocksdb::Slice& k) {
  ByteReader r(std::string_view(k.data(), k.size()));
  return r.u64();
}

std::string encode_entry(const Entry& e) {
  std::string out;
  ByteWriter w(&out);
  w.varint(e.term);
  w.u8(static_cast<uint8_t>(e.type));
  w.bytes(e.data);
  return out;
}

Result<Entry> decode_entry(Index index, std::string_view bytes) {
  ByteReader r(bytes);
  Entry e;
  e.index = index;
  e.term = r.varint();
  uint8_t type = r.u8();
  e.data = r.string();
  if (!r.ok() || !r.at_end() || type > 1)
    return Error(cairn::errc::internal, "raft log: entry " + std::to_string(index) + " is corrupt");
  e.type = static_cast<EntryType>(type);
  return e;
}

void write_ids(ByteWriter& w, const std::vector<NodeId>& ids) {
  w.varint(ids.size());
  for (NodeId id : ids) w.varint(id);
}

std::vector<NodeId> read_ids(ByteReader& r) {
  std::vector<NodeId> ids;
  uint64_t n = r.varint();
  if (n > 100000) {
    r.fail();
    return ids;
  }
  for (uint64_t i = 0; i < n && r.ok(); ++i) ids.push_back(r.varint());
  return ids;
}

std::string snapshot_data_key(Index i) { return index_key(i); }  // in column family "images"

// The snapshot record: metadata, then the data inline, or (data_at != 0)
// empty data and the index of the staged image under snapshot_data_key.
std::string encode_snapshot(const Snapshot& s, Index data_at = 0) {
  std::string out;
  ByteWriter w(&out);
  w.varint(s.metadata.index);
  w.varint(s.metadata.term);
  write_ids(w, s.metadata.conf_state.voters);
  write_ids(w, s.metadata.conf_state.learners);
  w.bytes(data_at != 0 ? std::string_view() : std::string_view(s.data));
  if (data_at != 0) w.varint(data_at);
  return out;
}

struct SnapshotRecord {
  Snapshot snapshot;
  Index data_at = 0;
};

Result<SnapshotRecord> decode_snapshot(std::string_view bytes) {
  ByteReader r(bytes);
  SnapshotRecord rec;
  Snapshot& s = rec.snapshot;
  s.metadata.index = r.varint();
  s.metadata.term = r.varint();
  s.metadata.conf_state.voters = read_ids(r);
  s.metadata.conf_state.learners = read_ids(r);
  s.data = std::string(r.bytes(1u << 31));
  if (r.ok() && !r.at_end()) rec.data_at = r.varint();
  if (!r.ok() || !r.at_end()) return Error(cairn::errc::internal, "raft log: snapshot record is corrupt");
  return rec;
}

Error rocks_error(const rocksdb::Status& st, const std::string& what) {
  return Error(cairn::errc::io_error, "raft log: " + what + ": " + st.ToString());
}

}  // namespace

struct RocksLogStorage::Db {
  std::unique_ptr<rocksdb::DB> db;
  rocksdb::ColumnFamilyHandle* log = nullptr;
  rocksdb::ColumnFamilyHandle* meta = nullptr;
  rocksdb::ColumnFamilyHandle* images = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  ~Db() {
    for (auto* h : handles) {
      if (db) db->DestroyColumnFamilyHandle(h);
    }
    if (db) db->Close();
  }
};

RocksLogStorage::RocksLogStorage(std::unique_ptr<Db> db) : db_(std::move(db)) {}
RocksLogStorage::~RocksLogStorage() = default;

Result<std::unique_ptr<RocksLogStorage>> RocksLogStorage::open(const std::string& dir,
                                                               std::optional<ConfState> bootstrap) {
  rocksdb::DBOptions options;
  options.create_if_missing = true;
  options.create_missing_column_families = true;
  options.max_background_jobs = 2;
  options.keep_log_file_num = 2;
  options.info_log = std::make_shared<io::RocksLogger>();  // not a LOG file on the data disk
  options.max_total_wal_size = 64u << 20;
  rocksdb::ColumnFamilyOptions cf;
  cf.write_buffer_size = 16u << 20;
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs{
      {rocksdb::kDefaultColumnFamilyName, cf}, {"log", cf}, {"meta", cf}, {"images", cf}};
  auto db = std::make_unique<Db>();
  rocksdb::DB* raw = nullptr;
  auto st = rocksdb::DB::Open(options, dir, cfs, &db->handles, &raw);
  if (!st.ok()) return rocks_error(st, "open " + dir);
  db->db.reset(raw);
  db->log = db->handles[1];
  db->meta = db->handles[2];
  db->images = db->handles[3];
  std::unique_ptr<RocksLogStorage> s(new RocksLogStorage(std::move(db)));
  CAIRN_RETURN_IF_ERROR(s->load());
  if (bootstrap && !s->has_state()) CAIRN_RETURN_IF_ERROR(s->bootstrap(std::move(*bootstrap)));
  return s;
}

bool RocksLogStorage::has_state() const {
  return snapshot_meta_.index != 0 || last_ != 0 || !hard_state_.empty();
}

Status RocksLogStorage::load() {
  std::string value;
  auto st = db_->db->Get(rocksdb::ReadOptions(), db_->meta, kHardStateKey, &value);
  if (st.ok()) {
    ByteReader r(value);
    hard_state_.term = r.varint();
    hard_state_.vote = r.varint();
    hard_state_.commit = r.varint();
    if (!r.ok() || !r.at_end()) return Error(cairn::errc::internal, "raft log: hard state record is corrupt");
  } else if (!st.IsNotFound()) {
    return rocks_error(st, "read hard state");
  }
  st = db_->db->Get(rocksdb::ReadOptions(), db_->meta, kSnapshotKey, &value);
  if (st.ok()) {
    CAIRN_TRY(auto rec, decode_snapshot(value));
    snapshot_meta_ = rec.snapshot.metadata;
  } else if (!st.IsNotFound()) {
    return rocks_error(st, "read snapshot");
  }
  first_ = snapshot_meta_.index + 1;
  last_ = snapshot_meta_.index;
  std::unique_ptr<rocksdb::Iterator> it(db_->db->NewIterator(rocksdb::ReadOptions(), db_->log));
  it->SeekToLast();
  if (it->Valid()) last_ = std::max<Index>(last_, key_index(it->key()));
  if (!it->status().ok()) return rocks_error(it->status(), "scan log");
  return {};
}

Result<InitialState> RocksLogStorage::initial_state() const {
  return InitialState{hard_state_, snapshot_meta_.conf_state};
}

Result<std::vector<Entry>> RocksLogStorage::entries(Index lo, Index hi, uint64_t max_size) const {
  if (lo < first_) return raft_error(errc::compacted, "entries: index " + std::to_string(lo) + " is compacted");
  if (hi > last_ + 1) {
    return raft_error(errc::unavailable,
                      "entries: hi " + std::to_string(hi) + " past last index " + std::to_string(last_));
  }
  std::vector<Entry> out;
  if (lo >= hi) return out;
  rocksdb::ReadOptions ro;
  std::string upper = index_key(hi);
  rocksdb::Slice upper_slice(upper);
  ro.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(db_->db->NewIterator(ro, db_->log));
  uint64_t size = 0;
  Index expect = lo;
  bool limited = false;
  for (it->Seek(index_key(lo)); it->Valid(); it->Next()) {
    Index i = key_index(it->key());
    if (i != expect) break;  // reported below as missing
    CAIRN_TRY(Entry e, decode_entry(i, std::string_view(it->value().data(), it->value().size())));
    size += e.size();
    if (!out.empty() && size > max_size) {  // at least one entry, then within max_size
      limited = true;
      break;
    }
    out.push_back(std::move(e));
    ++expect;
  }
  if (!it->status().ok()) return rocks_error(it->status(), "read entries");
  if (!limited && expect != hi) {
    return Error(cairn::errc::internal, "raft log: entry " + std::to_string(expect) + " is missing");
  }
  return out;
}

Result<Term> RocksLogStorage::term(Index i) const {
  if (i + 1 < first_) return raft_error(errc::compacted, "term: index " + std::to_string(i) + " is compacted");
  if (i == snapshot_meta_.index) return snapshot_meta_.term;
  if (i > last_) return raft_error(errc::unavailable, "term: index " + std::to_string(i) + " is unavailable");
  std::string value;
  auto st = db_->db->Get(rocksdb::ReadOptions(), db_->log, index_key(i), &value);
  if (!st.ok()) return rocks_error(st, "read entry " + std::to_string(i));
  ByteReader r(value);
  Term t = r.varint();
  if (!r.ok()) return Error(cairn::errc::internal, "raft log: entry " + std::to_string(i) + " is corrupt");
  return t;
}

Result<Snapshot> RocksLogStorage::snapshot() const {
  std::string value;
  auto st = db_->db->Get(rocksdb::ReadOptions(), db_->meta, kSnapshotKey, &value);
  if (st.IsNotFound()) return Snapshot{};
  if (!st.ok()) return rocks_error(st, "read snapshot");
  CAIRN_TRY(auto rec, decode_snapshot(value));
  if (rec.data_at != 0) {
    st = db_->db->Get(rocksdb::ReadOptions(), db_->images, snapshot_data_key(rec.data_at), &rec.snapshot.data);
    if (!st.ok()) return rocks_error(st, "read snapshot data " + std::to_string(rec.data_at));
  }
  return std::move(rec.snapshot);
}

Status RocksLogStorage::stage_append(void* batch_ptr, std::span<const Entry> entries, Index* new_last) {
  auto& batch = *static_cast<rocksdb::WriteBatch*>(batch_ptr);
  *new_last = last_;
  if (entries.empty()) return {};
  Index last = entries.back().index;
  if (last < first_) return {};  // all already compacted: nothing to keep
  Index start = entries.front().index;
  if (start > last_ + 1) {
    return raft_error(errc::unavailable, "append: gap, first new index " + std::to_string(start) +
                                             " after last index " + std::to_string(last_));
  }
  size_t skip = start < first_ ? static_cast<size_t>(first_ - start) : 0;
  Index from = entries[skip].index;
  // Truncate a conflicting suffix (§5.3) before writing the new entries.
  if (from <= last_) batch.DeleteRange(db_->log, index_key(from), index_key(last_ + 1));
  for (size_t k = skip; k < entries.size(); ++k) batch.Put(db_->log, index_key(entries[k].index), encode_entry(entries[k]));
  *new_last = last;
  return {};
}

Status RocksLogStorage::write(void* batch_ptr) {
  rocksdb::WriteOptions wo;
  wo.sync = true;
  auto st = db_->db->Write(wo, static_cast<rocksdb::WriteBatch*>(batch_ptr));
  if (!st.ok()) return rocks_error(st, "write");
  ++syncs_;
  return {};
}

namespace {
std::string encode_hard_state(const HardState& hs) {
  std::string out;
  ByteWriter w(&out);
  w.varint(hs.term);
  w.varint(hs.vote);
  w.varint(hs.commit);
  return out;
}
}  // namespace

Status RocksLogStorage::persist(std::span<const Entry> entries, const std::optional<HardState>& hs) {
  if (entries.empty() && !hs) return {};
  rocksdb::WriteBatch batch;
  Index new_last = last_;
  CAIRN_RETURN_IF_ERROR(stage_append(&batch, entries, &new_last));
  if (hs) batch.Put(db_->meta, kHardStateKey, encode_hard_state(*hs));
  CAIRN_RETURN_IF_ERROR(write(&batch));
  last_ = new_last;
  if (hs) hard_state_ = *hs;
  return {};
}

Status RocksLogStorage::append(std::span<const Entry> entries) { return persist(entries, std::nullopt); }

Status RocksLogStorage::set_hard_state(const HardState& hs) { return persist({}, hs); }

Status RocksLogStorage::apply_snapshot(const Snapshot& snapshot) {
  if (snapshot.metadata.index <= snapshot_meta_.index && snapshot_meta_.index != 0) {
    return raft_error(errc::snapshot_out_of_date, "apply_snapshot: index " + std::to_string(snapshot.metadata.index) +
                                                      " not after " + std::to_string(snapshot_meta_.index));
  }
  rocksdb::WriteBatch batch;
  batch.DeleteRange(db_->log, index_key(0), index_key(UINT64_MAX));
  batch.DeleteRange(db_->images, snapshot_data_key(0), snapshot_data_key(UINT64_MAX));
  batch.Put(db_->meta, kSnapshotKey, encode_snapshot(snapshot));
  CAIRN_RETURN_IF_ERROR(write(&batch));
  snapshot_meta_ = snapshot.metadata;
  first_ = snapshot.metadata.index + 1;
  last_ = snapshot.metadata.index;
  return {};
}

Status RocksLogStorage::bootstrap(ConfState cs) {
  if (has_state()) return Error(cairn::errc::already_exists, "raft log: bootstrap: the store already holds state");
  if (cs.voters.empty()) return Error(cairn::errc::invalid_argument, "raft log: bootstrap: conf_state has no voter");
  Snapshot snap = bootstrap_snapshot(std::move(cs));
  HardState hs{snap.metadata.term, kNoNode, snap.metadata.index};
  rocksdb::WriteBatch batch;
  batch.Put(db_->meta, kSnapshotKey, encode_snapshot(snap));
  batch.Put(db_->meta, kHardStateKey, encode_hard_state(hs));
  CAIRN_RETURN_IF_ERROR(write(&batch));
  snapshot_meta_ = snap.metadata;
  hard_state_ = hs;
  first_ = snap.metadata.index + 1;
  last_ = snap.metadata.index;
  return {};
}

Status RocksLogStorage::compact(const Snapshot& snapshot) {
  Index i = snapshot.metadata.index;
  if (i < first_) {
    return raft_error(errc::snapshot_out_of_date, "compact: index " + std::to_string(i) + " already compacted");
  }
  if (i > last_) {
    return raft_error(errc::unavailable,
                      "compact: index " + std::to_string(i) + " past last index " + std::to_string(last_));
  }
  // An image staged for exactly this snapshot is referenced, not written again.
  bool staged = staged_.index == i && staged_.term == snapshot.metadata.term && staged_.size == snapshot.data.size();
  rocksdb::WriteBatch batch;
  batch.Put(db_->meta, kSnapshotKey, encode_snapshot(snapshot, staged ? i : 0));
  // Older images, and staged ones never used.
  batch.DeleteRange(db_->images, snapshot_data_key(0), snapshot_data_key(staged ? i : UINT64_MAX));
  if (staged) batch.DeleteRange(db_->images, snapshot_data_key(i + 1), snapshot_data_key(UINT64_MAX));
  batch.DeleteRange(db_->log, index_key(0), index_key(i + 1));
  CAIRN_RETURN_IF_ERROR(write(&batch));
  snapshot_meta_ = snapshot.metadata;
  first_ = i + 1;
  staged_ = {};
  return {};
}

Status RocksLogStorage::stage_snapshot_data(Index index, Term term, std::string_view data) {
  // Not through the WAL: a large image there would sit in the same fsync as
  // the log's next persist(). Written to its own column family and flushed
  // to a synced table file instead, which the log's writes do not wait for.
  rocksdb::WriteOptions wo;
  wo.disableWAL = true;
  auto st = db_->db->Put(wo, db_->images, snapshot_data_key(index), rocksdb::Slice(data.data(), data.size()));
  if (!st.ok()) return rocks_error(st, "stage snapshot image " + std::to_string(index));
  rocksdb::FlushOptions fo;
  fo.wait = true;
  fo.allow_write_stall = true;
  st = db_->db->Flush(fo, db_->images);
  if (!st.ok()) return rocks_error(st, "flush snapshot image " + std::to_string(index));
  staged_ = {index, term, data.size()};
  return {};
}

}  // namespace cairn::raft
