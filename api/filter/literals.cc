#include "api/filter/literals.h"

#include <charconv>
#include <cmath>

#include "core/strings.h"

namespace cairn::filter {
namespace {

void append_utf8(std::string* out, std::uint32_t cp) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// One escape sequence after the backslash at in[pos]; Go's rules for
// double-quoted strings (The Go Programming Language Specification, "Rune
// literals" and "String literals"), plus \" which bexpr's grammar cannot see.
std::optional<LiteralError> decode_escape(std::string_view in, std::size_t& pos, std::string* out) {
  const std::size_t start = pos;
  auto bad = [&](std::string why) {
    std::size_t end = std::min(in.size(), start + 2);
    return LiteralError{start, why + " \"" + std::string(in.substr(start, end - start)) + "\""};
  };
  if (pos + 1 >= in.size()) return bad("invalid escape sequence");
  const char c = in[pos + 1];
  pos += 2;
  switch (c) {
    case 'a': out->push_back('\a'); return std::nullopt;
    case 'b': out->push_back('\b'); return std::nullopt;
    case 'f': out->push_back('\f'); return std::nullopt;
    case 'n': out->push_back('\n'); return std::nullopt;
    case 'r': out->push_back('\r'); return std::nullopt;
    case 't': out->push_back('\t'); return std::nullopt;
    case 'v': out->push_back('\v'); return std::nullopt;
    case '\\': out->push_back('\\'); return std::nullopt;
    case '"': out->push_back('"'); return std::nullopt;
    case 'x': case 'u': case 'U': {
      const std::size_t digits = c == 'x' ? 2 : c == 'u' ? 4 : 8;
      if (pos + digits > in.size()) return bad("invalid escape sequence");
      std::uint32_t v = 0;
      for (std::size_t i = 0; i < digits; ++i) {
        const int h = hex_value(in[pos + i]);
        if (h < 0) return bad("invalid escape sequence");
        v = v * 16 + static_cast<std::uint32_t>(h);
      }
      pos += digits;
      if (c == 'x') {
        out->push_back(static_cast<char>(v));  // a raw byte, as Go does
        return std::nullopt;
      }
      if (v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return bad("invalid Unicode code point in escape");
      append_utf8(out, v);
      return std::nullopt;
    }
    default:
      if (c >= '0' && c <= '7') {
        if (pos + 2 > in.size()) return bad("invalid escape sequence");
        std::uint32_t v = static_cast<std::uint32_t>(c - '0');
        for (int i = 0; i < 2; ++i) {
          const char d = in[pos + i];
          if (d < '0' || d > '7') return bad("invalid escape sequence");
          v = v * 8 + static_cast<std::uint32_t>(d - '0');
        }
        if (v > 255) return bad("octal escape value > 255 in");
        pos += 2;
        out->push_back(static_cast<char>(v));
        return std::nullopt;
      }
      return bad("invalid escape sequence");
  }
}

}  // namespace

std::optional<LiteralError> scan_string_literal(std::string_view in, std::size_t& pos,
                                                std::string* out) {
  const std::size_t start = pos;
  const char quote = in[pos];
  std::size_t i = pos + 1;
  out->clear();
  if (quote == '`') {
    // A raw string: no escapes; Go drops carriage returns from raw strings.
    for (; i < in.size() && in[i] != '`'; ++i) {
      if (in[i] != '\r') out->push_back(in[i]);
    }
    if (i >= in.size()) return LiteralError{start, "Unterminated string literal"};
    pos = i + 1;
    return std::nullopt;
  }
  while (i < in.size() && in[i] != '"') {
    if (in[i] == '\\') {
      if (auto err = decode_escape(in, i, out)) return err;
      continue;
    }
    if (in[i] == '\n') return LiteralError{i, "newline in string literal"};
    out->push_back(in[i]);
    ++i;
  }
  if (i >= in.size()) return LiteralError{start, "Unterminated string literal"};
  pos = i + 1;
  return std::nullopt;
}

std::optional<GoInt> parse_go_int(std::string_view s) {
  GoInt v;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    v.negative = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s.empty()) return std::nullopt;
  unsigned base = 10;
  bool prefixed = false;
  if (s.size() >= 2 && s[0] == '0') {
    const char p = static_cast<char>(s[1] | 0x20);
    if (p == 'x') base = 16;
    else if (p == 'o') base = 8;
    else if (p == 'b') base = 2;
    if (base != 10) {
      s.remove_prefix(2);
      prefixed = true;
    } else {
      base = 8;  // a leading 0 means octal
      s.remove_prefix(1);
      prefixed = true;
    }
  }
  // '_' may only separate digits (or follow a base prefix), as Go's underscoreOK says.
  bool last_digit = prefixed;
  bool any_digit = prefixed && base == 8;  // "0" alone, or "0_7"
  for (char c : s) {
    if (c == '_') {
      if (!last_digit) return std::nullopt;
      last_digit = false;
      continue;
    }
    const int d = hex_value(c);
    if (d < 0 || static_cast<unsigned>(d) >= base) return std::nullopt;
    if (v.magnitude > (UINT64_MAX - static_cast<unsigned>(d)) / base) return std::nullopt;
    v.magnitude = v.magnitude * base + static_cast<unsigned>(d);
    last_digit = true;
    any_digit = true;
  }
  if (!any_digit || !last_digit) return std::nullopt;
  return v;
}

std::optional<double> parse_go_float(std::string_view s) {
  if (!s.empty() && s[0] == '+') s.remove_prefix(1);
  if (s.empty() || s[0] == '+') return std::nullopt;
  double v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<bool> parse_go_bool(std::string_view s) {
  if (s == "1" || s == "t" || s == "T" || s == "true" || s == "TRUE" || s == "True") return true;
  if (s == "0" || s == "f" || s == "F" || s == "false" || s == "FALSE" || s == "False") return false;
  return std::nullopt;
}

}  // namespace cairn::filter
