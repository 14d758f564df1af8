// /v1/txn bodies (Consul's api.TxnOps in, structs.TxnResponse out).
#include <array>
#include <utility>

#include "api/json.h"
#include "api/json_detail.h"

namespace cairn::api {
namespace {

using detail::decode_object;
using detail::field;
using detail::Field;
using detail::Json;

constexpr std::array<std::pair<std::string_view, TxnVerb>, 12> kVerbs{{
    {"set", TxnVerb::set},
    {"cas", TxnVerb::cas},
    {"lock", TxnVerb::lock},
    {"unlock", TxnVerb::unlock},
    {"delete", TxnVerb::del},
    {"delete-cas", TxnVerb::delete_cas},
    {"delete-tree", TxnVerb::delete_tree},
    {"get", TxnVerb::get},
    {"get-tree", TxnVerb::get_tree},
    {"check-index", TxnVerb::check_index},
    {"check-session", TxnVerb::check_session},
    {"check-not-exists", TxnVerb::check_not_exists},
}};

Field verb_field(TxnVerb& verb, bool& seen) {
  return Field{{"Verb"}, [&verb, &seen](const Json& v, const std::string& p) -> Status {
                 std::string name;
                 CAIRN_RETURN_IF_ERROR(detail::read(v, p, name));
                 for (const auto& [n, value] : kVerbs) {
                   if (n == name) {
                     verb = value;
                     seen = true;
                     return {};
                   }
                 }
                 return Error(errc::invalid_argument, p + ": unknown verb \"" + name + "\"");
               }};
}

Status require_verb(bool seen, const std::string& path) {
  if (seen) return {};
  return Error(errc::invalid_argument, path + ".Verb: missing");
}

Status read_kv(const Json& j, const std::string& path, TxnKvOp& op) {
  bool seen = false;
  KVPair& e = op.entry;
  CAIRN_RETURN_IF_ERROR(decode_object(j, path,
                                      {verb_field(op.verb, seen), field({"Key"}, e.key), detail::kv_value_field(e),
                                       field({"Flags"}, e.flags), field({"Index"}, e.raft.modify_index),
                                       field({"Session"}, e.session)}));
  return require_verb(seen, path);
}

Status read_node(const Json& j, const std::string& path, TxnNodeOp& op) {
  bool seen = false;
  CAIRN_RETURN_IF_ERROR(decode_object(j, path, {verb_field(op.verb, seen), field({"Node"}, op.node)}));
  return require_verb(seen, path);
}

Status read_service(const Json& j, const std::string& path, TxnServiceOp& op) {
  bool seen = false;
  CAIRN_RETURN_IF_ERROR(decode_object(
      j, path, {verb_field(op.verb, seen), field({"Node"}, op.node), field({"Service"}, op.service)}));
  return require_verb(seen, path);
}

Status read_check(const Json& j, const std::string& path, TxnCheckOp& op) {
  bool seen = false;
  CAIRN_RETURN_IF_ERROR(decode_object(j, path, {verb_field(op.verb, seen), field({"Check"}, op.check)}));
  return require_verb(seen, path);
}

// One element: exactly one of KV, Node, Service, Check.
Status read_op(const Json& j, const std::string& path, std::optional<TxnOp>& out) {
  auto one = [&](auto op, auto reader) {
    return Field{{}, [&out, op, reader](const Json& v, const std::string& p) mutable -> Status {
                   if (out) return Error(errc::invalid_argument, p + ": an operation holds only one of KV, Node, "
                                                                     "Service, Check");
                   CAIRN_RETURN_IF_ERROR(reader(v, p, op));
                   out = std::move(op);
                   return {};
                 }};
  };
  Field kv = one(TxnKvOp{}, read_kv);
  kv.names = {"KV"};
  Field node = one(TxnNodeOp{}, read_node);
  node.names = {"Node"};
  Field service = one(TxnServiceOp{}, read_service);
  service.names = {"Service"};
  Field check = one(TxnCheckOp{}, read_check);
  check.names = {"Check"};
  CAIRN_RETURN_IF_ERROR(decode_object(j, path, {kv, node, service, check}));
  if (!out) return Error(errc::invalid_argument, path + ": no operation specified");
  return {};
}

constexpr std::string_view kTxnParseFailed = "Failed to parse body: ";

Json result_json(const TxnResult& r) {
  return std::visit(
      [](const auto& v) -> Json {
        using T = std::decay_t<decltype(v)>;
        const char* name = std::is_same_v<T, KVPair>        ? "KV"
                           : std::is_same_v<T, Node>        ? "Node"
                           : std::is_same_v<T, NodeService> ? "Service"
                                                            : "Check";
        return Json{{name, detail::encode(v)}};
      },
      r);
}

template <typename T>
Status read_result(const Json& v, const std::string& p, TxnResponse& out) {
  T item{};
  CAIRN_RETURN_IF_ERROR(detail::read(v, p, item));
  out.results.emplace_back(std::move(item));
  return {};
}

}  // namespace

Result<std::vector<TxnOp>> decode_txn_ops(std::string_view body) {
  CAIRN_TRY(Json j, detail::parse_body(body, kTxnParseFailed));
  if (!j.is_array()) return detail::decode_failed(detail::type_error("body", "array", j), kTxnParseFailed);
  std::vector<TxnOp> ops;
  for (size_t i = 0; i < j.size(); ++i) {
    std::optional<TxnOp> op;
    if (auto st = read_op(j[i], "[" + std::to_string(i) + "]", op); !st) return detail::decode_failed(st.error(), kTxnParseFailed);
    ops.push_back(std::move(*op));
  }
  return ops;
}

std::string to_json(const TxnResponse& response) {
  Json j = Json::object();
  if (response.errors.empty()) {
    Json results = Json::array();
    for (const auto& r : response.results) results.push_back(result_json(r));
    j["Results"] = std::move(results);
    j["Errors"] = nullptr;
  } else {
    j["Results"] = nullptr;
    Json errors = Json::array();
    for (const auto& e : response.errors) errors.push_back(Json{{"OpIndex", e.op_index}, {"What", e.what}});
    j["Errors"] = std::move(errors);
  }
  return j.dump();
}

Result<TxnResponse> decode_txn_response(std::string_view body) {
  CAIRN_TRY(Json j, detail::parse_body(body, detail::kResponseFailed));
  TxnResponse out;
  auto results = Field{{"Results"}, [&out](const Json& v, const std::string& p) -> Status {
                         if (!v.is_array()) return detail::type_error(p, "array", v);
                         for (size_t i = 0; i < v.size(); ++i) {
                           std::string at = p + "[" + std::to_string(i) + "]";
                           if (!v[i].is_object() || v[i].size() != 1)
                             return Error(errc::invalid_argument, at + ": expected one of KV, Node, Service, Check");
                           const auto& [name, value] = *v[i].items().begin();
                           if (name == "KV") {
                             CAIRN_RETURN_IF_ERROR(read_result<KVPair>(value, at + ".KV", out));
                           } else if (name == "Node") {
                             CAIRN_RETURN_IF_ERROR(read_result<Node>(value, at + ".Node", out));
                           } else if (name == "Service") {
                             CAIRN_RETURN_IF_ERROR(read_result<NodeService>(value, at + ".Service", out));
                           } else if (name == "Check") {
                             CAIRN_RETURN_IF_ERROR(read_result<HealthCheck>(value, at + ".Check", out));
                           } else {
                             return Error(errc::invalid_argument, at + ": unknown result " + std::string(name));
                           }
                         }
                         return {};
                       }};
  auto errors = Field{{"Errors"}, [&out](const Json& v, const std::string& p) -> Status {
                        if (!v.is_array()) return detail::type_error(p, "array", v);
                        for (size_t i = 0; i < v.size(); ++i) {
                          TxnError& e = out.errors.emplace_back();
                          CAIRN_RETURN_IF_ERROR(decode_object(v[i], p + "[" + std::to_string(i) + "]",
                                                              {field({"OpIndex"}, e.op_index), field({"What"}, e.what)}));
                        }
                        return {};
                      }};
  if (auto st = decode_object(j, "", {results, errors}); !st) return detail::decode_failed(st.error(), detail::kResponseFailed);
  return out;
}

}  // namespace cairn::api
