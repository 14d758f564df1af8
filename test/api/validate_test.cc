#include "api/validate.h"

#include <gtest/gtest.h>

namespace cairn::api {
namespace {

TEST(PrepareRegister, FoldsCheckIntoChecksAndFillsDefaults) {
  RegisterRequest r;
  r.node = "n1";
  r.address = "a";
  r.service.emplace();
  r.service->service = "web";
  r.service->weights = {0, 0};
  r.check.emplace();
  r.check->name = "http check";
  r.check->definition.http = "http://x";
  ASSERT_TRUE(prepare_register(r).ok());
  EXPECT_EQ(r.service->id, "web");
  EXPECT_EQ(r.service->weights, Weights{});
  EXPECT_FALSE(r.check.has_value());
  ASSERT_EQ(r.checks.size(), 1u);
  EXPECT_EQ(r.checks[0].node, "n1");
  EXPECT_EQ(r.checks[0].check_id, "http check");
  EXPECT_EQ(r.checks[0].status, "critical");
  EXPECT_EQ(r.checks[0].type, "http");
}

TEST(PrepareRegister, NodeIdMustBeAUuid) {
  RegisterRequest r;
  r.node = "n1";
  r.address = "a";
  r.id = "40e4a748-2192-161a-0510-9bf59fe950b5";
  EXPECT_TRUE(prepare_register(r).ok());
  r.id = "not-a-uuid";
  EXPECT_EQ(prepare_register(r).error().message(), "Bad node ID: uuid string is wrong length");
  r.id = "40e4a748x2192-161a-0510-9bf59fe950b5";
  EXPECT_EQ(prepare_register(r).error().message(), "Bad node ID: uuid is improperly formatted");
}

TEST(PrepareRegister, RefusesWhatConsulRefuses) {
  RegisterRequest r;
  r.node = "n1";
  EXPECT_EQ(prepare_register(r).error().message(), "Must provide address if SkipNodeUpdate is not set");
  r.address = "a";
  r.service.emplace();
  EXPECT_EQ(prepare_register(r).error().message(),
            "Must provide service name (Service.Service) with ID (Service.ID)");
  r.service->service = "web";
  r.service->port = 70000;
  EXPECT_FALSE(prepare_register(r).ok());
  r.service->port = 80;
  r.checks.push_back(HealthCheck{});
  EXPECT_EQ(prepare_register(r).error().message(), "Must provide CheckID or Name");
  r.checks[0].check_id = "c";
  r.checks[0].status = "sideways";
  EXPECT_FALSE(prepare_register(r).ok());
}

}  // namespace
}  // namespace cairn::api
