// Intentions: the service-intentions config entry (one per destination, a
// list of sources), its validation and normalized JSON, the intention view
// /v1/connect/intentions speaks (Consul's structs.Intention), Consul's
// precedence, and IntentionIndex — the decision for a source → destination
// pair as a handful of hash lookups, never a scan over every intention.
//
// Behaviour follows Consul's agent/structs/config_entry_intentions.go and
// intention.go (messages included). Differences, on purpose:
//   - Regexes (PathRegex, Header Regex) are checked with std::regex
//     (ECMAScript); Consul passes them to Envoy's RE2, so a pattern using a
//     feature only one of them has is judged differently.
//   - One normalization serves /v1/config and the legacy intention API:
//     LegacyID, LegacyMeta and the legacy times are kept when present (Consul
//     clears them on a /v1/config write), so an entry read back and written
//     again keeps its intentions' IDs.
//   - Peers, sameness groups and JWT requirements are not supported (an
//     unknown field is an error naming it).
//
// Pure (cmake/purity.cmake): no clock — the legacy API's times arrive as
// arguments. Values are plain data; IntentionIndex is immutable once built
// and may be read from any thread.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "api/types.h"
#include "core/result.h"

namespace cairn::api {

inline constexpr std::string_view kServiceIntentionsKind = "service-intentions";
inline constexpr std::string_view kIntentionWildcard = "*";
inline constexpr std::string_view kDefaultNamespace = "default";
inline constexpr std::string_view kIntentionSourceConsul = "consul";

// Permissions[].HTTP.Header[]: exactly one of Present/Exact/Prefix/Suffix/Regex.
struct IntentionHeaderMatch {
  std::string name;
  bool present = false;
  std::string exact, prefix, suffix, regex;
  bool invert = false;
  friend bool operator==(const IntentionHeaderMatch&, const IntentionHeaderMatch&) = default;
};

// Permissions[].HTTP: at most one path match, header matches, methods.
struct IntentionHttpPermission {
  std::string path_exact, path_prefix, path_regex;
  std::vector<IntentionHeaderMatch> header;
  std::vector<std::string> methods;  // upper case after normalization
  friend bool operator==(const IntentionHttpPermission&, const IntentionHttpPermission&) = default;
};

// One L7 rule: allow or deny the requests HTTP matches.
struct IntentionPermission {
  std::string action;
  std::optional<IntentionHttpPermission> http;
  friend bool operator==(const IntentionPermission&, const IntentionPermission&) = default;
};

// Sources[] of a service-intentions entry.
struct SourceIntention {
  std::string name;
  std::string ns;  // "Namespace"; "" means "default"
  std::string action;  // "allow" | "deny"; empty when permissions are given
  std::vector<IntentionPermission> permissions;
  int precedence = 0;  // computed by normalize_intentions(), never trusted from input
  std::string legacy_id;
  std::string type = std::string(kIntentionSourceConsul);
  std::string description;
  StringMap legacy_meta;
  std::string legacy_create_time, legacy_update_time;  // RFC 3339 text, "" when unset
  friend bool operator==(const SourceIntention&, const SourceIntention&) = default;
};

// The service-intentions config entry: Name is the destination.
struct ServiceIntentions {
  std::string name;
  std::string ns;
  std::vector<SourceIntention> sources;
  StringMap meta;
  friend bool operator==(const ServiceIntentions&, const ServiceIntentions&) = default;
};

// The namespace as Consul compares it ("" → "default").
inline std::string_view namespace_or_default(std::string_view ns) { return ns.empty() ? kDefaultNamespace : ns; }

// Consul's precedence (config_entry_intentions.go computeIntentionPrecedence):
// the destination's exact parts choose the band (2 exact: 9, name "*": 6,
// namespace "*": 3), the source's take 0, 1 or 2 off it:
//   src ns/name   dst ns/name   precedence
//   exact/exact   exact/exact   9
//   exact/*       exact/exact   8
//   */*           exact/exact   7
//   exact/exact   exact/*       6   ... down to */* → */* = 1.
int intention_precedence(std::string_view src_ns, std::string_view src_name, std::string_view dst_ns,
                         std::string_view dst_name);

// Decodes an entry body (Go-style: names case-insensitive, snake_case
// aliases; unknown members are errors naming them, as Consul's config
// decoding is strict). No validation.
Result<ServiceIntentions> decode_service_intentions(std::string_view json);
// Defaults (Type "consul", namespaces), precedence, upper-case methods, and
// sources sorted by precedence (stable), as Consul's normalize.
void normalize_intentions(ServiceIntentions& e);
// Consul's validate with its messages ("Sources[1].Action must be set to
// 'allow' or 'deny'"), plus regex checks. invalid_argument.
Status validate_intentions(const ServiceIntentions& e);
// The normalized body (Kind and Name first; what ConfigEntry::body holds).
std::string encode_service_intentions(const ServiceIntentions& e);
// decode → normalize → validate → encode: the /v1/config validator for kind
// service-intentions.
Result<std::string> normalize_service_intentions(std::string_view json);
// The entry in a stored ConfigEntry (its body as written by the above).
Result<ServiceIntentions> service_intentions_of(const ConfigEntry& entry);

// The intention view of /v1/connect/intentions (Consul's structs.Intention).
struct Intention {
  std::string id;  // the source's LegacyID; "" for intentions written as config entries
  std::string description;
  std::string source_ns = std::string(kDefaultNamespace), source_name;
  std::string destination_ns = std::string(kDefaultNamespace), destination_name;
  std::string source_type = std::string(kIntentionSourceConsul);
  std::string action;
  std::vector<IntentionPermission> permissions;
  StringMap meta;
  int precedence = 0;
  std::string created_at, updated_at;  // RFC 3339; "" prints Go's zero time
  uint64_t create_index = 0, modify_index = 0;
  friend bool operator==(const Intention&, const Intention&) = default;
};

// Every source of `e` as an Intention, with the entry's indexes. Meta is the
// source's LegacyMeta for legacy intentions, else the entry's Meta (Consul's
// ToIntention).
std::vector<Intention> to_intentions(const ServiceIntentions& e, uint64_t create_index, uint64_t modify_index);
// The source an intention becomes (its destination is the entry's name).
SourceIntention to_source(const Intention& ixn);

// Consul's IntentionPrecedenceSorter: precedence descending, then source
// ns, source name, destination ns, destination name ascending.
bool intention_before(const Intention& a, const Intention& b);
void sort_intentions(std::vector<Intention>& ixns);

// Consul's Intention.String(): "ID: x, Precedence: 9, Action: ALLOW, Src: web, Dst: db"
// (namespaces shown only when not default).
std::string describe_intention(const Intention& ixn);

// JSON as Consul prints it (field order of structs.Intention).
std::string to_json(const Intention& ixn);
std::string to_json(const std::vector<Intention>& ixns);
// /v1/connect/intentions/match's {"name": [...], ...} in the order asked.
std::string to_json(const std::vector<std::pair<std::string, std::vector<Intention>>>& matches);
// A request body of the intention API (POST, PUT /<id>, PUT /exact).
// Read-only fields (Precedence, CreatedAt, UpdatedAt, indexes, Hash) are
// ignored, as Consul recomputes them.
Result<Intention> decode_intention(std::string_view json);
// Responses (clients): one intention and a list.
Result<Intention> decode_intention_response(std::string_view json);
Result<std::vector<Intention>> decode_intentions(std::string_view json);

// A "ns/name" or "name" argument of match, check and exact (Consul's
// parseIntentionMatchEntry): {ns ("default" when absent), name}.
struct IntentionTarget {
  std::string ns = std::string(kDefaultNamespace);
  std::string name;
};
Result<IntentionTarget> parse_intention_target(std::string_view input);

enum class IntentionMatchBy { source, destination };

// Every intention of a set of service-intentions entries, indexed by
// destination and source so that a decision or a match is a few hash
// lookups. Immutable after build(); share it behind a shared_ptr<const>.
class IntentionIndex {
 public:
  // Entries of other kinds, or whose body does not decode, are skipped and
  // counted in skipped().
  static IntentionIndex build(const std::vector<ConfigEntry>& entries);

