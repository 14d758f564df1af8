#include "agent/dns/server.h"

#include <boost/asio.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>

#include <atomic>
#include <list>
#include <mutex>

#include "core/log.h"

namespace cairn::agent::dns {

namespace asio = boost::asio;
using asio::ip::tcp;
using asio::ip::udp;
using namespace asio::experimental::awaitable_operators;
namespace {
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
using Strand = asio::strand<asio::io_context::executor_type>;

// "ip", "ip:port", "[v6]" or "[v6]:port" (port 53 by default).
std::optional<udp::endpoint> parse_recursor(const std::string& s) {
  std::string host = s;
  uint16_t port = 53;
  if (!s.empty() && s[0] == '[') {
    auto close = s.find(']');
    if (close == std::string::npos) return std::nullopt;
    host = s.substr(1, close - 1);
    if (close + 1 < s.size()) {
      if (s[close + 1] != ':') return std::nullopt;
      port = static_cast<uint16_t>(std::atoi(s.c_str() + close + 2));
    }
  } else if (std::count(s.begin(), s.end(), ':') == 1) {
    auto colon = s.find(':');
    host = s.substr(0, colon);
    port = static_cast<uint16_t>(std::atoi(s.c_str() + colon + 1));
  }
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(host, ec);
  if (ec || port == 0) return std::nullopt;
  return udp::endpoint(addr, port);
}

}  // namespace

struct Server::Impl : std::enable_shared_from_this<Impl> {
  asio::io_context& io;
  std::shared_ptr<Resolver> resolver;
  ServerOptions options;
  std::vector<udp::endpoint> recursors;

  struct UdpListener {
    Strand strand;
    udp::socket socket;
    explicit UdpListener(asio::io_context& io) : strand(asio::make_strand(io)), socket(strand) {}
  };
  std::vector<std::unique_ptr<UdpListener>> udp_listeners;
  std::vector<std::unique_ptr<tcp::acceptor>> acceptors;

  std::mutex conns_mu;
  std::list<std::weak_ptr<tcp::socket>> conns;
  std::atomic<size_t> open_conns{0};
  std::atomic<bool> stopped{false};

  Impl(asio::io_context& io, std::shared_ptr<Resolver> r, ServerOptions o)
      : io(io), resolver(std::move(r)), options(std::move(o)) {}

