#include "core/io/http_server.h"

#include <atomic>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include "core/io/http_request.h"
#include "core/io/metrics.h"
#include "core/io/pch.h"
#include "core/log.h"

namespace cairn::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using Strand = asio::strand<asio::io_context::executor_type>;
using asio::use_awaitable;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

namespace {

// Where a handler's response lands. Lives on the connection's strand.
// One per connection, reused by each request on it; `seq` tells a late
// response to an earlier request (a long poll answered after its connection
// moved on) from the current one.
struct Slot {
  explicit Slot(const Strand& s) : strand(s), timer(s, asio::steady_timer::time_point::max()) {}
  Strand strand;
  asio::steady_timer timer;  // cancelled when the response arrives
  uint64_t seq = 0;
  std::optional<Response> response;
  // A streamed body's next piece (outer: arrived; inner nullopt: the end).
  std::optional<std::optional<std::string>> piece;

  void deliver(uint64_t for_seq, Response r) {
    if (for_seq != seq || response) return;
    response = std::move(r);
    timer.cancel();
  }
};

struct Conn {
  Conn(Strand s, tcp::socket sock) : strand(std::move(s)), stream(std::move(sock)) {}
  Strand strand;
  beast::tcp_stream stream;
  bool busy = false;    // a request is being handled or written
  bool streaming = false;  // writing a streamed body: shutdown closes it at once
  bool aborted = false;
  std::shared_ptr<Slot> slot;

  // On the strand: close the socket and wake a pending long poll.
  void abort() {
    aborted = true;
    beast::error_code ignored;
    stream.socket().close(ignored);
    if (slot) slot->timer.cancel();
  }
};

std::string status_line_error(int status) {
  switch (status) {
    case 400: return "Bad Request";
    case 413: return "Request body too large";
    case 429: return "Your IP is issuing too many concurrent connections, please rate limit your calls";
    case 431: return "Request header fields too large";
    default: return "error";
  }
}

// The label a request's timing is kept under: the path's first segments
// ("v1_agent_self", "v1_catalog_service"), never a key or a name, so that
// the number of series stays small.
std::string path_family(std::string_view path) {
  std::string out;
  int segments = 0;
  size_t i = 0;
  while (i < path.size() && segments < 3) {
    while (i < path.size() && path[i] == '/') ++i;
    size_t end = path.find('/', i);
    if (end == std::string_view::npos) end = path.size();
    if (end == i) break;
    std::string_view seg = path.substr(i, end - i);
    if (!out.empty()) out += '_';
    out.append(seg);
    ++segments;
    // Past /v1/kv/, /v1/txn... the rest is user data.
    if (segments == 2 && (seg == "kv" || seg == "event" || seg == "snapshot" || seg == "txn")) break;
    i = end;
  }
  return out.empty() ? "root" : out;
}

}  // namespace

struct Server::Impl : std::enable_shared_from_this<Server::Impl> {
  Impl(asio::io_context& io_, const Router& router_, ServerOptions options_)
      : io(io_), router(router_), options(std::move(options_)) {}

  asio::io_context& io;
  const Router& router;
  ServerOptions options;
  std::vector<std::pair<Strand, std::unique_ptr<tcp::acceptor>>> acceptors;

  std::mutex mu;  // guards the three below
  std::unordered_map<std::string, int> per_client;
  std::unordered_set<std::shared_ptr<Conn>> conns;
  std::function<void()> on_drained;
  std::atomic<bool> stopping{false};

  asio::awaitable<void> accept_loop(tcp::acceptor& acceptor);
  asio::awaitable<void> session(std::shared_ptr<Conn> conn);
  asio::awaitable<void> write_error(Conn& conn, int status, unsigned version);
  asio::awaitable<void> write_stream(Conn& conn, Response& response, unsigned version);
  void finished(const std::shared_ptr<Conn>& conn, const std::string& ip);
};

Server::Server(asio::io_context& io, const Router& router, ServerOptions options)
    : impl_(std::make_shared<Impl>(io, router, std::move(options))) {}

