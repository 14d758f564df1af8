#include "server/snapshot_archive.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <vector>

#include "core/codec.h"
#include "server/state/store.h"

namespace cairn::server {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kMagic = "CAIRNSNAP";
constexpr uint8_t kVersion = 1;
constexpr size_t kMaxFileBytes = size_t{1} << 40;
constexpr uint64_t kPiece = 1u << 20;  // files are copied in pieces of this size

uint64_t fnv1a(std::string_view data) {
  raft::Fnv1a64 h;
  h.update(data);
  return h.value();
}

bool safe_name(std::string_view n) {
  return !n.empty() && n != "." && n != ".." && n.find('/') == std::string_view::npos &&
         n.find('\0') == std::string_view::npos;
}

// Where archive bytes go: appended to a string or written to a file.
using Sink = std::function<Status(std::string_view)>;

// Packs every regular file of `dir` into `out`, one piece at a time; the
// trailer is the FNV-1a of everything before it.
Status pack_to(const std::string& dir, uint64_t applied_index, const Sink& out) {
  std::error_code ec;
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.is_regular_file()) files.push_back(e.path());
  }
  if (ec) return Error(errc::io_error, "snapshot: listing " + dir + ": " + ec.message());
  std::sort(files.begin(), files.end());
  raft::Fnv1a64 sum;
  auto put = [&](std::string_view b) {
    sum.update(b);
    return out(b);
  };
  std::string head(kMagic);
  ByteWriter w(&head);
  w.u8(kVersion);
  w.u64(applied_index);
  w.varint(files.size());
  CAIRN_RETURN_IF_ERROR(put(head));
  for (const auto& f : files) {
    CAIRN_TRY(raft::SnapshotReader in, raft::SnapshotReader::open(f.string()));
    uint64_t size = in.file_size();
    std::string entry;
    ByteWriter ew(&entry);
    ew.bytes(f.filename().string());
    ew.varint(size);
    CAIRN_RETURN_IF_ERROR(put(entry));
    for (uint64_t off = 0; off < size;) {
      CAIRN_TRY(std::string piece, in.read_at(off, std::min(kPiece, size - off)));
      if (piece.empty()) return Error(errc::io_error, "snapshot: " + f.string() + " shrank while packing");
      off += piece.size();
      CAIRN_RETURN_IF_ERROR(put(piece));
    }
  }
  std::string tail;
  ByteWriter tw(&tail);
  tw.u64(sum.value());
  return out(tail);
}

// Reads archive bytes in order from a string or a file, hashing what it reads.
class Input {
 public:
  using Fetch = std::function<Result<std::string>(uint64_t offset, uint64_t len)>;
  Input(Fetch fetch, uint64_t size) : fetch_(std::move(fetch)), size_(size) {}
  uint64_t left() const { return size_ - pos_; }
  // Exactly n bytes (fewer is a truncated archive).
  Result<std::string> take(uint64_t n, bool hash = true) {
    if (n > left()) return Error(errc::parse_error, "snapshot: truncated archive");
    CAIRN_TRY(std::string b, fetch_(pos_, n));
    if (b.size() != n) return Error(errc::parse_error, "snapshot: truncated archive");
    pos_ += n;
    if (hash) sum_.update(b);
    return b;
  }
  Result<uint64_t> varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      CAIRN_TRY(std::string b, take(1));
      auto c = static_cast<unsigned char>(b[0]);
      v |= uint64_t{c & 0x7fu} << shift;
      if ((c & 0x80) == 0) return v;
    }
    return Error(errc::parse_error, "snapshot: bad varint");
  }
  uint64_t sum() const { return sum_.value(); }

 private:
  Fetch fetch_;
  uint64_t size_ = 0;
  uint64_t pos_ = 0;
  raft::Fnv1a64 sum_;
};

