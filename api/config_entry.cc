// Config entries: one schema per kind drives decoding (names matched
// case-insensitively, snake_case accepted, unknown fields refused) and the
// canonical output; then each kind's rules (Consul's Validate) run on the
// canonical JSON. See api/config_entry.h.
#include "api/config_entry.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <memory>
#include <regex>
#include <set>

#include "api/intentions.h"
#include "api/config_entry_detail.h"
#include "api/json_detail.h"
#include "core/duration.h"

namespace cairn::api {
namespace {

using detail::Json;
using namespace config_entry_detail;

// ---- the schema ----

enum class T { str, boolean, integer, number, duration, strings, uints, string_map, any, object, list, map };

struct Node;
using NodeP = std::shared_ptr<const Node>;
struct Member {
  std::string name;
  NodeP node;
  bool keep = false;  // printed even when zero (no omitempty in Consul)
};
struct Node {
  T type = T::str;
  std::vector<Member> members;  // object
  NodeP elem;                   // list, map
  int64_t lo = 0, hi = 0;       // integer
};

NodeP leaf(T t) {
  auto n = std::make_shared<Node>();
  n->type = t;
  return n;
}
NodeP integer(int64_t lo, int64_t hi) {
  auto n = std::make_shared<Node>();
  n->type = T::integer;
  n->lo = lo;
  n->hi = hi;
  return n;
}
NodeP object(std::vector<Member> members) {
  auto n = std::make_shared<Node>();
  n->type = T::object;
  n->members = std::move(members);
  return n;
}
NodeP list_of(NodeP elem) {
  auto n = std::make_shared<Node>();
  n->type = T::list;
  n->elem = std::move(elem);
  return n;
}
NodeP map_of(NodeP elem) {
  auto n = std::make_shared<Node>();
  n->type = T::map;
  n->elem = std::move(elem);
  return n;
}

const NodeP kStr = leaf(T::str);
const NodeP kBool = leaf(T::boolean);
const NodeP kNumber = leaf(T::number);
const NodeP kDuration = leaf(T::duration);
const NodeP kStrings = leaf(T::strings);
const NodeP kUints = leaf(T::uints);
const NodeP kStringMap = leaf(T::string_map);
const NodeP kAny = leaf(T::any);
const NodeP kCount = integer(0, 2147483647);
const NodeP kPort = integer(0, 65535);

// Kind and Name first, then the kind's fields, then Meta: Consul's order.
NodeP entry_schema(std::vector<Member> fields) {
  std::vector<Member> all{{"Kind", kStr, true}, {"Name", kStr, true}, {"Namespace", kStr}, {"Partition", kStr}};
  for (auto& f : fields) all.push_back(std::move(f));
  all.push_back({"Meta", kStringMap});
  return object(std::move(all));
}

NodeP mesh_gateway() { return object({{"Mode", kStr}}); }
NodeP transparent_proxy() { return object({{"OutboundListenerPort", kPort}, {"DialedDirectly", kBool}}); }
NodeP expose() {
  return object({{"Checks", kBool},
                 {"Paths", list_of(object({{"ListenerPort", kPort},
                                           {"Path", kStr},
                                           {"LocalPathPort", kPort},
                                           {"Protocol", kStr}}))}});
}
NodeP header_modifiers() { return object({{"Add", kStringMap}, {"Set", kStringMap}, {"Remove", kStrings}}); }
NodeP upstream_config() {
  return object({{"Name", kStr},
                 {"Namespace", kStr},
                 {"Partition", kStr},
                 {"Peer", kStr},
                 {"EnvoyListenerJSON", kStr},
                 {"EnvoyClusterJSON", kStr},
                 {"Protocol", kStr},
                 {"ConnectTimeoutMs", kCount},
                 {"Limits", object({{"MaxConnections", kCount},
                                    {"MaxPendingRequests", kCount},
                                    {"MaxConcurrentRequests", kCount}})},
                 {"PassiveHealthCheck", object({{"Interval", kDuration},
                                                {"MaxFailures", kCount},
                                                {"EnforcingConsecutive5xx", integer(0, 100)}})},
                 {"MeshGateway", mesh_gateway()},
                 {"BalanceOutboundConnections", kStr}});
}

NodeP service_defaults_schema() {
  static const NodeP s = entry_schema({
      {"Protocol", kStr},
      {"Mode", kStr},
      {"TransparentProxy", transparent_proxy()},
      {"MutualTLSMode", kStr},
      {"MeshGateway", mesh_gateway()},
      {"Expose", expose()},
      {"ExternalSNI", kStr},
      {"UpstreamConfig", object({{"Overrides", list_of(upstream_config())}, {"Defaults", upstream_config()}})},
      {"Destination", object({{"Addresses", kStrings}, {"Port", kPort}})},
      {"MaxInboundConnections", kCount},
      {"LocalConnectTimeoutMs", kCount},
      {"LocalRequestTimeoutMs", kCount},
      {"BalanceInboundConnections", kStr},
  });
  return s;
}

NodeP proxy_defaults_schema() {
  static const NodeP s = entry_schema({
      {"Config", kAny},
      {"Mode", kStr},
      {"TransparentProxy", transparent_proxy()},
      {"MutualTLSMode", kStr},
      {"MeshGateway", mesh_gateway()},
      {"Expose", expose()},
      {"AccessLogs", object({{"Enabled", kBool},
                             {"DisableListenerLogs", kBool},
                             {"Type", kStr},
                             {"Path", kStr},
                             {"JSONFormat", kStr},
                             {"TextFormat", kStr}})},
  });
  return s;
}

NodeP service_router_schema() {
  static const NodeP s = [] {
    NodeP header = object({{"Name", kStr, true},
                           {"Present", kBool},
                           {"Exact", kStr},
                           {"Prefix", kStr},
                           {"Suffix", kStr},
                           {"Regex", kStr},
                           {"Invert", kBool}});
    NodeP query = object({{"Name", kStr, true}, {"Present", kBool}, {"Exact", kStr}, {"Regex", kStr}});
    NodeP http = object({{"PathExact", kStr},
                         {"PathPrefix", kStr},
                         {"PathRegex", kStr},
                         {"Header", list_of(header)},
                         {"QueryParam", list_of(query)},
                         {"Methods", kStrings}});
    NodeP destination = object({{"Service", kStr},
                                {"ServiceSubset", kStr},
                                {"Namespace", kStr},
                                {"Partition", kStr},
                                {"PrefixRewrite", kStr},
                                {"RequestTimeout", kDuration},
                                {"IdleTimeout", kDuration},
                                {"NumRetries", integer(0, 4294967295)},
                                {"RetryOnConnectFailure", kBool},
                                {"RetryOn", kStrings},
                                {"RetryOnStatusCodes", kUints},
                                {"RequestHeaders", header_modifiers()},
                                {"ResponseHeaders", header_modifiers()}});
    return entry_schema({{"Routes", list_of(object({{"Match", object({{"HTTP", http}})}, {"Destination", destination}}))}});
  }();
  return s;
}

NodeP service_splitter_schema() {
  static const NodeP s = entry_schema({{"Splits", list_of(object({{"Weight", kNumber, true},
                                                                   {"Service", kStr},
                                                                   {"ServiceSubset", kStr},
                                                                   {"Namespace", kStr},
                                                                   {"Partition", kStr},
                                                                   {"RequestHeaders", header_modifiers()},
                                                                   {"ResponseHeaders", header_modifiers()}}))}});
  return s;
}

NodeP service_resolver_schema() {
  static const NodeP s = entry_schema({
      {"DefaultSubset", kStr},
      {"Subsets", map_of(object({{"Filter", kStr}, {"OnlyPassing", kBool}}))},
      {"Redirect", object({{"Service", kStr},
                           {"ServiceSubset", kStr},
                           {"Namespace", kStr},
                           {"Partition", kStr},
                           {"Datacenter", kStr},
                           {"Peer", kStr}})},
      {"Failover",
       map_of(object({{"Service", kStr}, {"ServiceSubset", kStr}, {"Namespace", kStr}, {"Datacenters", kStrings}}))},
      {"ConnectTimeout", kDuration},
      {"RequestTimeout", kDuration},
      {"LoadBalancer",
       object({{"Policy", kStr},
               {"RingHashConfig", object({{"MinimumRingSize", kCount}, {"MaximumRingSize", kCount}})},
               {"LeastRequestConfig", object({{"ChoiceCount", kCount}})},
               {"HashPolicies", list_of(object({{"Field", kStr},
                                                {"FieldValue", kStr},
                                                {"CookieConfig", object({{"Session", kBool},
                                                                         {"TTL", kDuration},
                                                                         {"Path", kStr}})},
                                                {"SourceIP", kBool},
                                                {"Terminal", kBool}}))}})},
  });
  return s;
}

// ---- decoding against the schema ----

Error field_error(const std::string& path, std::string_view why) {
  return Error(errc::invalid_argument, path + ": " + std::string(why));
}

// Go matches names case-insensitively; Consul also accepts snake_case.
std::string fold_name(std::string_view s) {
  std::string out;
  for (char c : s)
    if (c != '_' && c != '-') out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  return out;
}

bool is_zero(const Json& j) {
  if (j.is_null()) return true;
  if (j.is_string()) return j.get_ref<const std::string&>().empty();
  if (j.is_boolean()) return !j.get<bool>();
  if (j.is_number()) return j.get<double>() == 0;
  return j.empty();  // arrays, objects
}

std::string join(const std::string& path, std::string_view name) {
  return path.empty() ? std::string(name) : path + "." + std::string(name);
}

// Go's maps print sorted by key; nlohmann::json (unordered) sorts.
Json sorted(const Json& j) {
  if (j.is_object()) {
    std::map<std::string, const Json*> by_key;
    for (const auto& [k, v] : j.items()) by_key[k] = &v;  // the last duplicate wins
    Json out = Json::object();
    for (const auto& [k, v] : by_key) out[k] = sorted(*v);
    return out;
  }
  if (j.is_array()) {
    Json out = Json::array();
    for (const auto& v : j) out.push_back(sorted(v));
    return out;
  }
  return j;
}

Result<Json> normalize(const Node& n, const Json& in, const std::string& path);

Result<Json> normalize_object(const Node& n, const Json& in, const std::string& path) {
  if (!in.is_object()) return detail::type_error(path.empty() ? "body" : path, "object", in);
  std::vector<Json> values(n.members.size());
  for (const auto& [key, value] : in.items()) {
    std::string folded = fold_name(key);
    auto m = std::find_if(n.members.begin(), n.members.end(),
                          [&](const Member& x) { return fold_name(x.name) == folded; });
    if (m == n.members.end()) return field_error(join(path, key), "unknown field");
    if (value.is_null()) continue;  // Go leaves the zero value
    CAIRN_TRY(Json v, normalize(*m->node, value, join(path, m->name)));
    values[static_cast<size_t>(m - n.members.begin())] = std::move(v);  // the last duplicate wins
  }
  Json out = Json::object();
  for (size_t i = 0; i < n.members.size(); ++i) {
    const Member& m = n.members[i];
    if (is_zero(values[i]) && !m.keep) continue;
    if (values[i].is_null()) {
      values[i] = m.node->type == T::str ? Json("") : m.node->type == T::number ? Json(0) : Json(false);
    }
    out[m.name] = std::move(values[i]);
  }
  return out;
}

Result<Json> normalize(const Node& n, const Json& in, const std::string& path) {
  switch (n.type) {
    case T::str:
      if (!in.is_string()) return detail::type_error(path, "string", in);
      return in;
    case T::boolean:
      if (!in.is_boolean()) return detail::type_error(path, "bool", in);
      return in;
    case T::number: {
      if (!in.is_number()) return detail::type_error(path, "number", in);
      double d = in.get<double>();
      if (d == std::floor(d) && std::fabs(d) < 1e15) return Json(static_cast<int64_t>(d));
      return Json(d);
    }
    case T::integer: {
      if (!in.is_number()) return detail::type_error(path, "number", in);
      double d = in.get<double>();
      if (d != std::floor(d)) return field_error(path, "expected an integer, got " + in.dump());
      if (d < static_cast<double>(n.lo) || d > static_cast<double>(n.hi))
        return field_error(path, "must be between " + std::to_string(n.lo) + " and " + std::to_string(n.hi) +
                                     ", got " + in.dump());
      return Json(static_cast<int64_t>(d));
    }
    case T::duration: {
      Duration d{0};
      if (auto st = detail::read(in, path, d); !st.ok()) return st.error();
      if (d.count() < 0) return field_error(path, "must not be negative, got " + in.dump());
      if (d.count() == 0) return Json();
      return Json(format_duration(d));
    }
    case T::strings:
    case T::uints: {
      if (!in.is_array()) return detail::type_error(path, "array", in);
      Json out = Json::array();
      size_t i = 0;
      for (const auto& v : in) {
        std::string p = path + "[" + std::to_string(i++) + "]";
        if (n.type == T::strings) {
          if (!v.is_string()) return detail::type_error(p, "string", v);
        } else if (!v.is_number() || v.get<double>() < 0 || v.get<double>() != std::floor(v.get<double>()) ||
                   v.get<double>() > 4294967295.0) {
          return field_error(p, "expected an unsigned integer, got " + v.dump());
        }
        out.push_back(n.type == T::uints ? Json(static_cast<uint64_t>(v.get<double>())) : v);
      }
      return out;
    }
    case T::string_map: {
      if (!in.is_object()) return detail::type_error(path, "object", in);
      for (const auto& [k, v] : in.items())
        if (!v.is_string()) return detail::type_error(path + "[\"" + k + "\"]", "string", v);
      return sorted(in);
    }
    case T::any:
      if (!in.is_object()) return detail::type_error(path, "object", in);
      return sorted(in);
    case T::object:
      return normalize_object(n, in, path);
    case T::list: {
      if (!in.is_array()) return detail::type_error(path, "array", in);
      Json out = Json::array();
      size_t i = 0;
      for (const auto& v : in) {
        std::string p = path + "[" + std::to_string(i++) + "]";
        if (v.is_null()) return detail::type_error(p, "object", v);
        CAIRN_TRY(Json e, normalize(*n.elem, v, p));
        out.push_back(std::move(e));
      }
      return out;
    }
    case T::map: {
      if (!in.is_object()) return detail::type_error(path, "object", in);
      std::map<std::string, Json> items;
      for (const auto& [k, v] : in.items()) {
        std::string p = path + "[\"" + k + "\"]";
        if (v.is_null()) {
          items[k] = Json::object();
          continue;
        }
        CAIRN_TRY(Json e, normalize(*n.elem, v, p));
        items[k] = std::move(e);
      }
      Json out = Json::object();
      for (auto& [k, v] : items) out[k] = std::move(v);
      return out;
    }
  }
  return Error(errc::internal, "unknown schema type");
}

// ---- per-kind rules (Consul's Normalize + Validate) ----



// Consul's validateConfigEntryMeta limits.
Status check_meta(const Json& entry) {
  const Json& meta = sub(entry, "Meta");
  if (meta.size() > 64) return invalid("Meta exceeds maximum element count 64");
  for (const auto& [k, v] : meta.items()) {
    if (k.size() > 128) return invalid("Meta key " + go_quote(k) + " exceeds maximum length 128");
    if (v.get_ref<const std::string&>().size() > 512)
      return invalid("Meta value for key " + go_quote(k) + " exceeds maximum length 512");
  }
  return {};
}

bool is_protocol(std::string_view p) { return p == "tcp" || p == "http" || p == "http2" || p == "grpc"; }


Status check_protocol(Json& holder, const std::string& field, const std::string& path) {
  auto it = holder.find(field);
  if (it == holder.end()) return {};
  if (!it->is_string()) return detail::type_error(path, "string", *it);
  std::string p = lower(it->get<std::string>());
  if (!p.empty() && !is_protocol(p))
    return invalid(path + ": must be one of \"tcp\", \"http\", \"http2\", \"grpc\", got " + go_quote(p));
  *it = p;
  return {};
}

Status check_mesh_gateway(const Json& holder, const std::string& path) {
  std::string mode = str(sub(holder, "MeshGateway"), "Mode");
  if (mode.empty() || mode == "none" || mode == "local" || mode == "remote") return {};
  return invalid(path + "MeshGateway.Mode: must be one of \"\", \"none\", \"local\", \"remote\", got " +
                 go_quote(mode));
}

Status check_proxy_mode(const Json& e) {
  std::string mode = str(e, "Mode");
  if (mode.empty() || mode == "transparent" || mode == "direct") return {};
  return invalid("Mode: must be one of \"\", \"transparent\", \"direct\", got " + go_quote(mode));
}

Status check_regex(const std::string& re, const std::string& what) {
  try {
    std::regex compiled(re, std::regex::ECMAScript);
    (void)compiled;
  } catch (const std::regex_error& e) {
    return invalid(what + " is not a valid regular expression: " + go_quote(re));
  }
  return {};
}

Status validate_service_defaults(Json& e) {
  CAIRN_RETURN_IF_ERROR(check_protocol(e, "Protocol", "Protocol"));
  CAIRN_RETURN_IF_ERROR(check_proxy_mode(e));
  CAIRN_RETURN_IF_ERROR(check_mesh_gateway(e, ""));
  if (e.contains("UpstreamConfig")) {
    Json& uc = e["UpstreamConfig"];
    if (uc.contains("Defaults")) {
      CAIRN_RETURN_IF_ERROR(check_protocol(uc["Defaults"], "Protocol", "UpstreamConfig.Defaults.Protocol"));
      if (!str(uc["Defaults"], "Name").empty())
        return invalid("UpstreamConfig.Defaults.Name: must be empty (defaults apply to every upstream)");
    }
    if (uc.contains("Overrides")) {
      size_t i = 0;
      for (Json& o : uc["Overrides"]) {
        std::string p = "UpstreamConfig.Overrides[" + std::to_string(i++) + "]";
        if (str(o, "Name").empty()) return invalid(p + ".Name: required");
        CAIRN_RETURN_IF_ERROR(check_protocol(o, "Protocol", p + ".Protocol"));
      }
    }
  }
  return {};
}

Status validate_proxy_defaults(Json& e) {
  std::string name = str(e, "Name");
  if (name != kProxyDefaultsGlobal)
    return invalid("invalid name (" + go_quote(name) + "), only \"global\" is supported");
  CAIRN_RETURN_IF_ERROR(check_proxy_mode(e));
  CAIRN_RETURN_IF_ERROR(check_mesh_gateway(e, ""));
  if (e.contains("Config")) {
    // Consul reads Config["protocol"] for the proxy's default protocol.
    Json& config = e["Config"];
    if (config.contains("protocol")) CAIRN_RETURN_IF_ERROR(check_protocol(config, "protocol", "Config.protocol"));
  }
  return {};
}

bool is_http_method(std::string_view m) {
  static const std::set<std::string_view> kMethods{"GET",    "HEAD",    "POST",    "PUT",  "PATCH",
                                                   "DELETE", "CONNECT", "OPTIONS", "TRACE"};
  return kMethods.count(m) > 0;
}
bool is_retry_condition(std::string_view r) {
  static const std::set<std::string_view> kConditions{
      "5xx",           "gateway-error", "reset",    "connect-failure",    "envoy-ratelimited", "retriable-4xx",
      "refused-stream", "cancelled",    "deadline-exceeded", "internal", "resource-exhausted", "unavailable"};
  return kConditions.count(r) > 0;
}

Status validate_service_router(Json& e) {
  if (!e.contains("Routes")) return {};
  size_t i = 0;
  for (Json& route : e["Routes"]) {
    std::string r = "Route[" + std::to_string(i++) + "]";
    bool prefix_rewrite_ok = false;
    if (route.contains("Match") && route["Match"].contains("HTTP")) {
      Json& http = route["Match"]["HTTP"];
      int parts = 0;
      for (const char* field : {"PathExact", "PathPrefix"}) {
        std::string v = str(http, field);
        if (v.empty()) continue;
        ++parts;
        prefix_rewrite_ok = true;
        if (v[0] != '/') return invalid(r + " " + field + " doesn't start with '/': " + go_quote(v));
      }
      if (std::string re = str(http, "PathRegex"); !re.empty()) {
        ++parts;
        CAIRN_RETURN_IF_ERROR(check_regex(re, r + " PathRegex"));
      }
      if (parts > 1) return invalid(r + " should only contain at most one of PathExact, PathPrefix, or PathRegex");
      size_t j = 0;
      for (const Json& h : sub(http, "Header")) {
        std::string hp = r + " Header[" + std::to_string(j++) + "]";
        if (str(h, "Name").empty()) return invalid(hp + " missing required Name field");
        int n = h.contains("Present") ? 1 : 0;
        for (const char* f : {"Exact", "Prefix", "Suffix", "Regex"}) n += str(h, f).empty() ? 0 : 1;
        if (n != 1) return invalid(hp + " should only contain one of Present, Exact, Prefix, Suffix, or Regex");
        if (std::string re = str(h, "Regex"); !re.empty()) CAIRN_RETURN_IF_ERROR(check_regex(re, hp + " Regex"));
      }
      j = 0;
      for (const Json& q : sub(http, "QueryParam")) {
        std::string qp = r + " QueryParam[" + std::to_string(j++) + "]";
        if (str(q, "Name").empty()) return invalid(qp + " missing required Name field");
        int n = q.contains("Present") ? 1 : 0;
        for (const char* f : {"Exact", "Regex"}) n += str(q, f).empty() ? 0 : 1;
        if (n != 1) return invalid(qp + " should only contain one of Present, Exact, or Regex");
        if (std::string re = str(q, "Regex"); !re.empty()) CAIRN_RETURN_IF_ERROR(check_regex(re, qp + " Regex"));
      }
      if (http.contains("Methods")) {
        std::set<std::string> seen;
        for (Json& m : http["Methods"]) {
          std::string upper = m.get<std::string>();
          for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
          m = upper;  // Consul's Normalize uppercases methods
          if (!is_http_method(upper)) return invalid(r + " Methods contains an invalid method " + go_quote(upper));
          if (!seen.insert(upper).second) return invalid(r + " Methods contains " + go_quote(upper) + " more than once");
        }
      }
    }
    const Json& dest = sub(route, "Destination");
    if (!str(dest, "PrefixRewrite").empty() && !prefix_rewrite_ok)
      return invalid(r + " cannot make use of PrefixRewrite without configuring either PathExact or PathPrefix");
    for (const Json& cond : sub(dest, "RetryOn")) {
      if (!is_retry_condition(cond.get<std::string>()))
        return invalid(r + " contains an invalid retry condition: " + go_quote(cond.get<std::string>()));
    }
  }
  return {};
}

// Weights in units of 0.01%, as Consul's scaleWeight.
int scale_weight(double w) { return static_cast<int>(std::lround(static_cast<float>(w) * 100.0f)); }

Status validate_service_splitter(Json& e) {
  if (!e.contains("Splits") || e["Splits"].empty()) return invalid("no splits configured");
  const std::string name = str(e, "Name");
  std::set<std::tuple<std::string, std::string, std::string, std::string>> seen;
  int sum = 0;
  size_t i = 0;
  for (Json& split : e["Splits"]) {
    std::string p = "Splits[" + std::to_string(i++) + "].Weight";
    double w = split["Weight"].get<double>();
    if (w < 0 || w > 100) return invalid(p + ": must be between 0 and 100, got " + split["Weight"].dump());
    int scaled = scale_weight(w);
    sum += scaled;
    // Consul keeps 0.01% steps: 33.333 becomes 33.33.
    if (scaled % 100 == 0) {
      split["Weight"] = scaled / 100;
    } else {
      split["Weight"] = static_cast<double>(scaled) / 100.0;  // printed as Go prints the float32
    }
    std::string service = str(split, "Service");
    if (service.empty()) service = name;
    auto key = std::make_tuple(service, str(split, "ServiceSubset"), str(split, "Namespace"), str(split, "Partition"));
    if (!seen.insert(key).second)
      return invalid("split destination occurs more than once: service=" + go_quote(service) +
                     ", subset=" + go_quote(std::get<1>(key)) + ", namespace=" + go_quote(std::get<2>(key)) +
                     ", partition=" + go_quote(std::get<3>(key)));
  }
  if (sum != 10000) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%f", static_cast<double>(static_cast<float>(sum) / 100.0f));
    return invalid(std::string("the sum of all split weights must be 100, not ") + buf);
  }
  return {};
}

// Consul's validateServiceSubset: a DNS label (lowercase, digits, dashes), at most 63 characters.
bool is_subset_name(std::string_view s) {
  if (s.empty() || s.size() > 63) return false;
  auto ok = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'; };
  return std::all_of(s.begin(), s.end(), ok) && s.front() != '-' && s.back() != '-';
}

Status validate_service_resolver(Json& e) {
  const std::string name = str(e, "Name");
  const Json& subsets = sub(e, "Subsets");
  for (const auto& [subset, def] : subsets.items()) {
    (void)def;
    if (!is_subset_name(subset))
      return invalid("Subset " + go_quote(subset) +
                     " is invalid: must be a DNS label (lowercase letters, digits and '-', at most 63)");
  }
  auto is_subset = [&](const std::string& s) { return subsets.contains(s); };
  if (std::string d = str(e, "DefaultSubset"); !d.empty() && !is_subset(d))
    return invalid("DefaultSubset " + go_quote(d) + " is not a valid subset");
  if (e.contains("Redirect")) {
    const Json& r = e["Redirect"];
    if (e.contains("Failover") && !e["Failover"].empty()) return invalid("Redirect and Failover cannot both be set");
    if (r.empty()) return invalid("Redirect is empty");
    std::string service = str(r, "Service"), subset = str(r, "ServiceSubset");
    if (service.empty()) {
      for (const char* f : {"ServiceSubset", "Namespace", "Partition", "Peer"})
        if (!str(r, f).empty()) return invalid(std::string("Redirect.") + f + " defined without Redirect.Service");
    } else if (!subset.empty() && service == name && !is_subset(subset)) {
      return invalid("Redirect.ServiceSubset " + go_quote(subset) + " is not a valid subset of " + go_quote(name));
    }
  }
  for (const auto& [subset, f] : sub(e, "Failover").items()) {
    std::string prefix = "Bad Failover[" + go_quote(subset) + "]: ";
    if (subset != "*" && !is_subset(subset)) return invalid(prefix + "not a valid subset subset");
    if (f.empty()) return invalid(prefix + "one of Service, ServiceSubset, Namespace, Targets, or Datacenters is required");
    std::string service = str(f, "Service"), fsubset = str(f, "ServiceSubset");
    if (!fsubset.empty() && (service.empty() || service == name) && !is_subset(fsubset))
      return invalid(prefix + "ServiceSubset " + go_quote(fsubset) + " is not a valid subset of " + go_quote(service));
  }
  if (e.contains("LoadBalancer")) {
    const Json& lb = e["LoadBalancer"];
    std::string policy = str(lb, "Policy");
    static const std::set<std::string> kPolicies{"", "random", "round_robin", "least_request", "ring_hash", "maglev"};
    if (!kPolicies.count(policy)) return invalid("Bad LoadBalancer policy: " + go_quote(policy) + " is not supported");
    if (policy != "ring_hash" && lb.contains("RingHashConfig"))
      return invalid("Bad LoadBalancer configuration. RingHashConfig specified for incompatible load balancing policy " +
                     go_quote(policy));
    if (policy != "least_request" && lb.contains("LeastRequestConfig"))
      return invalid(
          "Bad LoadBalancer configuration. LeastRequestConfig specified for incompatible load balancing policy " +
          go_quote(policy));
    size_t i = 0;
    for (const Json& hp : sub(lb, "HashPolicies")) {
      std::string p = "Bad LoadBalancer HashPolicy[" + std::to_string(i++) + "]: ";
      std::string field = str(hp, "Field");
      bool source_ip = hp.contains("SourceIP");
      if (field.empty() && !source_ip) return invalid(p + "one of Field or SourceIP is required");
      if (!field.empty() && source_ip) return invalid(p + "A single hash policy cannot hash both a field and a source IP");
      if (!field.empty() && field != "header" && field != "cookie" && field != "query_parameter")
        return invalid(p + "Field " + go_quote(field) + " is not supported");
      if (!field.empty() && str(hp, "FieldValue").empty()) return invalid(p + "Field " + go_quote(field) + " was specified without a FieldValue");
    }
  }
  return {};
}

// ---- the table of kinds ----

struct KindRow {
  std::string_view kind;
  // The body (any case, snake_case) → canonical JSON text, or an error naming the field.
  Result<std::string> (*normalize)(std::string_view body);
};

template <NodeP (*Schema)(), Status (*Validate)(Json&)>
Result<std::string> normalize_kind(std::string_view body) {
  CAIRN_TRY(Json in, detail::parse_body(body));
  auto out = normalize(*Schema(), in, "");
  if (!out.ok()) return detail::decode_failed(out.error());
  Json& e = *out;
  if (str(e, "Name").empty()) return invalid("Name is required");
  e.erase("Namespace");  // Cairn has one namespace and one partition, as Consul OSS
  e.erase("Partition");
  CAIRN_RETURN_IF_ERROR(check_meta(e));
  CAIRN_RETURN_IF_ERROR(Validate(e));
  return e.dump();
}

// service-intentions: api/intentions.h's normalizer, owned with intentions.
const std::vector<KindRow>& kind_rows() {
  static const std::vector<KindRow> rows{
      {kServiceDefaults, &normalize_kind<service_defaults_schema, validate_service_defaults>},
      {kProxyDefaults, &normalize_kind<proxy_defaults_schema, validate_proxy_defaults>},
      {kServiceRouter, &normalize_kind<service_router_schema, validate_service_router>},
      {kServiceSplitter, &normalize_kind<service_splitter_schema, validate_service_splitter>},
      {kServiceResolver, &normalize_kind<service_resolver_schema, validate_service_resolver>},
      {kServiceIntentions, &normalize_service_intentions},
  };
  return rows;
}

}  // namespace

