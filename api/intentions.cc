#include "api/intentions.h"

#include <algorithm>
#include <array>
#include <tuple>
#include <regex>
#include <set>

#include "api/json_detail.h"
#include "core/strings.h"

namespace cairn::api {
namespace {

using detail::Field;
using detail::Json;

// Consul's metadata limits (structs.go): 64 pairs, 128-byte keys, 512-byte values.
constexpr size_t kMetaMaxPairs = 64;
constexpr size_t kMetaKeyMax = 128;
constexpr size_t kMetaValueMax = 512;

Error invalid(std::string what) { return Error(errc::invalid_argument, std::move(what)); }

std::string at(const std::string& path, std::string_view name) {
  return path.empty() ? std::string(name) : path + "." + std::string(name);
}
std::string index_path(const std::string& path, size_t i) { return path + "[" + std::to_string(i) + "]"; }

// Consul decodes config entries strictly (mapstructure ErrorUnused): a
// member no field knows is an error naming it (worded as api/config_entry.h's). `extra` are names accepted
// and ignored (read-only fields a client may send back).
Status check_known(const Json& j, const std::string& path, const std::vector<Field>& fields,
                   std::initializer_list<std::string_view> extra = {}) {
  if (!j.is_object()) return {};
  for (const auto& item : j.items()) {
    const std::string& key = item.key();
    bool known = std::any_of(fields.begin(), fields.end(), [&](const Field& f) {
      return std::any_of(f.names.begin(), f.names.end(),
                         [&](std::string_view n) { return !n.empty() && equal_fold(n, key); });
    });
    known = known || std::any_of(extra.begin(), extra.end(), [&](std::string_view n) { return equal_fold(n, key); });
    if (!known) return invalid(at(path, key) + ": unknown field");
  }
  return {};
}

Status decode_strict(const Json& j, const std::string& path, const std::vector<Field>& fields,
                     std::initializer_list<std::string_view> extra = {}) {
  CAIRN_RETURN_IF_ERROR(check_known(j, path, fields, extra));
  return detail::decode_object(j, path, fields);
}

template <typename T, typename Fn>
Status read_array(const Json& j, const std::string& path, std::vector<T>& out, Fn each) {
  if (!j.is_array()) return detail::type_error(path, "array", j);
  out.clear();
  for (size_t i = 0; i < j.size(); ++i) {
    T item;
    CAIRN_RETURN_IF_ERROR(each(j[i], index_path(path, i), item));
    out.push_back(std::move(item));
  }
  return {};
}

Status read_header(const Json& j, const std::string& path, IntentionHeaderMatch& h) {
  return decode_strict(j, path,
                       {detail::field({"Name"}, h.name), detail::field({"Present"}, h.present),
                        detail::field({"Exact"}, h.exact), detail::field({"Prefix"}, h.prefix),
                        detail::field({"Suffix"}, h.suffix), detail::field({"Regex"}, h.regex),
                        detail::field({"Invert"}, h.invert)});
}

Status read_http(const Json& j, const std::string& path, IntentionHttpPermission& p) {
  return decode_strict(
      j, path,
      {detail::field({"PathExact", "path_exact"}, p.path_exact), detail::field({"PathPrefix", "path_prefix"}, p.path_prefix),
       detail::field({"PathRegex", "path_regex"}, p.path_regex),
       Field{{"Header"}, [&p](const Json& v, const std::string& pp) { return read_array(v, pp, p.header, read_header); }},
       detail::field({"Methods"}, p.methods)});
}

Status read_permission(const Json& j, const std::string& path, IntentionPermission& p) {
  return decode_strict(j, path,
                       {detail::field({"Action"}, p.action), Field{{"HTTP"}, [&p](const Json& v, const std::string& pp) {
                                                                  p.http.emplace();
                                                                  return read_http(v, pp, *p.http);
                                                                }}});
}

Status read_permissions(const Json& j, const std::string& path, std::vector<IntentionPermission>& out) {
  return read_array(j, path, out, read_permission);
}

// A partition, accepted only as the default one (Cairn has no partitions).
Field partition_field(std::string& sink) { return detail::field({"Partition"}, sink); }

Status check_partition(const std::string& partition, const std::string& path) {
  if (!partition.empty() && partition != "default")
    return invalid(at(path, "Partition") + ": admin partitions are not supported");
  return {};
}

Status read_source(const Json& j, const std::string& path, SourceIntention& s) {
  std::string partition;
  s.type.clear();  // absent: normalize sets "consul"; present: validated as given
  CAIRN_RETURN_IF_ERROR(decode_strict(
      j, path,
      {detail::field({"Name"}, s.name), detail::field({"Namespace"}, s.ns), partition_field(partition),
       detail::field({"Action"}, s.action),
       Field{{"Permissions"}, [&s](const Json& v, const std::string& p) { return read_permissions(v, p, s.permissions); }},
       detail::field({"Precedence"}, s.precedence), detail::field({"LegacyID", "legacy_id"}, s.legacy_id),
       detail::field({"Type"}, s.type), detail::field({"Description"}, s.description),
       detail::field({"LegacyMeta", "legacy_meta"}, s.legacy_meta),
       detail::field({"LegacyCreateTime", "legacy_create_time"}, s.legacy_create_time),
       detail::field({"LegacyUpdateTime", "legacy_update_time"}, s.legacy_update_time)}));
  return check_partition(partition, path);
}

bool is_http_method(std::string_view m) {
  static const std::set<std::string_view> kMethods{"GET",     "HEAD",    "POST",  "PUT",  "PATCH",
                                                  "DELETE",  "CONNECT", "OPTIONS", "TRACE"};
  return kMethods.count(m) > 0;
}

Status check_regex(const std::string& pattern, const std::string& path) {
  try {
    std::regex re(pattern, std::regex::ECMAScript);
    (void)re;
  } catch (const std::regex_error& e) {
    return invalid(path + ": invalid regular expression \"" + pattern + "\": " + e.what());
  }
  return {};
}

// Consul's validateIntentionWildcards for a name and its namespace; the
// error is relative ("Name: ..."), the caller prefixes it.
Status check_wildcards(std::string_view name, std::string_view ns) {
  ns = namespace_or_default(ns);
  if (ns != kIntentionWildcard && ns.find('*') != std::string_view::npos)
    return invalid("Namespace: wildcard character '*' cannot be used with partial values");
  if (name != kIntentionWildcard) {
    if (name.find('*') != std::string_view::npos)
      return invalid("Name: wildcard character '*' cannot be used with partial values");
    if (ns == kIntentionWildcard) return invalid("Name: exact value cannot follow wildcard namespace");
  }
  return {};
}

Status check_meta(const StringMap& meta, const std::string& what) {
  if (meta.size() > kMetaMaxPairs)
    return invalid(what + " exceeds maximum element count " + std::to_string(kMetaMaxPairs));
  for (const auto& [k, v] : meta) {
    if (k.size() > kMetaKeyMax)
      return invalid(what + " key \"" + k + "\" exceeds maximum length " + std::to_string(kMetaKeyMax));
    if (v.size() > kMetaValueMax)
      return invalid(what + " value for key \"" + k + "\" exceeds maximum length " + std::to_string(kMetaValueMax));
  }
  return {};
}

Status validate_permission(const IntentionPermission& perm, const std::string& prefix) {
  if (perm.action != "allow" && perm.action != "deny")
    return invalid(prefix + ".Action must be set to 'allow' or 'deny'");
  const std::string hp = prefix + ".HTTP";
  if (!perm.http) return invalid(hp + " is required");
  const auto& h = *perm.http;
  int path_parts = 0;
  if (!h.path_exact.empty()) {
    ++path_parts;
    if (h.path_exact[0] != '/') return invalid(hp + ".PathExact doesn't start with '/': \"" + h.path_exact + "\"");
  }
  if (!h.path_prefix.empty()) {
    ++path_parts;
    if (h.path_prefix[0] != '/') return invalid(hp + ".PathPrefix doesn't start with '/': \"" + h.path_prefix + "\"");
  }
  if (!h.path_regex.empty()) {
    ++path_parts;
    CAIRN_RETURN_IF_ERROR(check_regex(h.path_regex, hp + ".PathRegex"));
  }
  if (path_parts > 1) return invalid(hp + " should only contain at most one of PathExact, PathPrefix, or PathRegex");
  int parts = path_parts;
  for (size_t k = 0; k < h.header.size(); ++k) {
    const auto& hdr = h.header[k];
    std::string hdr_path = index_path(hp + ".Header", k);
    if (hdr.name.empty()) return invalid(hdr_path + " missing required Name field");
    int kinds = int(hdr.present) + int(!hdr.exact.empty()) + int(!hdr.regex.empty()) + int(!hdr.prefix.empty()) +
                int(!hdr.suffix.empty());
    if (kinds != 1) return invalid(hdr_path + " should only contain one of Present, Exact, Prefix, Suffix, or Regex");
    if (!hdr.regex.empty()) CAIRN_RETURN_IF_ERROR(check_regex(hdr.regex, hdr_path + ".Regex"));
    ++parts;
  }
  if (!h.methods.empty()) {
    std::set<std::string> seen;
    for (const auto& m : h.methods) {
      if (!is_http_method(m)) return invalid(hp + ".Methods contains an invalid method \"" + m + "\"");
      if (!seen.insert(m).second) return invalid(hp + ".Methods contains \"" + m + "\" more than once");
    }
    ++parts;
  }
  if (parts == 0) return invalid(hp + " should not be empty");
  return {};
}

// ---- encoding ----

Json encode_permission(const IntentionPermission& p) {
  Json j = Json::object();
  j["Action"] = p.action;
  if (p.http) {
    const auto& h = *p.http;
    Json hj = Json::object();
    if (!h.path_exact.empty()) hj["PathExact"] = h.path_exact;
    if (!h.path_prefix.empty()) hj["PathPrefix"] = h.path_prefix;
    if (!h.path_regex.empty()) hj["PathRegex"] = h.path_regex;
    if (!h.header.empty()) {
      Json arr = Json::array();
      for (const auto& hdr : h.header) {
        Json x = Json::object();
        x["Name"] = hdr.name;
        if (hdr.present) x["Present"] = true;
        if (!hdr.exact.empty()) x["Exact"] = hdr.exact;
        if (!hdr.prefix.empty()) x["Prefix"] = hdr.prefix;
        if (!hdr.suffix.empty()) x["Suffix"] = hdr.suffix;
        if (!hdr.regex.empty()) x["Regex"] = hdr.regex;
        if (hdr.invert) x["Invert"] = true;
        arr.push_back(std::move(x));
      }
      hj["Header"] = std::move(arr);
    }
    if (!h.methods.empty()) hj["Methods"] = h.methods;
    j["HTTP"] = std::move(hj);
  }
  return j;
}

Json encode_permissions(const std::vector<IntentionPermission>& ps) {
  Json arr = Json::array();
  for (const auto& p : ps) arr.push_back(encode_permission(p));
  return arr;
}

Json encode_map(const StringMap& m) {
  Json j = Json::object();
  for (const auto& [k, v] : m) j[k] = v;
  return j;
}

// Go's zero time.Time as JSON.
constexpr std::string_view kZeroTime = "0001-01-01T00:00:00Z";

Json encode_intention(const Intention& x) {
  Json j = Json::object();
  j["ID"] = x.id;
  if (!x.description.empty()) j["Description"] = x.description;
  j["SourceNS"] = x.source_ns;
  j["SourceName"] = x.source_name;
  j["DestinationNS"] = x.destination_ns;
  j["DestinationName"] = x.destination_name;
  j["SourceType"] = x.source_type;
  if (!x.action.empty()) j["Action"] = x.action;
  if (!x.permissions.empty()) j["Permissions"] = encode_permissions(x.permissions);
  j["Meta"] = encode_map(x.meta);
  j["Precedence"] = x.precedence;
  j["CreatedAt"] = x.created_at.empty() ? std::string(kZeroTime) : x.created_at;
  j["UpdatedAt"] = x.updated_at.empty() ? std::string(kZeroTime) : x.updated_at;
  j["CreateIndex"] = x.create_index;
  j["ModifyIndex"] = x.modify_index;
  return j;
}

std::vector<Field> intention_fields(Intention& x, std::string& partition_src, std::string& partition_dst) {
  return {detail::field({"ID"}, x.id),
          detail::field({"Description"}, x.description),
          detail::field({"SourceNS", "source_ns"}, x.source_ns),
          detail::field({"SourceName", "source_name"}, x.source_name),
          detail::field({"DestinationNS", "destination_ns"}, x.destination_ns),
          detail::field({"DestinationName", "destination_name"}, x.destination_name),
          detail::field({"SourcePartition", "source_partition"}, partition_src),
          detail::field({"DestinationPartition", "destination_partition"}, partition_dst),
          detail::field({"SourceType", "source_type"}, x.source_type),
          detail::field({"Action"}, x.action),
          Field{{"Permissions"}, [&x](const Json& v, const std::string& p) { return read_permissions(v, p, x.permissions); }},
          detail::field({"Meta"}, x.meta)};
}

Status read_intention(const Json& j, const std::string& path, Intention& x, bool response) {
  std::string ps, pd;
  auto fields = intention_fields(x, ps, pd);
  if (response) {
    fields.push_back(detail::field({"Precedence"}, x.precedence));
    fields.push_back(detail::field({"CreatedAt"}, x.created_at));
    fields.push_back(detail::field({"UpdatedAt"}, x.updated_at));
    fields.push_back(detail::field({"CreateIndex"}, x.create_index));
    fields.push_back(detail::field({"ModifyIndex"}, x.modify_index));
  }
  CAIRN_RETURN_IF_ERROR(detail::decode_object(j, path, fields));
  CAIRN_RETURN_IF_ERROR(check_partition(ps, at(path, "Source")));
  return check_partition(pd, at(path, "Destination"));
}

}  // namespace

int intention_precedence(std::string_view src_ns, std::string_view src_name, std::string_view dst_ns,
                         std::string_view dst_name) {
  auto count_exact = [](std::string_view ns, std::string_view name) {
    if (namespace_or_default(ns) == kIntentionWildcard) return 0;
    return name == kIntentionWildcard ? 1 : 2;
  };
  static constexpr int kBand[] = {3, 6, 9};
  return kBand[count_exact(dst_ns, dst_name)] - (2 - count_exact(src_ns, src_name));
}

Result<ServiceIntentions> decode_service_intentions(std::string_view json) {
  auto j = detail::parse_body(json);
  if (!j.ok()) return j.error();
  ServiceIntentions e;
  std::string kind, partition;
  Status st = decode_strict(
      *j, "",
      {detail::field({"Kind"}, kind), detail::field({"Name"}, e.name), detail::field({"Namespace"}, e.ns),
       partition_field(partition),
       Field{{"Sources"},
             [&e](const Json& v, const std::string& p) {
               return read_array(v, p, e.sources, [](const Json& s, const std::string& sp, SourceIntention& out) {
                 return read_source(s, sp, out);
               });
             }},
       detail::field({"Meta"}, e.meta)},
      {"CreateIndex", "ModifyIndex", "Hash"});
  if (!st.ok()) return detail::decode_failed(st.error());
  if (!kind.empty() && kind != kServiceIntentionsKind)
    return invalid("Kind: expected \"" + std::string(kServiceIntentionsKind) + "\", got \"" + kind + "\"");
  CAIRN_RETURN_IF_ERROR(check_partition(partition, ""));
  return e;
}

void normalize_intentions(ServiceIntentions& e) {
  if (e.ns == kDefaultNamespace) e.ns.clear();
  for (auto& s : e.sources) {
    if (s.type.empty()) s.type = std::string(kIntentionSourceConsul);
    // A source without a namespace is in the destination's (Consul's MergeNoWildcard).
    if (s.ns.empty() && e.ns != kIntentionWildcard) s.ns = e.ns;
    if (s.ns == kDefaultNamespace) s.ns.clear();
    s.precedence = intention_precedence(s.ns, s.name, e.ns, e.name);
    for (auto& p : s.permissions) {
      if (!p.http) continue;
      for (auto& m : p.http->methods) std::transform(m.begin(), m.end(), m.begin(), [](unsigned char c) {
        return static_cast<char>(std::toupper(c));
      });
    }
  }
  std::stable_sort(e.sources.begin(), e.sources.end(),
                   [](const SourceIntention& a, const SourceIntention& b) { return a.precedence > b.precedence; });
}

Status validate_intentions(const ServiceIntentions& e) {
  if (e.name.empty()) return invalid("Name is required");
  CAIRN_RETURN_IF_ERROR(check_wildcards(e.name, e.ns));
  CAIRN_RETURN_IF_ERROR(check_meta(e.meta, "Meta"));
  if (e.sources.empty()) return invalid("At least one source is required");
  bool dest_wild = namespace_or_default(e.ns) == kIntentionWildcard || e.name == kIntentionWildcard;
  std::set<std::pair<std::string, std::string>> seen;
  for (size_t i = 0; i < e.sources.size(); ++i) {
    const auto& s = e.sources[i];
    const std::string sp = index_path("Sources", i);
    if (s.name.empty()) return invalid(sp + ".Name is required");
    if (auto st = check_wildcards(s.name, s.ns); !st.ok()) return invalid(sp + "." + st.error().message());
    if (s.description.size() > kMetaValueMax)
      return invalid(sp + ".Description exceeds maximum length " + std::to_string(kMetaValueMax));
    if (!s.legacy_meta.empty()) {
      if (s.legacy_id.empty()) return invalid(sp + ".LegacyMeta must be omitted");
      CAIRN_RETURN_IF_ERROR(check_meta(s.legacy_meta, sp + ".Meta"));
    }
    if (s.permissions.empty() && s.action != "allow" && s.action != "deny")
      return invalid(sp + ".Action must be set to 'allow' or 'deny'");
    if (!s.permissions.empty() && !s.action.empty())
      return invalid(sp + ".Action must be omitted if Permissions are specified");
    if (dest_wild && !s.permissions.empty())
      return invalid(sp + ".Permissions cannot be specified on intentions with wildcarded destinations");
    if (s.type != kIntentionSourceConsul) return invalid(sp + ".Type must be set to 'consul'");
    for (size_t j = 0; j < s.permissions.size(); ++j)
      CAIRN_RETURN_IF_ERROR(validate_permission(s.permissions[j], index_path(sp + ".Permissions", j)));
    if (!seen.emplace(std::string(namespace_or_default(s.ns)), s.name).second)
      return invalid(sp + " defines \"" + s.name + "\" more than once");
  }
  return {};
}

std::string encode_service_intentions(const ServiceIntentions& e) {
  Json j = Json::object();
  j["Kind"] = kServiceIntentionsKind;
  j["Name"] = e.name;
  if (!e.ns.empty()) j["Namespace"] = e.ns;
  Json sources = Json::array();
  for (const auto& s : e.sources) {
    Json sj = Json::object();
    sj["Name"] = s.name;
    if (!s.ns.empty()) sj["Namespace"] = s.ns;
    if (!s.action.empty()) sj["Action"] = s.action;
    if (!s.permissions.empty()) sj["Permissions"] = encode_permissions(s.permissions);
    sj["Precedence"] = s.precedence;
    if (!s.legacy_id.empty()) sj["LegacyID"] = s.legacy_id;
    sj["Type"] = s.type;
    if (!s.description.empty()) sj["Description"] = s.description;
    if (!s.legacy_meta.empty()) sj["LegacyMeta"] = encode_map(s.legacy_meta);
    if (!s.legacy_create_time.empty()) sj["LegacyCreateTime"] = s.legacy_create_time;
    if (!s.legacy_update_time.empty()) sj["LegacyUpdateTime"] = s.legacy_update_time;
    sources.push_back(std::move(sj));
  }
  j["Sources"] = std::move(sources);
  if (!e.meta.empty()) j["Meta"] = encode_map(e.meta);
  return j.dump();
}

Result<std::string> normalize_service_intentions(std::string_view json) {
  CAIRN_TRY(ServiceIntentions e, decode_service_intentions(json));
  normalize_intentions(e);
  CAIRN_RETURN_IF_ERROR(validate_intentions(e));
  return encode_service_intentions(e);
}

Result<ServiceIntentions> service_intentions_of(const ConfigEntry& entry) {
  if (entry.kind != kServiceIntentionsKind) return invalid("config entry " + entry.kind + "/" + entry.name + " is not a service-intentions entry");
  CAIRN_TRY(ServiceIntentions e, decode_service_intentions(entry.body));
  normalize_intentions(e);
  return e;
}

std::vector<Intention> to_intentions(const ServiceIntentions& e, uint64_t create_index, uint64_t modify_index) {
  std::vector<Intention> out;
  out.reserve(e.sources.size());
  for (const auto& s : e.sources) {
    Intention x;
    x.id = s.legacy_id;
    x.description = s.description;
    x.source_ns = std::string(namespace_or_default(s.ns));
    x.source_name = s.name;
    x.destination_ns = std::string(namespace_or_default(e.ns));
    x.destination_name = e.name;
    x.source_type = s.type;
    x.action = s.action;
    x.permissions = s.permissions;
    x.meta = s.legacy_id.empty() ? e.meta : s.legacy_meta;
    x.precedence = s.precedence;
    x.created_at = s.legacy_create_time;
    x.updated_at = s.legacy_update_time;
    x.create_index = create_index;
    x.modify_index = modify_index;
    out.push_back(std::move(x));
  }
  return out;
}

SourceIntention to_source(const Intention& x) {
  SourceIntention s;
  s.name = x.source_name;
  s.ns = x.source_ns == kDefaultNamespace ? std::string() : x.source_ns;
  s.action = x.action;
  s.permissions = x.permissions;
  s.legacy_id = x.id;
  s.type = x.source_type.empty() ? std::string(kIntentionSourceConsul) : x.source_type;
  s.description = x.description;
  if (!x.id.empty()) {
    s.legacy_meta = x.meta;
    s.legacy_create_time = x.created_at;
    s.legacy_update_time = x.updated_at;
  }
  return s;
}

bool intention_before(const Intention& a, const Intention& b) {
  if (a.precedence != b.precedence) return a.precedence > b.precedence;
  return std::tie(a.source_ns, a.source_name, a.destination_ns, a.destination_name) <
         std::tie(b.source_ns, b.source_name, b.destination_ns, b.destination_name);
}

void sort_intentions(std::vector<Intention>& ixns) { std::sort(ixns.begin(), ixns.end(), intention_before); }

std::string describe_intention(const Intention& x) {
  auto show = [](const std::string& ns, const std::string& name) {
    return ns == kDefaultNamespace ? name : ns + "/" + name;
  };
  std::string action = x.action;
  std::transform(action.begin(), action.end(), action.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  std::string out = x.id.empty() ? "" : "ID: " + x.id + ", ";
  out += "Precedence: " + std::to_string(x.precedence) + ", Action: " + action +
         ", Src: " + show(x.source_ns, x.source_name) + ", Dst: " + show(x.destination_ns, x.destination_name);
  return out;
}

std::string to_json(const Intention& ixn) { return encode_intention(ixn).dump(); }

std::string to_json(const std::vector<Intention>& ixns) {
  Json arr = Json::array();
  for (const auto& x : ixns) arr.push_back(encode_intention(x));
  return arr.dump();
}

std::string to_json(const std::vector<std::pair<std::string, std::vector<Intention>>>& matches) {
  Json out = Json::object();
  for (const auto& [name, ixns] : matches) {
    Json arr = Json::array();
    for (const auto& x : ixns) arr.push_back(encode_intention(x));
    out[name] = std::move(arr);
  }
  return out.dump();
}

Result<Intention> decode_intention(std::string_view json) {
  auto j = detail::parse_body(json);
  if (!j.ok()) return j.error();
  Intention x;
  x.source_ns.clear();
  x.destination_ns.clear();
  x.source_type.clear();
  if (auto st = read_intention(*j, "", x, false); !st.ok()) return detail::decode_failed(st.error());
  return x;
}

Result<Intention> decode_intention_response(std::string_view json) {
  auto j = detail::parse_body(json, detail::kResponseFailed);
  if (!j.ok()) return j.error();
  Intention x;
  if (auto st = read_intention(*j, "", x, true); !st.ok()) return detail::decode_failed(st.error(), detail::kResponseFailed);
  return x;
}

Result<std::vector<Intention>> decode_intentions(std::string_view json) {
  auto j = detail::parse_body(json, detail::kResponseFailed);
  if (!j.ok()) return j.error();
  std::vector<Intention> out;
  if (j->is_null()) return out;
  auto st = read_array(*j, "", out, [](const Json& v, const std::string& p, Intention& x) {
    return read_intention(v, p, x, true);
  });
  if (!st.ok()) return detail::decode_failed(st.error(), detail::kResponseFailed);
  return out;
}

Result<IntentionTarget> parse_intention_target(std::string_view input) {
  IntentionTarget t;
  auto slash = input.find('/');
  if (slash == std::string_view::npos) {
    t.name = std::string(input);
  } else {
    t.ns = std::string(input.substr(0, slash));
    t.name = std::string(input.substr(slash + 1));
    if (t.name.find('/') != std::string::npos) return invalid("input can contain at most one '/'");
    if (t.ns.empty()) t.ns = std::string(kDefaultNamespace);
  }
  return t;
}

// ---- IntentionIndex ----

std::string IntentionIndex::key(std::string_view ns, std::string_view name) {
  std::string k(namespace_or_default(ns));
  k.push_back('\0');
  k.append(name);
  return k;
}

IntentionIndex IntentionIndex::build(const std::vector<ConfigEntry>& entries) {
  IntentionIndex idx;
  for (const auto& entry : entries) {
    auto e = service_intentions_of(entry);
    if (!e.ok()) {
      ++idx.skipped_;
      continue;
    }
    auto ixns = to_intentions(*e, entry.create_index, entry.modify_index);
    idx.all_.insert(idx.all_.end(), std::make_move_iterator(ixns.begin()), std::make_move_iterator(ixns.end()));
  }
  sort_intentions(idx.all_);
  for (size_t i = 0; i < idx.all_.size(); ++i) {
    const auto& x = idx.all_[i];
    idx.by_destination_[key(x.destination_ns, x.destination_name)].emplace(key(x.source_ns, x.source_name), i);
    idx.by_source_[key(x.source_ns, x.source_name)].push_back(i);
    if (!x.id.empty()) idx.by_id_.emplace(x.id, i);
  }
  return idx;
}

const Intention* IntentionIndex::lookup(const std::string& dst_key, const std::string& src_key) const {
  auto d = by_destination_.find(dst_key);
  if (d == by_destination_.end()) return nullptr;
  auto s = d->second.find(src_key);
  return s == d->second.end() ? nullptr : &all_[s->second];
}

namespace {
// The keys a concrete ns/name matches, most specific first: itself, its
// namespace's "*", then "*/*" (Consul's precedence bands).
std::array<std::pair<std::string_view, std::string_view>, 3> candidates(const IntentionTarget& t) {
  return {{{t.ns, t.name}, {t.ns, kIntentionWildcard}, {kIntentionWildcard, kIntentionWildcard}}};
}

IntentionIndex::Decision decision_for(const Intention* x, bool default_allow, bool allow_permissions) {
  IntentionIndex::Decision d;
  d.intention = x;
  if (!x) {
    d.allowed = default_allow;
  } else if (!x->permissions.empty()) {
    d.has_permissions = true;
    d.allowed = allow_permissions;
  } else {
    d.allowed = x->action == "allow";
  }
  return d;
}

bool matches(std::string_view want_ns, std::string_view want_name, const IntentionTarget& t) {
  want_ns = namespace_or_default(want_ns);
  if (want_ns == kIntentionWildcard) return true;
  if (want_ns != namespace_or_default(t.ns)) return false;
  return want_name == kIntentionWildcard || want_name == t.name;
}
}  // namespace

IntentionIndex::Decision IntentionIndex::decide(const IntentionTarget& src, const IntentionTarget& dst,
                                                bool default_allow, bool allow_permissions) const {
  // Every destination key of a band outranks every key of the next band,
  // whatever the source, so the first hit in this order is the highest
  // precedence match.
  for (const auto& [dns, dname] : candidates(dst)) {
    auto d = by_destination_.find(key(dns, dname));
    if (d == by_destination_.end()) continue;
    for (const auto& [sns, sname] : candidates(src)) {
      auto s = d->second.find(key(sns, sname));
      if (s != d->second.end()) return decision_for(&all_[s->second], default_allow, allow_permissions);
    }
  }
  return decision_for(nullptr, default_allow, allow_permissions);
}

std::vector<Intention> IntentionIndex::match(IntentionMatchBy by, const IntentionTarget& target) const {
  std::vector<Intention> out;
  std::set<std::string> seen;  // "*" as the name makes two candidates the same key
  for (const auto& [ns, name] : candidates(target)) {
    std::string k = key(ns, name);
    if (!seen.insert(k).second) continue;
    if (by == IntentionMatchBy::destination) {
      auto d = by_destination_.find(k);
      if (d == by_destination_.end()) continue;
      for (const auto& [src, i] : d->second) out.push_back(all_[i]);
    } else {
      auto s = by_source_.find(k);
      if (s == by_source_.end()) continue;
      for (size_t i : s->second) out.push_back(all_[i]);
    }
  }
  sort_intentions(out);
  return out;
}

const Intention* IntentionIndex::find_id(std::string_view id) const {
  auto it = by_id_.find(std::string(id));
  return it == by_id_.end() ? nullptr : &all_[it->second];
}

const Intention* IntentionIndex::find_exact(const IntentionTarget& src, const IntentionTarget& dst) const {
  return lookup(key(dst.ns, dst.name), key(src.ns, src.name));
}

IntentionIndex::Decision decide_by_scan(const std::vector<Intention>& sorted, const IntentionTarget& src,
                                        const IntentionTarget& dst, bool default_allow, bool allow_permissions) {
  for (const auto& x : sorted) {
    if (matches(x.destination_ns, x.destination_name, dst) && matches(x.source_ns, x.source_name, src))
      return decision_for(&x, default_allow, allow_permissions);
  }
  return decision_for(nullptr, default_allow, allow_permissions);
}

}  // namespace cairn::api