// Reads a file through a 64 KiB window (varints are read a byte at a time).
Input::Fetch buffered(std::shared_ptr<raft::SnapshotReader> in) {
  struct Window {
    uint64_t at = 0;
    std::string bytes;
  };
  auto win = std::make_shared<Window>();
  return [in, win](uint64_t off, uint64_t len) -> Result<std::string> {
    if (off >= win->at && off + len <= win->at + win->bytes.size()) return win->bytes.substr(off - win->at, len);
    if (len >= (64u << 10)) return in->read_at(off, len);
    CAIRN_TRY(win->bytes, in->read_at(off, 64u << 10));
    win->at = off;
    return win->bytes.substr(0, std::min<uint64_t>(len, win->bytes.size()));
  };
}

// Unpacks an archive into `dir` (which must not exist) while hashing it and
// checks the trailer at the end; on any failure `dir` is removed.
Result<uint64_t> unpack_from(Input& in, const std::string& dir) {
  std::error_code ec;
  if (fs::exists(dir, ec)) return Error(errc::already_exists, "snapshot: " + dir + " exists");
  auto run = [&]() -> Result<uint64_t> {
    if (in.left() < kMagic.size() + 1 + 8 + 8) return Error(errc::parse_error, "snapshot: not a cairn checkpoint archive");
    CAIRN_TRY(std::string magic, in.take(kMagic.size()));
    if (magic != kMagic) return Error(errc::parse_error, "snapshot: not a cairn checkpoint archive");
    Result<std::string> head = in.take(1 + 8);
    if (!head.ok()) return head.error();
    if (static_cast<uint8_t>(head->front()) != kVersion) return Error(errc::parse_error, "snapshot: unknown archive version");
    uint64_t applied = ByteReader(std::string_view(*head).substr(1)).u64();
    if (!fs::create_directories(dir, ec)) return Error(errc::io_error, "snapshot: creating " + dir + ": " + ec.message());
    CAIRN_TRY(uint64_t n, in.varint());
    for (uint64_t i = 0; i < n; ++i) {
      CAIRN_TRY(uint64_t name_len, in.varint());
      if (name_len > 4096) return Error(errc::parse_error, "snapshot: bad file name in archive");
      CAIRN_TRY(std::string name, in.take(name_len));
      if (!safe_name(name)) return Error(errc::parse_error, "snapshot: bad file name in archive");
      CAIRN_TRY(uint64_t size, in.varint());
      if (size > kMaxFileBytes || size > in.left()) return Error(errc::parse_error, "snapshot: truncated or trailing bytes");
      fs::path path = fs::path(dir) / name;
      std::ofstream out(path, std::ios::binary | std::ios::trunc);
      for (uint64_t done = 0; done < size;) {
        CAIRN_TRY(std::string piece, in.take(std::min(kPiece, size - done)));
        out.write(piece.data(), static_cast<std::streamsize>(piece.size()));
        done += piece.size();
      }
      out.flush();
      if (!out) return Error(errc::io_error, "snapshot: writing " + path.string());
    }
    uint64_t expect = in.sum();
    if (in.left() != 8) return Error(errc::parse_error, "snapshot: truncated or trailing bytes");
    CAIRN_TRY(std::string tail, in.take(8, false));
    if (ByteReader(tail).u64() != expect) return Error(errc::parse_error, "snapshot: checksum mismatch");
    return applied;
  };
  Result<uint64_t> out = run();
  if (!out.ok()) fs::remove_all(dir, ec);
  return out;
}

struct Parsed {
  uint64_t applied = 0;
  std::vector<std::pair<std::string_view, std::string_view>> files;
};

