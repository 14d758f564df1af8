#include "api/io/rpc_client.h"

#include <atomic>
#include <deque>
#include <map>
#include <mutex>
#include <set>

#include "api/io/rpc_frame.h"
#include "api/rpc_codec.h"
#include "core/io/source_addr.h"
#include "core/io/tls.h"
#include "core/log.h"

namespace cairn::api {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using Strand = asio::strand<asio::io_context::executor_type>;
using rpc::io::arm;
using rpc::io::FrameRead;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

namespace {

struct Conn;

// One call, from query()/write() until its callback ran. Strand-only.
struct Call {
  uint64_t id = 0;
  bool is_query = true;
  size_t op_index = 0;  // the Query/Write alternative: the result must match it
  std::string frame;    // the framed request
  rpc::QueryCallback query_done;
  rpc::WriteCallback write_done;
  std::set<std::string> tried;  // servers this call went to
  std::string last_error;       // why the last server failed it
  std::weak_ptr<Conn> conn;
  std::unique_ptr<asio::steady_timer> deadline;
  bool finished = false;
};

// One connection to one server. Strand-only.
struct Conn {
  Conn(Strand& strand, std::string a, tcp::endpoint e)
      : address(std::move(a)), ep(e), sock(std::make_shared<rpc::io::Stream>(strand)), deadline(strand),
        read_deadline(strand), idle(strand) {}
  std::string address;
  tcp::endpoint ep;
  std::shared_ptr<rpc::io::Stream> sock;
  asio::steady_timer deadline;       // connect (and TLS handshake), then each write
  asio::steady_timer read_deadline;  // the body of a response
  asio::steady_timer idle;
  bool up = false;
  bool dead = false;
  bool writing = false;
  bool protocol_byte_due = true;
  bool awaiting_length = false;
  std::deque<std::shared_ptr<Call>> queue;             // not yet written
  std::map<uint64_t, std::shared_ptr<Call>> sent;      // written, awaiting the response
};

// Hands the server's answer to the caller as the typed result T; a result
// of another type than the request's is an error, never a bad_variant_access
// in the caller's value_of().
template <typename T>
void deliver(Result<rpc::Response> response, size_t op_index, std::function<void(Result<T>)> done) {
  if (!done) return;
  if (!response.ok()) return done(response.error());
  if (auto* e = std::get_if<Error>(&response->result)) return done(std::move(*e));
  if (auto* v = std::get_if<T>(&response->result); v && v->value.index() == op_index) return done(std::move(*v));
  done(Error(errc::internal, "rpc error: the server's result does not match the request"));
}

}  // namespace

struct RpcClient::Impl : std::enable_shared_from_this<RpcClient::Impl> {
  Impl(asio::io_context& io_, ServerList s, RpcClientOptions o)
      : io(io_), strand(asio::make_strand(io_)), servers(std::move(s)), options(std::move(o)) {}

  asio::io_context& io;
  Strand strand;
  ServerList servers;
  const RpcClientOptions options;

  mutable std::mutex mu;  // guards counters
  RpcClientCounters counters;
  std::atomic<uint64_t> next_id{1};

  // Strand-only.
  bool closed = false;
  std::string preferred;  // the server that last worked, tried first
  std::map<std::string, std::shared_ptr<Conn>> conns;

  void bump(uint64_t RpcClientCounters::*field) {
    std::lock_guard lock(mu);
    ++(counters.*field);
  }

