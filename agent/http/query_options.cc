#include "agent/http/query_options.h"

#include <charconv>

#include <nlohmann/json.hpp>

#include "agent/http/blocking.h"
#include "api/filter/filter.h"
#include "core/io/random.h"

namespace cairn::agent::http {

Rng& handler_rng() {
  thread_local SeededRng rng(random_seed());
  return rng;
}

std::string request_token(const Request& req) {
  if (auto t = req.query.get("token"); t && !t->empty()) return *t;
  if (auto t = req.headers.get("X-Consul-Token"); t && !t->empty()) return *t;
  if (auto a = req.headers.get("Authorization")) {
    constexpr std::string_view kBearer = "Bearer ";
    if (a->size() > kBearer.size() && a->compare(0, kBearer.size(), kBearer) == 0) return a->substr(kBearer.size());
  }
  return {};
}

Status check_datacenter(const Request& req, const Config& config) {
  auto dc = req.query.get("dc");
  if (dc && !dc->empty() && *dc != config.datacenter) return Error(errc::unavailable, "No path to datacenter");
  return {};
}

Result<ReadParams> parse_read(const Request& req, const Config& config, Filtering filtering) {
  ReadParams p;
  CAIRN_TRY(BlockingParams b, parse_blocking(req, handler_rng()));
  p.options.min_index = b.index;
  p.options.max_wait = b.blocking() ? b.wait : Duration{0};
  bool stale = req.query.has("stale");
  bool consistent = req.query.has("consistent");
  if (stale && consistent)
    return Error(errc::invalid_argument, "Cannot specify ?stale with ?consistent, conflicting semantics.");
  p.options.consistency = stale        ? api::rpc::Consistency::stale
                          : consistent ? api::rpc::Consistency::consistent
                                       : api::rpc::Consistency::leader;
  p.options.token = request_token(req);
  // ?near=_agent is this agent's own node (Consul's QuerySource).
  if (auto near = req.query.get("near"); near && !near->empty())
    p.options.near = *near == "_agent" ? config.node_name : *near;
  CAIRN_RETURN_IF_ERROR(check_datacenter(req, config));
  p.pretty = req.query.has("pretty");
  if (auto expr = req.query.get("filter"); filtering == Filtering::applied && expr && !expr->empty()) {
    CAIRN_TRY(p.filter, filter::Filter::parse(*expr));
  }
  for (const auto& kv : req.query.get_all("node-meta")) {
    // Consul's parseMetaFilter: "key:value", or a bare key meaning value "".
    auto colon = kv.find(':');
    if (colon == std::string::npos) {
      p.node_meta.emplace_back(kv, "");
    } else {
      p.node_meta.emplace_back(kv.substr(0, colon), kv.substr(colon + 1));
    }
  }
  return p;
}

Result<std::string> path_value(const Request& req, std::string_view param, std::string_view missing) {
  std::string v(req.param(param));
  if (v.empty()) return Error(errc::invalid_argument, std::string(missing));
  return v;
}

Result<NamedRead> parse_named_read(const Request& req, const Config& config, std::string_view param,
                                  std::string_view missing) {
  NamedRead r;
  CAIRN_TRY(r.name, path_value(req, param, missing));
  CAIRN_TRY(r.params, parse_read(req, config, Filtering::applied));
  return r;
}

bool node_meta_matches(const std::vector<std::pair<std::string, std::string>>& wanted,
                       const std::map<std::string, std::string>& meta) {
  for (const auto& [k, v] : wanted) {
    auto it = meta.find(k);
    if (it == meta.end() || it->second != v) return false;
  }
  return true;
}

namespace {

using Ordered = nlohmann::ordered_json;

// Keeps the elements (array) or members (object) the filter matches. The
// filter reads plain nlohmann::json; the document stays ordered so Consul's
// field order survives.
void filter_in_place(const filter::Filter& f, Ordered& doc) {
  if (doc.is_array()) {
    Ordered kept = Ordered::array();
    for (auto& e : doc)
      if (f.matches(nlohmann::json(e))) kept.push_back(std::move(e));
    doc = std::move(kept);
  } else if (doc.is_object()) {
    Ordered kept = Ordered::object();
    for (auto& [k, v] : doc.items())
      if (f.matches(nlohmann::json(v))) kept[k] = std::move(v);
    doc = std::move(kept);
  }
}

Response dump_reply(bool pretty, const Ordered& doc, int status) {
  return Response::json(pretty ? doc.dump(4) + "\n" : doc.dump(), status);
}

}  // namespace

Response json_text_reply(const ReadParams& params, std::string body, int status) {
  if (!params.filter && !params.pretty) return Response::json(std::move(body), status);
  auto doc = Ordered::parse(body, nullptr, false);
  if (doc.is_discarded()) return Response::json(std::move(body), status);
  if (params.filter) filter_in_place(*params.filter, doc);
  return dump_reply(params.pretty, doc, status);
}

Response json_member_filtered_reply(const ReadParams& params, std::string body, const char* member) {
  if (!params.filter && !params.pretty) return Response::json(std::move(body));
  auto doc = Ordered::parse(body, nullptr, false);
  if (doc.is_discarded()) return Response::json(std::move(body));
  if (params.filter && doc.is_object() && doc.contains(member)) filter_in_place(*params.filter, doc[member]);
  return dump_reply(params.pretty, doc, 200);
}

void set_query_meta(Response& resp, const api::rpc::QueryMeta& meta, api::rpc::Consistency consistency) {
  set_index(resp, meta.index);
  resp.headers.set("X-Consul-Effective-Consistency", consistency == api::rpc::Consistency::stale        ? "stale"
                                                     : consistency == api::rpc::Consistency::consistent ? "consistent"
                                                                                                         : "leader");
  resp.headers.set("X-Consul-KnownLeader", meta.known_leader ? "true" : "false");
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(meta.last_contact).count();
  resp.headers.set("X-Consul-LastContact", std::to_string(ms < 0 ? 0 : ms));
}

Response no_servers() { return Response::error(500, "No known Consul servers"); }

Response bool_reply(bool value) { return Response::json(value ? "true" : "false"); }

Result<uint64_t> parse_uint_param(const Request& req, std::string_view name) {
  std::string text = req.query.get(name).value_or("");
  uint64_t v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size())
    return Error(errc::invalid_argument,
                 "Invalid ?" + std::string(name) + ": \"" + text + "\" is not an unsigned integer");
  return v;
}

}  // namespace cairn::agent::http
