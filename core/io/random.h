// The real Rng: a SeededRng seeded from the OS (getrandom). For jitter and
// shuffles in production; never for secrets (use OpenSSL's RAND_bytes).
#pragma once

#include <cstdint>
#include <memory>

#include "core/rng.h"

namespace cairn {

uint64_t random_seed();
std::unique_ptr<Rng> make_system_rng();

}  // namespace cairn
