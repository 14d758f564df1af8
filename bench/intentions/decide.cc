// Intention decisions per second with 10,000 intentions: IntentionIndex
// (hash lookups by destination, then source) against the linear scan over
// the precedence-sorted list it replaces, in the same run. Google Benchmark.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "api/intentions.h"

namespace {

using cairn::api::ConfigEntry;
using cairn::api::IntentionIndex;
using cairn::api::IntentionTarget;

constexpr int kDestinations = 2000;
constexpr int kSourcesPerDestination = 5;  // 10,000 intentions

std::vector<ConfigEntry> entries() {
  std::vector<ConfigEntry> out;
  for (int d = 0; d < kDestinations; ++d) {
    std::string body = R"({"Kind":"service-intentions","Name":"svc-)" + std::to_string(d) + R"(","Sources":[)";
    for (int s = 0; s < kSourcesPerDestination; ++s) {
      if (s) body += ",";
      // Mostly exact sources; every destination also has a wildcard source.
      std::string name = s == kSourcesPerDestination - 1 ? "*" : "client-" + std::to_string((d * 7 + s) % 5000);
      body += R"({"Name":")" + name + R"(","Action":")" + (s % 2 ? "deny" : "allow") + R"("})";
    }
    body += "]}";
    auto norm = cairn::api::normalize_service_intentions(body);
    if (!norm.ok()) std::abort();
    out.push_back(ConfigEntry{"service-intentions", "svc-" + std::to_string(d), *norm, 1, 1});
  }
  return out;
}

const IntentionIndex& index() {
  static const IntentionIndex idx = IntentionIndex::build(entries());
  return idx;
}

// Pairs that hit exact intentions, wildcard sources and nothing at all.
std::vector<std::pair<IntentionTarget, IntentionTarget>> queries() {
  std::vector<std::pair<IntentionTarget, IntentionTarget>> q;
  for (int i = 0; i < 1024; ++i) {
    int d = (i * 37) % (kDestinations + 100);  // some destinations have no entry
    int s = (i % 3 == 0) ? (d * 7) % 5000 : (i * 13) % 6000;
    q.push_back({IntentionTarget{"default", "client-" + std::to_string(s)},
                 IntentionTarget{"default", "svc-" + std::to_string(d)}});
  }
  return q;
}

void BM_IndexDecide(benchmark::State& state) {
  const auto& idx = index();
  auto q = queries();
  size_t i = 0, allowed = 0;
  for (auto _ : state) {
    const auto& [src, dst] = q[i++ & 1023];
    allowed += idx.decide(src, dst, false, true).allowed;
  }
  benchmark::DoNotOptimize(allowed);
  state.SetItemsProcessed(state.iterations());
  state.counters["intentions"] = static_cast<double>(idx.all().size());
}
BENCHMARK(BM_IndexDecide);

void BM_LinearScanDecide(benchmark::State& state) {
  const auto& idx = index();
  auto q = queries();
  size_t i = 0, allowed = 0;
  for (auto _ : state) {
    const auto& [src, dst] = q[i++ & 1023];
    allowed += cairn::api::decide_by_scan(idx.all(), src, dst, false, true).allowed;
  }
  benchmark::DoNotOptimize(allowed);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_LinearScanDecide);

void BM_BuildIndex(benchmark::State& state) {
  auto e = entries();
  for (auto _ : state) benchmark::DoNotOptimize(IntentionIndex::build(e).all().size());
}
BENCHMARK(BM_BuildIndex)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
