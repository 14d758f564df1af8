#include "api/rpc_codec.h"

#include "api/prepared_query_wire.h"
#include "api/wire_detail.h"

namespace cairn::api::rpc {
namespace {

// An Error as it travels: the cairn::errc number and the detail.
struct WireError {
  uint64_t code = 0;
  std::string detail;
};

using WireResult = std::variant<WireError, QueryResponse, WriteResponse>;

}  // namespace
}  // namespace cairn::api::rpc

// The fields of every RPC type, found by Put/Get through argument-dependent
// lookup (api/wire_detail.h). Types with no fields need nothing here.
namespace cairn::api::wire::detail {

template <>
struct EnumRange<rpc::Consistency> {
  static constexpr uint64_t min = static_cast<uint64_t>(rpc::Consistency::leader);
  static constexpr uint64_t max = static_cast<uint64_t>(rpc::Consistency::stale);
};

#define CAIRN_RPC_FIELDS(Type) \
  template <typename IO, typename T> \
  void fields(IO& io, T& v) requires std::is_same_v<std::remove_const_t<T>, Type>

CAIRN_RPC_FIELDS(rpc::QueryOptions) {
  io(v.min_index);
  io(v.max_wait);
  io(v.consistency);
  io(v.token);
  io(v.near);
  io(v.forwarded);
}
CAIRN_RPC_FIELDS(rpc::WriteOptions) {
  io(v.token);
  io(v.forwarded);
}
CAIRN_RPC_FIELDS(rpc::QueryMeta) {
  io(v.index);
  io(v.last_contact);
  io(v.known_leader);
}
CAIRN_RPC_FIELDS(rpc::KvGet) { io(v.key); }
CAIRN_RPC_FIELDS(rpc::KvList) { io(v.prefix); }
CAIRN_RPC_FIELDS(rpc::KvKeys) {
  io(v.prefix);
  io(v.separator);
}
CAIRN_RPC_FIELDS(rpc::SessionGet) { io(v.id); }
CAIRN_RPC_FIELDS(rpc::SessionNode) { io(v.node); }
CAIRN_RPC_FIELDS(rpc::CatalogServiceNodes) {
  io(v.service);
  io(v.tags);
  io(v.connect);
}
CAIRN_RPC_FIELDS(rpc::CatalogNodeServices) { io(v.node); }
CAIRN_RPC_FIELDS(rpc::HealthNode) { io(v.node); }
CAIRN_RPC_FIELDS(rpc::HealthChecks) { io(v.service); }
CAIRN_RPC_FIELDS(rpc::HealthState) { io(v.state); }
CAIRN_RPC_FIELDS(rpc::HealthService) {
  io(v.service);
  io(v.tags);
  io(v.passing_only);
  io(v.connect);
}
CAIRN_RPC_FIELDS(rpc::RaftServer) {
  io(v.id);
  io(v.node);
  io(v.address);
  io(v.leader);
  io(v.voter);
}
CAIRN_RPC_FIELDS(rpc::RaftConfiguration) {
  io(v.servers);
  io(v.index);
}
CAIRN_RPC_FIELDS(rpc::KvApply) {
  io(v.op);
  io(v.entry);
}
CAIRN_RPC_FIELDS(rpc::SessionCreate) { io(v.session); }
CAIRN_RPC_FIELDS(rpc::SessionDestroy) { io(v.id); }
CAIRN_RPC_FIELDS(rpc::SessionRenew) { io(v.id); }
// The request's token is not written (wire.h): WriteOptions carries it.
CAIRN_RPC_FIELDS(rpc::CatalogRegister) { io(v.request); }
CAIRN_RPC_FIELDS(rpc::CatalogDeregister) { io(v.request); }
CAIRN_RPC_FIELDS(rpc::OperatorRaftRemovePeer) {
  io(v.id);
  io(v.address);
}
CAIRN_RPC_FIELDS(rpc::OperatorRaftTransferLeader) { io(v.id); }
CAIRN_RPC_FIELDS(rpc::TxnRead) { io(v.ops); }
CAIRN_RPC_FIELDS(rpc::Txn) { io(v.ops); }
CAIRN_RPC_FIELDS(rpc::SnapshotRestore) { io(v.archive); }
CAIRN_RPC_FIELDS(rpc::ConfigEntryGet) {
  io(v.kind);
  io(v.name);
}
CAIRN_RPC_FIELDS(rpc::ConfigEntryList) { io(v.kind); }
CAIRN_RPC_FIELDS(rpc::ConfigEntryApply) {
  io(v.entry);
  io(v.cas);
  io(v.cas_index);
}
CAIRN_RPC_FIELDS(rpc::ConfigEntryDelete) {
  io(v.kind);
  io(v.name);
  io(v.cas);
  io(v.cas_index);
}
CAIRN_RPC_FIELDS(rpc::ConnectCAConfigSet) { io(v.config); }
CAIRN_RPC_FIELDS(rpc::ConnectCASign) { io(v.csr); }
CAIRN_RPC_FIELDS(rpc::CoordinateNode) { io(v.node); }
CAIRN_RPC_FIELDS(rpc::CoordinateUpdate) { io(v.entries); }
CAIRN_RPC_FIELDS(rpc::PreparedQueryGet) { io(v.id); }
CAIRN_RPC_FIELDS(rpc::PreparedQueryExecute) {
  io(v.id_or_name);
  io(v.agent_node);
  io(v.limit);
  io(v.connect);
}
CAIRN_RPC_FIELDS(rpc::PreparedQueryExplain) { io(v.id_or_name); }
CAIRN_RPC_FIELDS(rpc::PreparedQueryApply) {
  io(v.op);
  io(v.query);
}
CAIRN_RPC_FIELDS(rpc::QueryCall) {
  io(v.options);
  io(v.query);
}
CAIRN_RPC_FIELDS(rpc::WriteCall) {
  io(v.options);
  io(v.write);
}
CAIRN_RPC_FIELDS(rpc::QueryResponse) {
  io(v.meta);
  io(v.value);
}
CAIRN_RPC_FIELDS(rpc::WriteResponse) {
  io(v.index);
  io(v.value);
}
CAIRN_RPC_FIELDS(rpc::WireError) {
  io(v.code);
  io(v.detail);
}

#undef CAIRN_RPC_FIELDS

}  // namespace cairn::api::wire::detail

