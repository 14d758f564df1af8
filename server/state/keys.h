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

// Catalog names — node names, service names, service IDs, check IDs — are
// case-insensitive, as in Consul's memdb indexes (Lowercase: true): keys hold
// them ASCII-lowercased; records keep the case they were registered with.
// KV keys and session IDs are case-sensitive.
std::string fold_case(std::string_view s);

// The key of each table row (layouts in README.md).
namespace key {
std::string node(std::string_view node);                                   // nodes
std::string node_id(std::string_view id);                                  // node_ids (UUIDs: case-insensitive)
std::string of_node(std::string_view node);                                // prefix: services, checks, node_sessions of a node
std::string service(std::string_view node, std::string_view id);           // services
std::string check(std::string_view node, std::string_view id);             // checks
std::string instances_of(std::string_view service_name);                   // prefix in service_names
std::string instance(std::string_view service_name, std::string_view node, std::string_view id);
// connect_names: the same layout, keyed by the connect destination.
std::string node_session(std::string_view node, std::string_view session);  // node_sessions
std::string sessions_of_check(std::string_view node, std::string_view check);  // prefix in check_sessions
std::string check_session(std::string_view node, std::string_view check, std::string_view session);
std::string held_by(std::string_view session);                             // prefix in session_keys
std::string held(std::string_view session, std::string_view kv_key);       // session_keys
}  // namespace key

}  // namespace cairn::server::state
