// The literal forms of filter expressions: Go-quoted strings (as bexpr reads
// them with strconv.Unquote) and the Go number/bool syntaxes a raw value is
// converted with when it meets a field of that type (strconv.ParseInt/
// ParseFloat/ParseBool). Internal to api/filter/.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace cairn::filter {

struct LiteralError {
  std::size_t offset = 0;  // byte offset into the whole expression
  std::string message;
};

// Reads a "..." or `...` literal that starts at in[pos] (which is the quote).
// On success stores the decoded text in *out, advances pos past the closing
// quote and returns nullopt; otherwise returns where and why it failed.
std::optional<LiteralError> scan_string_literal(std::string_view in, std::size_t& pos,
                                                std::string* out);

// A Go integer literal as strconv.ParseInt(s, 0, 64) / ParseUint read it:
// optional sign, 0x/0o/0b/0 prefixes, '_' between digits.
struct GoInt {
  bool negative = false;
  std::uint64_t magnitude = 0;
};
std::optional<GoInt> parse_go_int(std::string_view s);
std::optional<double> parse_go_float(std::string_view s);
std::optional<bool> parse_go_bool(std::string_view s);

}  // namespace cairn::filter