namespace cairn::api::rpc {
namespace {

using wire::detail::get_any;
using wire::detail::put_any;

// version, id, then the body variant (its index is the kind or the tag).
template <typename Body>
std::string encode_frame(uint64_t id, const Body& body) {
  std::string out;
  ByteWriter w(&out);
  w.u8(kRpcVersion);
  w.u64(id);
  put_any(w, body);
  return out;
}

// Reads the header and the body; `what` names the message in errors. The
// kind/tag and the operation's alternative index are checked first so that
// an unknown one is named rather than reported as "malformed".
template <typename Body>
Result<std::pair<uint64_t, Body>> decode_frame(std::string_view bytes, std::string_view what,
                                               std::string_view (*check)(ByteReader)) {
  ByteReader r(bytes);
  uint8_t version = r.u8();
  uint64_t id = r.u64();
  if (!r.ok()) return Error(errc::parse_error, "rpc: " + std::string(what) + " shorter than its header");
  if (version != kRpcVersion)
    return Error(errc::parse_error, "rpc: " + std::string(what) + " has unsupported version " + std::to_string(version));
  if (auto problem = check(r); !problem.empty())
    return Error(errc::parse_error, "rpc: " + std::string(what) + " " + std::string(problem));
  Body body;
  if (!get_any(r, body)) return Error(errc::parse_error, "rpc: " + std::string(what) + " is truncated or malformed");
  if (!r.at_end()) return Error(errc::parse_error, "rpc: " + std::string(what) + " has trailing bytes");
  return std::pair<uint64_t, Body>(id, std::move(body));
}

// An index read at the reader's position, or nullopt when none is there.
std::optional<uint64_t> index_at(ByteReader& r) {
  uint64_t i = r.varint();
  if (!r.ok()) return std::nullopt;
  return i;
}

std::string_view check_request(ByteReader r) {
  auto kind = index_at(r);
  if (!kind) return {};
  if (*kind == 0) {
    wire::detail::Get g{r};
    QueryOptions options;
    g(options);
    if (auto i = index_at(r); i && *i >= std::variant_size_v<Query>) return "has an unknown query type";
  } else if (*kind == 1) {
    wire::detail::Get g{r};
    WriteOptions options;
    g(options);
    if (auto i = index_at(r); i && *i >= std::variant_size_v<Write>) return "has an unknown write type";
  } else {
    return "has an unknown kind";
  }
  return {};
}

std::string_view check_response(ByteReader r) {
  auto tag = index_at(r);
  if (tag && *tag >= std::variant_size_v<WireResult>) return "has an unknown result tag";
  return {};
}

Error error_from_wire(WireError e) {
  // A code this build does not know (a newer peer) keeps its detail.
  if (e.code <= static_cast<uint64_t>(errc::ok) || e.code > static_cast<uint64_t>(errc::resource_exhausted))
    return Error(errc::internal, e.detail.empty() ? "rpc: error code " + std::to_string(e.code) : e.detail);
  return Error(static_cast<errc>(e.code), std::move(e.detail));
}

WireError error_to_wire(const Error& e) {
  if (e.code().category() == core_category() && e.code().value() != 0)
    return WireError{static_cast<uint64_t>(e.code().value()), e.detail()};
  return WireError{static_cast<uint64_t>(errc::internal), e.message()};
}

template <typename T>
Response response_of(uint64_t id, Result<T> result) {
  if (!result.ok()) return Response{id, result.error()};
  return Response{id, std::move(result).value()};
}

}  // namespace

std::string encode(const Request& request) { return encode_frame(request.id, request.call); }

std::string encode(const Response& response) {
  WireResult body = std::visit(
      [](const auto& r) -> WireResult {
        if constexpr (std::is_same_v<std::decay_t<decltype(r)>, Error>) {
          return error_to_wire(r);
        } else {
          return r;
        }
      },
      response.result);
  return encode_frame(response.id, body);
}

Result<Request> decode_request(std::string_view bytes) {
  CAIRN_TRY(auto decoded, (decode_frame<std::variant<QueryCall, WriteCall>>(bytes, "request", check_request)));
  return Request{decoded.first, std::move(decoded.second)};
}

Result<Response> decode_response(std::string_view bytes) {
  CAIRN_TRY(auto decoded, decode_frame<WireResult>(bytes, "response", check_response));
  Response out{decoded.first, Error()};
  switch (decoded.second.index()) {
    case 0: out.result = error_from_wire(std::get<0>(std::move(decoded.second))); break;
    case 1: out.result = std::get<1>(std::move(decoded.second)); break;
    default: out.result = std::get<2>(std::move(decoded.second)); break;
  }
  return out;
}

Response make_response(uint64_t id, Result<QueryResponse> result) { return response_of(id, std::move(result)); }
Response make_response(uint64_t id, Result<WriteResponse> result) { return response_of(id, std::move(result)); }

}  // namespace cairn::api::rpc
