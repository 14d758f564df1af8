// The bytes of a Raft snapshot of the server's state: a RocksDB checkpoint
// (server/state/store.h) packed into one archive. Raft snapshots are archive
// FILES (pack_checkpoint_to_file, in raft_snapshot_dir) that raft/io streams
// to followers in chunks (raft/io/snapshot_file.h); /v1/snapshot moves the
// same bytes as one string. Packing and unpacking copy files in 1 MiB pieces.
//
// Format (core/codec.h):
//   "CAIRNSNAP" u8 version(1) u64 applied_index varint file_count
//   { bytes name, bytes content } * file_count
//   u64 FNV-1a-64 of everything before it
// Names are plain file names (no '/', not "." or ".."): a checkpoint is one
// flat directory.
//
// The same bytes are what GET /v1/snapshot answers and PUT /v1/snapshot and
// `cairn snapshot restore` take (server/README.md "Snapshot archives").
//
// Thread-safety: pure functions over the filesystem.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "core/result.h"
#include "raft/io/snapshot_file.h"

namespace cairn::server {

// Packs every regular file of `dir` (a checkpoint holding `applied_index`).
Result<std::string> pack_checkpoint(const std::string& dir, uint64_t applied_index);

// The same archive written to a file: into `part`, then fsynced and renamed
// to `path` (raft::SnapshotWriter); the reference is what the Raft snapshot
// carries.
Result<raft::SnapshotFileRef> pack_checkpoint_to_file(const std::string& dir, uint64_t applied_index,
                                                      const std::string& path, const std::string& part);

// The applied index in an archive file's header (the checksum is NOT read).
Result<uint64_t> archive_file_index(const std::string& path);

// unpack_checkpoint from a file, streamed: the checksum is verified at the
// end and `dir` removed if it does not match.
Result<uint64_t> unpack_checkpoint_file(const std::string& path, const std::string& dir);

// Where a server keeps its Raft snapshot files, its own and those received
// (TcpTransportOptions::snapshot_dir): data_dir/raft-snapshots.
std::string raft_snapshot_dir(const std::string& data_dir);

// The applied index recorded in packed bytes, without unpacking them
// (the checksum is verified).
Result<uint64_t> packed_applied_index(std::string_view bytes);

// Writes the files of packed bytes into `dir`, which must not exist yet, and
// returns the applied index. errc::parse_error for bytes that are not a
// whole, intact archive (checked as it unpacks; `dir` is removed then).
Result<uint64_t> unpack_checkpoint(std::string_view bytes, const std::string& dir);

// What `cairn snapshot inspect` prints of an archive.
struct ArchiveSummary {
  uint64_t index = 0;    // the applied index it holds
  uint64_t bytes = 0;    // the archive's size
  uint64_t files = 0;    // checkpoint files in it
  std::map<std::string, uint64_t> rows;  // rows per table (state store column families)
};
// Verifies the archive, unpacks it into `scratch_dir` (which must not exist;
// removed afterwards) and opens it to count each table's rows.
// errc::parse_error for bytes that are not a whole, intact archive.
Result<ArchiveSummary> summarize_archive(std::string_view bytes, const std::string& scratch_dir);

}  // namespace cairn::server
