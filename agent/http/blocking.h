// Blocking-query parameters as Consul reads them: ?index=<uint64> and
// ?wait=<Go duration>. wait defaults to 5m, is capped at 10m, and gets up to
// wait/16 of random jitter so that many watchers do not return at once.
#pragma once

#include <cstdint>

#include "core/clock.h"
#include "core/http/message.h"
#include "core/result.h"
#include "core/rng.h"

namespace cairn::agent::http {

struct BlockingParams {
  uint64_t index = 0;  // 0: answer at once
  Duration wait{0};    // with jitter applied
  bool blocking() const { return index > 0; }
};

constexpr Duration kDefaultWait = std::chrono::minutes(5);
constexpr Duration kMaxWait = std::chrono::minutes(10);

// Errors: "Invalid index" / "Invalid wait time" (Consul's texts, 400).
Result<BlockingParams> parse_blocking(const cairn::http::Request& req, Rng& rng);

// Sets X-Consul-Index (never 0: Consul forces 1).
void set_index(cairn::http::Response& resp, uint64_t index);

}  // namespace cairn::agent::http
