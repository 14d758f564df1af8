#include "server/rpc/rpc_server.h"

#include <deque>

#include "api/rpc_codec.h"
#include "core/log.h"

namespace cairn::server::rpc {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using api::rpc::io::arm;
using api::rpc::io::FrameRead;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

struct RpcServer::Connection : std::enable_shared_from_this<RpcServer::Connection> {
  Connection(std::shared_ptr<RpcServer> s, std::shared_ptr<cairn::io::Stream> so)
      : server(std::move(s)), sock(std::move(so)), read_deadline(sock->get_executor()),
        write_deadline(sock->get_executor()) {}

  std::shared_ptr<RpcServer> server;
  std::shared_ptr<cairn::io::Stream> sock;
  asio::steady_timer read_deadline;
  asio::steady_timer write_deadline;
  // Strand-only state.
  std::deque<std::string> out;  // framed responses not yet written
  bool writing = false;
  bool awaiting_length = false;
  bool reading_done = false;
  bool closed = false;
  size_t in_flight = 0;

  const RpcListenerOptions& options() const { return server->options_; }

  asio::awaitable<void> read_loop();
  asio::awaitable<void> write_loop();
  // false: stop reading (the peer closed, or the frame was bad).
  bool on_frame(FrameRead f);
  void dispatch(api::rpc::Request request);
  // From any thread: the encoded response of an in-flight request.
  void complete(std::string payload);
  void respond(std::string payload);
  void update_idle();
  void maybe_finish();
  void stop_reading();
  void close();
};

namespace {

// The Handler's callback: answers exactly once, and answers "dropped" when a
// Handler destroys it without calling it, so that no request hangs forever.
struct Reply {
  Reply(std::shared_ptr<RpcServer::Connection> c, uint64_t i) : conn(std::move(c)), id(i) {}
  Reply(const Reply&) = delete;
  Reply& operator=(const Reply&) = delete;
  std::shared_ptr<RpcServer::Connection> conn;
  uint64_t id;
  bool sent = false;
  template <typename T>
  void send(Result<T> result) {
    sent = true;
    conn->complete(api::rpc::encode(api::rpc::make_response(id, std::move(result))));
  }
  ~Reply() {
    if (!sent) conn->complete(api::rpc::encode(api::rpc::Response{id, Error(errc::internal, "rpc: the request was dropped unanswered")}));
  }
};

}  // namespace

void RpcServer::serve(std::shared_ptr<cairn::io::Stream> sock) {
  auto c = std::make_shared<Connection>(shared_from_this(), std::move(sock));
  {
    std::lock_guard lock(mu_);
    if (stopping_) {
      boost::system::error_code ec;
      c->sock->close(ec);
      return;
    }
    connections_.emplace(c.get(), c);
  }
  asio::co_spawn(c->sock->get_executor(), c->read_loop(), asio::detached);
}

void RpcServer::forget(Connection* c) {
  std::lock_guard lock(mu_);
  connections_.erase(c);
}

void RpcServer::stop(asio::io_context& io, Duration grace) {
  std::vector<std::shared_ptr<Connection>> live;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    for (auto& [p, w] : connections_)
      if (auto c = w.lock()) live.push_back(std::move(c));
  }
  for (auto& c : live) {
    asio::post(c->sock->get_executor(), [c, grace] {
      if (grace <= Duration(0)) {
        c->close();
      } else {
        c->stop_reading();
      }
    });
  }
  if (grace <= Duration(0) || live.empty()) return;
  // The hard end of the grace period.
  auto timer = std::make_shared<asio::steady_timer>(io, grace);
  timer->async_wait([timer, live](boost::system::error_code) {
    for (auto& c : live) asio::post(c->sock->get_executor(), [c] { c->close(); });
  });
}

asio::awaitable<void> RpcServer::Connection::read_loop() {
  auto self = shared_from_this();
  while (!closed && !reading_done) {
    awaiting_length = true;
    update_idle();
    FrameRead f = co_await api::rpc::io::read_frame(sock, read_deadline, options().max_frame_bytes,
                                                    options().frame_timeout, awaiting_length);
    if (closed || reading_done || !on_frame(std::move(f))) break;
  }
  reading_done = true;
  read_deadline.cancel();
  maybe_finish();
}

