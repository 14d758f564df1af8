// Shared by the agent/local tests: definitions from Consul JSON, and this
// node's identity for the sync tests.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "agent/local/sync_plan.h"
#include "api/json.h"

namespace cairn::agent::local::test {

inline api::ServiceDefinition def(const std::string& body) {
  auto d = api::decode_service_definition(body);
  EXPECT_TRUE(d.ok()) << d.error().message();
  return d.ok() ? *d : api::ServiceDefinition{};
}

inline api::CheckDefinition check_def(const std::string& body) {
  auto d = api::decode_check_definition(body);
  EXPECT_TRUE(d.ok()) << d.error().message();
  return d.ok() ? *d : api::CheckDefinition{};
}

inline NodeIdentity identity(std::string address = "10.0.0.5") {
  NodeIdentity n;
  n.id = "11111111-2222-3333-4444-555555555555";
  n.name = "node-a";
  n.address = address;
  n.datacenter = "dc1";
  n.tagged_addresses = node_tagged_addresses(address);
  return n;
}

// The catalog's copy of identity().
inline api::Node catalog_node(const NodeIdentity& s) {
  api::Node n;
  n.id = s.id;
  n.node = s.name;
  n.address = s.address;
  n.datacenter = s.datacenter;
  n.tagged_addresses = s.tagged_addresses;
  n.meta = s.meta;
  return n;
}

}  // namespace cairn::agent::local::test