const std::vector<std::string_view>& config_entry_kinds() {
  static const std::vector<std::string_view> kinds{kServiceDefaults, kProxyDefaults,   kServiceRouter,
                                                   kServiceSplitter, kServiceResolver, kServiceIntentions};
  return kinds;
}

bool is_config_entry_kind(std::string_view kind) {
  const auto& kinds = config_entry_kinds();
  return std::find(kinds.begin(), kinds.end(), kind) != kinds.end();
}

Status check_config_entry_kind(std::string_view kind) {
  if (is_config_entry_kind(kind)) return {};
  return invalid("invalid config entry kind: " + go_quote(kind));
}

Result<ConfigEntry> decode_config_entry(std::string_view body) {
  CAIRN_TRY(Json in, detail::parse_body(body));
  if (!in.is_object()) return detail::decode_failed(detail::type_error("body", "object", in));
  std::string kind;
  for (const auto& [k, v] : in.items()) {
    if (fold_name(k) != "kind") continue;
    if (!v.is_string()) return detail::decode_failed(detail::type_error("Kind", "string", v));
    kind = v.get<std::string>();
  }
  if (kind.empty())
    return Error(errc::invalid_argument,
                 std::string(detail::kRequestFailed) + "Payload does not contain a kind/Kind key at the top level");
  CAIRN_RETURN_IF_ERROR(check_config_entry_kind(kind));
  const auto& rows = kind_rows();
  auto row = std::find_if(rows.begin(), rows.end(), [&](const KindRow& r) { return r.kind == kind; });
  if (row == rows.end()) return invalid("Kind: " + go_quote(kind) + " entries cannot be written in this build yet");
  CAIRN_TRY(std::string canonical, row->normalize(body));
  Json parsed = Json::parse(canonical, nullptr, false);
  if (!parsed.is_object()) return Error(errc::internal, "config entry normalizer produced no object");
  ConfigEntry out;
  out.kind = kind;
  out.name = str(parsed, "Name");
  if (out.name.empty()) return invalid("Name is required");
  // The canonical body names the kind exactly as the table does.
  parsed["Kind"] = kind;
  out.body = parsed.dump();
  return out;
}

namespace {
Json entry_json(const ConfigEntry& e) {
  Json j = Json::parse(e.body, nullptr, false);
  if (!j.is_object()) j = Json{{"Kind", e.kind}, {"Name", e.name}};
  j["CreateIndex"] = e.create_index;
  j["ModifyIndex"] = e.modify_index;
  return j;
}
}  // namespace

std::string config_entry_json(const ConfigEntry& entry) { return entry_json(entry).dump(); }

std::string config_entries_json(const std::vector<ConfigEntry>& entries) {
  Json out = Json::array();
  for (const auto& e : entries) out.push_back(entry_json(e));
  return out.dump();
}

}  // namespace cairn::api
