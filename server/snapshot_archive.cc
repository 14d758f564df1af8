#include "server/snapshot_archive.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

#include "core/codec.h"
#include "server/state/store.h"

namespace cairn::server {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kMagic = "CAIRNSNAP";
constexpr uint8_t kVersion = 1;
constexpr size_t kMaxFileBytes = size_t{1} << 40;

uint64_t fnv1a(std::string_view data) {
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : data) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

bool safe_name(std::string_view n) {
  return !n.empty() && n != "." && n != ".." && n.find('/') == std::string_view::npos &&
         n.find('\0') == std::string_view::npos;
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
  std::error_code ec;
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.is_regular_file()) files.push_back(e.path());
  }
  if (ec) return Error(errc::io_error, "snapshot: listing " + dir + ": " + ec.message());
  std::sort(files.begin(), files.end());
  std::string out(kMagic);
  ByteWriter w(&out);
  w.u8(kVersion);
  w.u64(applied_index);
  w.varint(files.size());
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad()) return Error(errc::io_error, "snapshot: reading " + f.string());
    w.bytes(f.filename().string());
    w.bytes(content);
  }
  uint64_t sum = fnv1a(out);
  w.u64(sum);
  return out;
}

Result<uint64_t> packed_applied_index(std::string_view bytes) {
  CAIRN_TRY(Parsed p, parse(bytes));
  return p.applied;
}

Result<uint64_t> unpack_checkpoint(std::string_view bytes, const std::string& dir) {
  CAIRN_TRY(Parsed p, parse(bytes));
  std::error_code ec;
  if (fs::exists(dir, ec)) return Error(errc::already_exists, "snapshot: " + dir + " exists");
  if (!fs::create_directories(dir, ec)) return Error(errc::io_error, "snapshot: creating " + dir + ": " + ec.message());
  for (auto& [name, content] : p.files) {
    fs::path path = fs::path(dir) / std::string(name);
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    out.flush();
    if (!out) return Error(errc::io_error, "snapshot: writing " + path.string());
  }
  return p.applied;
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
