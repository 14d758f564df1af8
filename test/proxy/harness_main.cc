// cairn_proxy_harness: one proxy as a real process, from a JSON file, for
// tests and bench/proxy (the real `cairn connect proxy` takes its
// configuration from the agent; next session).
//
//   cairn_proxy_harness CONFIG.json [io-threads]     (default: one per core)
//
// CONFIG.json:
//   { "proxy": { ...proxy/config.h's JSON... },
//     "cert_file": "leaf.pem", "key_file": "leaf.key", "roots_file": "roots.pem",
//     "rules": [{"source": "web", "action": "allow"}], "default_allow": false,
//     "endpoints": {"api": [{"address": "127.0.0.1", "port": 21001}]} }
//
// Prints "proxy ready: inbound=<port> stats=<port> upstream.<name>=<port>..."
// once listening; SIGINT/SIGTERM stop it (exit 0). Bad input: exit 1 and a
// message naming the field.
#include <boost/asio/io_context.hpp>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/io/runtime.h"
#include "core/log.h"
#include "proxy/proxy.h"

using namespace cairn;
using namespace cairn::proxy;

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read \"" + path + "\"");
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string field(const nlohmann::json& j, const char* name) {
  if (!j.contains(name) || !j[name].is_string()) throw std::runtime_error(std::string(name) + ": want a file name");
  return slurp(j[name].get<std::string>());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: cairn_proxy_harness CONFIG.json [io-threads]\n";
    return 1;
  }
  try {
    if (const char* level = std::getenv("CAIRN_LOG_LEVEL")) {
      auto l = log::parse_level(level);
      if (!l) throw std::runtime_error("CAIRN_LOG_LEVEL: " + l.error().detail());
      log::configure(*l, false);
    }
    auto j = nlohmann::json::parse(slurp(argv[1]));
    auto config = parse_config_json(j.value("proxy", nlohmann::json::object()).dump());
    if (!config) throw std::runtime_error(config.error().detail());
    std::vector<StaticAuthorizer::Rule> rules;
    for (const auto& r : j.value("rules", nlohmann::json::array())) {
      std::string action = r.value("action", "");
      if (action != "allow" && action != "deny") throw std::runtime_error("rules[].action: want allow or deny");
      rules.push_back({r.value("source", ""), action == "allow"});
    }
    auto authz = std::make_shared<StaticAuthorizer>(std::move(rules), j.value("default_allow", false));
    Runtime runtime;
    Proxy proxy(runtime.io(), *config, authz);
    if (auto s = proxy.set_leaf({field(j, "cert_file"), field(j, "key_file")}); !s) throw std::runtime_error(s.error().detail());
    if (auto s = proxy.set_trust_bundle({field(j, "roots_file")}); !s) throw std::runtime_error(s.error().detail());
    const auto endpoints = j.value("endpoints", nlohmann::json::object());
    for (const auto& [name, list] : endpoints.items()) {
      std::vector<Endpoint> eps;
      for (const auto& e : list) eps.push_back({e.value("address", "127.0.0.1"), e.value("port", uint16_t{0}), e.value("healthy", true)});
      if (auto s = proxy.set_endpoints(name, eps); !s) throw std::runtime_error("endpoints: " + s.error().detail());
    }
    if (auto s = proxy.start(); !s) throw std::runtime_error(s.error().detail());
    std::string ready = "proxy ready: inbound=" + std::to_string(proxy.inbound_port()) +
                        " stats=" + std::to_string(proxy.stats_port());
    for (const auto& u : config->upstreams)
      ready += " upstream." + u.destination_name + "=" + std::to_string(proxy.upstream_port(u.destination_name));
    std::cout << ready << std::endl;
    runtime.on_shutdown_signal([&] {
      proxy.stop();
      runtime.stop();
    });
    runtime.run(argc > 2 ? static_cast<unsigned>(std::stoul(argv[2])) : 0);
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "cairn_proxy_harness: " << e.what() << "\n";
    return 1;
  }
}
