// The HTTP/2 probes, through libnghttp2's client session fed by hand (mem_send
// / mem_recv) over the probe's socket or TLS stream:
//   - H2PING (Consul's CheckH2PING): a PING frame, passing when acked. TLS
//     with ALPN h2 always (api::HealthCheckDefinition has no H2PingUseTLS).
//   - gRPC (Consul's CheckGRPC): grpc.health.v1.Health/Check for
//     "host:port[/service]", passing when the answer is SERVING. TLS when
//     GRPCUseTLS, else HTTP/2 with prior knowledge (h2c).
#include <nghttp2/nghttp2.h>

#include <cstring>

#include <boost/asio.hpp>

#include "agent/checks/probe_stream.h"

namespace cairn::agent::checks {

namespace asio = boost::asio;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

namespace {

// What the session saw, filled by nghttp2's callbacks.
struct H2State {
  bool ping_acked = false;
  int32_t stream_id = -1;
  bool stream_closed = false;
  uint32_t stream_error = 0;
  std::string status;       // :status
  std::string grpc_status;  // grpc-status (headers or trailers)
  std::string grpc_message;
  std::string body;
  std::string request_body;  // sent through the data provider
  size_t request_sent = 0;
};

int on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* user) {
  auto* st = static_cast<H2State*>(user);
  if (frame->hd.type == NGHTTP2_PING && (frame->hd.flags & NGHTTP2_FLAG_ACK)) st->ping_acked = true;
  return 0;
}

int on_header(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name, size_t namelen, const uint8_t* value,
              size_t valuelen, uint8_t, void* user) {
  auto* st = static_cast<H2State*>(user);
  if (frame->hd.stream_id != st->stream_id) return 0;
  std::string_view n(reinterpret_cast<const char*>(name), namelen);
  std::string v(reinterpret_cast<const char*>(value), valuelen);
  if (n == ":status") st->status = v;
  if (n == "grpc-status") st->grpc_status = v;
  if (n == "grpc-message") st->grpc_message = v;
  return 0;
}

int on_data_chunk(nghttp2_session*, uint8_t, int32_t stream_id, const uint8_t* data, size_t len, void* user) {
  auto* st = static_cast<H2State*>(user);
  if (stream_id == st->stream_id && st->body.size() < 65536) st->body.append(reinterpret_cast<const char*>(data), len);
  return 0;
}

int on_stream_close(nghttp2_session*, int32_t stream_id, uint32_t error_code, void* user) {
  auto* st = static_cast<H2State*>(user);
  if (stream_id == st->stream_id) {
    st->stream_closed = true;
    st->stream_error = error_code;
  }
  return 0;
}

ssize_t read_request_body(nghttp2_session*, int32_t, uint8_t* buf, size_t length, uint32_t* flags, nghttp2_data_source*,
                          void* user) {
  auto* st = static_cast<H2State*>(user);
  size_t n = std::min(length, st->request_body.size() - st->request_sent);
  std::memcpy(buf, st->request_body.data() + st->request_sent, n);
  st->request_sent += n;
  if (st->request_sent == st->request_body.size()) *flags |= NGHTTP2_DATA_FLAG_EOF;
  return static_cast<ssize_t>(n);
}

// A client session that owns its callbacks' target.
class H2Session {
 public:
  H2Session() {
    nghttp2_session_callbacks* cb = nullptr;
    nghttp2_session_callbacks_new(&cb);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
    nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data_chunk);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
    nghttp2_session_client_new(&session_, cb, &state);
    nghttp2_session_callbacks_del(cb);
    nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, nullptr, 0);
  }
  ~H2Session() { nghttp2_session_del(session_); }
  H2Session(const H2Session&) = delete;
  H2Session& operator=(const H2Session&) = delete;
  nghttp2_session* get() { return session_; }
  H2State state;

 private:
  nghttp2_session* session_ = nullptr;
};

// Writes what the session has to send and feeds it what arrives until
// `done()` holds. Errors: the transport's, or a protocol error.
template <typename Stream, typename Done>
asio::awaitable<boost::system::error_code> drive(Stream& stream, H2Session& s, Done done) {
  std::string out;
  char in[16384];
  for (;;) {
    const uint8_t* data = nullptr;
    ssize_t n;
    while ((n = nghttp2_session_mem_send(s.get(), &data)) > 0) out.append(reinterpret_cast<const char*>(data), n);
    if (n < 0) co_return asio::error::make_error_code(asio::error::fault);
    if (!out.empty()) {
      auto [wec, wn] = co_await asio::async_write(stream, asio::buffer(out), kTuple);
      if (wec) co_return wec;
      out.clear();
    }
    if (done()) co_return boost::system::error_code{};
    if (!nghttp2_session_want_read(s.get())) co_return asio::error::make_error_code(asio::error::eof);
    auto [rec, rn] = co_await stream.async_read_some(asio::buffer(in), kTuple);
    if (rec) co_return rec;
    if (nghttp2_session_mem_recv(s.get(), reinterpret_cast<const uint8_t*>(in), rn) < 0) {
      co_return asio::error::make_error_code(asio::error::fault);
    }
  }
}

// The views must outlive the submission: literals, or strings that live on.
nghttp2_nv header(std::string_view name, std::string_view value) {
  return nghttp2_nv{reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())),
                    reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), name.size(), value.size(),
                    NGHTTP2_NV_FLAG_NONE};
}