  void start(std::shared_ptr<Call> call, Duration timeout);
  void route(const std::shared_ptr<Call>& call);
  void submit(const std::shared_ptr<Conn>& conn, const std::shared_ptr<Call>& call);
  void start_writing(const std::shared_ptr<Conn>& conn);
  void finish(const std::shared_ptr<Call>& call, Result<rpc::Response> result);
  void fail(const std::shared_ptr<Call>& call, Error e) { finish(call, Result<rpc::Response>(std::move(e))); }
  void conn_failed(const std::shared_ptr<Conn>& conn, const std::string& reason);
  void retire(const std::shared_ptr<Conn>& conn);
  std::string next_server_after(const std::string& address);
  void update_idle(const std::shared_ptr<Conn>& conn);
  void close_all();
  asio::awaitable<void> connect(std::shared_ptr<Conn> conn);
  asio::awaitable<void> write_loop(std::shared_ptr<Conn> conn);
  asio::awaitable<void> read_loop(std::shared_ptr<Conn> conn);
  bool on_frame(const std::shared_ptr<Conn>& conn, FrameRead f);
};

RpcClient::RpcClient(asio::io_context& io, ServerList servers, RpcClientOptions options)
    : impl_(std::make_shared<Impl>(io, std::move(servers), std::move(options))) {}

RpcClient::~RpcClient() { close(); }

std::unique_ptr<RpcClient> RpcClient::to(asio::io_context& io, std::string address, RpcClientOptions options) {
  return std::make_unique<RpcClient>(io, [address = std::move(address)] { return std::vector<std::string>{address}; },
                                     std::move(options));
}

// A blocking query may legitimately wait max_wait plus the server's jitter
// (wait/16, DESIGN.md) plus a round trip; 0 means the server's 10 minute cap.
Duration RpcClient::deadline_for(const rpc::QueryOptions& o, Duration call_timeout) {
  if (o.min_index == 0) return call_timeout;
  Duration wait = o.max_wait > Duration(0) ? o.max_wait : std::chrono::minutes(10);
  return wait + wait / 16 + std::chrono::seconds(5);
}

RpcClientCounters RpcClient::counters() const {
  std::lock_guard lock(impl_->mu);
  return impl_->counters;
}

void RpcClient::close() {
  asio::post(impl_->strand, [impl = impl_] { impl->close_all(); });
}

void RpcClient::query(rpc::QueryOptions options, rpc::Query query, rpc::QueryCallback done) {
  auto call = std::make_shared<Call>();
  call->id = impl_->next_id++;
  call->op_index = query.index();
  Duration timeout = deadline_for(options, impl_->options.call_timeout);
  call->frame = rpc::io::frame(rpc::encode(rpc::Request{call->id, rpc::QueryCall{std::move(options), std::move(query)}}));
  call->query_done = std::move(done);
  asio::post(impl_->strand, [impl = impl_, call, timeout] { impl->start(call, timeout); });
}

void RpcClient::write(rpc::WriteOptions options, rpc::Write write, rpc::WriteCallback done) {
  auto call = std::make_shared<Call>();
  call->id = impl_->next_id++;
  call->is_query = false;
  call->op_index = write.index();
  call->frame = rpc::io::frame(rpc::encode(rpc::Request{call->id, rpc::WriteCall{std::move(options), std::move(write)}}));
  call->write_done = std::move(done);
  asio::post(impl_->strand, [impl = impl_, call] { impl->start(call, impl->options.call_timeout); });
}

void RpcClient::Impl::start(std::shared_ptr<Call> call, Duration timeout) {
  bump(&RpcClientCounters::calls);
  if (closed) return fail(call, Error(errc::cancelled, "rpc error: client closed"));
  call->deadline = std::make_unique<asio::steady_timer>(strand, timeout);
  call->deadline->async_wait([self = shared_from_this(), call](boost::system::error_code ec) {
    if (ec || call->finished) return;
    self->bump(&RpcClientCounters::timeouts);
    if (auto conn = call->conn.lock()) {
      conn->sent.erase(call->id);
      std::erase(conn->queue, call);
      self->update_idle(conn);
    }
    self->fail(call, Error(errc::timeout, "rpc error: timeout"));
  });
  route(call);
}

// Picks the preferred server, or the next one after it in the list that
// this call has not tried yet.
void RpcClient::Impl::route(const std::shared_ptr<Call>& call) {
  std::vector<std::string> list = servers ? servers() : std::vector<std::string>{};
  if (list.empty()) return fail(call, Error(errc::unavailable, "No known Consul servers"));
  size_t start = 0;
  for (size_t i = 0; i < list.size(); ++i) {
    if (list[i] == preferred) start = i;
  }
  for (size_t k = 0; k < list.size(); ++k) {
    const std::string& address = list[(start + k) % list.size()];
    if (call->tried.contains(address)) continue;
    call->tried.insert(address);
    if (call->tried.size() > 1) bump(&RpcClientCounters::failovers);
    auto it = conns.find(address);
    if (it == conns.end()) {
      auto ep = rpc::io::parse_endpoint(address, "rpc server address");
      if (!ep.ok()) {
        call->last_error = ep.error().message();
        continue;
      }
      auto conn = std::make_shared<Conn>(strand, address, *ep);
      it = conns.emplace(address, conn).first;
      asio::co_spawn(strand, connect(conn), asio::detached);
    }
    preferred = address;
    return submit(it->second, call);
  }
  fail(call, Error(errc::unavailable, "rpc error: " + (call->last_error.empty() ? "no server answered" : call->last_error)));
}

void RpcClient::Impl::submit(const std::shared_ptr<Conn>& conn, const std::shared_ptr<Call>& call) {
  call->conn = conn;
  conn->queue.push_back(call);
  conn->idle.cancel();
  if (conn->up && !conn->writing) start_writing(conn);
}

void RpcClient::Impl::start_writing(const std::shared_ptr<Conn>& conn) {
  conn->writing = true;  // before the coroutine runs, so that one writer runs at a time
  asio::co_spawn(strand, write_loop(conn), asio::detached);
}

void RpcClient::Impl::finish(const std::shared_ptr<Call>& call, Result<rpc::Response> result) {
  if (call->finished) return;
  call->finished = true;
  if (call->deadline) call->deadline->cancel();
  call->conn.reset();
  if (call->is_query) {
    deliver(std::move(result), call->op_index, std::move(call->query_done));
  } else {
    deliver(std::move(result), call->op_index, std::move(call->write_done));
  }
}

asio::awaitable<void> RpcClient::Impl::connect(std::shared_ptr<Conn> conn) {
  auto self = shared_from_this();
  arm(conn->deadline, conn->sock, options.connect_timeout);
  boost::system::error_code bind_ec;  // on failure the kernel picks the source
  cairn::io::bind_source(conn->sock->socket(), options.source_ip, conn->ep, bind_ec);
  auto [ec] = co_await conn->sock->socket().async_connect(conn->ep, kTuple);
  if (!ec && conn->sock->is_open() && !conn->dead && options.tls && options.tls->dial_tls()) {
    // Consul's RPCTLS byte in plaintext, then the handshake (core/io/tls.h).
    const uint8_t tls_byte = cairn::io::kProtocolTls;
    auto [werr, n] = co_await asio::async_write(conn->sock->socket(), asio::buffer(&tls_byte, 1), kTuple);
    if (!werr && !conn->dead) {
      conn->sock->start_tls(options.tls, cairn::io::Stream::Role::client);
      werr = co_await conn->sock->handshake();
    }
    if (werr && !conn->dead) {
      bump(&RpcClientCounters::tls_handshake_failures);
      std::string verify = conn->sock->is_tls() ? conn->sock->verify_error() : std::string();
      ec = werr;
      conn->deadline.cancel();
      bump(&RpcClientCounters::connect_failures);
      log::warn("rpc", "TLS handshake with {} failed: {}", conn->address, verify.empty() ? werr.message() : verify);
      conn_failed(conn, "TLS handshake with " + conn->address + " failed: " + (verify.empty() ? werr.message() : verify));
      co_return;
    }
  }
  conn->deadline.cancel();
  if (conn->dead) co_return;
  if (ec || !conn->sock->is_open()) {
    bump(&RpcClientCounters::connect_failures);
    conn_failed(conn, "failed to connect to " + conn->address + ": " +
                          (ec ? ec.message() : std::string("connect timed out")));
    co_return;
  }
  bump(&RpcClientCounters::connects);
  boost::system::error_code ignored;
  conn->sock->socket().set_option(tcp::no_delay(true), ignored);
  conn->up = true;
  asio::co_spawn(strand, read_loop(conn), asio::detached);
  if (!conn->queue.empty() && !conn->writing) start_writing(conn);
  update_idle(conn);
}

asio::awaitable<void> RpcClient::Impl::write_loop(std::shared_ptr<Conn> conn) {
  auto self = shared_from_this();
  while (!conn->dead && !conn->queue.empty()) {
    std::vector<std::shared_ptr<Call>> batch;
    std::vector<asio::const_buffer> bufs;
    const uint8_t protocol = rpc::kProtocolRpc;
    if (conn->protocol_byte_due) bufs.push_back(asio::buffer(&protocol, 1));
    for (auto& call : conn->queue) {
      if (call->finished) continue;
      // From here on the request counts as sent: a failure may have
      // delivered it, so a write is not retried.
      conn->sent.emplace(call->id, call);
      bufs.push_back(asio::buffer(call->frame));
      batch.push_back(call);
    }
    conn->queue.clear();
    if (batch.empty()) break;
    arm(conn->deadline, conn->sock, options.write_timeout);
    auto [ec, n] = co_await conn->sock->write_all(bufs);
    conn->deadline.cancel();
    if (ec) {
      conn_failed(conn, "write to " + conn->address + " failed: " + ec.message());
      break;
    }
    conn->protocol_byte_due = false;
  }
  conn->writing = false;
}

asio::awaitable<void> RpcClient::Impl::read_loop(std::shared_ptr<Conn> conn) {
  auto self = shared_from_this();
  while (!conn->dead) {
    FrameRead f = co_await rpc::io::read_frame(conn->sock, conn->read_deadline, options.max_frame_bytes,
                                               options.frame_timeout, conn->awaiting_length);
    if (conn->dead || !on_frame(conn, std::move(f))) break;
  }
}

bool RpcClient::Impl::on_frame(const std::shared_ptr<Conn>& conn, FrameRead f) {
  if (f.status == FrameRead::Status::closed) {
    conn_failed(conn, "connection to " + conn->address + " closed");
    return false;
  }
  auto response = f.status == FrameRead::Status::ok
                      ? rpc::decode_response(f.payload)
                      : Result<rpc::Response>(Error(errc::too_large, "rpc: response frame of " + std::to_string(f.length) +
                                                                         " bytes is over the limit"));
  if (!response.ok()) {
    bump(&RpcClientCounters::bad_frames);
    log::warn("rpc", "bad response from {}: {}; closing", conn->address, response.error().message());
    conn_failed(conn, "bad response from " + conn->address + ": " + response.error().message());
    return false;
  }
  auto it = conn->sent.find(response->id);
  if (it == conn->sent.end()) return true;  // its call timed out
  auto call = it->second;
  conn->sent.erase(it);
  finish(call, std::move(response));
  update_idle(conn);
  return true;
}

// The connection is gone: calls not yet written go to another server,
// queries already written too, writes already written fail.
void RpcClient::Impl::conn_failed(const std::shared_ptr<Conn>& conn, const std::string& reason) {
  if (conn->dead) return;
  retire(conn);
  if (preferred == conn->address) preferred = next_server_after(conn->address);
  std::vector<std::shared_ptr<Call>> again(conn->queue.begin(), conn->queue.end());
  conn->queue.clear();
  for (auto& [id, call] : conn->sent) {
    if (call->is_query) {
      again.push_back(call);
    } else {
      fail(call, closed ? Error(errc::cancelled, "rpc error: client closed") : Error(errc::unavailable, "rpc error: " + reason));
    }
  }
  conn->sent.clear();
  for (auto& call : again) {
    if (call->finished) continue;
    call->last_error = reason;
    if (closed) {
      fail(call, Error(errc::cancelled, "rpc error: client closed"));
    } else {
      route(call);
    }
  }
}

std::string RpcClient::Impl::next_server_after(const std::string& address) {
  std::vector<std::string> list = servers ? servers() : std::vector<std::string>{};
  for (size_t i = 0; i < list.size(); ++i) {
    if (list[i] == address) return list[(i + 1) % list.size()];
  }
  return list.empty() ? std::string() : list.front();
}

void RpcClient::Impl::retire(const std::shared_ptr<Conn>& conn) {
  conn->dead = true;
  conn->deadline.cancel();
  conn->read_deadline.cancel();
  conn->idle.cancel();
  boost::system::error_code ec;
  conn->sock->close(ec);
  if (auto it = conns.find(conn->address); it != conns.end() && it->second == conn) conns.erase(it);
}

// A connection that owes nothing closes after idle_close.
void RpcClient::Impl::update_idle(const std::shared_ptr<Conn>& conn) {
  if (conn->dead || !conn->queue.empty() || !conn->sent.empty()) return;
  conn->idle.expires_after(options.idle_close);
  conn->idle.async_wait([self = shared_from_this(), conn](boost::system::error_code ec) {
    if (ec || conn->dead || !conn->queue.empty() || !conn->sent.empty()) return;
    self->retire(conn);
  });
}

void RpcClient::Impl::close_all() {
  closed = true;
  auto all = conns;
  for (auto& [address, conn] : all) conn_failed(conn, "client closed");
}

}  // namespace cairn::api
