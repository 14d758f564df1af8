// Go's literal syntaxes as the filter reads them (strconv.ParseInt(s, 0, 64),
// ParseFloat, ParseBool, Unquote).
#include <gtest/gtest.h>

#include "api/filter/literals.h"

namespace cairn::filter {
namespace {

std::optional<std::uint64_t> magnitude(std::string_view s) {
  auto v = parse_go_int(s);
  if (!v || v->negative) return std::nullopt;
  return v->magnitude;
}

TEST(GoInt, ReadsDecimal) { EXPECT_EQ(magnitude("8500"), 8500u); }
TEST(GoInt, ReadsHexOctalAndBinaryPrefixes) {
  EXPECT_EQ(magnitude("0x2134"), 0x2134u);
  EXPECT_EQ(magnitude("0o17"), 15u);
  EXPECT_EQ(magnitude("017"), 15u);
  EXPECT_EQ(magnitude("0b101"), 5u);
}
TEST(GoInt, ReadsUnderscoresBetweenDigits) { EXPECT_EQ(magnitude("1_000"), 1000u); }
TEST(GoInt, RejectsMisplacedUnderscores) {
  EXPECT_FALSE(parse_go_int("_1"));
  EXPECT_FALSE(parse_go_int("1_"));
  EXPECT_FALSE(parse_go_int("1__0"));
}
TEST(GoInt, ReadsSigns) {
  auto v = parse_go_int("-42");
  ASSERT_TRUE(v);
  EXPECT_TRUE(v->negative);
  EXPECT_EQ(v->magnitude, 42u);
  EXPECT_EQ(magnitude("+42"), 42u);
}
TEST(GoInt, RejectsDigitsOutsideTheBase) {
  EXPECT_FALSE(parse_go_int("08"));
  EXPECT_FALSE(parse_go_int("0b2"));
  EXPECT_FALSE(parse_go_int("0x"));
}
TEST(GoInt, RejectsOverflow) {
  EXPECT_EQ(magnitude("18446744073709551615"), UINT64_MAX);
  EXPECT_FALSE(parse_go_int("18446744073709551616"));
}
TEST(GoInt, RejectsTextAndFractions) {
  EXPECT_FALSE(parse_go_int(""));
  EXPECT_FALSE(parse_go_int("-"));
  EXPECT_FALSE(parse_go_int("1.0"));
  EXPECT_FALSE(parse_go_int("abc"));
}

TEST(GoFloat, ReadsDecimalsAndExponents) {
  EXPECT_EQ(parse_go_float("1.5"), 1.5);
  EXPECT_EQ(parse_go_float("-2e3"), -2000.0);
  EXPECT_EQ(parse_go_float("+0.25"), 0.25);
}
TEST(GoFloat, RejectsTrailingText) {
  EXPECT_FALSE(parse_go_float("1.5x"));
  EXPECT_FALSE(parse_go_float(""));
  EXPECT_FALSE(parse_go_float("++1"));
}

TEST(GoBool, ReadsEveryGoSpelling) {
  for (auto s : {"1", "t", "T", "true", "TRUE", "True"}) EXPECT_EQ(parse_go_bool(s), true) << s;
  for (auto s : {"0", "f", "F", "false", "FALSE", "False"}) EXPECT_EQ(parse_go_bool(s), false) << s;
  EXPECT_FALSE(parse_go_bool("yes"));
  EXPECT_FALSE(parse_go_bool("tRUE"));
}

std::string unquote(std::string_view literal) {
  std::size_t pos = 0;
  std::string out;
  auto err = scan_string_literal(literal, pos, &out);
  if (err) return "error@" + std::to_string(err->offset) + ": " + err->message;
  EXPECT_EQ(pos, literal.size());
  return out;
}

TEST(StringLiteral, DecodesSimpleEscapes) { EXPECT_EQ(unquote(R"("a\tb\\c\"d")"), "a\tb\\c\"d"); }
TEST(StringLiteral, DecodesUnicodeEscapes) {
  EXPECT_EQ(unquote(R"("\u00e9\U0001F600")"), "\xc3\xa9\xf0\x9f\x98\x80");
}
TEST(StringLiteral, RejectsSurrogateCodePoints) {
  EXPECT_EQ(unquote(R"("\ud800")"), "error@1: invalid Unicode code point in escape \"\\u\"");
}
TEST(StringLiteral, RejectsUnknownEscapes) {
  EXPECT_EQ(unquote(R"("ab\q")"), "error@3: invalid escape sequence \"\\q\"");
}
TEST(StringLiteral, RejectsOctalEscapesAbove255) {
  EXPECT_EQ(unquote(R"("\400")"), "error@1: octal escape value > 255 in \"\\4\"");
}
TEST(StringLiteral, RejectsShortHexEscapes) {
  EXPECT_EQ(unquote(R"("\x4")"), "error@1: invalid escape sequence \"\\x\"");
}
TEST(StringLiteral, RejectsARawNewlineInsideDoubleQuotes) {
  EXPECT_EQ(unquote("\"a\nb\""), "error@2: newline in string literal");
}
TEST(StringLiteral, KeepsBackslashesInBacktickStrings) { EXPECT_EQ(unquote(R"(`a\nb`)"), "a\\nb"); }
TEST(StringLiteral, DropsCarriageReturnsFromBacktickStrings) { EXPECT_EQ(unquote("`a\r\nb`"), "a\nb"); }
TEST(StringLiteral, ReportsAnUnterminatedStringAtItsQuote) {
  EXPECT_EQ(unquote("\"abc"), "error@0: Unterminated string literal");
  EXPECT_EQ(unquote("`abc"), "error@0: Unterminated string literal");
}
TEST(StringLiteral, ReportsATrailingBackslashAsUnterminated) {
  EXPECT_EQ(unquote("\"abc\\\""), "error@0: Unterminated string literal");
}

}  // namespace
}  // namespace cairn::filter
