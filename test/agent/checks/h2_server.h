// A tiny HTTP/2 server for the H2PING and gRPC probe tests, on libnghttp2's
// server session: PINGs are acked by nghttp2 itself; POST
// /grpc.health.v1.Health/Check answers SERVING for "" and "good",
// NOT_SERVING for "bad", and grpc-status 5 (NOT_FOUND) for anything else.
// Plain (h2c with prior knowledge) or TLS with ALPN h2.
#pragma once

#include <nghttp2/nghttp2.h>

#include <cstring>
#include <map>

#include "test/agent/checks/servers.h"

namespace cairn::agent::checks::test {

class H2Server : public ServerBase<H2Server> {
 public:
  explicit H2Server(IoThread& io, const SelfSigned* tls = nullptr) : ServerBase(io, tls, true) {}

 private:

  struct Stream {
    std::string body;      // request
    std::string response;  // length-prefixed message
    size_t sent = 0;
  };
  struct Conn {
    nghttp2_session* session = nullptr;
    std::map<int32_t, Stream> streams;
  };

  static nghttp2_nv nv(const char* name, const std::string& value) {
    return nghttp2_nv{reinterpret_cast<uint8_t*>(const_cast<char*>(name)),
                      reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), std::strlen(name), value.size(),
                      NGHTTP2_NV_FLAG_NONE};
  }
  static int on_data(nghttp2_session*, uint8_t, int32_t id, const uint8_t* data, size_t len, void* user) {
    static_cast<Conn*>(user)->streams[id].body.append(reinterpret_cast<const char*>(data), len);
    return 0;
  }
  static ssize_t read_body(nghttp2_session* session, int32_t id, uint8_t* buf, size_t length, uint32_t* flags,
                           nghttp2_data_source*, void* user) {
    auto& st = static_cast<Conn*>(user)->streams[id];
    size_t n = std::min(length, st.response.size() - st.sent);
    std::memcpy(buf, st.response.data() + st.sent, n);
    st.sent += n;
    if (st.sent == st.response.size()) {
      *flags |= NGHTTP2_DATA_FLAG_EOF | NGHTTP2_DATA_FLAG_NO_END_STREAM;
      static const std::string zero = "0";
      nghttp2_nv trailers[] = {nv("grpc-status", zero)};
      nghttp2_submit_trailer(session, id, trailers, 1);
    }
    return static_cast<ssize_t>(n);
  }
  static int on_frame(nghttp2_session* session, const nghttp2_frame* frame, void* user) {
    auto* conn = static_cast<Conn*>(user);
    bool request_done = (frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA) &&
                        (frame->hd.flags & NGHTTP2_FLAG_END_STREAM);
    if (!request_done) return 0;
    auto& st = conn->streams[frame->hd.stream_id];
    std::string service = st.body.size() > 7 ? st.body.substr(7) : "";
    static const std::string ok = "200", type = "application/grpc", not_found = "5", msg = "unknown service";
    if (!service.empty() && service != "good" && service != "bad") {
      nghttp2_nv headers[] = {nv(":status", ok), nv("content-type", type), nv("grpc-status", not_found),
                              nv("grpc-message", msg)};
      nghttp2_submit_response(session, frame->hd.stream_id, headers, 4, nullptr);
      return 0;
    }
    char status = service == "bad" ? 2 : 1;
    st.response = std::string("\0\0\0\0\x02\x08", 6) + status;
    nghttp2_nv headers[] = {nv(":status", ok), nv("content-type", type)};
    nghttp2_data_provider provider{};
    provider.read_callback = read_body;
    nghttp2_submit_response(session, frame->hd.stream_id, headers, 2, &provider);
    return 0;
  }

 public:
  template <typename S>
  asio::awaitable<void> run(S& stream) {
    Conn conn;
    nghttp2_session_callbacks* cb = nullptr;
    nghttp2_session_callbacks_new(&cb);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame);
    nghttp2_session_server_new(&conn.session, cb, &conn);
    nghttp2_session_callbacks_del(cb);
    nghttp2_submit_settings(conn.session, NGHTTP2_FLAG_NONE, nullptr, 0);
    char in[16384];
    for (;;) {
      const uint8_t* data = nullptr;
      std::string out;
      ssize_t n;
      while ((n = nghttp2_session_mem_send(conn.session, &data)) > 0) out.append(reinterpret_cast<const char*>(data), n);
      if (!out.empty()) {
        auto [wec, wn] = co_await asio::async_write(stream, asio::buffer(out), asio::as_tuple(asio::use_awaitable));
        if (wec) break;
      }
      auto [rec, rn] = co_await stream.async_read_some(asio::buffer(in), asio::as_tuple(asio::use_awaitable));
      if (rec || nghttp2_session_mem_recv(conn.session, reinterpret_cast<const uint8_t*>(in), rn) < 0) break;
    }
    nghttp2_session_del(conn.session);
  }
};

}  // namespace cairn::agent::checks::test
