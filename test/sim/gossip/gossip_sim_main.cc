// gossip_sim: runs one gossip simulation scenario and prints its figures.
//   gossip_sim --members 1000 --seed 7 --loss 0.1 [--scenario full] [--verbose]
// Exit status 1 on a failed check, with the seed and the replay command.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "test/sim/gossip/scenarios.h"

namespace {

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr,
               "gossip_sim: %s\n"
               "usage: gossip_sim [--scenario full|converge|crash|stalls|partition|leave|events|query|restart]\n"
               "                  [--preset lan|wan|local] [--members N] [--seed S] [--loss P] [--stall-fraction F] [--verbose]\n",
               why);
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  cairn::gossip::sim::ScenarioOptions o;
  o.members = 1000;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(("missing value for " + a).c_str());
      return argv[++i];
    };
    try {
      if (a == "--scenario") o.scenario = value();
      else if (a == "--preset") o.preset = value();
      else if (a == "--members") o.members = std::stoul(value());
      else if (a == "--seed") o.seed = std::stoull(value());
      else if (a == "--loss") o.loss = std::stod(value());
      else if (a == "--stall-fraction") o.stall_fraction = std::stod(value());
      else if (a == "--verbose") o.verbose = true;
      else usage(("unknown flag " + a).c_str());
    } catch (const std::exception&) {
      usage(("bad value for " + a).c_str());
    }
  }
  if (o.members < 2 || o.members > 20000) usage("--members must be in [2, 20000]");
  if (o.loss < 0 || o.loss >= 1) usage("--loss must be in [0, 1)");
  if (o.stall_fraction < 0 || o.stall_fraction > 1) usage("--stall-fraction must be in [0, 1]");
  auto r = cairn::gossip::sim::run_scenario(o);
  std::printf("%s\n", r.summary().c_str());
  return r.ok ? 0 : 1;
}
