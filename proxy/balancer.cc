#include "proxy/balancer.h"

#include <string>

namespace cairn::proxy {

Result<BalancePolicy> parse_balance_policy(std::string_view text, std::string_view field) {
  if (text == "round_robin" || text.empty()) return BalancePolicy::round_robin;
  if (text == "least_connections" || text == "least_conn" || text == "least_request")
    return BalancePolicy::least_connections;
  if (text == "power_of_two" || text == "p2c") return BalancePolicy::power_of_two;
  return Error(errc::invalid_argument, std::string(field) + ": unknown load-balancing policy \"" + std::string(text) +
                                           "\" (round_robin, least_connections, power_of_two)");
}

std::string_view policy_name(BalancePolicy p) {
  switch (p) {
    case BalancePolicy::round_robin: return "round_robin";
    case BalancePolicy::least_connections: return "least_connections";
    case BalancePolicy::power_of_two: return "power_of_two";
  }
  return "?";
}

std::optional<size_t> Balancer::pick(const std::vector<Candidate>& c, Rng& rng) {
  std::vector<size_t> eligible;
  eligible.reserve(c.size());
  for (size_t i = 0; i < c.size(); ++i) {
    if (c[i].eligible) eligible.push_back(i);
  }
  if (eligible.empty()) return std::nullopt;
  switch (policy_) {
    case BalancePolicy::round_robin: {
      // The cursor walks the full list so a skipped instance does not shift
      // the others' turns.
      for (size_t k = 0; k < c.size(); ++k) {
        size_t i = (next_ + k) % c.size();
        if (c[i].eligible) {
          next_ = i + 1;
          return i;
        }
      }
      return std::nullopt;
    }
    case BalancePolicy::least_connections: {
      // Ties go round robin, so an idle pool still spreads.
      size_t best = eligible[0];
      size_t start = next_++ % eligible.size();
      for (size_t k = 0; k < eligible.size(); ++k) {
        size_t i = eligible[(start + k) % eligible.size()];
        if (k == 0 || c[i].active < c[best].active) best = i;
      }
      return best;
    }
    case BalancePolicy::power_of_two: {
      if (eligible.size() == 1) return eligible[0];
      size_t a = rng.uniform(eligible.size());
      size_t b = rng.uniform(eligible.size() - 1);
      if (b >= a) ++b;
      size_t ia = eligible[a], ib = eligible[b];
      return c[ib].active < c[ia].active ? ib : ia;
    }
  }
  return std::nullopt;
}

}  // namespace cairn::proxy
