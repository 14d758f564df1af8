#include "api/io/rpc_frame.h"

namespace cairn::api::rpc::io {

asio::awaitable<FrameRead> read_frame(const std::shared_ptr<Stream>& sock, asio::steady_timer& deadline,
                                      uint32_t max_bytes, Duration frame_timeout, bool& awaiting_length) {
  constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
  FrameRead out;
  unsigned char len[4];
  awaiting_length = true;
  auto [e1, n1] = co_await asio::async_read(*sock, asio::buffer(len), kTuple);
  awaiting_length = false;
  if (e1) co_return out;
  out.length = (uint32_t{len[0]} << 24) | (uint32_t{len[1]} << 16) | (uint32_t{len[2]} << 8) | len[3];
  if (out.length == 0 || out.length > max_bytes) {
    out.status = FrameRead::Status::bad_length;
    co_return out;
  }
  out.payload.resize(out.length);
  arm(deadline, sock, frame_timeout);
  auto [e2, n2] = co_await asio::async_read(*sock, asio::buffer(out.payload), kTuple);
  deadline.cancel();
  if (!e2) out.status = FrameRead::Status::ok;
  co_return out;
}

}  // namespace cairn::api::rpc::io
