// Logging front end. Lines look like Consul's:
//   2026-11-24T10:00:00.123Z [INFO]  http: listening: address=127.0.0.1:8500
// or, with -log-json, one JSON object a line with @timestamp, @level, @module,
// @message. The sink (spdlog, stderr, thread-safe) is set up once by the
// binary through log::configure(); until then lines go to stderr at info.
//
// Never log secrets: callers pass URLs through redact_url() and never log
// tokens, keys or request bodies.
#pragma once

#include <fmt/format.h>

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "core/result.h"

namespace cairn::log {

enum class Level { trace, debug, info, warn, error, off };

// "trace", "debug", "info", "warn"/"warning", "error", "off" (any case).
Result<Level> parse_level(std::string_view text);
std::string_view level_name(Level level);

void configure(Level level, bool json);
bool enabled(Level level);
void write(Level level, std::string_view module, std::string_view message);

// A second consumer of log lines besides the sink (the agent's
// /v1/agent/monitor): it sees every line at or above `level`, even lines
// below the configured log level. One tap per process; set it again to
// change it, nullptr to remove it. The tap may be called from any thread
// and must not log.
using Tap = std::function<void(Level level, std::string_view module, std::string_view message)>;
void set_tap(std::shared_ptr<const Tap> tap, Level level);
void set_tap_level(Level level);

// Replaces the value of token-like query parameters (token, access_token) with
// "<hidden>".
std::string redact_url(std::string_view target);

template <typename... Args>
void at(Level level, std::string_view module, fmt::format_string<Args...> f, Args&&... args) {
  if (!enabled(level)) return;
  write(level, module, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void trace(std::string_view m, fmt::format_string<Args...> f, Args&&... a) { at(Level::trace, m, f, std::forward<Args>(a)...); }
template <typename... Args>
void debug(std::string_view m, fmt::format_string<Args...> f, Args&&... a) { at(Level::debug, m, f, std::forward<Args>(a)...); }
template <typename... Args>
void info(std::string_view m, fmt::format_string<Args...> f, Args&&... a) { at(Level::info, m, f, std::forward<Args>(a)...); }
template <typename... Args>
void warn(std::string_view m, fmt::format_string<Args...> f, Args&&... a) { at(Level::warn, m, f, std::forward<Args>(a)...); }
template <typename... Args>
void error(std::string_view m, fmt::format_string<Args...> f, Args&&... a) { at(Level::error, m, f, std::forward<Args>(a)...); }

}  // namespace cairn::log
