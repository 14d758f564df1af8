#include "core/duration.h"

#include <cstdint>
#include <limits>

namespace cairn {
namespace {

constexpr uint64_t kMaxNs = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());

Error bad(std::string_view text) {
  return Error(errc::parse_error, "invalid duration \"" + std::string(text) + "\"");
}

// Unit multipliers in nanoseconds, longest names first so "ms" wins over "m".
struct Unit {
  std::string_view name;
  uint64_t ns;
};
constexpr Unit kUnits[] = {
    {"ns", 1},
    {"us", 1'000},
    {"\xc2\xb5s", 1'000},  // U+00B5 micro sign
    {"\xce\xbcs", 1'000},  // U+03BC Greek mu
    {"ms", 1'000'000},
    {"s", 1'000'000'000},
    {"m", 60'000'000'000},
    {"h", 3'600'000'000'000},
};

bool is_digit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

Result<Duration> parse_duration(std::string_view text) {
  std::string_view s = text;
  bool negative = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s == "0") return Duration{0};
  if (s.empty()) return bad(text);

  // Consul leniency: all digits means nanoseconds.
  bool all_digits = true;
  for (char c : s) all_digits &= is_digit(c);
  if (all_digits) {
    uint64_t v = 0;
    for (char c : s) {
      if (v > (kMaxNs - static_cast<uint64_t>(c - '0')) / 10) return bad(text);
      v = v * 10 + static_cast<uint64_t>(c - '0');
    }
    auto ns = static_cast<int64_t>(v);
    return Duration{negative ? -ns : ns};
  }

  uint64_t total = 0;
  while (!s.empty()) {
    // Integer part.
    uint64_t whole = 0;
    size_t i = 0;
    bool overflow = false;
    while (i < s.size() && is_digit(s[i])) {
      if (whole > (kMaxNs - static_cast<uint64_t>(s[i] - '0')) / 10) overflow = true;
      whole = whole * 10 + static_cast<uint64_t>(s[i] - '0');
      ++i;
    }
    bool had_whole = i > 0;
    // Fractional part: keep digits while they fit, as Go's leadingFraction.
    uint64_t frac = 0;
    double scale = 1;
    bool had_frac = false;
    if (i < s.size() && s[i] == '.') {
      ++i;
      size_t start = i;
      bool frac_full = false;
      while (i < s.size() && is_digit(s[i])) {
        if (!frac_full) {
          if (frac > (std::numeric_limits<uint64_t>::max() - 9) / 10) {
            frac_full = true;
          } else {
            frac = frac * 10 + static_cast<uint64_t>(s[i] - '0');
            scale *= 10;
          }
        }
        ++i;
      }
      had_frac = i > start;
    }
    if (overflow) return bad(text);
    if (!had_whole && !had_frac) return bad(text);
    // Unit.
    size_t u = i;
    while (u < s.size() && s[u] != '.' && !is_digit(s[u])) ++u;
    std::string_view unit_name = s.substr(i, u - i);
    if (unit_name.empty()) return bad(text);  // "1.5" without a unit
    const Unit* unit = nullptr;
    for (const auto& candidate : kUnits)
      if (candidate.name == unit_name) unit = &candidate;
    if (unit == nullptr) return bad(text);
    if (whole > kMaxNs / unit->ns) return bad(text);
    uint64_t v = whole * unit->ns;
    if (frac > 0) {
      v += static_cast<uint64_t>(static_cast<double>(frac) * (static_cast<double>(unit->ns) / scale));
      if (v > kMaxNs) return bad(text);
    }
    if (total > kMaxNs - v) return bad(text);
    total += v;
    s.remove_prefix(u);
  }
  auto ns = static_cast<int64_t>(total);
  return Duration{negative ? -ns : ns};
}

namespace {

// Writes v / 10^prec with its trailing zeros (and a bare '.') dropped, as Go's fmtFrac.
std::string fraction(uint64_t& v, int prec) {
  std::string digits;
  bool print = false;
  for (int i = 0; i < prec; ++i) {
    uint64_t digit = v % 10;
    print = print || digit != 0;
    if (print) digits.insert(digits.begin(), static_cast<char>('0' + digit));
    v /= 10;
  }
  if (print) digits.insert(digits.begin(), '.');
  return digits;
}

}  // namespace

std::string format_duration(Duration d) {
  int64_t n = d.count();
  if (n == 0) return "0s";
  bool negative = n < 0;
  uint64_t u = negative ? static_cast<uint64_t>(-(n + 1)) + 1 : static_cast<uint64_t>(n);
  std::string out;
  if (u < 1'000'000'000) {
    // Sub-second: one unit, ns / µs / ms, with a fraction.
    int prec;
    const char* unit;
    if (u < 1'000) {
      return (negative ? "-" : "") + std::to_string(u) + "ns";
    } else if (u < 1'000'000) {
      prec = 3;
      unit = "\xc2\xb5s";
    } else {
      prec = 6;
      unit = "ms";
    }
    std::string frac = fraction(u, prec);
    out = std::to_string(u) + frac + unit;
  } else {
    std::string frac = fraction(u, 9);
    uint64_t secs = u;
    out = std::to_string(secs % 60) + frac + "s";
    uint64_t mins = secs / 60;
    if (mins > 0) {
      out = std::to_string(mins % 60) + "m" + out;
      uint64_t hours = mins / 60;
      if (hours > 0) out = std::to_string(hours) + "h" + out;
    }
  }
  return (negative ? "-" : "") + out;
}

}  // namespace cairn
