// raft_sim: runs the deterministic Raft simulation.
//   raft_sim --seeds N [--first S]   run seeds S .. S+N-1 (default S = 1)
//   raft_sim --seed S                replay one seed and print its trace
// A failing seed prints its replay command; exit status 1.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "test/sim/raft/sim.h"

namespace {

int usage() {
  std::fprintf(stderr, "usage: raft_sim --seeds N [--first S] [--ticks T] | --seed S [--quiet] [--ticks T]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  using cairn::raft::sim::SimOptions;
  uint64_t seeds = 0, first = 1, one = 0;
  bool replay = false, quiet = false;
  int ticks = 0;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> uint64_t {
      if (i + 1 >= argc) std::exit(usage());
      return std::strtoull(argv[++i], nullptr, 10);
    };
    if (a == "--seeds") seeds = value();
    else if (a == "--first") first = value();
    else if (a == "--seed") { one = value(); replay = true; }
    else if (a == "--quiet") quiet = true;
    else if (a == "--ticks") ticks = static_cast<int>(value());
    else return usage();
  }
  if (!replay && seeds == 0) return usage();
  if (replay) {
    SimOptions o;
    o.seed = one;
    o.trace = !quiet;
    if (ticks > 0) o.fault_ticks = ticks;
    auto r = cairn::raft::sim::run_simulation(o);
    std::printf("seed %llu: %s (events %llu, ops %llu ok / %llu timed out, leaders %llu, snapshots %llu, conf changes %llu, crashes %llu)\n",
                static_cast<unsigned long long>(one), r.ok ? "ok" : "FAILED", static_cast<unsigned long long>(r.events),
                static_cast<unsigned long long>(r.ops_completed), static_cast<unsigned long long>(r.ops_timed_out),
                static_cast<unsigned long long>(r.leaders_elected), static_cast<unsigned long long>(r.snapshots_sent),
                static_cast<unsigned long long>(r.conf_changes), static_cast<unsigned long long>(r.crashes));
    if (!r.ok) std::printf("%s\n", r.failure.c_str());
    return r.ok ? 0 : 1;
  }
  auto start = std::chrono::steady_clock::now();
  uint64_t failed = 0, ops = 0, timeouts = 0, leaders = 0, snaps = 0, confs = 0, crashes = 0, undecided = 0;
  for (uint64_t s = first; s < first + seeds; ++s) {
    SimOptions o;
    o.seed = s;
    if (ticks > 0) o.fault_ticks = ticks;
    auto r = cairn::raft::sim::run_simulation(o);
    ops += r.ops_completed;
    timeouts += r.ops_timed_out;
    leaders += r.leaders_elected;
    snaps += r.snapshots_sent;
    confs += r.conf_changes;
    crashes += r.crashes;
    undecided += static_cast<uint64_t>(r.undecided_keys);
    if (!r.ok) {
      ++failed;
      std::printf("seed %llu FAILED: %s\n  replay: %s --seed %llu\n", static_cast<unsigned long long>(s), r.failure.c_str(),
                  argv[0], static_cast<unsigned long long>(s));
      if (failed >= 5) break;
    }
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("raft_sim: %llu seeds from %llu, %llu failed, %.1fs; ops %llu completed / %llu timed out, "
              "leaders %llu, snapshots %llu, conf changes applied %llu, crashes %llu, undecided keys %llu\n",
              static_cast<unsigned long long>(seeds), static_cast<unsigned long long>(first),
              static_cast<unsigned long long>(failed), secs, static_cast<unsigned long long>(ops),
              static_cast<unsigned long long>(timeouts), static_cast<unsigned long long>(leaders),
              static_cast<unsigned long long>(snaps), static_cast<unsigned long long>(confs),
              static_cast<unsigned long long>(crashes), static_cast<unsigned long long>(undecided));
  return failed == 0 ? 0 : 1;
}
