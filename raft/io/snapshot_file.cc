#include "raft/io/snapshot_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

#include "core/codec.h"

namespace cairn::raft {
namespace {

namespace fs = std::filesystem;

// Never the start of an image a state machine writes by accident.
constexpr std::string_view kRefMagic{"\0CAIRN-SNAPSHOT-FILE\x01", 21};

Error os_error(const std::string& what, const std::string& path) {
  return Error(cairn::errc::io_error, "snapshot file: " + what + " " + path + ": " + std::strerror(errno));
}

Status fsync_dir(const std::string& path) {
  std::string dir = fs::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return os_error("opening directory", dir);
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return os_error("syncing directory", dir);
  return {};
}

// snapshot-<index>-<term>.snap → (index, term)
std::optional<std::pair<Index, Term>> parse_name(const std::string& name) {
  unsigned long long index = 0, term = 0;
  char tail[8] = {};
  if (std::sscanf(name.c_str(), "snapshot-%llu-%llu%7s", &index, &term, tail) != 3) return std::nullopt;
  if (std::string_view(tail) != ".snap") return std::nullopt;
  return std::make_pair(Index{index}, Term{term});
}

}  // namespace

std::string encode_snapshot_ref(const SnapshotFileRef& ref) {
  std::string out(kRefMagic);
  ByteWriter w(&out);
  w.varint(ref.size);
  w.u64(ref.checksum);
  w.bytes(ref.path);
  return out;
}

std::optional<SnapshotFileRef> decode_snapshot_ref(std::string_view data) {
  if (data.size() > 8192 || data.substr(0, kRefMagic.size()) != kRefMagic) return std::nullopt;
  ByteReader r(data.substr(kRefMagic.size()));
  SnapshotFileRef ref;
  ref.size = r.varint();
  ref.checksum = r.u64();
  ref.path = r.string(4096);
  if (!r.ok() || !r.at_end() || ref.path.empty()) return std::nullopt;
  return ref;
}

std::string snapshot_file_path(const std::string& dir, Index index, Term term) {
  return (fs::path(dir) / ("snapshot-" + std::to_string(index) + "-" + std::to_string(term) + ".snap")).string();
}

// ---- SnapshotWriter ----

Result<SnapshotWriter> SnapshotWriter::create(std::string path, std::string part) {
  std::error_code ec;
  fs::path parent = fs::path(path).parent_path();
  if (!parent.empty()) fs::create_directories(parent, ec);
  int fd = ::open(part.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return os_error("creating", part);
  return SnapshotWriter(std::move(path), std::move(part), fd);
}

Result<SnapshotWriter> SnapshotWriter::resume(std::string path, std::string part, uint64_t size, uint64_t checksum) {
  int fd = ::open(part.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return os_error("opening", part);
  SnapshotWriter w(std::move(path), std::move(part), fd);
  w.fd_ = -1;  // until checked: a refused part file is the caller's to remove
  Fnv1a64 sum;
  std::string buf(1 << 20, '\0');
  uint64_t at = 0;
  while (at < size) {
    ssize_t n = ::pread(fd, buf.data(), std::min<uint64_t>(buf.size(), size - at), static_cast<off_t>(at));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    sum.update(std::string_view(buf.data(), static_cast<size_t>(n)));
    at += static_cast<uint64_t>(n);
  }
  if (at != size || sum.value() != checksum) {
    ::close(fd);
    return Error(cairn::errc::invalid_argument, "snapshot file: " + w.part_ + " does not hold the " +
                                                    std::to_string(size) + " bytes it was said to");
  }
  if (::ftruncate(fd, static_cast<off_t>(size)) != 0 || ::lseek(fd, static_cast<off_t>(size), SEEK_SET) < 0) {
    Error e = os_error("truncating", w.part_);
    ::close(fd);
    return e;
  }
  w.fd_ = fd;
  w.size_ = size;
  w.sum_ = sum;
  return w;
}

void SnapshotWriter::detach() {
  if (fd_ < 0) return;
  ::close(fd_);
  fd_ = -1;
}

SnapshotWriter::SnapshotWriter(SnapshotWriter&& o) noexcept
    : path_(std::move(o.path_)), part_(std::move(o.part_)), fd_(o.fd_), size_(o.size_), sum_(o.sum_) {
  o.fd_ = -1;
}

SnapshotWriter& SnapshotWriter::operator=(SnapshotWriter&& o) noexcept {
  if (this != &o) {
    abandon();
    path_ = std::move(o.path_);
    part_ = std::move(o.part_);
    fd_ = o.fd_;
    size_ = o.size_;
    sum_ = o.sum_;
    o.fd_ = -1;
  }
  return *this;
}

SnapshotWriter::~SnapshotWriter() { abandon(); }

void SnapshotWriter::abandon() {
  if (fd_ < 0) return;
  ::close(fd_);
  fd_ = -1;
  ::unlink(part_.c_str());
}

Status SnapshotWriter::write(std::string_view bytes) {
  if (fd_ < 0) return Error(cairn::errc::internal, "snapshot file: write after finish");
  sum_.update(bytes);
  size_ += bytes.size();
  while (!bytes.empty()) {
    ssize_t n = ::write(fd_, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return os_error("writing", part_);
    }
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return {};
}

Result<SnapshotFileRef> SnapshotWriter::finish() {
  if (fd_ < 0) return Error(cairn::errc::internal, "snapshot file: finished twice");
  if (::fsync(fd_) != 0) {
    Error e = os_error("syncing", part_);
    abandon();
    return e;
  }
  ::close(fd_);
  fd_ = -1;
  if (::rename(part_.c_str(), path_.c_str()) != 0) {
    Error e = os_error("renaming", part_);
    ::unlink(part_.c_str());
    return e;
  }
  CAIRN_RETURN_IF_ERROR(fsync_dir(path_));
  return SnapshotFileRef{path_, size_, sum_.value()};
}

// ---- SnapshotReader ----

Result<SnapshotReader> SnapshotReader::open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return os_error("opening", path);
  return SnapshotReader(fd, path);
}

SnapshotReader::~SnapshotReader() {
  if (fd_ >= 0) ::close(fd_);
}

uint64_t SnapshotReader::file_size() const {
  struct stat st {};
  if (::fstat(fd_, &st) != 0) return 0;
  return static_cast<uint64_t>(st.st_size);
}

Result<std::string> SnapshotReader::read_at(uint64_t offset, uint64_t len) const {
  std::string out(len, '\0');
  size_t got = 0;
  while (got < len) {
    ssize_t n = ::pread(fd_, out.data() + got, len - got, static_cast<off_t>(offset + got));
    if (n < 0) {
      if (errno == EINTR) continue;
      return os_error("reading", path_);
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  out.resize(got);
  return out;
}

namespace {
constexpr uint64_t kMetaMagic = 0x4341524e50415254ull;  // "CARNPART"
}  // namespace

Status write_partial_meta(const std::string& path, const PartialSnapshotMeta& m) {
  std::string out;
  ByteWriter w(&out);
  for (uint64_t v : {kMetaMagic, m.index, m.term, m.total, m.checksum, m.held, m.held_checksum}) w.u64(v);
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return os_error("creating", path);
  ssize_t n = ::pwrite(fd, out.data(), out.size(), 0);
  ::close(fd);
  if (n != static_cast<ssize_t>(out.size())) return os_error("writing", path);
  return {};
}

std::optional<PartialSnapshotMeta> read_partial_meta(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  char buf[7 * 8];
  ssize_t n = ::pread(fd, buf, sizeof buf, 0);
  ::close(fd);
  if (n != static_cast<ssize_t>(sizeof buf)) return std::nullopt;
  ByteReader r(std::string_view(buf, sizeof buf));
  if (r.u64() != kMetaMagic) return std::nullopt;
  PartialSnapshotMeta m;
  m.index = r.u64();
  m.term = r.u64();
  m.total = r.u64();
  m.checksum = r.u64();
  m.held = r.u64();
  m.held_checksum = r.u64();
  if (!r.ok() || m.index == 0 || m.held > m.total) return std::nullopt;
  return m;
}

Result<std::string> read_snapshot_data(std::string_view data) {
  std::optional<SnapshotFileRef> ref = decode_snapshot_ref(data);
  if (!ref) return std::string(data);
  CAIRN_TRY(SnapshotReader in, SnapshotReader::open(ref->path));
  CAIRN_TRY(std::string whole, in.read_at(0, ref->size));
  Fnv1a64 sum;
  sum.update(whole);
  if (whole.size() != ref->size || sum.value() != ref->checksum)
    return Error(cairn::errc::parse_error, "snapshot file " + ref->path + ": size or checksum does not match");
  return whole;
}

void prune_snapshot_files(const std::string& dir, size_t keep) {
  std::vector<std::pair<std::pair<Index, Term>, fs::path>> found;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (auto it = parse_name(e.path().filename().string())) found.emplace_back(*it, e.path());
  }
  if (found.size() <= keep) return;
  std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  for (size_t i = keep; i < found.size(); ++i) fs::remove(found[i].second, ec);
}

}  // namespace cairn::raft
