#include "core/http/error_response.h"

#include <gtest/gtest.h>

namespace cairn::http {
namespace {

struct Case {
  errc code;
  int status;
};

class ErrorMapping : public ::testing::TestWithParam<Case> {};

TEST_P(ErrorMapping, GivesConsulsStatus) {
  Error e(GetParam().code, "the detail");
  EXPECT_EQ(status_for(e), GetParam().status);
  auto r = error_response(e);
  EXPECT_EQ(r.status, GetParam().status);
  EXPECT_EQ(r.body, "the detail\n");
  EXPECT_EQ(r.headers.get("Content-Type"), "text/plain; charset=utf-8");
}

INSTANTIATE_TEST_SUITE_P(Codes, ErrorMapping,
                         ::testing::Values(Case{errc::invalid_argument, 400}, Case{errc::parse_error, 400},
                                           Case{errc::out_of_range, 400}, Case{errc::permission_denied, 403},
                                           Case{errc::not_found, 404}, Case{errc::conflict, 409},
                                           Case{errc::too_large, 413}, Case{errc::unavailable, 500},
                                           Case{errc::internal, 500}, Case{errc::timeout, 500}));

TEST(ErrorMapping, ForeignCategoriesAre500) {
  Error e(std::make_error_code(std::errc::no_space_on_device), "disk full");
  EXPECT_EQ(status_for(e), 500);
  EXPECT_EQ(error_response(e).body, "disk full\n");
}

TEST(ErrorMapping, ErrorWithoutDetailUsesTheCategoryText) {
  EXPECT_EQ(error_response(Error(errc::not_found)).body, "not found\n");
}

}  // namespace
}  // namespace cairn::http
