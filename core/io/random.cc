#include "core/io/random.h"

#include <sys/random.h>

#include <chrono>

namespace cairn {

uint64_t random_seed() {
  uint64_t seed = 0;
  if (::getrandom(&seed, sizeof seed, 0) == static_cast<ssize_t>(sizeof seed)) return seed;
  // getrandom cannot fail for 8 bytes once the pool is initialised; fall back
  // to the clock rather than to a constant.
  return static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()) ^ 0x9e3779b97f4a7c15ULL;
}

std::unique_ptr<Rng> make_system_rng() { return std::make_unique<SeededRng>(random_seed()); }

}  // namespace cairn
