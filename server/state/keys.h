// Order-preserving encoding of composite RocksDB keys (internal to
// server/state; see README.md for every column family's layout).
//
// A component is its bytes with 0x00 escaped as 0x00 0xFF, then the
// terminator 0x00 0x01. Comparing encoded keys bytewise compares the tuples
// component by component, so ("a", "z") < ("ab", "a"), and the encoding of
// a first component is a prefix of every key that starts with it: "all
// services of node n" is one prefix scan. Names may hold any byte, NUL too.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace cairn::server::state {

void append_component(std::string& out, std::string_view part);

// component(a) + component(b) + ...
std::string composite_key(std::initializer_list<std::string_view> parts);

// Splits an encoded key back into its components; false if it is not one.
bool split_components(std::string_view key, std::vector<std::string>& out);

}  // namespace cairn::server::state
