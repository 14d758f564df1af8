// The process's metrics, in the model Consul's go-metrics in-memory sink
// uses: counters, gauges and samples (timings in milliseconds), each with
// optional labels. /v1/agent/metrics renders them as Consul's JSON or as
// Prometheus text.
//
// Unlike Consul's sink, which keeps 10-second intervals and shows the last,
// aggregates here run from process start (Rate is per second over that
// time): cheaper, and what a Prometheus scrape wants. docs/compatibility.md
// lists the difference.
//
// Thread-safety: every function may be called from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cairn::metrics {

using Labels = std::vector<std::pair<std::string, std::string>>;

void incr_counter(std::string_view name, double value = 1, const Labels& labels = {});
void set_gauge(std::string_view name, double value, const Labels& labels = {});
void add_sample(std::string_view name, double value, const Labels& labels = {});

// Runs before every snapshot, to refresh gauges that are read rather than
// pushed (memory, members). Register at start-up.
void add_collector(std::function<void()> collect);

struct Gauge {
  std::string name;
  Labels labels;
  double value = 0;
};
struct Aggregate {  // a counter or a sample
  std::string name;
  Labels labels;
  uint64_t count = 0;
  double sum = 0, min = 0, max = 0, mean = 0, stddev = 0;
  double rate = 0;  // sum per second since start
};
struct Snapshot {
  std::string timestamp;  // "2026-11-24 10:00:00 +0000 UTC", as Go prints it
  std::vector<Gauge> gauges;
  std::vector<Aggregate> counters;
  std::vector<Aggregate> samples;
};

Snapshot snapshot();

// Consul's /v1/agent/metrics JSON: Timestamp, Gauges, Points, Counters, Samples.
std::string to_json(const Snapshot& s);
// Prometheus text exposition: names with '.' and '-' as '_'; counters as
// counter, gauges as gauge, samples as summary (_sum, _count).
std::string to_prometheus(const Snapshot& s);

// Forgets everything but the collectors (tests).
void reset_for_test();

}  // namespace cairn::metrics
