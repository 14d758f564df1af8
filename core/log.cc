#include "core/log.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <cctype>

#include "core/json_escape.h"

namespace cairn::log {
namespace {

std::atomic<Level> g_level{Level::info};
std::atomic<bool> g_json{false};
std::atomic<Level> g_tap_level{Level::off};
std::atomic<std::shared_ptr<const Tap>> g_tap;

spdlog::logger& logger() {
  // Built on first use; spdlog's stderr sink is mutex-guarded, so lines from
  // several io threads never interleave.
  static std::shared_ptr<spdlog::logger> instance = [] {
    auto l = std::make_shared<spdlog::logger>("cairn", std::make_shared<spdlog::sinks::stderr_sink_mt>());
    l->set_level(spdlog::level::trace);
    l->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %v", spdlog::pattern_time_type::utc);
    return l;
  }();
  return *instance;
}

spdlog::level::level_enum to_spdlog(Level level) {
  switch (level) {
    case Level::trace: return spdlog::level::trace;
    case Level::debug: return spdlog::level::debug;
    case Level::info: return spdlog::level::info;
    case Level::warn: return spdlog::level::warn;
    case Level::error: return spdlog::level::err;
    case Level::off: return spdlog::level::off;
  }
  return spdlog::level::info;
}

std::string_view bracket(Level level) {
  switch (level) {
    case Level::trace: return "[TRACE]";
    case Level::debug: return "[DEBUG]";
    case Level::info: return "[INFO] ";
    case Level::warn: return "[WARN] ";
    case Level::error: return "[ERROR]";
    case Level::off: return "";
  }
  return "";
}

}  // namespace

Result<Level> parse_level(std::string_view text) {
  std::string lower;
  for (char c : text) lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  if (lower == "trace") return Level::trace;
  if (lower == "debug") return Level::debug;
  if (lower == "info") return Level::info;
  if (lower == "warn" || lower == "warning") return Level::warn;
  if (lower == "error" || lower == "err") return Level::error;
  if (lower == "off") return Level::off;
  return Error(errc::invalid_argument,
               "log_level: invalid value \"" + std::string(text) + "\" (allowed: trace, debug, info, warn, error, off)");
}

std::string_view level_name(Level level) {
  switch (level) {
    case Level::trace: return "trace";
    case Level::debug: return "debug";
    case Level::info: return "info";
    case Level::warn: return "warn";
    case Level::error: return "error";
    case Level::off: return "off";
  }
  return "info";
}

void configure(Level level, bool json) {
  g_level.store(level);
  g_json.store(json);
  if (json) {
    logger().set_pattern("{\"@timestamp\":\"%Y-%m-%dT%H:%M:%S.%fZ\",%v}", spdlog::pattern_time_type::utc);
  } else {
    logger().set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %v", spdlog::pattern_time_type::utc);
  }
}

bool enabled(Level level) {
  return level != Level::off &&
         (level >= g_level.load(std::memory_order_relaxed) || level >= g_tap_level.load(std::memory_order_relaxed));
}

void set_tap(std::shared_ptr<const Tap> tap, Level level) {
  g_tap_level.store(tap ? level : Level::off);
  g_tap.store(std::move(tap));
}

void set_tap_level(Level level) {
  if (g_tap.load()) g_tap_level.store(level);
}

void write(Level level, std::string_view module, std::string_view message) {
  if (level == Level::off) return;
  if (level >= g_tap_level.load(std::memory_order_relaxed)) {
    if (auto tap = g_tap.load(); tap && *tap) (*tap)(level, module, message);
  }
  if (level < g_level.load(std::memory_order_relaxed)) return;
  if (g_json.load(std::memory_order_relaxed)) {
    logger().log(to_spdlog(level), "\"@level\":\"{}\",\"@module\":\"{}\",\"@message\":\"{}\"", level_name(level),
                 json_escape(module), json_escape(message));
  } else {
    logger().log(to_spdlog(level), "{} {}: {}", bracket(level), module, message);
  }
}

std::string redact_url(std::string_view target) {
  auto q = target.find('?');
  if (q == std::string_view::npos) return std::string(target);
  std::string out(target.substr(0, q + 1));
  std::string_view rest = target.substr(q + 1);
  bool first = true;
  while (!rest.empty()) {
    auto amp = rest.find('&');
    std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
    if (!first) out.push_back('&');
    first = false;
    auto eq = pair.find('=');
    std::string_view key = pair.substr(0, eq);
    if ((key == "token" || key == "access_token") && eq != std::string_view::npos) {
      out.append(key);
      out.append("=<hidden>");
    } else {
      out.append(pair);
    }
  }
  return out;
}

}  // namespace cairn::log