Server::~Server() = default;

Result<uint16_t> Server::listen(const std::string& address, uint16_t port) {
  beast::error_code ec;
  auto ip = asio::ip::make_address(address, ec);
  if (ec) return Error(errc::invalid_argument, "invalid listen address \"" + address + "\"");
  Strand strand = asio::make_strand(impl_->io);
  auto acceptor = std::make_unique<tcp::acceptor>(strand);
  tcp::endpoint ep(ip, port);
  acceptor->open(ep.protocol(), ec);
  if (!ec) acceptor->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor->bind(ep, ec);
  if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return Error(errc::io_error, "cannot listen on " + address + ":" + std::to_string(port) + ": " + ec.message());
  }
  uint16_t bound = acceptor->local_endpoint().port();
  impl_->acceptors.emplace_back(std::move(strand), std::move(acceptor));
  return bound;
}

void Server::start() {
  for (auto& [strand, acceptor] : impl_->acceptors) {
    asio::co_spawn(strand, impl_->accept_loop(*acceptor), asio::detached);
  }
}

void Server::shutdown(Duration grace, std::function<void()> done) {
  auto self = impl_;
  self->stopping = true;
  for (auto& [strand, acceptor] : self->acceptors) {
    asio::post(strand, [a = acceptor.get()] {
      beast::error_code ignored;
      a->close(ignored);
    });
  }
  std::vector<std::shared_ptr<Conn>> snapshot;
  {
    std::lock_guard lock(self->mu);
    self->on_drained = std::move(done);
    snapshot.assign(self->conns.begin(), self->conns.end());
    if (snapshot.empty() && self->on_drained) {
      asio::post(self->io, std::exchange(self->on_drained, nullptr));
    }
  }
  // Idle keep-alive connections close now; busy ones finish their request.
  for (auto& c : snapshot) {
    asio::post(c->strand, [c] {
      if (!c->busy || c->streaming) c->abort();
    });
  }
  auto timer = std::make_shared<asio::steady_timer>(self->io, grace);
  timer->async_wait([self, timer](const beast::error_code&) {
    std::vector<std::shared_ptr<Conn>> left;
    {
      std::lock_guard lock(self->mu);
      left.assign(self->conns.begin(), self->conns.end());
    }
    if (!left.empty()) log::warn("http", "shutdown grace period over: closing {} connections", left.size());
    for (auto& c : left) asio::post(c->strand, [c] { c->abort(); });
  });
}

size_t Server::open_connections() const {
  std::lock_guard lock(impl_->mu);
  return impl_->conns.size();
}

asio::awaitable<void> Server::Impl::accept_loop(tcp::acceptor& acceptor) {
  auto self = shared_from_this();
  while (!stopping) {
    Strand strand = asio::make_strand(io);
    auto [ec, socket] = co_await acceptor.async_accept(strand, kTuple);
    if (ec) {
      if (ec == asio::error::operation_aborted || stopping || !acceptor.is_open()) co_return;
      // EMFILE and friends: back off briefly instead of spinning.
      log::warn("http", "accept failed: {}", ec.message());
      asio::steady_timer pause(co_await asio::this_coro::executor, std::chrono::milliseconds(50));
      co_await pause.async_wait(kTuple);
      continue;
    }
    auto conn = std::make_shared<Conn>(strand, std::move(socket));
    asio::co_spawn(strand, session(std::move(conn)), asio::detached);
  }
}

void Server::Impl::finished(const std::shared_ptr<Conn>& conn, const std::string& ip) {
  std::function<void()> drained;
  {
    std::lock_guard lock(mu);
    conns.erase(conn);
    if (auto it = per_client.find(ip); it != per_client.end() && --it->second <= 0) per_client.erase(it);
    if (stopping && conns.empty()) drained = std::exchange(on_drained, nullptr);
  }
  if (drained) asio::post(io, std::move(drained));
}

