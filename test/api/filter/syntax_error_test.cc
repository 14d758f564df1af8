// Syntax errors: each names where (line:column (byte offset), 1-based column
// as bexpr prints it) and what was found there.
#include <gtest/gtest.h>

#include <string>

#include "api/filter/filter.h"

namespace cairn::filter {
namespace {

struct Case {
  const char* name;
  const char* expr;
  const char* error;  // the detail after Consul's "Failed to create boolean expression evaluator: "
};

std::string case_name(const ::testing::TestParamInfo<Case>& info) { return info.param.name; }

class SyntaxErrorTest : public ::testing::TestWithParam<Case> {};

TEST_P(SyntaxErrorTest, NamesThePositionAndTheProblem) {
  const Case& c = GetParam();
  auto f = Filter::parse(c.expr);
  ASSERT_FALSE(f.ok()) << c.expr;
  EXPECT_EQ(f.error().detail(), std::string("Failed to create boolean expression evaluator: ") + c.error);
}

INSTANTIATE_TEST_SUITE_P(Table, SyntaxErrorTest, ::testing::Values(
    Case{"MissingValue", "Service ==",
         R"e(1:11 (10): no match found, expected: value, found end of input)e"},
    Case{"MissingOperator", "Service web",
         R"e(1:9 (8): no match found, expected: "!=", "==", "contains", "in", "is", "matches" or "not", found "web")e"},
    Case{"SelectorAlone", "Service",
         R"e(1:8 (7): no match found, expected: "!=", "==" or whitespace, found end of input)e"},
    Case{"UnknownOperator", "Port > 80",
         R"e(1:6 (5): no match found, expected: "!=", "==", "contains", "in", "is", "matches" or "not", found "> 80")e"},
    Case{"TrailingText", "Port == 80 web",
         R"e(1:12 (11): no match found, expected: "and", "or" or end of input, found "web")e"},
    Case{"DanglingAnd", "Port == 80 and",
         R"e(1:15 (14): no match found, expected: whitespace, found end of input)e"},
    Case{"OrWithoutSpaceBeforeGroup", "Port == 80 or(Port == 81)",
         R"e(1:14 (13): no match found, expected: whitespace, found "(Port == 81)")e"},
    Case{"NotWithoutSpaceBeforeGroup", "not(Port == 80)",
         R"e(1:4 (3): no match found, expected: "!=", "==" or whitespace, found "(Port == 80)")e"},
    Case{"UnmatchedOpenParenthesis", "(Port == 80",
         R"e(1:1 (0): Unmatched parentheses)e"},
    Case{"UnmatchedCloseParenthesis", "Port == 80)",
         R"e(1:11 (10): no match found, expected: end of input or whitespace, found ")")e"},
    Case{"EmptyParentheses", "()",
         R"e(1:2 (1): no match found, expected: "(", "not", selector or value, found ")")e"},
    Case{"UnterminatedString", "Service == \"web",
         R"e(1:12 (11): Unterminated string literal)e"},
    Case{"UnterminatedBacktickString", "Service == `web",
         R"e(1:12 (11): Unterminated string literal)e"},
    Case{"InvalidEscape", "Service == \"w\\qeb\"",
         R"e(1:14 (13): invalid escape sequence "\q")e"},
    Case{"LeadingZeroNumber", "Port == 080",
         R"e(1:9 (8): Invalid number literal "080")e"},
    Case{"NumberGluedToText", "Port == 80abc",
         R"e(1:9 (8): Invalid number literal "80abc")e"},
    Case{"NumberWithTrailingDot", "Port == 80.",
         R"e(1:9 (8): Invalid number literal "80.")e"},
    Case{"InWithoutSelector", "\"web\" in \"tags\"",
         R"e(1:10 (9): no match found, expected: selector, found "\"tags\"")e"},
    Case{"ValueWithoutIn", "\"web\" Tags",
         R"e(1:7 (6): no match found, expected: "in" or "not", found "Tags")e"},
    Case{"IsWithoutEmpty", "Tags is full",
         R"e(1:9 (8): no match found, expected: "empty" or "not", found "full")e"},
    Case{"IsNotWithoutEmpty", "Tags is not full",
         R"e(1:13 (12): no match found, expected: "empty", found "full")e"},
    Case{"NotWithoutOperator", "Tags not web",
         R"e(1:10 (9): no match found, expected: "contains", "in" or "matches", found "web")e"},
    Case{"ContainsWithoutValue", "Tags contains",
         R"e(1:14 (13): no match found, expected: whitespace, found end of input)e"},
    Case{"TrailingDotInSelector", "Service. == 1",
         R"e(1:9 (8): no match found, expected: identifier, found " == 1")e"},
    Case{"SelectorStartingWithDigit", "1Service == 1",
         R"e(1:1 (0): Invalid number literal "1Service")e"},
    Case{"UnquotedIndex", "Meta[env] == 1",
         R"e(1:6 (5): Invalid index: expected a quoted map key, found "env] == 1")e"},
    Case{"UnclosedIndex", "Meta[\"env\" == 1",
         R"e(1:12 (11): Unclosed index expression)e"},
    Case{"InvalidRegex", "Name matches \"(\"",
         R"e(1:14 (13): Failed to compile regular expression "(": Mismatched '(' and ')' in regular expression)e"},
    Case{"BackreferenceRegex", "Name matches `(a)\\1`",
         R"e(1:14 (13): Failed to compile regular expression "(a)\\1": back-references such as \1 are not supported)e"},
    Case{"UnsupportedRegexFlag", "Name matches \"(?s)a\"",
         R"e(1:14 (13): Failed to compile regular expression "(?s)a": Invalid '(?...)' zero-width assertion in regular expression)e"},
    Case{"ErrorOnSecondLine", "Port == 80\nand Name ==",
         R"e(2:12 (22): no match found, expected: value, found end of input)e"},
    Case{"ColumnsCountCharactersNotBytes", "Name == \"\xc3\xa9\" x",
         R"e(1:13 (13): no match found, expected: "and", "or" or end of input, found "x")e"},
    Case{"NonPrintableBytesAreEscaped", "Name \x01\xff",
         R"e(1:6 (5): no match found, expected: "!=", "==", "contains", "in", "is", "matches" or "not", found "\x01\xff")e"},
    Case{"LongFoundTextIsCut", "Port == 1 abcdefghijklmnopqrstuvwxyz",
         R"e(1:11 (10): no match found, expected: "and", "or" or end of input, found "abcdefghijklmnop...")e"},
    Case{"OnlyWhitespace", "   ",
         R"e(1:4 (3): no match found, expected: "(", "not", selector or value, found end of input)e"}),
    case_name);

}  // namespace
}  // namespace cairn::filter
