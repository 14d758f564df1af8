// The binary wire form of api/rpc.h: one request or one response per frame
// payload. Framing (a 4-byte big-endian length in front) belongs to the
// transports (server/rpc, api/io/rpc_client); this header is pure.
//
// Request:  version u8 (kRpcVersion) | request id u64 | kind u8 (0 query, 1 write)
//           | options | the Query/Write alternative index (varint) | its fields
// Response: version u8 | request id u64 | tag u8 (0 error, 1 query, 2 write)
//           | error: code (varint, cairn::errc) + detail
//           | query: QueryMeta + QueryValue (index + fields)
//           | write: index + WriteValue (index + fields)
//
// The alternatives' fields are written by api/wire_detail.h's generic
// Put/Get, so adding an alternative to rpc.h costs one fields() overload in
// rpc_codec.cc (none for a type with no fields). A change to an existing
// alternative's fields bumps kRpcVersion.
//
// Decoding is total: garbage, truncation, an unknown version, kind, tag or
// alternative index, and trailing bytes give an Error (errc::parse_error,
// detail saying what), never a crash. An error code this build does not know
// decodes as errc::internal with its detail kept.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "api/rpc.h"
#include "core/result.h"

namespace cairn::api::rpc {

inline constexpr uint8_t kRpcVersion = 2;  // 2: QueryOptions/WriteOptions::forwarded

// The first byte of every connection to a server's port 8300 (Consul's
// pool.RPCType): what the connection carries.
inline constexpr uint8_t kProtocolRpc = 0x00;
inline constexpr uint8_t kProtocolRaft = 0x01;

struct QueryCall {
  QueryOptions options;
  Query query;
};
struct WriteCall {
  WriteOptions options;
  Write write;
};

struct Request {
  uint64_t id = 0;
  std::variant<QueryCall, WriteCall> call;
};

struct Response {
  uint64_t id = 0;
  std::variant<Error, QueryResponse, WriteResponse> result;
};

std::string encode(const Request& request);
std::string encode(const Response& response);
Result<Request> decode_request(std::string_view bytes);
Result<Response> decode_response(std::string_view bytes);

// The response for request `id` carrying a handler's result.
Response make_response(uint64_t id, Result<QueryResponse> result);
Response make_response(uint64_t id, Result<WriteResponse> result);

}  // namespace cairn::api::rpc
