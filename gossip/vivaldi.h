// Vivaldi network coordinates (Dabek et al., SIGCOMM 2004) with the
// refinements of hashicorp/serf's coordinate package (Ledlie et al.,
// "Network Coordinates in the Wild", NSDI 2007): a height term for access
// links, a latency filter (median of the last 3 samples per peer), an
// adjustment term averaged over a window of samples, and gravity towards the
// origin so the whole system does not drift.
//
// Thread-safety: value types; VivaldiClient is owned by one Membership.
#pragma once

#include <array>
#include <cstdint>

#include "core/clock.h"
#include "core/rng.h"

namespace cairn::gossip {

struct VivaldiConfig {
  static constexpr int kDimensionality = 8;  // serf default
  double error_max = 1.5;                    // VivaldiErrorMax
  double ce = 0.25;                          // VivaldiCE: error adaptation rate
  double cc = 0.25;                          // VivaldiCC: coordinate adaptation rate
  uint32_t adjustment_window = 20;           // AdjustmentWindowSize (<= kMaxWindow)
  double height_min = 10.0e-6;               // HeightMin, seconds
  double gravity_rho = 150.0;                // GravityRho, seconds
  static constexpr uint32_t kMaxWindow = 64;
};

struct Coordinate {
  std::array<double, VivaldiConfig::kDimensionality> vec{};
  double error = 1.5;
  double adjustment = 0.0;
  double height = 10.0e-6;

  static Coordinate origin(const VivaldiConfig& c) {
    Coordinate x;
    x.error = c.error_max;
    x.height = c.height_min;
    return x;
  }
  // Finite numbers everywhere (a NaN from a peer must not poison ours).
  bool valid() const;
  // Estimated RTT in seconds: |a - b| + heights, plus adjustments when that
  // stays positive (serf DistanceTo).
  double distance_seconds(const Coordinate& other) const;
  friend bool operator==(const Coordinate&, const Coordinate&) = default;
};

// Estimated round-trip time between two members for `?near=` sorting.
Duration estimate_rtt(const Coordinate& a, const Coordinate& b);

// Per-peer latency filter: the last three RTT samples (seconds), kept inside
// the member record so that no per-peer map is needed.
struct LatencyFilter {
  std::array<float, 3> samples{};
  uint8_t count = 0;
  uint8_t next = 0;
  // Adds a sample and returns the median of those held.
  double add(double rtt_seconds);
};

class VivaldiClient {
 public:
  explicit VivaldiClient(VivaldiConfig config = {});

  // serf Client.Update: one RTT observation against a peer's coordinate.
  // Returns false (and changes nothing) for an invalid coordinate or an RTT
  // outside (0, 10s].
  bool update(LatencyFilter& filter, const Coordinate& other, Duration rtt, Rng& rng);

  const Coordinate& coordinate() const { return coord_; }
  uint64_t resets() const { return resets_; }

 private:
  void update_vivaldi(const Coordinate& other, double rtt, Rng& rng);
  void update_adjustment(const Coordinate& other, double rtt);
  void update_gravity(Rng& rng);

  VivaldiConfig config_;
  Coordinate coord_;
  Coordinate origin_;
  std::array<double, VivaldiConfig::kMaxWindow> adjustment_samples_{};
  uint32_t adjustment_index_ = 0;
  uint64_t resets_ = 0;
};

}  // namespace cairn::gossip
