// The proxies' counters in the agent's metrics (see stats.h).
#include "agent/sidecar/stats.h"

#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>

#include "api/io/http_client.h"
#include "core/io/metrics.h"
#include "core/log.h"

namespace cairn::agent::sidecar {

std::vector<PromSample> parse_prometheus(const std::string& text) {
  std::vector<PromSample> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(pos, end - pos);
    pos = end + 1;
    if (line.empty() || line[0] == '#') continue;
    PromSample s;
    size_t i = line.find_first_of("{ ");
    if (i == std::string::npos || i == 0) continue;
    s.name = line.substr(0, i);
    bool ok = true;
    if (line[i] == '{') {
      size_t close = line.find('}', i);
      if (close == std::string::npos) continue;
      std::string body = line.substr(i + 1, close - i - 1);
      size_t p = 0;
      while (p < body.size() && ok) {
        size_t eq = body.find('=', p);
        if (eq == std::string::npos || eq + 1 >= body.size() || body[eq + 1] != '"') {
          ok = false;
          break;
        }
        std::string key = body.substr(p, eq - p);
        std::string value;
        size_t q = eq + 2;
        for (; q < body.size() && body[q] != '"'; ++q) {
          if (body[q] == '\\' && q + 1 < body.size()) ++q;
          value += body[q];
        }
        if (q >= body.size()) ok = false;
        s.labels[key] = value;
        p = q + 1;
        if (p < body.size() && body[p] == ',') ++p;
      }
      i = close + 1;
    }
    if (!ok) continue;
    std::string rest = line.substr(i);
    char* endp = nullptr;
    s.value = std::strtod(rest.c_str(), &endp);
    if (endp == rest.c_str()) continue;
    out.push_back(std::move(s));
  }
  return out;
}

struct StatsScraper::Impl {
  std::function<std::vector<StatsTarget>()> targets;
  Duration interval;
  std::mutex mu;
  std::condition_variable cv;
  bool stopping = false;
  std::thread thread;

  void scrape(const StatsTarget& t) {
    auto addr = api::HttpAddress::parse(t.address);
    bool ok = false;
    if (addr.ok()) {
      api::HttpClient client(*addr);
      auto r = client.request("GET", "/metrics", "", std::chrono::seconds(2));
      if (r.ok() && r->status == 200) {
        ok = true;
        for (auto& s : parse_prometheus(r->body)) {
          if (!s.name.starts_with("cairn_proxy_")) continue;
          metrics::Labels labels{{"proxy_id", t.proxy_id}};
          for (auto& [k, v] : s.labels) labels.emplace_back(k, v);
          metrics::set_gauge("cairn.proxy." + s.name.substr(12), s.value, labels);
        }
      }
    }
    metrics::set_gauge("cairn.sidecar.scrape_ok", ok ? 1 : 0, {{"proxy_id", t.proxy_id}});
  }
};

StatsScraper::StatsScraper(std::function<std::vector<StatsTarget>()> targets, Duration interval)
    : impl_(std::make_unique<Impl>()) {
  impl_->targets = std::move(targets);
  impl_->interval = interval;
}

StatsScraper::~StatsScraper() { stop(); }

void StatsScraper::scrape_once() {
  for (const auto& t : impl_->targets()) impl_->scrape(t);
}

void StatsScraper::start() {
  impl_->thread = std::thread([this] {
    std::unique_lock l(impl_->mu);
    while (!impl_->stopping) {
      l.unlock();
      scrape_once();
      l.lock();
      impl_->cv.wait_for(l, impl_->interval, [this] { return impl_->stopping; });
    }
  });
}

void StatsScraper::stop() {
  {
    std::lock_guard l(impl_->mu);
    impl_->stopping = true;
  }
  impl_->cv.notify_all();
  if (impl_->thread.joinable()) impl_->thread.join();
}

}  // namespace cairn::agent::sidecar