asio::awaitable<void> Server::Impl::write_error(Conn& conn, int status, unsigned version) {
  bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(status), version};
  res.set(bhttp::field::content_type, "text/plain; charset=utf-8");
  res.body() = status_line_error(status) + "\n";
  res.keep_alive(false);
  res.prepare_payload();
  conn.stream.expires_after(options.write_timeout);
  co_await bhttp::async_write(conn.stream, res, kTuple);
}

// Writes the header with chunked encoding, then each piece the stream gives
// as one chunk, then the last chunk. Ends early (cancelling the stream) when
// the client goes away, a write misses its deadline, or the server stops.
asio::awaitable<void> Server::Impl::write_stream(Conn& conn, Response& response, unsigned version) {
  auto stream = std::move(response.stream);
  bhttp::response<bhttp::empty_body> head{static_cast<bhttp::status>(response.status), version};
  for (const auto& [name, value] : response.headers.items()) head.insert(name, value);
  head.keep_alive(false);
  head.chunked(true);
  bhttp::response_serializer<bhttp::empty_body> serializer{head};
  conn.streaming = true;
  conn.stream.expires_after(options.write_timeout);
  auto [hec, hn] = co_await bhttp::async_write_header(conn.stream, serializer, kTuple);
  bool ok = !hec;
  auto slot = conn.slot;
  while (ok && !conn.aborted && !stopping) {
    uint64_t seq = slot->seq;
    slot->piece.reset();
    stream->next([slot, seq](std::optional<std::string> piece) {
      asio::post(slot->strand, [slot, seq, piece = std::move(piece)]() mutable {
        if (seq != slot->seq || slot->piece) return;
        slot->piece = std::move(piece);
        slot->timer.cancel();
      });
    });
    while (!slot->piece && !conn.aborted) co_await slot->timer.async_wait(kTuple);
    if (!slot->piece || !*slot->piece) break;  // aborted, or the body is complete
    std::string text = std::move(**slot->piece);
    if (text.empty()) continue;
    conn.stream.expires_after(options.write_timeout);
    auto [wec, wn] = co_await asio::async_write(conn.stream, bhttp::make_chunk(asio::buffer(text)), kTuple);
    ok = !wec;
  }
  ++slot->seq;  // a late piece is dropped
  stream->cancel();
  if (ok && !conn.aborted) {
    conn.stream.expires_after(options.write_timeout);
    co_await asio::async_write(conn.stream, bhttp::make_chunk_last(), kTuple);
  }
}

