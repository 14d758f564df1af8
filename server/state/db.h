// Internal to server/state: the RocksDB handle, the column families, the
// record format, and the two ways of reading (a snapshot for queries, a
// write transaction that also sees its own pending writes).
#pragma once

#include <array>
#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <rocksdb/db.h>
#include <rocksdb/utilities/write_batch_with_index.h>

#include "api/wire.h"
#include "core/clock.h"
#include "core/codec.h"
#include "core/result.h"
#include "server/state/watch.h"

namespace cairn::server::state {

// Column families; names and key layouts in README.md.
enum Cf : size_t {
  kMeta,
  kNodes,
  kServices,
  kServiceNames,
  kChecks,
  kKv,
  kTombstones,
  kLockDelays,
  kSessions,
  kSessionKeys,
  kNodeSessions,
  kCheckSessions,
  kNodeIds,
  kConfigEntries,  // config entries by (kind, name) (config_entries.cc)
  kConnectCa,  // the Connect CA: configuration, roots, root keys (ca.cc)
  kCoordinates,    // network coordinates by (node, segment) (coordinates.cc)
  kPreparedQueries,  // prepared queries and their name/template/session indexes (prepared_queries.cc)
  kConnectNames,   // connect destination -> proxies and Connect-native instances (catalog_write.cc)
  kCfCount,
};
extern const char* const kCfNames[kCfCount];

// Tables with an index in the meta CF ("index/<name>").
enum class IndexTable : uint8_t { nodes, services, checks, kv, tombstones, sessions, connect_ca, coordinates,
                                  prepared_queries };

std::string table_index_key(IndexTable t);
std::string service_index_key(std::string_view service);
// The index of the proxies (and native instances) serving a connect destination.
std::string connect_index_key(std::string_view destination);
inline constexpr std::string_view kAppliedIndexKey = "applied_index";
inline constexpr std::string_view kServiceExtinctionKey = "service_extinction";

std::string encode_u64(uint64_t v);
std::optional<uint64_t> decode_u64(std::string_view bytes);

Error db_error(const rocksdb::Status& s, std::string_view what);

// Records are a format version byte, then api/wire.h.
inline constexpr uint8_t kRecordVersion = 1;

template <typename T>
std::string encode_record(const T& v) {
  std::string out;
  ByteWriter w(&out);
  w.u8(kRecordVersion);
  api::wire::put(w, v);
  return out;
}

template <typename T>
Result<T> decode_record(std::string_view bytes, std::string_view what) {
  ByteReader r(bytes);
  T v{};
  if (r.u8() != kRecordVersion || !api::wire::get(r, v) || !r.at_end())
    return Error(errc::internal, "corrupt " + std::string(what) + " record in the state store");
  return v;
}

using ScanFn = std::function<bool(std::string_view key, std::string_view value)>;

class Reader {
 public:
  virtual ~Reader() = default;
  virtual Result<std::optional<std::string>> get(Cf cf, std::string_view key) const = 0;
  // Calls fn for each key starting with prefix, in key order, while it
  // returns true. fn must not scan the same reader again (iterators are
  // reused): collect first, then look further.
  virtual Status scan(Cf cf, std::string_view prefix, const ScanFn& fn) const = 0;

  Result<uint64_t> meta_u64(std::string_view key) const;  // 0 when absent
  Result<uint64_t> table_index(IndexTable t) const { return meta_u64(table_index_key(t)); }

  template <typename T>
  Result<std::optional<T>> record(Cf cf, std::string_view key, std::string_view what) const {
    CAIRN_TRY(auto raw, get(cf, key));
    if (!raw) return std::optional<T>();
    CAIRN_TRY(T v, decode_record<T>(*raw, what));
    return std::optional<T>(std::move(v));
  }

  template <typename T>
  Result<std::vector<T>> records(Cf cf, std::string_view prefix, std::string_view what) const {
    std::vector<T> out;
    Status bad;
    CAIRN_RETURN_IF_ERROR(scan(cf, prefix, [&](std::string_view, std::string_view value) {
      auto v = decode_record<T>(value, what);
      if (!v) {
        bad = v.error();
        return false;
      }
      out.push_back(std::move(*v));
      return true;
    }));
    CAIRN_RETURN_IF_ERROR(bad);
    return out;
  }

  // Keys only (index CFs whose values are empty).
  Result<std::vector<std::string>> keys(Cf cf, std::string_view prefix) const;
};

class Db {
 public:
  enum class Mode { read_write, create, read_only };
  // read_only never writes to `dir` (a checkpoint being inspected or streamed).
  static Result<std::unique_ptr<Db>> open(const std::string& dir, Mode mode, bool sync_writes);
  ~Db();

  rocksdb::DB* raw() const { return db_; }
  rocksdb::ColumnFamilyHandle* cf(Cf c) const { return cfs_[c]; }
  uint64_t applied() const { return applied_.load(std::memory_order_acquire); }
  Status write(rocksdb::WriteBatch* batch, uint64_t applied_index);
  // A write failed (disk full, I/O error): RocksDB is in an error state in
  // which some calls (FlushWAL after a failed write) abort the process in
  // Debian's build, so nothing but closing it may follow.
  bool broken() const { return broken_.load(std::memory_order_acquire); }
  bool sync_writes() const { return sync_writes_; }

 private:
  Db() = default;
  rocksdb::DB* db_ = nullptr;
  rocksdb::ColumnFamilyHandle* default_cf_ = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> cfs_;  // indexed by Cf
  std::atomic<uint64_t> applied_{0};
  std::atomic<bool> broken_{false};
  bool sync_writes_ = false;
};

class SnapshotReader final : public Reader {
 public:
  explicit SnapshotReader(const Db& db);
  ~SnapshotReader() override;
  Result<std::optional<std::string>> get(Cf cf, std::string_view key) const override;
  Status scan(Cf cf, std::string_view prefix, const ScanFn& fn) const override;

 private:
  const Db& db_;
  const rocksdb::Snapshot* snapshot_;
  rocksdb::ReadOptions options_;
  // One iterator per column family, created on first use and re-seeked
  // after: a health query scans the checks of every instance's node, and
  // creating an iterator costs far more than seeking one.
  mutable std::array<std::unique_ptr<rocksdb::Iterator>, kCfCount> iterators_;
};

// One command's writes. Reads see the DB plus this batch; the FSM applies
// one command at a time, so nothing else writes underneath.
class Txn final : public Reader {
 public:
  Txn(Db& db, uint64_t index, WallTime now);
  Result<std::optional<std::string>> get(Cf cf, std::string_view key) const override;
  Status scan(Cf cf, std::string_view prefix, const ScanFn& fn) const override;

  void put(Cf cf, std::string_view key, std::string_view value);
  void del(Cf cf, std::string_view key);
  template <typename T>
  void put_record(Cf cf, std::string_view key, const T& v) {
    put(cf, key, encode_record(v));
  }
  // Sets a table's index to this command's index.
  void bump(IndexTable t) { put(kMeta, table_index_key(t), encode_u64(index_)); }

  uint64_t index() const { return index_; }
  WallTime now() const { return now_; }
  TouchSet& touched() { return touched_; }
  Status commit();

 private:
  Db& db_;
  uint64_t index_;
  WallTime now_;
  rocksdb::WriteBatchWithIndex batch_;
  TouchSet touched_;
};

}  // namespace cairn::server::state
