// Randomness as an interface, so that every random choice in pure code
// (election timeouts, probe order, jitter) replays from a seed in simulation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace cairn {

class Rng {
 public:
  virtual ~Rng() = default;
  virtual uint64_t next_u64() = 0;

  // Uniform in [0, bound); bound 0 returns 0. Lemire's multiply-shift with
  // rejection, so the result is unbiased.
  uint64_t uniform(uint64_t bound);
  // Uniform in [lo, hi] (inclusive); lo > hi returns lo.
  uint64_t between(uint64_t lo, uint64_t hi);
  // Uniform double in [0, 1).
  double unit();

  template <typename T>
  void shuffle(std::vector<T>& v) {
    for (std::size_t i = v.size(); i > 1; --i) {
      std::size_t j = static_cast<std::size_t>(uniform(i));
      std::swap(v[i - 1], v[j]);
    }
  }
};

// xoshiro256** seeded through splitmix64: fast, deterministic, good enough for
// simulation and jitter. Not for secrets (use OpenSSL RAND_bytes in io code).
class SeededRng final : public Rng {
 public:
  explicit SeededRng(uint64_t seed);
  uint64_t next_u64() override;

 private:
  uint64_t s_[4];
};

}  // namespace cairn