  struct Decision {
    bool allowed = false;
    const Intention* intention = nullptr;  // the matching intention; null: the default decided
    bool has_permissions = false;          // the match carries L7 permissions
  };
  // The highest-precedence intention matching src → dst (destination exact,
  // then its name "*", then "*/*"; within it the source the same way). An L7
  // intention (with Permissions) is decided per request by the proxy: here
  // it answers `allow_permissions` (Consul's check says true; authorize,
  // an L4 decision, says false). No match: `default_allow`.
  Decision decide(const IntentionTarget& src, const IntentionTarget& dst, bool default_allow,
                  bool allow_permissions) const;

  // Intentions that apply to `target` as a source or destination (exact and
  // wildcard), sorted by precedence (Consul's Intention.Match).
  std::vector<Intention> match(IntentionMatchBy by, const IntentionTarget& target) const;

  const Intention* find_id(std::string_view id) const;
  const Intention* find_exact(const IntentionTarget& src, const IntentionTarget& dst) const;
  // Every intention, sorted by precedence.
  const std::vector<Intention>& all() const { return all_; }
  size_t skipped() const { return skipped_; }

 private:
  static std::string key(std::string_view ns, std::string_view name);
  const Intention* lookup(const std::string& dst_key, const std::string& src_key) const;

  std::vector<Intention> all_;
  // destination key → (source key → position in all_)
  std::unordered_map<std::string, std::unordered_map<std::string, size_t>> by_destination_;
  // source key → positions in all_
  std::unordered_map<std::string, std::vector<size_t>> by_source_;
  std::unordered_map<std::string, size_t> by_id_;
  size_t skipped_ = 0;
};

// The linear-scan decision the index replaces (the bench's baseline and the
// tests' oracle): the first intention in precedence order that matches.
IntentionIndex::Decision decide_by_scan(const std::vector<Intention>& sorted, const IntentionTarget& src,
                                        const IntentionTarget& dst, bool default_allow, bool allow_permissions);

}  // namespace cairn::api
