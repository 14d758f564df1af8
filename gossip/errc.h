// Gossip error codes (the Redpanda errc pattern of core/error.h): an
// `enum class errc` plus a std::error_category with readable messages, so a
// decode failure or a bad config reads as "gossip: <detail>" at the boundary.
//
// Thread-safety: value types, no shared state.
#pragma once

#include <system_error>

#include "core/error.h"

namespace cairn::gossip {

enum class errc {
  ok = 0,
  bad_version = 1,   // a packet whose version byte we do not speak
  truncated,         // a packet that ends inside a field
  too_large,         // a packet, field or payload over its size limit
  unknown_message,   // a message kind we do not know
  malformed,         // fields that parse but make no sense (bad state byte…)
  invalid_config,    // Config::validate() failed; detail names the field
  tags_too_large,    // encoded tags over Config::max_tags_bytes
  not_member,        // an operation on a node we do not know
  left,              // an operation after leave()
  query_expired,     // respond() after the query's deadline or twice
};

const std::error_category& gossip_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), gossip_category()};
}

// An Error carrying a gossip code and a one-line detail naming the field.
inline Error gossip_error(errc e, std::string detail) {
  return Error(make_error_code(e), std::move(detail));
}

}  // namespace cairn::gossip

namespace std {
template <>
struct is_error_code_enum<cairn::gossip::errc> : true_type {};
}  // namespace std
