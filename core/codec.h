// Byte codecs for wire and disk formats: fixed-width big-endian integers,
// LEB128 varints and length-prefixed byte strings.
//
// ByteReader is "sticky-fail": once a read runs past the end or a length is
// over its limit, every later read returns zero/empty and ok() is false, so a
// decoder reads all fields and checks ok() once. Untrusted input therefore
// never reaches an assert.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace cairn {

using Bytes = std::vector<uint8_t>;

class ByteWriter {
 public:
  ByteWriter() = default;
  explicit ByteWriter(std::string* out) : out_(out) {}
  ByteWriter(const ByteWriter&) = delete;  // out_ may point at own_
  ByteWriter& operator=(const ByteWriter&) = delete;

  void u8(uint8_t v) { out_->push_back(static_cast<char>(v)); }
  void u16(uint16_t v) { fixed(v, 2); }
  void u32(uint32_t v) { fixed(v, 4); }
  void u64(uint64_t v) { fixed(v, 8); }
  void boolean(bool v) { u8(v ? 1 : 0); }
  void varint(uint64_t v) {
    while (v >= 0x80) {
      u8(static_cast<uint8_t>(v) | 0x80);
      v >>= 7;
    }
    u8(static_cast<uint8_t>(v));
  }
  // Zig-zag encoded signed varint.
  void svarint(int64_t v) { varint((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63)); }
  void f64(double v) {
    uint64_t bits;
    std::memcpy(&bits, &v, sizeof bits);
    u64(bits);
  }
  void raw(std::string_view bytes) { out_->append(bytes); }
  // varint length, then the bytes.
  void bytes(std::string_view b) {
    varint(b.size());
    raw(b);
  }

  std::string& buffer() { return *out_; }
  size_t size() const { return out_->size(); }

 private:
  void fixed(uint64_t v, int n) {
    for (int i = n - 1; i >= 0; --i) u8(static_cast<uint8_t>(v >> (8 * i)));
  }
  std::string own_;
  std::string* out_ = &own_;
};

class ByteReader {
 public:
  explicit ByteReader(std::string_view in) : in_(in) {}

  bool ok() const noexcept { return ok_; }
  bool at_end() const noexcept { return pos_ == in_.size(); }
  size_t remaining() const noexcept { return ok_ ? in_.size() - pos_ : 0; }
  void fail() noexcept { ok_ = false; }

  uint8_t u8() {
    if (!need(1)) return 0;
    return static_cast<uint8_t>(in_[pos_++]);
  }
  uint16_t u16() { return static_cast<uint16_t>(fixed(2)); }
  uint32_t u32() { return static_cast<uint32_t>(fixed(4)); }
  uint64_t u64() { return fixed(8); }
  bool boolean() {
    uint8_t b = u8();
    if (b > 1) fail();
    return b == 1;
  }
  uint64_t varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      uint8_t b = u8();
      if (!ok_) return 0;
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) return v;
    }
    fail();  // more than 10 bytes: not a varint we wrote
    return 0;
  }
  int64_t svarint() {
    uint64_t u = varint();
    return static_cast<int64_t>((u >> 1) ^ (~(u & 1) + 1));
  }
  double f64() {
    uint64_t bits = u64();
    double v;
    std::memcpy(&v, &bits, sizeof v);
    return v;
  }
  std::string_view raw(size_t n) {
    if (!need(n)) return {};
    auto v = in_.substr(pos_, n);
    pos_ += n;
    return v;
  }
  // A length-prefixed byte string no longer than max_len.
  std::string_view bytes(size_t max_len = 64u << 20) {
    uint64_t n = varint();
    if (n > max_len) {
      fail();
      return {};
    }
    return raw(static_cast<size_t>(n));
  }
  std::string string(size_t max_len = 64u << 20) { return std::string(bytes(max_len)); }

 private:
  bool need(size_t n) {
    if (!ok_ || in_.size() - pos_ < n) {
      ok_ = false;
      return false;
    }
    return true;
  }
  uint64_t fixed(int n) {
    if (!need(static_cast<size_t>(n))) return 0;
    uint64_t v = 0;
    for (int i = 0; i < n; ++i) v = (v << 8) | static_cast<uint8_t>(in_[pos_++]);
    return v;
  }

  std::string_view in_;
  size_t pos_ = 0;
  bool ok_ = true;
};

}  // namespace cairn
