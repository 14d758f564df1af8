#include "core/io/metrics.h"

#include <chrono>
#include <cmath>
#include <ctime>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>

namespace cairn::metrics {
namespace {

using Key = std::pair<std::string, Labels>;

struct Running {
  uint64_t count = 0;
  double sum = 0, sum_sq = 0, min = 0, max = 0;
  void add(double v) {
    if (count == 0 || v < min) min = v;
    if (count == 0 || v > max) max = v;
    ++count;
    sum += v;
    sum_sq += v * v;
  }
};

struct Registry {
  std::mutex mu;
  std::map<Key, double> gauges;
  std::map<Key, Running> counters;
  std::map<Key, Running> samples;
  std::vector<std::function<void()>> collectors;
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
};

Registry& registry() {
  static Registry* r = new Registry();  // never destroyed: metrics may be recorded during exit
  return *r;
}

Key key_of(std::string_view name, const Labels& labels) { return {std::string(name), labels}; }

Aggregate aggregate(const Key& k, const Running& r, double seconds) {
  Aggregate a;
  a.name = k.first;
  a.labels = k.second;
  a.count = r.count;
  a.sum = r.sum;
  a.min = r.min;
  a.max = r.max;
  a.mean = r.count ? r.sum / static_cast<double>(r.count) : 0;
  if (r.count > 1) {
    double n = static_cast<double>(r.count);
    double var = (r.sum_sq - r.sum * r.sum / n) / (n - 1);
    a.stddev = var > 0 ? std::sqrt(var) : 0;
  }
  a.rate = seconds > 0 ? r.sum / seconds : 0;
  return a;
}

nlohmann::json labels_json(const Labels& labels) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [k, v] : labels) j[k] = v;
  return j;
}

nlohmann::json aggregate_json(const Aggregate& a) {
  return {{"Name", a.name},  {"Count", a.count}, {"Rate", a.rate},     {"Sum", a.sum},
          {"Min", a.min},    {"Max", a.max},     {"Mean", a.mean},     {"Stddev", a.stddev},
          {"Labels", labels_json(a.labels)}};
}

std::string prom_name(std::string_view name) {
  std::string out;
  for (char c : name) out.push_back(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == ':' ? c : '_');
  return out;
}

std::string prom_labels(const Labels& labels) {
  if (labels.empty()) return "";
  std::string out = "{";
  for (size_t i = 0; i < labels.size(); ++i) {
    if (i) out += ',';
    out += prom_name(labels[i].first) + "=\"";
    for (char c : labels[i].second) {
      if (c == '\\' || c == '"') out += '\\';
      if (c == '\n') {
        out += "\\n";
        continue;
      }
      out += c;
    }
    out += '"';
  }
  return out + "}";
}

std::string number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

}  // namespace

void incr_counter(std::string_view name, double value, const Labels& labels) {
  auto& r = registry();
  std::lock_guard l(r.mu);
  r.counters[key_of(name, labels)].add(value);
}

void set_gauge(std::string_view name, double value, const Labels& labels) {
  auto& r = registry();
  std::lock_guard l(r.mu);
  r.gauges[key_of(name, labels)] = value;
}

void add_sample(std::string_view name, double value, const Labels& labels) {
  auto& r = registry();
  std::lock_guard l(r.mu);
  r.samples[key_of(name, labels)].add(value);
}

void add_collector(std::function<void()> collect) {
  auto& r = registry();
  std::lock_guard l(r.mu);
  r.collectors.push_back(std::move(collect));
}

Snapshot snapshot() {
  auto& r = registry();
  std::vector<std::function<void()>> collectors;
  {
    std::lock_guard l(r.mu);
    collectors = r.collectors;
  }
  for (auto& c : collectors) c();  // outside the lock: they set gauges
  Snapshot s;
  std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S +0000 UTC", &tm);
  s.timestamp = buf;
  std::lock_guard l(r.mu);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - r.start).count();
  for (const auto& [k, v] : r.gauges) s.gauges.push_back({k.first, k.second, v});
  for (const auto& [k, v] : r.counters) s.counters.push_back(aggregate(k, v, seconds));
  for (const auto& [k, v] : r.samples) s.samples.push_back(aggregate(k, v, seconds));
  return s;
}

std::string to_json(const Snapshot& s) {
  nlohmann::json gauges = nlohmann::json::array(), counters = nlohmann::json::array(),
                 samples = nlohmann::json::array();
  for (const auto& g : s.gauges) gauges.push_back({{"Name", g.name}, {"Value", g.value}, {"Labels", labels_json(g.labels)}});
  for (const auto& c : s.counters) counters.push_back(aggregate_json(c));
  for (const auto& m : s.samples) samples.push_back(aggregate_json(m));
  return nlohmann::json{{"Timestamp", s.timestamp},
                        {"Gauges", gauges},
                        {"Points", nlohmann::json::array()},
                        {"Counters", counters},
                        {"Samples", samples}}
      .dump();
}

std::string to_prometheus(const Snapshot& s) {
  std::string out;
  std::string last;
  auto type_line = [&](const std::string& name, const char* type) {
    if (name == last) return;
    last = name;
    out += "# HELP " + name + " " + name + "\n# TYPE " + name + " " + type + "\n";
  };
  for (const auto& g : s.gauges) {
    std::string n = prom_name(g.name);
    type_line(n, "gauge");
    out += n + prom_labels(g.labels) + " " + number(g.value) + "\n";
  }
  for (const auto& c : s.counters) {
    std::string n = prom_name(c.name);
    type_line(n, "counter");
    out += n + prom_labels(c.labels) + " " + number(c.sum) + "\n";
  }
  for (const auto& m : s.samples) {
    std::string n = prom_name(m.name);
    type_line(n, "summary");
    out += n + "_sum" + prom_labels(m.labels) + " " + number(m.sum) + "\n";
    out += n + "_count" + prom_labels(m.labels) + " " + std::to_string(m.count) + "\n";
  }
  return out;
}

void reset_for_test() {
  auto& r = registry();
  std::lock_guard l(r.mu);
  r.gauges.clear();
  r.counters.clear();
  r.samples.clear();
  r.start = std::chrono::steady_clock::now();
}

}  // namespace cairn::metrics