Result<Parsed> parse(std::string_view bytes) {
  if (bytes.size() < kMagic.size() + 1 + 8 + 8 || bytes.substr(0, kMagic.size()) != kMagic)
    return Error(errc::parse_error, "snapshot: not a cairn checkpoint archive");
  std::string_view body = bytes.substr(0, bytes.size() - 8);
  ByteReader tail(bytes.substr(bytes.size() - 8));
  if (tail.u64() != fnv1a(body)) return Error(errc::parse_error, "snapshot: checksum mismatch");
  ByteReader r(body.substr(kMagic.size()));
  if (r.u8() != kVersion) return Error(errc::parse_error, "snapshot: unknown archive version");
  Parsed p;
  p.applied = r.u64();
  uint64_t n = r.varint();
  for (uint64_t i = 0; i < n && r.ok(); ++i) {
    std::string_view name = r.bytes(4096);
    std::string_view content = r.bytes(kMaxFileBytes);
    if (r.ok() && !safe_name(name)) return Error(errc::parse_error, "snapshot: bad file name in archive");
    p.files.emplace_back(name, content);
  }
  if (!r.ok() || !r.at_end()) return Error(errc::parse_error, "snapshot: truncated or trailing bytes");
  return p;
}

}  // namespace

Result<std::string> pack_checkpoint(const std::string& dir, uint64_t applied_index) {
  std::string out;
  CAIRN_RETURN_IF_ERROR(pack_to(dir, applied_index, [&](std::string_view b) -> Status {
    out.append(b);
    return {};
  }));
  return out;
}

Result<raft::SnapshotFileRef> pack_checkpoint_to_file(const std::string& dir, uint64_t applied_index,
                                                      const std::string& path, const std::string& part) {
  CAIRN_TRY(raft::SnapshotWriter w, raft::SnapshotWriter::create(path, part));
  CAIRN_RETURN_IF_ERROR(pack_to(dir, applied_index, [&](std::string_view b) { return w.write(b); }));
  return w.finish();
}

Result<uint64_t> archive_file_index(const std::string& path) {
  CAIRN_TRY(raft::SnapshotReader in, raft::SnapshotReader::open(path));
  CAIRN_TRY(std::string head, in.read_at(0, kMagic.size() + 1 + 8));
  if (head.size() != kMagic.size() + 1 + 8 || head.substr(0, kMagic.size()) != kMagic)
    return Error(errc::parse_error, "snapshot: " + path + " is not a cairn checkpoint archive");
  ByteReader r(std::string_view(head).substr(kMagic.size()));
  if (r.u8() != kVersion) return Error(errc::parse_error, "snapshot: unknown archive version");
  return r.u64();
}

Result<uint64_t> unpack_checkpoint_file(const std::string& path, const std::string& dir) {
  CAIRN_TRY(raft::SnapshotReader file, raft::SnapshotReader::open(path));
  auto in = std::make_shared<raft::SnapshotReader>(std::move(file));
  Input input(buffered(in), in->file_size());
  return unpack_from(input, dir);
}

std::string raft_snapshot_dir(const std::string& data_dir) { return data_dir + "/raft-snapshots"; }

Result<uint64_t> packed_applied_index(std::string_view bytes) {
  CAIRN_TRY(Parsed p, parse(bytes));
  return p.applied;
}

Result<uint64_t> unpack_checkpoint(std::string_view bytes, const std::string& dir) {
  Input input([bytes](uint64_t off, uint64_t len) -> Result<std::string> { return std::string(bytes.substr(off, len)); },
              bytes.size());
  return unpack_from(input, dir);
}

Result<ArchiveSummary> summarize_archive(std::string_view bytes, const std::string& scratch_dir) {
  CAIRN_TRY(Parsed p, parse(bytes));
  ArchiveSummary out;
  out.index = p.applied;
  out.bytes = bytes.size();
  out.files = p.files.size();
  auto counted = [&]() -> Status {
    CAIRN_TRY(uint64_t index, unpack_checkpoint(bytes, scratch_dir));
    (void)index;
    state::StoreOptions o;
    o.create_if_missing = false;
    CAIRN_TRY(auto store, state::Store::open(scratch_dir, o));
    CAIRN_TRY(out.rows, store->table_counts());
    return {};
  }();
  std::error_code ec;
  fs::remove_all(scratch_dir, ec);
  CAIRN_RETURN_IF_ERROR(counted);
  return out;
}

}  // namespace cairn::server
