// Prepared queries: JSON, Consul's rules, templates, execution filters
// (see api/prepared_query.h).
#include "api/prepared_query.h"

#include <algorithm>
#include <cctype>
#include <functional>
#include <regex>
#include <set>

#include "api/json_detail.h"
#include "api/prepared_query_wire.h"
#include "core/duration.h"

namespace cairn::api {
namespace {

using detail::Field;
using detail::Json;

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// ---- JSON ----

Status read_failover(const Json& j, const std::string& path, QueryFailover& f) {
  return detail::decode_object(j, path,
                               {detail::field({"NearestN", "nearest_n"}, f.nearest_n),
                                detail::field({"Datacenters"}, f.datacenters)});
}

Status read_template(const Json& j, const std::string& path, QueryTemplateOptions& t) {
  return detail::decode_object(j, path,
                               {detail::field({"Type"}, t.type), detail::field({"Regexp"}, t.regexp),
                                detail::field({"RemoveEmptyTags", "remove_empty_tags"}, t.remove_empty_tags)});
}

Status read_service(const Json& j, const std::string& path, ServiceQuery& s) {
  return detail::decode_object(
      j, path,
      {detail::field({"Service"}, s.service),
       Field{{"Failover"}, [&s](const Json& v, const std::string& p) { return read_failover(v, p, s.failover); }},
       detail::field({"OnlyPassing", "only_passing"}, s.only_passing),
       detail::field({"IgnoreCheckIDs", "ignore_check_ids"}, s.ignore_check_ids), detail::field({"Near"}, s.near),
       detail::field({"Tags"}, s.tags), detail::field({"NodeMeta", "node_meta"}, s.node_meta),
       detail::field({"ServiceMeta", "service_meta"}, s.service_meta), detail::field({"Connect"}, s.connect)});
}

Status read_query(const Json& j, PreparedQuery& q) {
  return detail::decode_object(
      j, "",
      {detail::field({"ID"}, q.id), detail::field({"Name"}, q.name), detail::field({"Session"}, q.session),
       detail::field({"Token"}, q.token),
       Field{{"Template"}, [&q](const Json& v, const std::string& p) { return read_template(v, p, q.templ); }},
       Field{{"Service"}, [&q](const Json& v, const std::string& p) { return read_service(v, p, q.service); }},
       Field{{"DNS"},
             [&q](const Json& v, const std::string& p) {
               return detail::decode_object(v, p, {detail::field({"TTL"}, q.dns.ttl)});
             }}});
}

// Go marshals a nil slice or map as null; ours are nil when empty.
Json list_or_null(const std::vector<std::string>& v) { return v.empty() ? Json(nullptr) : Json(v); }
Json map_or_null(const StringMap& m) {
  if (m.empty()) return nullptr;
  Json out = Json::object();
  for (const auto& [k, v] : m) out[k] = v;
  return out;
}

Json encode_query(const PreparedQuery& q) {
  const ServiceQuery& s = q.service;
  Json service = {{"Service", s.service},
                  {"Failover",
                   {{"NearestN", s.failover.nearest_n}, {"Datacenters", list_or_null(s.failover.datacenters)}}},
                  {"OnlyPassing", s.only_passing},
                  {"IgnoreCheckIDs", list_or_null(s.ignore_check_ids)},
                  {"Near", s.near},
                  {"Tags", list_or_null(s.tags)},
                  {"NodeMeta", map_or_null(s.node_meta)},
                  {"ServiceMeta", map_or_null(s.service_meta)},
                  {"Connect", s.connect}};
  return Json{{"ID", q.id},
              {"Name", q.name},
              {"Session", q.session},
              {"Token", q.token},
              {"Template",
               {{"Type", q.templ.type}, {"Regexp", q.templ.regexp}, {"RemoveEmptyTags", q.templ.remove_empty_tags}}},
              {"Service", std::move(service)},
              {"DNS", {{"TTL", q.dns.ttl}}},
              {"CreateIndex", q.raft.create_index},
              {"ModifyIndex", q.raft.modify_index}};
}

void add_meta(Json& j, const EmbeddedQueryMeta& meta) {
  j["Index"] = meta.index;
  j["LastContact"] = meta.last_contact.count();  // Go's time.Duration: nanoseconds
  j["KnownLeader"] = meta.known_leader;
}

// ---- templates ----

// Every string of a query's Service section with its field path, for
// interpolation (Consul's walk over the Service struct).
void for_each_service_string(ServiceQuery& s, const std::function<void(const std::string&, std::string&)>& fn) {
  fn("Service.Service", s.service);
  for (size_t i = 0; i < s.failover.datacenters.size(); ++i)
    fn("Service.Failover.Datacenters[" + std::to_string(i) + "]", s.failover.datacenters[i]);
  for (size_t i = 0; i < s.ignore_check_ids.size(); ++i)
    fn("Service.IgnoreCheckIDs[" + std::to_string(i) + "]", s.ignore_check_ids[i]);
  fn("Service.Near", s.near);
  for (size_t i = 0; i < s.tags.size(); ++i) fn("Service.Tags[" + std::to_string(i) + "]", s.tags[i]);
  for (auto& [k, v] : s.node_meta) fn("Service.NodeMeta[" + k + "]", v);
  for (auto& [k, v] : s.service_meta) fn("Service.ServiceMeta[" + k + "]", v);
}

std::string trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}

Result<std::regex> compile_regexp(const std::string& text) {
  try {
    return std::regex(text, std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    return Error(errc::invalid_argument, "Template.Regexp: Bad Regexp: " + std::string(e.what()));
  }
}

Status check_template(const PreparedQuery& q) {
  if (q.templ.type != kQueryTemplateNamePrefixMatch)
    return Error(errc::invalid_argument, "Template.Type: Bad Template.Type '" + q.templ.type + "'");
  if (!q.templ.regexp.empty()) {
    auto re = compile_regexp(q.templ.regexp);
    if (!re.ok()) return re.error();
  }
  // A test render with the name prefix, the least it will run with (Consul's Compile).
  auto rendered = render_prepared_query(q, q.name);
  if (!rendered.ok()) return rendered.error();
  return {};
}

}  // namespace

Result<PreparedQuery> decode_prepared_query(std::string_view body) {
  CAIRN_TRY(Json j, detail::parse_body(body));
  PreparedQuery q;
  if (Status st = read_query(j, q); !st.ok()) return detail::decode_failed(st.error());
  return q;
}

std::string to_json(const std::vector<PreparedQuery>& queries) {
  Json out = Json::array();
  for (const auto& q : queries) out.push_back(encode_query(q));
  return out.dump();
}

std::string to_json(const PreparedQueryExecuteResult& r, const EmbeddedQueryMeta& meta) {
  Json nodes = Json::array();
  for (const auto& e : r.nodes) nodes.push_back(detail::encode(e));
  Json j = {{"Service", r.service},     {"Nodes", std::move(nodes)}, {"DNS", {{"TTL", r.dns.ttl}}},
            {"Datacenter", r.datacenter}, {"Failovers", r.failovers}};
  add_meta(j, meta);
  return j.dump();
}

std::string explain_json(const PreparedQuery& rendered, const EmbeddedQueryMeta& meta) {
  Json j = {{"Query", encode_query(rendered)}};
  add_meta(j, meta);
  return j.dump();
}

std::optional<Duration> prepared_query_dns_ttl(const PreparedQuery& q) {
  if (q.dns.ttl.empty()) return std::nullopt;
  auto d = parse_duration(q.dns.ttl);
  if (!d.ok() || d->count() < 0) return std::nullopt;
  return *d;
}

Status validate_prepared_query(const PreparedQuery& q) {
  const ServiceQuery& s = q.service;
  if (s.service.empty()) return Error(errc::invalid_argument, "Service.Service: Must provide a Service name to query");
  if (s.failover.nearest_n < 0)
    return Error(errc::invalid_argument,
                 "Service.Failover.NearestN: Bad NearestN '" + std::to_string(s.failover.nearest_n) + "', must be >= 0");
  for (const auto& [k, v] : s.node_meta)
    if (k.empty()) return Error(errc::invalid_argument, "Service.NodeMeta: Key cannot be blank");
  for (const auto& [k, v] : s.service_meta)
    if (k.empty()) return Error(errc::invalid_argument, "Service.ServiceMeta: Key cannot be blank");
  if (!q.dns.ttl.empty()) {
    auto ttl = parse_duration(q.dns.ttl);
    if (!ttl.ok())
      return Error(errc::invalid_argument, "DNS.TTL: Bad DNS TTL '" + q.dns.ttl + "': " + ttl.error().detail());
    if (ttl->count() < 0) return Error(errc::invalid_argument, "DNS.TTL: DNS TTL '" + q.dns.ttl + "', must be >=0");
  }
  if (q.is_template()) CAIRN_RETURN_IF_ERROR(check_template(q));
  return {};
}

Result<std::string> interpolate_query_string(std::string_view text, std::string_view full_name,
                                             std::string_view prefix, const std::vector<std::string>& matches,
                                             std::string_view agent_segment) {
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    if (text.compare(i, 3, "$${") == 0) {  // HIL's escape for a literal ${
      out += "${";
      i += 3;
      continue;
    }
    if (text.compare(i, 2, "${") != 0) {
      out += text[i++];
      continue;
    }
    size_t close = text.find('}', i + 2);
    if (close == std::string_view::npos)
      return Error(errc::invalid_argument, "unterminated interpolation in '" + std::string(text) + "'");
    std::string expr = trim(text.substr(i + 2, close - i - 2));
    i = close + 1;
    if (expr == "name.full") {
      out += full_name;
    } else if (expr == "name.prefix") {
      out += prefix;
    } else if (expr == "name.suffix") {
      if (full_name.substr(0, prefix.size()) == prefix) out += full_name.substr(prefix.size());
      else out += full_name;
    } else if (expr == "agent.segment") {
      out += agent_segment;
    } else if (expr.rfind("match(", 0) == 0 && expr.back() == ')') {
      std::string arg = trim(std::string_view(expr).substr(6, expr.size() - 7));
      if (arg.empty() || arg.size() > 9 || !std::all_of(arg.begin(), arg.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return Error(errc::invalid_argument, "match() wants an integer, got '" + arg + "'");
      size_t n = std::stoul(arg);
      if (n < matches.size()) out += matches[n];  // out of range: "", as Consul's safe match
    } else {
      return Error(errc::invalid_argument, "unknown variable accessed: " + expr);
    }
  }
  return out;
}

Result<PreparedQuery> render_prepared_query(const PreparedQuery& q, std::string_view name,
                                            std::string_view agent_segment) {
  if (!q.is_template()) return q;
  std::vector<std::string> matches;
  if (!q.templ.regexp.empty()) {
    CAIRN_TRY(std::regex re, compile_regexp(q.templ.regexp));
    std::smatch m;
    std::string full(name);
    if (std::regex_search(full, m, re))
      for (const auto& sub : m) matches.push_back(sub.matched ? sub.str() : std::string());
  }
  PreparedQuery out = q;
  Status bad;
  for_each_service_string(out.service, [&](const std::string& path, std::string& s) {
    if (!bad.ok()) return;
    auto r = interpolate_query_string(s, name, q.name, matches, agent_segment);
    if (!r.ok()) {
      bad = Error(errc::invalid_argument, path + ": Bad format '" + s + "': " + r.error().detail());
      return;
    }
    s = std::move(*r);
  });
  CAIRN_RETURN_IF_ERROR(bad);
  if (q.templ.remove_empty_tags)
    std::erase_if(out.service.tags, [](const std::string& t) { return t.empty(); });
  return out;
}

std::vector<HealthServiceEntry> filter_query_nodes(const ServiceQuery& s, std::vector<HealthServiceEntry> nodes) {
  std::set<std::string> ignored(s.ignore_check_ids.begin(), s.ignore_check_ids.end());
  std::vector<std::string> must, must_not;
  for (const auto& t : s.tags) {
    std::string l = lower(t);
    if (!l.empty() && l[0] == '!') must_not.push_back(l.substr(1));
    else must.push_back(std::move(l));
  }
  auto admitted = [&](const HealthServiceEntry& e) {
    for (const auto& c : e.checks) {
      if (ignored.count(c.check_id)) continue;
      if (c.status == kHealthCritical || c.status == kHealthMaint) return false;
      if (s.only_passing && c.status != kHealthPassing) return false;
    }
    std::set<std::string> tags;
    for (const auto& t : e.service.tags) tags.insert(lower(t));
    for (const auto& t : must)
      if (!tags.count(t)) return false;
    for (const auto& t : must_not)
      if (tags.count(t)) return false;
    for (const auto& [k, v] : s.node_meta)
      if (auto it = e.node.meta.find(k); it == e.node.meta.end() || it->second != v) return false;
    for (const auto& [k, v] : s.service_meta)
      if (auto it = e.service.meta.find(k); it == e.service.meta.end() || it->second != v) return false;
    return true;
  };
  std::erase_if(nodes, [&](const HealthServiceEntry& e) { return !admitted(e); });
  return nodes;
}

namespace wire {
void put(ByteWriter& w, const PreparedQuery& v) { detail::put_any(w, v); }
bool get(ByteReader& r, PreparedQuery& v) { return detail::get_any(r, v); }
}  // namespace wire

}  // namespace cairn::api
