// Framing of the agent<->server RPC stream on port 8300, shared by the
// client (api/io/rpc_client.cc) and the server (server/rpc/): after the
// protocol byte (inside TLS when the connection began with
// io::kProtocolTls, core/io/tls.h), each message is a 4-byte big-endian length and that many
// bytes of api/rpc_codec.h payload.
//
// Includes Asio: for io/ .cc files only, never from a public header.
// Part of cairn_api_io (rpc_frame.cc).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/result.h"
#include "core/io/pch.h"
#include "core/io/stream.h"

namespace cairn::api::rpc::io {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

inline constexpr uint32_t kDefaultMaxFrameBytes = 64u << 20;

// The length prefix, then the payload.
inline std::string frame(const std::string& payload) {
  std::string out(4, '\0');
  auto n = static_cast<uint32_t>(payload.size());
  for (int i = 0; i < 4; ++i) out[i] = static_cast<char>(n >> (24 - 8 * i));
  out += payload;
  return out;
}

using cairn::io::arm;
using cairn::io::Stream;

// "ip:port" or "[ip6]:port" with a literal IP; `what` names the field in errors.
inline Result<tcp::endpoint> parse_endpoint(std::string_view text, std::string_view what) {
  auto bad = [&](std::string_view why) {
    return Error(errc::invalid_argument, std::string(what) + ": \"" + std::string(text) + "\" " + std::string(why));
  };
  auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return bad("is not ip:port");
  std::string_view host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  std::string_view port = text.substr(colon + 1);
  uint32_t p = 0;
  if (port.empty() || port.size() > 5) return bad("has an invalid port");
  for (char c : port) {
    if (c < '0' || c > '9') return bad("has an invalid port");
    p = p * 10 + static_cast<uint32_t>(c - '0');
  }
  if (p > 65535) return bad("has an invalid port");
  boost::system::error_code ec;
  auto ip = asio::ip::make_address(std::string(host), ec);
  if (ec) return bad("needs a literal IP address");
  return tcp::endpoint(ip, static_cast<uint16_t>(p));
}

struct FrameRead {
  enum class Status { ok, closed, bad_length } status = Status::closed;
  uint32_t length = 0;  // what the prefix said (for the log when bad_length)
  std::string payload;
};

// Reads one frame. The wait for the length is under whatever deadline the
// caller armed on `deadline` (idle); `awaiting_length` is true meanwhile, so
// that the caller knows when re-arming an idle deadline is right. Once the
// length arrived the body must come within `frame_timeout`. A length of 0 or
// over `max_bytes` is bad_length (the caller closes the connection).
asio::awaitable<FrameRead> read_frame(const std::shared_ptr<Stream>& sock, asio::steady_timer& deadline,
                                      uint32_t max_bytes, Duration frame_timeout, bool& awaiting_length);

}  // namespace cairn::api::rpc::io
