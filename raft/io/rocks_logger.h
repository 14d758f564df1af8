// RocksDB's diagnostic log, into Cairn's log instead of a LOG file in the
// database's directory (header-only; included by the two .cc files that open
// RocksDB: raft/io/rocks_storage.cc and server/state/db.cc).
//
// Why: that file shares the data's filesystem, and once a line to it fails on
// a full disk, Debian's RocksDB 7.8 asserts on the next line
// (WritableFileWriter::Append: `sync_without_flush_called_`) — inside the
// failing write or when the store is closed — so the process aborts instead
// of reporting the failure (docs/reliability.md, finding 4). Errors and
// warnings are logged as such; the rest at debug.
#pragma once

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <string_view>

#include <rocksdb/env.h>

#include "core/log.h"

namespace cairn::raft::io {

class RocksLogger final : public rocksdb::Logger {
 public:
  RocksLogger() : rocksdb::Logger(rocksdb::InfoLogLevel::INFO_LEVEL) {}
  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override { Logv(rocksdb::InfoLogLevel::INFO_LEVEL, format, ap); }
  void Logv(const rocksdb::InfoLogLevel level, const char* format, va_list ap) override {
    if (level < GetInfoLogLevel()) return;
    char buf[1024];
    int n = std::vsnprintf(buf, sizeof buf, format, ap);
    if (n < 0) return;
    std::string_view line(buf, std::min<size_t>(static_cast<size_t>(n), sizeof buf - 1));
    if (level >= rocksdb::InfoLogLevel::ERROR_LEVEL) {
      log::error("rocksdb", "{}", line);
    } else if (level == rocksdb::InfoLogLevel::WARN_LEVEL) {
      log::warn("rocksdb", "{}", line);
    } else {
      log::debug("rocksdb", "{}", line);
    }
  }
};

}  // namespace cairn::raft::io
