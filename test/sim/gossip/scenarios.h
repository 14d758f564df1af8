// Gossip simulation scenarios, shared by the ctest suite (scenario_test.cc)
// and the gossip_sim binary. Each returns a Report; a failing report names
// its seed and the command that replays it.
#pragma once

#include <cstdint>
#include <string>

#include "gossip/config.h"

namespace cairn::gossip::sim {

struct ScenarioOptions {
  std::string scenario = "full";  // full|converge|crash|stalls|partition|leave|events|query|restart
  std::string preset = "lan";     // lan|wan|local (gossip Config presets)
  std::size_t members = 100;
  uint64_t seed = 1;
  double loss = 0.0;
  double stall_fraction = 0.05;   // members that stall in bursts (stalls, full)
  bool verbose = false;
};

struct Report {
  ScenarioOptions options;
  bool ok = true;
  std::string failure;
  double convergence_s = -1;      // joins start -> everyone sees everyone alive
  double detection_s = -1;        // crash -> last member declares it failed
  double detection_first_s = -1;  // crash -> first member declares it failed
  double heal_s = -1;             // partition removed -> everyone sees everyone alive
  double leave_s = -1;            // leave -> everyone sees the member as left
  uint64_t false_positives = 0;
  double bytes_per_member_per_s = 0;  // steady state, after convergence
  double vivaldi_error = -1;          // median |estimate - true| / true over sampled pairs
  double sim_s = 0;
  double wall_s = 0;

  std::string replay_command() const;
  std::string summary() const;
};

Report run_scenario(const ScenarioOptions& options);

}  // namespace cairn::gossip::sim