bool RpcServer::Connection::on_frame(FrameRead f) {
  if (f.status == FrameRead::Status::closed) return false;
  if (f.status == FrameRead::Status::bad_length) {
    server->counters_->bump(&RpcListenerCounters::bad_frames);
    log::warn("rpc", "frame of {} bytes (limit {}); closing", f.length, options().max_frame_bytes);
    close();
    return false;
  }
  auto request = api::rpc::decode_request(f.payload);
  if (!request.ok()) {
    server->counters_->bump(&RpcListenerCounters::bad_frames);
    log::warn("rpc", "bad frame: {}; closing", request.error().message());
    close();
    return false;
  }
  dispatch(std::move(request).value());
  return true;
}

void RpcServer::Connection::dispatch(api::rpc::Request request) {
  if (in_flight >= options().max_in_flight) {
    server->counters_->bump(&RpcListenerCounters::rejected_in_flight);
    respond(api::rpc::encode(api::rpc::Response{
        request.id, Error(errc::unavailable, "rpc: too many requests in flight on one connection (limit " +
                                                 std::to_string(options().max_in_flight) + ")")}));
    return;
  }
  ++in_flight;
  server->counters_->bump(&RpcListenerCounters::requests);
  auto reply = std::make_shared<Reply>(shared_from_this(), request.id);
  api::rpc::Handler& handler = server->handler_;
  if (auto* q = std::get_if<api::rpc::QueryCall>(&request.call)) {
    handler.query(std::move(q->options), std::move(q->query),
                  [reply](Result<api::rpc::QueryResponse> r) { reply->send(std::move(r)); });
  } else {
    auto& w = std::get<api::rpc::WriteCall>(request.call);
    handler.write(std::move(w.options), std::move(w.write),
                  [reply](Result<api::rpc::WriteResponse> r) { reply->send(std::move(r)); });
  }
}

void RpcServer::Connection::complete(std::string payload) {
  asio::post(sock->get_executor(), [self = shared_from_this(), payload = std::move(payload)]() mutable {
    --self->in_flight;
    self->respond(std::move(payload));
    self->maybe_finish();
  });
}

void RpcServer::Connection::respond(std::string payload) {
  if (closed) return;
  out.push_back(api::rpc::io::frame(payload));
  if (!writing) {
    writing = true;
    asio::co_spawn(sock->get_executor(), write_loop(), asio::detached);
  }
  update_idle();
}

asio::awaitable<void> RpcServer::Connection::write_loop() {
  auto self = shared_from_this();
  while (!out.empty() && !closed) {
    std::deque<std::string> batch;
    batch.swap(out);
    std::vector<asio::const_buffer> bufs;
    bufs.reserve(batch.size());
    for (auto& b : batch) bufs.push_back(asio::buffer(b));
    arm(write_deadline, sock, options().write_timeout);
    auto [err, n] = co_await sock->write_all(bufs);
    write_deadline.cancel();
    if (err) {
      log::debug("rpc", "write failed: {}; closing", err.message());
      close();
      break;
    }
    server->counters_->bump(&RpcListenerCounters::responses, batch.size());
  }
  writing = false;
  update_idle();
  maybe_finish();
}

// The idle deadline runs only while the connection waits for a frame to
// start and owes nothing: a blocking query in flight keeps it open.
void RpcServer::Connection::update_idle() {
  if (!awaiting_length || closed) return;
  if (in_flight == 0 && out.empty() && !writing) {
    arm(read_deadline, sock, options().idle_timeout);
  } else {
    read_deadline.cancel();
  }
}

void RpcServer::Connection::maybe_finish() {
  if (reading_done && in_flight == 0 && out.empty() && !writing) close();
}

void RpcServer::Connection::stop_reading() {
  if (closed) return;
  // Wakes the pending read with end-of-file; responses still go out.
  boost::system::error_code ec;
  sock->socket().shutdown(tcp::socket::shutdown_receive, ec);
  reading_done = true;
  maybe_finish();
}

void RpcServer::Connection::close() {
  if (closed) return;
  closed = true;
  read_deadline.cancel();
  write_deadline.cancel();
  boost::system::error_code ec;
  sock->close(ec);
  out.clear();
  server->forget(this);
}

}  // namespace cairn::server::rpc
