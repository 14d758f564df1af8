// libFuzzer entry point for Consul's ?filter= expressions (api/filter/):
// parse the input; if it parses, evaluate it against a fixed
// /v1/health/service entry. Any crash, sanitizer report or hang is a bug:
// untrusted expressions must only ever produce an Error.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <nlohmann/json.hpp>

#include "api/filter/filter.h"

namespace {

const nlohmann::json& sample_document() {
  static const nlohmann::json doc = nlohmann::json::parse(R"({
    "Node": {"ID": "40e4a748-2192-161a-0510-9bf59fe950b5", "Node": "foobar", "Address": "10.1.10.12",
             "Datacenter": "dc1", "TaggedAddresses": {"lan": "10.1.10.12", "wan": "10.1.10.12"},
             "Meta": {"os": "linux"}, "CreateIndex": 5, "ModifyIndex": 7},
    "Service": {"ID": "redis", "Service": "redis", "Tags": ["primary", "v1"], "Address": "",
                "Meta": {"env": "prod", "some-key": "x"}, "Port": 8000,
                "Weights": {"Passing": 10, "Warning": 1}, "EnableTagOverride": false,
                "Proxy": {"Mode": "", "MeshGateway": {}, "Expose": {}}, "Connect": {}, "Kind": ""},
    "Checks": [{"CheckID": "serfHealth", "Status": "passing", "Output": "Agent alive and reachable",
                "ServiceTags": []},
               {"CheckID": "service:redis", "Status": "critical", "Output": "", "ServiceTags": ["v1"]}],
    "Extra": {"Float": 1.5, "Negative": -3, "Null": null, "Nested": [[{"Deep": "yes"}]]}
  })");
  return doc;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view expr(reinterpret_cast<const char*>(data), size);
  auto filter = cairn::filter::Filter::parse(expr);
  if (filter.ok()) (void)filter->matches(sample_document());
  return 0;
}
