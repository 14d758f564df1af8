// The public entry points: Filter::parse's limits and error wording, and
// apply_filter over lists and maps.
#include <gtest/gtest.h>

#include <string>

#include <nlohmann/json.hpp>

#include "api/filter/filter.h"

namespace cairn::filter {
namespace {

using nlohmann::json;

TEST(FilterParse, AcceptsEveryMatchOperator) {
  for (const char* expr : {
           "A == 1", "A != 1", "1 in A", "1 not in A", "A contains 1", "A not contains 1",
           "A matches \"x\"", "A not matches \"x\"", "A is empty", "A is not empty"}) {
    EXPECT_TRUE(Filter::parse(expr).ok()) << expr;
  }
}

TEST(FilterParse, ErrorsCarryConsulsPrefixAndInvalidArgument) {
  auto f = Filter::parse("Service ==");
  ASSERT_FALSE(f.ok());
  EXPECT_TRUE(f.error().is(errc::invalid_argument));
  EXPECT_EQ(f.error().detail().rfind("Failed to create boolean expression evaluator: ", 0), 0u)
      << f.error().detail();
}

TEST(FilterParse, RejectsAnEmptyExpression) {
  auto f = Filter::parse("");
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.error().detail().find("1:1 (0): no match found"), std::string::npos) << f.error().detail();
}

TEST(FilterParse, RejectsAnExpressionOverTheLengthLimit) {
  std::string expr = "A == \"" + std::string(kMaxExpressionBytes, 'x') + "\"";
  auto f = Filter::parse(expr);
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.error().detail().find("over the limit of 8192"), std::string::npos) << f.error().detail();
}

TEST(FilterParse, AcceptsNestingUpToTheDepthLimit) {
  const int levels = kMaxNestingDepth - 1;  // the innermost match is a level of its own
  std::string expr = std::string(levels, '(') + "A == 1" + std::string(levels, ')');
  EXPECT_TRUE(Filter::parse(expr).ok());
}

TEST(FilterParse, RejectsParenthesesNestedBeyondTheDepthLimit) {
  std::string expr = std::string(kMaxNestingDepth, '(') + "A == 1" + std::string(kMaxNestingDepth, ')');
  auto f = Filter::parse(expr);
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.error().detail().find("nests deeper than 64 levels"), std::string::npos) << f.error().detail();
}

TEST(FilterParse, RejectsNotsChainedBeyondTheDepthLimit) {
  std::string expr;
  for (int i = 0; i < 100; ++i) expr += "not ";
  expr += "A == 1";
  auto f = Filter::parse(expr);
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.error().detail().find("nests deeper than 64 levels"), std::string::npos) << f.error().detail();
}

TEST(FilterParse, SurvivesThousandsOfOpenParentheses) {
  auto f = Filter::parse(std::string(kMaxExpressionBytes, '('));
  EXPECT_FALSE(f.ok());
}

TEST(FilterParse, LongFlatChainsAreNotNesting) {
  std::string expr = "A == 0";
  for (int i = 1; i < 500; ++i) expr += (i % 2 ? " and A != " : " or A != ") + std::to_string(i);
  auto f = Filter::parse(expr);
  ASSERT_TRUE(f.ok()) << f.error().message();
  EXPECT_TRUE(f->matches(json{{"A", 0}}));
}

TEST(FilterParse, AParsedFilterCanBeReusedAcrossDocuments) {
  auto f = Filter::parse("Port == 80");
  ASSERT_TRUE(f.ok());
  EXPECT_TRUE(f->matches(json{{"Port", 80}}));
  EXPECT_FALSE(f->matches(json{{"Port", 81}}));
  Filter copy = *f;
  EXPECT_TRUE(copy.matches(json{{"Port", 80}}));
}

TEST(ApplyFilter, KeepsTheMatchingElementsOfAListInOrder) {
  json list = json::array({{{"Name", "c"}, {"Port", 1}}, {{"Name", "a"}, {"Port", 2}}, {{"Name", "b"}, {"Port", 1}}});
  auto out = apply_filter("Port == 1", list);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(*out, json::array({{{"Name", "c"}, {"Port", 1}}, {{"Name", "b"}, {"Port", 1}}}));
}

TEST(ApplyFilter, KeepsTheMatchingValuesOfAMapWithTheirKeys) {
  json map = {{"web", {{"Port", 80}}}, {"db", {{"Port", 5432}}}};
  auto out = apply_filter("Port == 80", map);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(*out, (json{{"web", {{"Port", 80}}}}));
}

TEST(ApplyFilter, AnswersAnEmptyListWhenNothingMatches) {
  auto out = apply_filter("Port == 1", json::array({{{"Port", 2}}}));
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(*out, json::array());
}

TEST(ApplyFilter, AnswersAnEmptyMapWhenNothingMatches) {
  auto out = apply_filter("Port == 1", json{{"a", {{"Port", 2}}}});
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(*out, json::object());
}

TEST(ApplyFilter, AnEmptyExpressionKeepsEverything) {
  json list = json::array({1, "two", json::object()});
  auto out = apply_filter("", list);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(*out, list);
}

TEST(ApplyFilter, ReportsASyntaxErrorInsteadOfFiltering) {
  auto out = apply_filter("Port ==", json::array());
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.error().detail().find("1:8 (7)"), std::string::npos) << out.error().detail();
}

TEST(ApplyFilter, RefusesAScalar) {
  auto out = apply_filter("Port == 1", json(5));
  ASSERT_FALSE(out.ok());
  EXPECT_TRUE(out.error().is(errc::invalid_argument));
}

TEST(ApplyFilter, SelectorsIntoScalarElementsCountAsMissing) {
  auto out = apply_filter("Port is empty", json::array({1, "x", nullptr}));
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(*out, json::array({1, "x", nullptr}));
}

}  // namespace
}  // namespace cairn::filter