asio::awaitable<void> Server::Impl::session(std::shared_ptr<Conn> conn) {
  auto self = shared_from_this();
  beast::error_code ec;
  auto remote = conn->stream.socket().remote_endpoint(ec);
  std::string ip = ec ? std::string("unknown") : remote.address().to_string();
  bool over_limit = false;
  {
    std::lock_guard lock(mu);
    conns.insert(conn);
    int& n = per_client[ip];
    ++n;
    over_limit = options.max_conns_per_client > 0 && n > options.max_conns_per_client;
  }
  struct Finish {
    Impl* impl;
    std::shared_ptr<Conn> conn;
    std::string ip;
    ~Finish() { impl->finished(conn, ip); }
  } finish{this, conn, ip};

  if (over_limit) {
    log::warn("http", "too many connections from {}: limit is {}", ip, options.max_conns_per_client);
    co_await write_error(*conn, 429, 11);
    conn->stream.socket().shutdown(tcp::socket::shutdown_send, ec);
    co_return;
  }

  beast::flat_buffer buffer;
  bool first = true;
  while (!stopping && !conn->aborted) {
    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(static_cast<uint32_t>(std::min<size_t>(options.max_header_bytes, UINT32_MAX)));
    parser.body_limit(options.max_body_bytes);

    conn->busy = false;
    conn->stream.expires_after(first ? options.read_timeout : options.idle_timeout);
    auto [hec, hn] = co_await bhttp::async_read_header(conn->stream, buffer, parser, kTuple);
    conn->busy = true;
    if (hec) {
      if (hec == bhttp::error::header_limit) {
        co_await write_error(*conn, 431, 11);
      } else if (hec == bhttp::error::body_limit) {
        co_await write_error(*conn, 413, 11);
      } else if (hec == beast::error::timeout) {
        log::debug("http", "closing connection from {}: read deadline passed", ip);
      } else if (hec != bhttp::error::end_of_stream && hec != asio::error::eof &&
                 hec != asio::error::operation_aborted && hec != asio::error::connection_reset &&
                 hec != asio::error::bad_descriptor) {
        co_await write_error(*conn, 400, 11);
      }
      break;
    }
    unsigned version = parser.get().version();
    if (!parser.is_done()) {
      auto expect = parser.get()[bhttp::field::expect];
      if (beast::iequals(expect, "100-continue")) {
        bhttp::response<bhttp::empty_body> cont{bhttp::status::continue_, version};
        conn->stream.expires_after(options.write_timeout);
        auto [cec, cn] = co_await bhttp::async_write(conn->stream, cont, kTuple);
        if (cec) break;
      }
      conn->stream.expires_after(options.read_timeout);
      auto [bec, bn] = co_await bhttp::async_read(conn->stream, buffer, parser, kTuple);
      if (bec) {
        if (bec == bhttp::error::body_limit) {
          co_await write_error(*conn, 413, version);
        } else if (bec == beast::error::timeout) {
          log::debug("http", "closing connection from {}: read deadline passed", ip);
        } else if (bec != bhttp::error::end_of_stream && bec != asio::error::eof &&
                   bec != asio::error::operation_aborted) {
          co_await write_error(*conn, 400, version);
        }
        break;
      }
    }
    first = false;
    auto& raw = parser.get();
    bool keep_alive = raw.keep_alive();

    auto started = std::chrono::steady_clock::now();
    auto converted = to_request(std::move(raw), ip);
    Request req;
    Response response;
    if (!converted.ok()) {
      req.target = std::string(parser.get().target());
      req.method_text = std::string(parser.get().method_string());
      response = Response::error(400, converted.error().message());
    } else {
      req = std::move(converted).value();
      if (!conn->slot) conn->slot = std::make_shared<Slot>(conn->strand);
      auto slot = conn->slot;
      uint64_t seq = ++slot->seq;
      slot->response.reset();
      Responder responder([slot, seq](Response r) {
        if (slot->strand.running_in_this_thread()) {
          slot->deliver(seq, std::move(r));
        } else {
          asio::post(slot->strand, [slot, seq, r = std::move(r)]() mutable { slot->deliver(seq, std::move(r)); });
        }
      });
      try {
        router.dispatch(req, std::move(responder));
      } catch (const std::exception& e) {
        log::error("http", "handler for {} threw: {}", log::redact_url(req.target), e.what());
        slot->response = Response::error(500, "internal error");
      }
      while (!slot->response && !conn->aborted) {
        co_await slot->timer.async_wait(kTuple);
      }
      if (!slot->response) break;  // aborted by shutdown
      response = std::move(*slot->response);
    }
    if (options.decorate) options.decorate(req, response);
    metrics::add_sample("consul.api.http",
                        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count(),
                        {{"method", req.method_text}, {"path", path_family(req.path)}});
    if (log::enabled(log::Level::debug)) {
      log::debug("http", "request: method={} url={} from={} status={}", req.method_text, log::redact_url(req.target), ip,
                 response.status);
    }

    if (response.stream && conn->slot) {
      co_await write_stream(*conn, response, version);
      break;
    }
    bhttp::response<bhttp::string_body> out{static_cast<bhttp::status>(response.status), version};
    for (const auto& [name, value] : response.headers.items()) out.insert(name, value);
    out.body() = std::move(response.body);
    out.keep_alive(keep_alive && !stopping);
    out.prepare_payload();
    conn->stream.expires_after(options.write_timeout);
    auto [wec, wn] = co_await bhttp::async_write(conn->stream, out, kTuple);
    if (wec || !out.keep_alive()) break;
  }
  conn->stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  conn->stream.close();
}

}  // namespace cairn::http
