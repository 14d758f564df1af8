// Evaluation against one /v1/health/service entry: every operator, the
// selector forms, type conversion, missing fields, regexes and string
// literals. Each row is one behaviour; its name says which.
#include <gtest/gtest.h>

#include "api/filter/filter.h"
#include "test/api/filter/sample.h"

namespace cairn::filter {
namespace {

struct Case {
  const char* name;
  const char* expr;
  bool expected;
};

std::string case_name(const ::testing::TestParamInfo<Case>& info) { return info.param.name; }

class EvaluateTest : public ::testing::TestWithParam<Case> {};

TEST_P(EvaluateTest, GivesTheExpectedAnswer) {
  const Case& c = GetParam();
  auto filter = Filter::parse(c.expr);
  ASSERT_TRUE(filter.ok()) << c.expr << ": " << filter.error().message();
  EXPECT_EQ(filter->matches(testing::health_entry()), c.expected) << c.expr;
}

INSTANTIATE_TEST_SUITE_P(Operators, EvaluateTest, ::testing::Values(
    Case{"EqualHoldsForTheSameString", R"(Service.Service == "redis")", true},
    Case{"EqualFailsForAnotherString", R"(Service.Service == "web")", false},
    Case{"EqualIsCaseSensitive", R"(Service.Service == "Redis")", false},
    Case{"NotEqualHoldsForAnotherString", R"(Service.Service != "web")", true},
    Case{"NotEqualFailsForTheSameString", R"(Service.Service != "redis")", false},
    Case{"EqualNeedsNoSpaces", R"(Service.Service=="redis")", true},
    Case{"InFindsAnElementOfAList", R"("primary" in Service.Tags)", true},
    Case{"InMissesAnAbsentElement", R"("secondary" in Service.Tags)", false},
    Case{"NotInHoldsForAnAbsentElement", R"("secondary" not in Service.Tags)", true},
    Case{"NotInFailsForAPresentElement", R"("v1" not in Service.Tags)", false},
    Case{"ContainsFindsAnElementOfAList", R"(Service.Tags contains "v1")", true},
    Case{"NotContainsHoldsForAnAbsentElement", R"(Service.Tags not contains "v2")", true},
    Case{"NotContainsFailsForAPresentElement", R"(Service.Tags not contains "primary")", false},
    Case{"ContainsOnAStringIsASubstringTest", R"(Node.Address contains "10.12")", true},
    Case{"InOnAStringIsASubstringTest", R"("1.10" in Node.Address)", true},
    Case{"ContainsOnAStringMissesOtherText", R"(Node.Address contains "192.")", false},
    Case{"ContainsOnAMapTestsForAKey", R"(Service.Meta contains "env")", true},
    Case{"ContainsOnAMapIgnoresValues", R"(Service.Meta contains "prod")", false},
    Case{"InOnAMapTestsForAKey", R"("lan" in Node.TaggedAddresses)", true},
    Case{"NotInOnAMapHoldsForAnAbsentKey", R"("lan_ipv4" not in Node.TaggedAddresses)", true},
    Case{"IsEmptyHoldsForAnEmptyString", R"(Service.Kind is empty)", true},
    Case{"IsEmptyFailsForANonEmptyString", R"(Service.Service is empty)", false},
    Case{"IsEmptyHoldsForAnEmptyList", R"(Extra.EmptyList is empty)", true},
    Case{"IsEmptyFailsForANonEmptyList", R"(Service.Tags is empty)", false},
    Case{"IsEmptyHoldsForAnEmptyMap", R"(Service.Connect is empty)", true},
    Case{"IsNotEmptyHoldsForANonEmptyMap", R"(Service.Meta is not empty)", true},
    Case{"IsNotEmptyFailsForAnEmptyString", R"(Service.Kind is not empty)", false},
    Case{"IsEmptyIsFalseForANumber", R"(Service.Port is empty)", false},
    Case{"MatchesSearchesAnywhereInTheString", R"(Node.Node matches "oba")", true},
    Case{"MatchesHonoursAnchors", R"(Node.Node matches "^oba")", false},
    Case{"MatchesAnAnchoredWholeString", R"(Node.Node matches "^foo[a-z]+$")", true},
    Case{"NotMatchesHoldsWhenThePatternIsAbsent", R"(Node.Node not matches "^bar")", true},
    Case{"NotMatchesFailsWhenThePatternIsFound", R"(Node.Node not matches "bar$")", false},
    Case{"MatchesIsFalseForANumber", R"(Service.Port matches "8000")", false},
    Case{"NotMatchesIsTrueForANumber", R"(Service.Port not matches "8000")", true}),
    case_name);

INSTANTIATE_TEST_SUITE_P(Logic, EvaluateTest, ::testing::Values(
    Case{"AndNeedsBothSides", R"(Service.Service == "redis" and Service.Port == 8000)", true},
    Case{"AndFailsWhenOneSideFails", R"(Service.Service == "redis" and Service.Port == 80)", false},
    Case{"OrNeedsOneSide", R"(Service.Service == "web" or Service.Port == 8000)", true},
    Case{"OrFailsWhenBothSidesFail", R"(Service.Service == "web" or Service.Port == 80)", false},
    Case{"NotInvertsAMatch", R"(not Service.Service == "web")", true},
    Case{"NotNotCancels", R"(not not Service.Service == "redis")", true},
    Case{"NotBindsTighterThanAnd", R"(not Service.Service == "web" and Service.Port == 8000)", true},
    Case{"AndBindsTighterThanOr", R"(Service.Port == 1 and Service.Port == 2 or Service.Port == 8000)", true},
    Case{"OrOnTheLeftOfAndStillBindsLoosely", R"(Service.Port == 8000 or Service.Port == 1 and Service.Port == 2)", true},
    Case{"ParenthesesOverridePrecedence", R"((Service.Port == 8000 or Service.Port == 1) and Service.Port == 2)", false},
    Case{"NotAppliesToAParenthesizedGroup", R"(not (Service.Port == 1 or Service.Port == 2))", true},
    Case{"DocsPrecedenceExampleWithoutParentheses", R"(Service.Port == 8000 and not Service.Service == "redis" or Node.Node == "foobar")", true},
    Case{"DocsPrecedenceExampleWithParentheses", R"((Service.Port == 8000 and (not Service.Service == "redis")) or Node.Node == "foobar")", true},
    Case{"OuterParenthesesAreAllowed", R"(( Service.Service == "redis" ))", true},
    Case{"NestedParenthesesAreAllowed", R"(((((Service.Service == "redis")))))", true},
    Case{"NewlinesAndTabsAreWhitespace", "Service.Service == \"redis\"\n\tand\r\nService.Port == 8000", true},
    Case{"LongAndChainsHoldWhenAllHold", R"(Service.Port == 8000 and Service.Port != 1 and Service.Port != 2 and Service.Port != 3)", true},
    Case{"LongOrChainsFailWhenAllFail", R"(Service.Port == 1 or Service.Port == 2 or Service.Port == 3 or Service.Port == 4)", false}),
    case_name);

INSTANTIATE_TEST_SUITE_P(Selectors, EvaluateTest, ::testing::Values(
    Case{"DottedSelectorsReachNestedFields", R"(Service.Weights.Passing == 10)", true},
    Case{"MapKeysAreReachedWithDots", R"(Service.Meta.env == "prod")", true},
    Case{"MapKeysAreReachedWithBrackets", R"(Service.Meta["env"] == "prod")", true},
    Case{"BracketsReachKeysThatAreNotIdentifiers", R"(Service.Meta["some-key"] == "dash")", true},
    Case{"BracketsReachKeysWithSpaces", R"(Service.Meta["some key"] == "space")", true},
    Case{"BracketsAcceptBacktickKeys", R"(Service.Meta[`some-key`] == "dash")", true},
    Case{"BracketsAllowSpacesInside", R"(Service.Meta[ "env" ] == "prod")", true},
    Case{"BracketsChainWithDots", R"(Service["Meta"].env == "prod")", true},
    Case{"SelectorsAreCaseSensitive", R"(service.service == "redis")", false},
    Case{"SelectorsMayContainDigitsAndUnderscores", R"(Service.Meta.redis_version == "4.0")", true},
    Case{"AFieldInsideAListMatchesWhenAnyElementMatches", R"(Checks.Status == "critical")", true},
    Case{"AFieldInsideAListFailsWhenNoElementMatches", R"(Checks.Status == "warning")", false},
    Case{"NotEqualThroughAListHoldsWhenAnyElementDiffers", R"(Checks.Status != "critical")", true},
    Case{"ContainsThroughAListLooksIntoEachElement", R"(Checks.ServiceTags contains "v1")", true},
    Case{"IsEmptyThroughAListHoldsWhenAnyElementIsEmpty", R"(Checks.ServiceID is empty)", true},
    Case{"NestedListsAreSearchedToo", R"(Extra.Nested.Deep == "yes")", true},
    Case{"AnUnquotedValueIsItsOwnText", R"(Service.Service == redis)", true},
    Case{"AnUnquotedDottedValueIsItsOwnText", R"(Service.Meta.redis_version != redis.version)", true},
    Case{"AnUnquotedValueMayBeTheLeftSideOfIn", R"(primary in Service.Tags)", true},
    Case{"KeywordsMayBeFieldNames", R"(not == 1 or Service.Port == 8000)", true},
    Case{"FieldNamesMayStartWithAKeyword", R"(notes is empty and order is empty and Service.Port == 8000)", true}),
    case_name);

INSTANTIATE_TEST_SUITE_P(Coercion, EvaluateTest, ::testing::Values(
    Case{"ANumberEqualsAnUnquotedNumber", R"(Service.Port == 8000)", true},
    Case{"ANumberEqualsAQuotedNumber", R"(Service.Port == "8000")", true},
    Case{"ANumberDiffersFromAnotherNumber", R"(Service.Port != 80)", true},
    Case{"ANumberEqualsAHexLiteralAsGoParsesIt", R"(Service.Port == "0x1f40")", true},
    Case{"ANumberNeverEqualsText", R"(Service.Port == "eighty")", false},
    Case{"ANumberDiffersFromText", R"(Service.Port != "eighty")", true},
    Case{"AnIntegerFieldDoesNotTakeAFraction", R"(Service.Port == 8000.5)", false},
    Case{"ANegativeNumberEqualsANegativeLiteral", R"(Extra.Negative == -3)", true},
    Case{"ANegativeNumberDiffersFromItsMagnitude", R"(Extra.Negative == 3)", false},
    Case{"TheLargestUnsignedNumberCompares", R"(Extra.Big == 18446744073709551615)", true},
    Case{"AFloatEqualsADecimalLiteral", R"(Extra.Float == 1.5)", true},
    Case{"AFloatEqualsAQuotedExponent", R"(Extra.Float == "15e-1")", true},
    Case{"ABoolEqualsTrue", R"(Extra.Flag == true)", true},
    Case{"ABoolEqualsAQuotedTrue", R"(Extra.Flag == "true")", true},
    Case{"ABoolTakesGoSpellings", R"(Extra.Flag == T and Service.EnableTagOverride == 0)", true},
    Case{"ABoolDiffersFromOtherText", R"(Extra.Flag == yes)", false},
    Case{"AFalseBoolEqualsFalse", R"(Service.EnableTagOverride == false)", true},
    Case{"AStringComparesAsText", R"(Service.Meta.redis_version == 4.0)", true},
    Case{"AListOfNumbersContainsAQuotedNumber", R"(Extra.Numbers contains "2")", true},
    Case{"AMixedListComparesEachElementByItsType", R"(true in Extra.Mixed and 2 in Extra.Mixed and a in Extra.Mixed)", true},
    Case{"AListIsNeverEqualToAValue", R"(Service.Tags == "primary")", false},
    Case{"AMapIsNeverEqualToAValue", R"(Service.Meta == "prod")", false}),
    case_name);

INSTANTIATE_TEST_SUITE_P(MissingFields, EvaluateTest, ::testing::Values(
    Case{"EqualIsFalseForAMissingField", R"(Service.Nope == "x")", false},
    Case{"NotEqualIsTrueForAMissingField", R"(Service.Nope != "x")", true},
    Case{"EqualIsFalseForAMissingMapKey", R"(Service.Meta.version == "1")", false},
    Case{"NotEqualIsTrueForAMissingMapKey", R"(Service.Meta.version != "1")", true},
    Case{"InIsFalseForAMissingField", R"("x" in Service.Nope)", false},
    Case{"NotInIsTrueForAMissingField", R"("x" not in Service.Nope)", true},
    Case{"IsEmptyIsTrueForAMissingField", R"(Service.Nope is empty)", true},
    Case{"IsNotEmptyIsFalseForAMissingField", R"(Service.Nope is not empty)", false},
    Case{"MatchesIsFalseForAMissingField", R"(Service.Nope matches ".*")", false},
    Case{"NotMatchesIsTrueForAMissingField", R"(Service.Nope not matches ".*")", true},
    Case{"NullCountsAsMissingForEqual", R"(Extra.Null == "")", false},
    Case{"NullCountsAsMissingForIsEmpty", R"(Extra.Null is empty)", true},
    Case{"SelectingBelowAStringCountsAsMissing", R"(Service.Service.Name != "x" and Service.Service.Name is empty)", true},
    Case{"AnEmptyListBeforeTheSelectorsEndMatchesNothing", R"(Extra.EmptyList.Status != "critical")", false},
    Case{"DeepMissingPathsAreMissing", R"(A.B.C.D.E == 1)", false}),
    case_name);

INSTANTIATE_TEST_SUITE_P(Regex, EvaluateTest, ::testing::Values(
    Case{"RegexAlternationWorks", R"(Service.Service matches "^(web|redis)$")", true},
    Case{"RegexClassesWork", R"(Node.Address matches "^[0-9.]+$")", true},
    Case{"RegexEscapesInRawStringsReachTheRegex", R"(Node.Address matches `^10\.1\.10\.\d+$`)", true},
    Case{"RegexEscapesInQuotedStringsNeedDoubleBackslashes", R"(Node.Address matches "^10\\.1\\.")", true},
    Case{"GoCaseInsensitiveFlagIsHonoured", R"(Node.Node matches "(?i)^FOOBAR$")", true},
    Case{"RegexIsCaseSensitiveWithoutTheFlag", R"(Node.Node matches "^FOOBAR$")", false},
    Case{"DollarAssertsTheEndOfTheWholeString", R"(Extra.Text matches "one$")", false},
    Case{"DotDoesNotCrossNewlines", R"(Extra.Text matches "one.line")", false},
    Case{"ClassesCrossNewlines", R"(Extra.Text matches `one\sline`)", true},
    Case{"RegexMatchesUtf8Text", R"(Extra.Unicode matches "^caf\u00e9$")", true},
    Case{"RegexOverAListFieldIsFalse", R"(Service.Tags matches "primary")", false},
    Case{"RegexThroughAListMatchesAnyElement", R"(Checks.Output matches "not live")", true}),
    case_name);

INSTANTIATE_TEST_SUITE_P(Strings, EvaluateTest, ::testing::Values(
    Case{"BacktickStringsAreRaw", R"(Extra.Backslash == `a\b`)", true},
    Case{"DoubleQuotedStringsDecodeBackslashEscapes", R"(Extra.Backslash == "a\\b")", true},
    Case{"NewlineEscapesDecode", R"(Extra.Text == "line one\nline two")", true},
    Case{"EscapedQuotesDecode", R"(Extra.Quote == "say \"hi\"")", true},
    Case{"BacktickStringsHoldDoubleQuotes", R"(Extra.Quote == `say "hi"`)", true},
    Case{"UnicodeEscapesDecodeToUtf8", R"(Extra.Unicode == "caf\u00e9")", true},
    Case{"HexEscapesDecodeToBytes", R"(Extra.Unicode == "caf\xc3\xa9")", true},
    Case{"OctalEscapesDecodeToBytes", R"(Extra.Unicode == "caf\303\251")", true},
    Case{"WhitespaceInsideStringsIsKept", R"(Service.Meta["some key"] == "space" and Service.Meta.env != " prod ")", true},
    Case{"AnEmptyStringEqualsAnEmptyField", R"(Service.Meta.empty == "" and Service.Meta.empty == ``)", true}),
    case_name);

// std::regex's default executor backtracks and recurses once per character;
// the polynomial executor we compile for does neither.
TEST(RegexLimits, AHugeSubjectNeitherOverflowsTheStackNorBacktracksExponentially) {
  nlohmann::json doc{{"Name", std::string(200000, 'a') + "!"}};
  auto nested = Filter::parse(R"(Name matches "^(a+)+$")");
  ASSERT_TRUE(nested.ok());
  EXPECT_FALSE(nested->matches(doc));
  auto alternation = Filter::parse(R"(Name matches "(a|aa)*!")");
  ASSERT_TRUE(alternation.ok());
  EXPECT_TRUE(alternation->matches(doc));
}

TEST(NestedArrays, ASelectorThroughArraysNestedBeyondTheLimitMatchesNothing) {
  nlohmann::json deep = {{"Status", "critical"}};
  for (int i = 0; i < 100000; ++i) deep = nlohmann::json::array({std::move(deep)});
  nlohmann::json doc{{"Checks", std::move(deep)}};
  auto f = Filter::parse(R"(Checks.Status == "critical")");
  ASSERT_TRUE(f.ok());
  EXPECT_FALSE(f->matches(doc));
}

TEST(NestedArrays, ASelectorThroughArraysNestedWithinTheLimitMatches) {
  nlohmann::json deep = {{"Status", "critical"}};
  for (int i = 0; i < 10; ++i) deep = nlohmann::json::array({std::move(deep)});
  auto f = Filter::parse(R"(Checks.Status == "critical")");
  ASSERT_TRUE(f.ok());
  EXPECT_TRUE(f->matches(nlohmann::json{{"Checks", deep}}));
}

TEST(RegexLimits, DeeplyNestedGroupsAreRefusedAtParseTime) {
  std::string pattern = std::string(100, '(') + "a" + std::string(100, ')');
  auto f = Filter::parse("Name matches \"" + pattern + "\"");
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.error().detail().find("groups nest deeper than 64 levels"), std::string::npos)
      << f.error().detail();
}

}  // namespace
}  // namespace cairn::filter