// grpc.health.v1.HealthCheckRequest{service} as a length-prefixed gRPC message.
std::string health_request(const std::string& service) {
  std::string msg;
  if (!service.empty()) {
    msg.push_back(0x0a);  // field 1, length-delimited
    for (size_t len = service.size();; len >>= 7) {
      if (len < 0x80) {
        msg.push_back(static_cast<char>(len));
        break;
      }
      msg.push_back(static_cast<char>((len & 0x7f) | 0x80));
    }
    msg += service;
  }
  std::string framed(5, '\0');
  for (int i = 0; i < 4; ++i) framed[1 + i] = static_cast<char>((msg.size() >> (8 * (3 - i))) & 0xff);
  return framed + msg;
}

// The status field (1, varint) of a length-prefixed HealthCheckResponse; 0
// (UNKNOWN) when absent or malformed.
uint64_t serving_status(const std::string& body) {
  if (body.size() < 5) return 0;
  size_t i = 5;
  while (i < body.size()) {
    uint64_t key = 0;
    int shift = 0;
    while (i < body.size() && shift < 64) {
      uint8_t b = static_cast<uint8_t>(body[i++]);
      key |= static_cast<uint64_t>(b & 0x7f) << shift;
      shift += 7;
      if (!(b & 0x80)) break;
    }
    uint64_t value = 0;
    shift = 0;
    if ((key & 7) != 0) return 0;  // only varint fields are expected
    while (i < body.size() && shift < 64) {
      uint8_t b = static_cast<uint8_t>(body[i++]);
      value |= static_cast<uint64_t>(b & 0x7f) << shift;
      shift += 7;
      if (!(b & 0x80)) break;
    }
    if ((key >> 3) == 1) return value;
  }
  return 0;
}

const char* serving_name(uint64_t status) {
  switch (status) {
    case 1: return "SERVING";
    case 2: return "NOT_SERVING";
    case 3: return "SERVICE_UNKNOWN";
    default: return "UNKNOWN";
  }
}

}  // namespace

asio::awaitable<Outcome> probe_h2ping(ProbeContext& pc, const api::HealthCheckDefinition& d) {
  auto hp = split_host_port(d.h2ping, "H2PING");
  if (!hp.ok()) co_return Outcome{std::string(api::kHealthCritical), hp.error().detail()};
  H2Session s;
  Endpoint ep{hp->host, hp->port, true, d.tls_skip_verify, d.tls_server_name, true};
  auto ec = co_await with_connection(pc, ep, [&](auto& stream) -> asio::awaitable<boost::system::error_code> {
    nghttp2_submit_ping(s.get(), NGHTTP2_FLAG_NONE, nullptr);
    co_return co_await drive(stream, s, [&] { return s.state.ping_acked; });
  });
  if (ec) co_return Outcome{std::string(api::kHealthCritical), "HTTP2 ping failed: " + failure_text(pc, ec)};
  co_return Outcome{std::string(api::kHealthPassing), "HTTP2 ping was successful"};
}

asio::awaitable<Outcome> probe_grpc(ProbeContext& pc, const api::HealthCheckDefinition& d) {
  const auto slash = d.grpc.find('/');
  const std::string authority = d.grpc.substr(0, slash);
  const std::string service = slash == std::string::npos ? "" : d.grpc.substr(slash + 1);
  const std::string prefix = "gRPC check " + d.grpc + ": ";
  auto critical = [&](const std::string& text) { return Outcome{std::string(api::kHealthCritical), prefix + text}; };
  auto hp = split_host_port(authority, "GRPC");
  if (!hp.ok()) co_return critical(hp.error().detail());
  H2Session s;
  s.state.request_body = health_request(service);
  Endpoint ep{hp->host, hp->port, d.grpc_use_tls, d.tls_skip_verify, d.tls_server_name, true};
  auto ec = co_await with_connection(pc, ep, [&](auto& stream) -> asio::awaitable<boost::system::error_code> {
    const std::string scheme = d.grpc_use_tls ? "https" : "http";
    nghttp2_nv headers[] = {header(":method", "POST"),
                            header(":scheme", scheme),
                            header(":path", "/grpc.health.v1.Health/Check"),
                            header(":authority", authority),
                            header("content-type", "application/grpc"),
                            header("te", "trailers"),
                            header("user-agent", "Consul Health Check")};
    nghttp2_data_provider provider{};
    provider.read_callback = read_request_body;
    s.state.stream_id = nghttp2_submit_request(s.get(), nullptr, headers, std::size(headers), &provider, nullptr);
    if (s.state.stream_id < 0) co_return asio::error::make_error_code(asio::error::fault);
    co_return co_await drive(stream, s, [&] { return s.state.stream_closed; });
  });
  if (ec) co_return critical(failure_text(pc, ec));
  const auto& st = s.state;
  if (st.stream_error != 0) co_return critical("stream reset (HTTP/2 error " + std::to_string(st.stream_error) + ")");
  if (st.status != "200") co_return critical("HTTP status " + st.status);
  if (st.grpc_status != "0") {
    co_return critical("rpc error: code = " + (st.grpc_status.empty() ? std::string("?") : st.grpc_status) +
                       " desc = " + st.grpc_message);
  }
  uint64_t serving = serving_status(st.body);
  if (serving != 1) co_return critical("service \"" + service + "\" is " + serving_name(serving));
  co_return Outcome{std::string(api::kHealthPassing), prefix + "success"};
}

}  // namespace cairn::agent::checks