  asio::awaitable<void> udp_loop(UdpListener& l);
  asio::awaitable<void> forward_udp(UdpListener& l, udp::endpoint from, std::vector<uint8_t> request);
  static void send_udp(UdpListener& l, const udp::endpoint& to, const std::vector<uint8_t>& bytes);
  asio::awaitable<void> accept_loop(tcp::acceptor& acceptor);
  asio::awaitable<void> tcp_session(std::shared_ptr<tcp::socket> sock);
  // Sends `request` to each recursor in turn; the first NOERROR or NXDOMAIN
  // answer wins, else SERVFAIL.
  asio::awaitable<std::vector<uint8_t>> forward(std::vector<uint8_t> request);
  // Resolves on the resolver's terms and resumes on the caller's executor.
  asio::awaitable<std::vector<uint8_t>> answer(std::vector<uint8_t> request, Transport t);
};

Server::Server(asio::io_context& io, std::shared_ptr<Resolver> resolver, ServerOptions options)
    : impl_(std::make_shared<Impl>(io, std::move(resolver), std::move(options))) {
  for (const auto& r : impl_->options.recursors) {
    if (auto ep = parse_recursor(r)) impl_->recursors.push_back(*ep);
    else log::warn("dns", "ignoring recursor {}: not ip[:port]", r);
  }
}

Server::~Server() { stop(); }

Result<uint16_t> Server::listen(const std::string& address, uint16_t port) {
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(address, ec);
  if (ec) return Error(errc::invalid_argument, "dns: bad address " + address);
  // UDP first (port 0 picks one), then TCP on the same number; a free UDP
  // port whose TCP twin is taken is retried a few times.
  for (int attempt = 0; attempt < 20; ++attempt) {
    std::vector<std::unique_ptr<Impl::UdpListener>> udps;
    uint16_t bound = port;
    bool failed = false;
    int n = std::max(1, impl_->options.udp_sockets);
    for (int i = 0; i < n && !failed; ++i) {
      auto l = std::make_unique<Impl::UdpListener>(impl_->io);
      udp::endpoint ep(addr, bound);
      l->socket.open(ep.protocol(), ec);
      if (!ec) l->socket.set_option(asio::socket_base::reuse_address(true), ec);
      if (!ec && n > 1) {
        int one = 1;
        ::setsockopt(l->socket.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
      }
      if (!ec) l->socket.bind(ep, ec);
      if (!ec) l->socket.non_blocking(true, ec);
      if (ec) {
        if (port != 0 || i == 0) return Error(errc::io_error, "dns: udp bind " + address + ": " + ec.message());
        failed = true;
        break;
      }
      bound = l->socket.local_endpoint().port();
      udps.push_back(std::move(l));
    }
    if (failed) continue;
    auto acc = std::make_unique<tcp::acceptor>(impl_->io);
    tcp::endpoint tep(addr, bound);
    acc->open(tep.protocol(), ec);
    if (!ec) acc->set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acc->bind(tep, ec);
    if (!ec) acc->listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      if (port != 0) return Error(errc::io_error, "dns: tcp bind " + address + ": " + ec.message());
      continue;
    }
    for (auto& u : udps) impl_->udp_listeners.push_back(std::move(u));
    impl_->acceptors.push_back(std::move(acc));
    return bound;
  }
  return Error(errc::io_error, "dns: no port free for both udp and tcp on " + address);
}

void Server::start() {
  for (auto& l : impl_->udp_listeners)
    asio::co_spawn(l->strand, [impl = impl_, l = l.get()]() { return impl->udp_loop(*l); }, asio::detached);
  for (auto& a : impl_->acceptors)
    asio::co_spawn(a->get_executor(), [impl = impl_, a = a.get()]() { return impl->accept_loop(*a); },
                   asio::detached);
}

void Server::stop() {
  if (impl_->stopped.exchange(true)) return;
  // Each close runs on its socket's executor; the closures keep Impl alive.
  auto impl = impl_;
  for (auto& l : impl->udp_listeners)
    asio::post(l->strand, [impl, s = &l->socket] {
      boost::system::error_code ec;
      s->close(ec);
    });
  for (auto& a : impl->acceptors)
    asio::post(a->get_executor(), [impl, a = a.get()] {
      boost::system::error_code ec;
      a->close(ec);
    });
  std::lock_guard lock(impl->conns_mu);
  for (auto& w : impl->conns)
    if (auto s = w.lock())
      asio::post(s->get_executor(), [s] {
        boost::system::error_code ec;
        s->close(ec);
      });
}

size_t Server::open_tcp_connections() const { return impl_->open_conns.load(); }

asio::awaitable<std::vector<uint8_t>> Server::Impl::answer(std::vector<uint8_t> request, Transport t) {
  auto self = shared_from_this();
  auto reply = co_await asio::async_initiate<decltype(asio::use_awaitable), void(Reply)>(
      [self, &request, t](auto handler) {
        auto h = std::make_shared<decltype(handler)>(std::move(handler));
        auto ex = asio::get_associated_executor(*h);
        self->resolver->resolve(request, t, [h, ex](Reply r) mutable {
          asio::dispatch(ex, [h, r = std::move(r)]() mutable { (*h)(std::move(r)); });
        });
      },
      asio::use_awaitable);
  if (reply.action == Reply::Action::forward) co_return co_await forward(std::move(request));
  co_return std::move(reply.bytes);
}

asio::awaitable<void> Server::Impl::udp_loop(UdpListener& l) {
  auto self = shared_from_this();
  std::vector<uint8_t> buf(65536);
  while (!stopped) {
    udp::endpoint from;
    auto [ec, n] = co_await l.socket.async_receive_from(asio::buffer(buf), from, kTuple);
    if (ec == asio::error::operation_aborted || !l.socket.is_open()) co_return;
    if (ec) continue;
    std::span<const uint8_t> packet(buf.data(), n);
    // resolve() does not keep the packet; a forward needs its own copy.
    std::vector<uint8_t> copy;
    if (!recursors.empty()) copy.assign(packet.begin(), packet.end());
    // A hit answers inside resolve() on this strand: send at once. A miss
    // answers later on another thread: the send is posted back here.
    resolver->resolve(packet, Transport::udp, [self, &l, from, copy = std::move(copy)](Reply r) mutable {
      if (r.action == Reply::Action::drop) return;
      if (r.action == Reply::Action::forward) {
        asio::co_spawn(l.strand, self->forward_udp(l, from, std::move(copy)), asio::detached);
        return;
      }
      asio::dispatch(l.strand, [&l, from, bytes = std::move(r.bytes)] { send_udp(l, from, bytes); });
    });
  }
}

void Server::Impl::send_udp(UdpListener& l, const udp::endpoint& to, const std::vector<uint8_t>& bytes) {
  boost::system::error_code ec;
  // The socket is non-blocking: a full send buffer drops the answer, as UDP may.
  if (l.socket.is_open() && !bytes.empty()) l.socket.send_to(asio::buffer(bytes), to, 0, ec);
}

asio::awaitable<void> Server::Impl::forward_udp(UdpListener& l, udp::endpoint from, std::vector<uint8_t> request) {
  auto self = shared_from_this();
  auto out = co_await forward(std::move(request));
  co_await asio::dispatch(l.strand, asio::use_awaitable);
  send_udp(l, from, out);
}

asio::awaitable<void> Server::Impl::accept_loop(tcp::acceptor& acceptor) {
  auto self = shared_from_this();
  while (!stopped) {
    auto sock = std::make_shared<tcp::socket>(asio::make_strand(io));
    auto [ec] = co_await acceptor.async_accept(*sock, kTuple);
    if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
    if (ec) continue;
    if (open_conns.load() >= options.max_tcp_connections) {
      boost::system::error_code ignore;
      sock->close(ignore);
      continue;
    }
    ++open_conns;
    {
      std::lock_guard lock(conns_mu);
      conns.remove_if([](const std::weak_ptr<tcp::socket>& w) { return w.expired(); });
      conns.push_back(sock);
    }
    asio::co_spawn(sock->get_executor(), tcp_session(sock), [self](std::exception_ptr) { --self->open_conns; });
  }
}

asio::awaitable<void> Server::Impl::tcp_session(std::shared_ptr<tcp::socket> sock) {
  auto self = shared_from_this();
  asio::steady_timer timer(sock->get_executor());
  auto with_deadline = [&](auto op, Duration d) -> asio::awaitable<bool> {
    timer.expires_after(d);
    auto result = co_await (std::move(op) || timer.async_wait(asio::use_awaitable));
    if (result.index() == 1) co_return false;  // the deadline passed
    auto [ec, n] = std::get<0>(result);
    (void)n;
    co_return !ec;
  };
  std::vector<uint8_t> body;
  while (!stopped) {
    uint8_t len_bytes[2];
    if (!co_await with_deadline(asio::async_read(*sock, asio::buffer(len_bytes), kTuple), options.tcp_read_timeout))
      break;
    size_t len = size_t{len_bytes[0]} << 8 | len_bytes[1];
    body.resize(len);
    if (len && !co_await with_deadline(asio::async_read(*sock, asio::buffer(body), kTuple), options.tcp_read_timeout))
      break;
    auto out = co_await answer(body, Transport::tcp);
    if (out.empty()) continue;  // dropped (unreadable header): wait for the next one
    if (out.size() > kMaxTcpSize) break;
    uint8_t prefix[2] = {static_cast<uint8_t>(out.size() >> 8), static_cast<uint8_t>(out.size())};
    std::array<asio::const_buffer, 2> bufs{asio::buffer(prefix), asio::buffer(out)};
    if (!co_await with_deadline(asio::async_write(*sock, bufs, kTuple), options.tcp_write_timeout)) break;
  }
  boost::system::error_code ec;
  sock->close(ec);
}

asio::awaitable<std::vector<uint8_t>> Server::Impl::forward(std::vector<uint8_t> request) {
  auto ex = co_await asio::this_coro::executor;
  uint16_t id = request.size() >= 2 ? static_cast<uint16_t>(request[0] << 8 | request[1]) : 0;
  for (const auto& r : recursors) {
    udp::socket s(ex);
    boost::system::error_code ec;
    s.open(r.protocol(), ec);
    if (ec) continue;
    auto [sec, sent] = co_await s.async_send_to(asio::buffer(request), r, kTuple);
    (void)sent;
    if (sec) continue;
    asio::steady_timer timer(ex, options.recursor_timeout);
    std::vector<uint8_t> buf(65536);
    bool answered = false;
    while (!answered) {
      udp::endpoint from;
      auto result = co_await (s.async_receive_from(asio::buffer(buf), from, kTuple) ||
                              timer.async_wait(asio::use_awaitable));
      if (result.index() == 1) break;
      auto [rec, n] = std::get<0>(result);
      if (rec) break;
      // Only the recursor's answer to this ID counts (RFC 5452 §4.3).
      if (from != r || n < kHeaderSize || (buf[0] << 8 | buf[1]) != id || !(buf[2] & 0x80)) continue;
      uint8_t rcode = buf[3] & 0x0F;
      if (rcode != 0 && rcode != 3) break;  // next recursor
      buf.resize(n);
      buf[3] |= 0x80;  // RA: we recursed
      co_return buf;
    }
  }
  co_return resolver->recursion_failed(request);
}

}  // namespace cairn::agent::dns
