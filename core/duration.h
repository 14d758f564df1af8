// Go-style durations, as Consul's API uses them everywhere ("10s", "1.5m",
// "150.0s", "120000ms", "1h2m3s", "0.001s"). Parsing follows Go's
// time.ParseDuration, plus one Consul leniency: a bare integer is nanoseconds
// (what Go's JSON decoder does with a number).
#pragma once

#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/result.h"

namespace cairn {

// Errors name the bad text: `invalid duration "1x"`.
Result<Duration> parse_duration(std::string_view text);

// Formats like Go's Duration.String(): "1h2m3s", "1.5s", "150ms", "1µs", "0s".
std::string format_duration(Duration d);

}  // namespace cairn
