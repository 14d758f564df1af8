#include "core/duration.h"

#include <gtest/gtest.h>

namespace cairn {
namespace {

using namespace std::chrono_literals;

Duration parse(std::string_view s) {
  auto r = parse_duration(s);
  EXPECT_TRUE(r.ok()) << s << ": " << (r.ok() ? "" : r.error().message());
  return r.value_or(Duration{-1});
}

TEST(ParseDuration, AcceptsTheFormsConsulClientsSend) {
  EXPECT_EQ(parse("10s"), 10s);
  EXPECT_EQ(parse("1.5m"), 90s);
  EXPECT_EQ(parse("150.0s"), 150s);
  EXPECT_EQ(parse("120000ms"), 120s);
  EXPECT_EQ(parse("1h2m3s"), 1h + 2min + 3s);
  EXPECT_EQ(parse("0.001s"), 1ms);
  EXPECT_EQ(parse("9.73s"), 9730ms);
  EXPECT_EQ(parse("0"), 0s);
  EXPECT_EQ(parse("250us"), 250us);
  EXPECT_EQ(parse("250\xc2\xb5s"), 250us);
  EXPECT_EQ(parse("3ns"), 3ns);
  EXPECT_EQ(parse(".5s"), 500ms);
  EXPECT_EQ(parse("1.s"), 1s);
  EXPECT_EQ(parse("-2s"), -2s);
}

TEST(ParseDuration, BareIntegerIsNanoseconds) {
  EXPECT_EQ(parse("5000"), 5000ns);
  EXPECT_EQ(parse("10000000000"), 10s);
}

TEST(ParseDuration, ErrorsNameTheBadText) {
  for (const char* bad : {"", "s", "1x", "1.5", "abc", "1s2", ".s", "-", "1..5s", "99999999999999999999s",
                          "3000000h"}) {
    auto r = parse_duration(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().message(), std::string("invalid duration \"") + bad + "\"");
  }
}

TEST(FormatDuration, MatchesGo) {
  EXPECT_EQ(format_duration(0s), "0s");
  EXPECT_EQ(format_duration(1h + 2min + 3s), "1h2m3s");
  EXPECT_EQ(format_duration(1500ms), "1.5s");
  EXPECT_EQ(format_duration(150ms), "150ms");
  EXPECT_EQ(format_duration(1us), "1\xc2\xb5s");
  EXPECT_EQ(format_duration(15ns), "15ns");
  EXPECT_EQ(format_duration(72h), "72h0m0s");
  EXPECT_EQ(format_duration(90s), "1m30s");
  EXPECT_EQ(format_duration(-1500ms), "-1.5s");
  EXPECT_EQ(format_duration(1234567ns), "1.234567ms");
}

TEST(FormatDuration, RoundTripsThroughParse) {
  for (Duration d : {Duration{1}, Duration{999}, Duration{1'000'001}, Duration{61'000'000'000},
                     Duration{3'723'000'000'001}}) {
    EXPECT_EQ(parse(format_duration(d)), d) << format_duration(d);
  }
}

}  // namespace
}  // namespace cairn
