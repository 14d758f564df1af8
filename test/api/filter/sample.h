// Documents the filter tests evaluate against.
#pragma once

#include <nlohmann/json.hpp>

namespace cairn::filter::testing {

// One /v1/health/service/redis entry, as Consul prints it, plus fields of
// every JSON type the evaluator distinguishes.
inline nlohmann::json health_entry() {
  return nlohmann::json::parse(R"({
    "Node": {
      "ID": "40e4a748-2192-161a-0510-9bf59fe950b5", "Node": "foobar", "Address": "10.1.10.12",
      "Datacenter": "dc1",
      "TaggedAddresses": {"lan": "10.1.10.12", "wan": "10.1.10.12"},
      "Meta": {"instance_type": "t2.medium", "os": "linux"},
      "CreateIndex": 5, "ModifyIndex": 7
    },
    "Service": {
      "ID": "redis", "Service": "redis", "Tags": ["primary", "v1"], "Address": "10.1.10.12",
      "Meta": {"redis_version": "4.0", "env": "prod", "some-key": "dash", "some key": "space", "empty": ""},
      "Port": 8000, "Weights": {"Passing": 10, "Warning": 1},
      "EnableTagOverride": false,
      "Proxy": {"Mode": "", "MeshGateway": {}, "Expose": {}}, "Connect": {},
      "Kind": "", "CreateIndex": 5, "ModifyIndex": 7
    },
    "Checks": [
      {"Node": "foobar", "CheckID": "service:redis", "Name": "Service 'redis' check",
       "Status": "passing", "Notes": "", "Output": "", "ServiceID": "redis",
       "ServiceName": "redis", "ServiceTags": ["primary", "v1"], "Type": "ttl"},
      {"Node": "foobar", "CheckID": "serfHealth", "Name": "Serf Health Status",
       "Status": "critical", "Notes": "", "Output": "Agent not live or unreachable",
       "ServiceID": "", "ServiceName": "", "ServiceTags": [], "Type": ""}
    ],
    "Extra": {"Float": 1.5, "Negative": -3, "Big": 18446744073709551615, "Null": null,
              "Empty": "", "EmptyList": [], "EmptyMap": {}, "Flag": true, "Numbers": [1, 2, 3],
              "Mixed": ["a", 2, true, {"x": 1}], "Nested": [[{"Deep": "yes"}]],
              "Text": "line one\nline two", "Quote": "say \"hi\"", "Backslash": "a\\b",
              "Unicode": "caf\u00e9"}
  })");
}

}  // namespace cairn::filter::testing
