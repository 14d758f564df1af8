// Property: no input makes the parser crash, hang or overflow its stack;
// whatever parses also evaluates. Seeded, so a failure replays exactly.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "api/filter/filter.h"
#include "core/rng.h"
#include "test/api/filter/sample.h"

namespace cairn::filter {
namespace {

constexpr std::uint64_t kSeed = 0x5eedf11e;

// Pieces of the grammar, so that random strings reach deep into the parser
// instead of failing at the first byte.
const std::vector<std::string> kTokens = {
    "Service", ".", "Meta", "[", "]", "\"env\"", "`raw`", "\"", "`", "(", ")", " ", "\n", "==", "!=",
    "and", "or", "not", "in", "contains", "matches", "is", "empty", "0", "-1", "1.5", "08",
    "\\", "\\u00e9", "\\x", "\"^(a|b)*$\"", "\"(\"", "\"[\"", "Checks", "Status", "\xff", "\xc3\xa9",
    "\"(?i)x\"", "\"\\\\1\"", "_", "-"};

TEST(FilterGarbage, RandomBytesNeverCrashTheParser) {
  SeededRng rng(kSeed);
  const auto doc = testing::health_entry();
  int parsed = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string s(rng.uniform(64), '\0');
    for (auto& c : s) c = static_cast<char>(rng.uniform(256));
    auto f = Filter::parse(s);
    if (f.ok()) {
      ++parsed;
      (void)f->matches(doc);
    } else {
      EXPECT_FALSE(f.error().detail().empty());
    }
  }
  EXPECT_LT(parsed, 20000);
}

TEST(FilterGarbage, RandomTokenSoupNeverCrashesAndSometimesParses) {
  SeededRng rng(kSeed + 1);
  const auto doc = testing::health_entry();
  int parsed = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string s;
    const auto n = rng.between(1, 24);
    for (std::uint64_t t = 0; t < n; ++t) {
      s += kTokens[rng.uniform(kTokens.size())];
      if (rng.uniform(2) == 0) s += ' ';
    }
    auto f = Filter::parse(s);
    if (f.ok()) {
      ++parsed;
      (void)f->matches(doc);
    } else {
      // Every syntax error names a line:column (offset) position.
      EXPECT_NE(f.error().detail().find(" ("), std::string::npos) << s;
    }
  }
  EXPECT_GT(parsed, 0);  // the soup does reach valid expressions
}

TEST(FilterGarbage, MaximalLengthInputsOfEachTokenNeverCrash) {
  const auto doc = testing::health_entry();
  for (const auto& token : kTokens) {
    std::string s;
    while (s.size() + token.size() <= kMaxExpressionBytes) s += token;
    auto f = Filter::parse(s);
    if (f.ok()) {
      (void)f->matches(doc);
    } else {
      EXPECT_FALSE(f.error().detail().empty()) << token;
    }
  }
}

}  // namespace
}  // namespace cairn::filter
