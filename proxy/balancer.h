// Choosing an upstream instance: round robin, least connections and power of
// two choices (Mitzenmacher, "The Power of Two Choices in Randomized Load
// Balancing", 2001: pick two at random, take the less loaded).
//
// Pure: the caller passes the instances with their open-connection counts
// and an Rng, so tests replay exactly. Not thread-safe: the proxy keeps one
// Balancer per upstream behind that upstream's lock.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "core/rng.h"

namespace cairn::proxy {

enum class BalancePolicy { round_robin, least_connections, power_of_two };

// "round_robin", "least_connections" (or "least_conn"), "power_of_two"
// (or "p2c"); errors name `field`.
Result<BalancePolicy> parse_balance_policy(std::string_view text, std::string_view field);
std::string_view policy_name(BalancePolicy p);

struct Candidate {
  bool eligible = true;    // healthy and not already tried for this connection
  uint32_t active = 0;     // connections open to it now
};

class Balancer {
 public:
  explicit Balancer(BalancePolicy policy) : policy_(policy) {}
  BalancePolicy policy() const { return policy_; }

  // The index of the chosen eligible candidate, or nullopt when none is.
  std::optional<size_t> pick(const std::vector<Candidate>& candidates, Rng& rng);

 private:
  BalancePolicy policy_;
  size_t next_ = 0;  // round robin cursor
};

}  // namespace cairn::proxy
