// The proxies' counters in the agent's metrics: a background scraper reads
// the Prometheus stats endpoint of every local connect-proxy that has one
// (Proxy.Config.stats_bind_addr) every `interval` and republishes its
// cairn_proxy_* series as gauges of the agent's registry (core/io/metrics),
// labelled with the proxy's service ID (`proxy_id`) besides the proxy's own
// labels (service, direction). So /v1/agent/metrics (JSON or
// ?format=prometheus) summarizes every sidecar on the host. A proxy that does
// not answer gets cairn.sidecar.scrape_ok 0 and keeps its last values.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/duration.h"

namespace cairn::agent::sidecar {

// One sample line of Prometheus text: name, labels and value.
struct PromSample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};
// Parses the exposition text (comment lines skipped; a line that does not
// parse is skipped).
std::vector<PromSample> parse_prometheus(const std::string& text);

struct StatsTarget {
  std::string proxy_id;
  std::string address;  // "host:port" of the proxy's stats listener
};

class StatsScraper {
 public:
  StatsScraper(std::function<std::vector<StatsTarget>()> targets, Duration interval);
  ~StatsScraper();  // stops and joins
  void start();
  void stop();
  // One round now (tests).
  void scrape_once();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cairn::agent::sidecar
