// A Raft snapshot kept in a file instead of in memory.
//
// The pure core (raft/) treats Snapshot::data as opaque bytes. An
// Application whose image is large writes it to a file and hands the driver a
// *reference* instead of the image: encode_snapshot_ref({path, size,
// checksum}) — a few dozen bytes that the core, the log storage and the
// messages carry like any image. TcpTransport recognises a reference in a
// `snap` message and streams the file from disk in chunks; a receiver with
// TcpTransportOptions::snapshot_dir writes the chunks to a file there and
// delivers a reference to that file. Either end holds one chunk at a time.
//
// Durability: a reference is handed out only for a complete file that was
// fsynced and renamed into place (write_snapshot_file, and the transport's
// receiver); a crash mid-write leaves a `.part` file — which the
// transport's receiver resumes after a restart when it still matches its
// PartialSnapshotMeta record, and otherwise removes — and the previous
// snapshot intact.
//
// Files are named snapshot-<index>-<term>.snap (snapshot_file_path);
// prune_snapshot_files keeps the newest few. Whoever writes them (the
// Application, the transport's receiver) uses the same directory.
//
// Thread-safety: free functions; SnapshotWriter is used by one thread at a time.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"
#include "raft/types.h"

namespace cairn::raft {

// FNV-1a 64 over a stream of bytes (the snapshot's checksum).
class Fnv1a64 {
 public:
  Fnv1a64() = default;
  explicit Fnv1a64(uint64_t state) : h_(state) {}  // continue a sum whose value() was `state`
  void update(std::string_view bytes) {
    for (unsigned char c : bytes) {
      h_ ^= c;
      h_ *= 1099511628211ull;
    }
  }
  uint64_t value() const { return h_; }

 private:
  uint64_t h_ = 14695981039346656037ull;
};

struct SnapshotFileRef {
  std::string path;       // absolute or relative to the process's working directory
  uint64_t size = 0;      // bytes
  uint64_t checksum = 0;  // Fnv1a64 of the whole file
};

// The reference as Snapshot::data.
std::string encode_snapshot_ref(const SnapshotFileRef& ref);
// The reference in `data`, or nullopt when `data` is an image of its own.
std::optional<SnapshotFileRef> decode_snapshot_ref(std::string_view data);

// dir/snapshot-<index>-<term>.snap
std::string snapshot_file_path(const std::string& dir, Index index, Term term);

// Writes a file piece by piece into `part` (truncated first) until
// finish(), which fsyncs it, renames it to `path`, fsyncs the directory and
// returns the reference. Dropping an unfinished writer removes the part file.
// One writer per part path at a time: a part file left by a crash is simply
// overwritten by the next writer of the same part path.
class SnapshotWriter {
 public:
  static Result<SnapshotWriter> create(std::string path, std::string part);
  // Continues an existing part file whose first `size` bytes sum to
  // `checksum` (Fnv1a64); anything past them is cut off. invalid_argument
  // when the file is shorter or its bytes do not sum to `checksum`.
  static Result<SnapshotWriter> resume(std::string path, std::string part, uint64_t size, uint64_t checksum);
  SnapshotWriter(SnapshotWriter&& o) noexcept;
  SnapshotWriter& operator=(SnapshotWriter&& o) noexcept;
  SnapshotWriter(const SnapshotWriter&) = delete;
  SnapshotWriter& operator=(const SnapshotWriter&) = delete;
  ~SnapshotWriter();

  Status write(std::string_view bytes);
  uint64_t size() const { return size_; }
  uint64_t checksum() const { return sum_.value(); }
  Result<SnapshotFileRef> finish();
  // Closes the part file and keeps it (a receiver that stops mid-transfer
  // resumes it after a restart); the writer is then finished.
  void detach();

 private:
  SnapshotWriter(std::string path, std::string part, int fd)
      : path_(std::move(path)), part_(std::move(part)), fd_(fd) {}
  void abandon();
  std::string path_;
  std::string part_;
  int fd_ = -1;
  uint64_t size_ = 0;
  Fnv1a64 sum_;
};

// Reads a file sequentially in pieces (pread at an offset).
class SnapshotReader {
 public:
  static Result<SnapshotReader> open(const std::string& path);
  SnapshotReader(SnapshotReader&& o) noexcept : fd_(o.fd_), path_(std::move(o.path_)) { o.fd_ = -1; }
  SnapshotReader(const SnapshotReader&) = delete;
  SnapshotReader& operator=(const SnapshotReader&) = delete;
  SnapshotReader& operator=(SnapshotReader&&) = delete;
  ~SnapshotReader();
  // Up to `len` bytes at `offset`; fewer only at the end of the file.
  Result<std::string> read_at(uint64_t offset, uint64_t len) const;
  uint64_t file_size() const;

 private:
  SnapshotReader(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  int fd_ = -1;
  std::string path_;
};

// What a receiver keeps next to a part file (TcpTransport with a
// snapshot_dir: receiving-from-<sender>.meta) so that after a restart it can
// resume the transfer: which snapshot it is and how much of it the part file
// holds, with the checksum of those bytes. Rewritten after every chunk
// without fsync: resume() checks the part file against it, and a transfer
// that does not check out starts over.
struct PartialSnapshotMeta {
  Index index = 0;
  Term term = 0;
  uint64_t total = 0;         // bytes of the whole snapshot
  uint64_t checksum = 0;      // the sender's checksum of the whole snapshot
  uint64_t held = 0;          // bytes in the part file
  uint64_t held_checksum = 0; // Fnv1a64 of those bytes
};
Status write_partial_meta(const std::string& path, const PartialSnapshotMeta& meta);
// nullopt when the file is missing or does not decode.
std::optional<PartialSnapshotMeta> read_partial_meta(const std::string& path);

// A snapshot's data whole: an image as it is, a reference's file read into
// memory (checked against its size and checksum). For applications whose
// state lives in memory anyway.
Result<std::string> read_snapshot_data(std::string_view data);

// Removes snapshot-*.snap files of `dir` but the `keep` with the highest
// index (and term). Errors are ignored: a file left over is only disk space.
void prune_snapshot_files(const std::string& dir, size_t keep);

}  // namespace cairn::raft
