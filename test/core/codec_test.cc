#include "core/codec.h"

#include <gtest/gtest.h>

namespace cairn {
namespace {

TEST(Codec, RoundTripsEveryFieldType) {
  std::string buf;
  ByteWriter w(&buf);
  w.u8(7);
  w.u16(0xBEEF);
  w.u32(0xDEADBEEF);
  w.u64(0x0102030405060708ULL);
  w.varint(300);
  w.varint(UINT64_MAX);
  w.svarint(-5);
  w.f64(2.5);
  w.bytes("hello");
  w.boolean(true);

  ByteReader r(buf);
  EXPECT_EQ(r.u8(), 7);
  EXPECT_EQ(r.u16(), 0xBEEF);
  EXPECT_EQ(r.u32(), 0xDEADBEEFu);
  EXPECT_EQ(r.u64(), 0x0102030405060708ULL);
  EXPECT_EQ(r.varint(), 300u);
  EXPECT_EQ(r.varint(), UINT64_MAX);
  EXPECT_EQ(r.svarint(), -5);
  EXPECT_EQ(r.f64(), 2.5);
  EXPECT_EQ(r.bytes(), "hello");
  EXPECT_TRUE(r.boolean());
  EXPECT_TRUE(r.ok());
  EXPECT_TRUE(r.at_end());
}

TEST(Codec, FixedIntegersAreBigEndian) {
  std::string buf;
  ByteWriter w(&buf);
  w.u32(0x01020304);
  EXPECT_EQ(buf, std::string("\x01\x02\x03\x04", 4));
}

TEST(Codec, TruncatedInputFailsStickily) {
  std::string buf("\x00\x01", 2);
  ByteReader r(buf);
  EXPECT_EQ(r.u32(), 0u);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.u8(), 0);  // stays failed
  EXPECT_FALSE(r.ok());
}

TEST(Codec, LengthOverLimitFails) {
  std::string buf;
  ByteWriter w(&buf);
  w.bytes(std::string(100, 'x'));
  ByteReader r(buf);
  EXPECT_TRUE(r.bytes(10).empty());
  EXPECT_FALSE(r.ok());
}

TEST(Codec, OverlongVarintFails) {
  std::string buf(11, '\xff');
  ByteReader r(buf);
  r.varint();
  EXPECT_FALSE(r.ok());
}

TEST(Codec, BooleanRejectsValuesOtherThanZeroAndOne) {
  std::string buf("\x02", 1);
  ByteReader r(buf);
  r.boolean();
  EXPECT_FALSE(r.ok());
}

}  // namespace
}  // namespace cairn
