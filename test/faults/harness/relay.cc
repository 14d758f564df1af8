#include "test/faults/harness/relay.h"

#include <boost/asio.hpp>
#include <chrono>
#include <deque>
#include <map>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "core/io/source_addr.h"

namespace cairn::faults {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using udp = asio::ip::udp;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
// How often a stalled stream (blocked link) looks again.
constexpr auto kStallPoll = 50ms;
// A connection whose link stays blocked this long is closed (a SYN's retries give up).
constexpr auto kConnectStall = 60s;
constexpr size_t kChunk = 64 * 1024;
constexpr size_t kMaxQueued = 4u << 20;  // per direction: the reader waits beyond it

asio::awaitable<void> sleep_for(Clock::duration d) {
  asio::steady_timer t(co_await asio::this_coro::executor, d);
  co_await t.async_wait(kTuple);
}

// A relayed TCP connection: down is the dialling node's, up the one we
// dialled to the node it wanted.
struct Pipe {
  tcp::socket down, up;
  int closed = 0;  // directions that ended cleanly (eof passed on)
  Pipe(tcp::socket d, tcp::socket u) : down(std::move(d)), up(std::move(u)) {}
  void close() {
    boost::system::error_code ec;
    down.close(ec);
    up.close(ec);
  }
};

struct Piece {
  std::string data;  // empty: end of stream (eof) or an error (!eof)
  bool eof = false;
  Clock::time_point read_at;
};

}  // namespace

struct Relay::Impl {
  asio::io_context io;
  std::vector<Node> nodes;
  std::vector<asio::ip::address> real, relay;
  std::vector<std::unique_ptr<tcp::acceptor>> acceptors;
  // udp[port][node]: the relay's socket on that node's relay address.
  std::map<uint16_t, std::vector<std::unique_ptr<udp::socket>>> udp_sockets;
  std::thread thread;

  mutable std::mutex mu;  // rules, rng, counters
  LinkRules rules;
  std::mt19937_64 rng;
  RelayCounters counters;

  int node_of(const asio::ip::address& a) const {
    for (size_t i = 0; i < real.size(); ++i)
      if (real[i] == a) return static_cast<int>(i);
    return -1;
  }
  void count(uint64_t RelayCounters::*field) {
    std::lock_guard l(mu);
    ++(counters.*field);
  }
  std::optional<int64_t> datagram_verdict(int from, int to) {
    std::lock_guard l(mu);
    auto v = rules.datagram(from, to, rng);
    ++(v ? counters.datagrams : counters.datagrams_dropped);
    return v;
  }
  std::optional<int64_t> stream_verdict(int from, int to) {
    std::lock_guard l(mu);
    return rules.stream(from, to, rng);
  }
  bool link_open(int a, int b) {
    std::lock_guard l(mu);
    return !rules.blocked(a, b) && !rules.blocked(b, a);
  }

  asio::awaitable<void> udp_loop(uint16_t port, int to);
  asio::awaitable<void> accept_loop(tcp::acceptor& acceptor, uint16_t port, int to);
  asio::awaitable<void> connection(tcp::socket down, uint16_t port, int from, int to);
  asio::awaitable<void> pump(std::shared_ptr<Pipe> pipe, bool forward, int from, int to);
};

Relay::Relay(std::vector<Node> nodes, std::vector<uint16_t> tcp_ports, std::vector<uint16_t> udp_ports, uint64_t seed)
    : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.nodes = std::move(nodes);
  m.rng.seed(seed);
  for (const auto& n : m.nodes) {
    m.real.push_back(asio::ip::make_address(n.real_ip));
    m.relay.push_back(asio::ip::make_address(n.relay_ip));
  }
  auto fail = [](const std::string& what, const boost::system::error_code& ec) {
    throw std::runtime_error("relay: cannot bind " + what + ": " + ec.message());
  };
  for (size_t k = 0; k < m.nodes.size(); ++k) {
    for (uint16_t port : tcp_ports) {
      auto a = std::make_unique<tcp::acceptor>(m.io);
      tcp::endpoint ep(m.relay[k], port);
      boost::system::error_code ec;
      a->open(ep.protocol(), ec);
      if (!ec) a->set_option(asio::socket_base::reuse_address(true), ec);
      if (!ec) a->bind(ep, ec);
      if (!ec) a->listen(asio::socket_base::max_listen_connections, ec);
      if (ec) fail("TCP " + m.nodes[k].relay_ip + ":" + std::to_string(port), ec);
      asio::co_spawn(m.io, m.accept_loop(*a, port, static_cast<int>(k)), asio::detached);
      m.acceptors.push_back(std::move(a));
    }
    for (uint16_t port : udp_ports) {
      auto s = std::make_unique<udp::socket>(m.io);
      udp::endpoint ep(m.relay[k], port);
      boost::system::error_code ec;
      s->open(ep.protocol(), ec);
      if (!ec) s->bind(ep, ec);
      if (ec) fail("UDP " + m.nodes[k].relay_ip + ":" + std::to_string(port), ec);
      s->set_option(asio::socket_base::receive_buffer_size(4 << 20), ec);
      m.udp_sockets[port].push_back(std::move(s));
    }
  }
  for (uint16_t port : udp_ports)
    for (size_t k = 0; k < m.nodes.size(); ++k)
      asio::co_spawn(m.io, m.udp_loop(port, static_cast<int>(k)), asio::detached);
  m.thread = std::thread([&m] { m.io.run(); });
}

Relay::~Relay() {
  impl_->io.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

void Relay::block(int from, int to) {
  std::lock_guard l(impl_->mu);
  impl_->rules.block(from, to);
}
void Relay::shape(int node, LinkShape s) {
  std::lock_guard l(impl_->mu);
  impl_->rules.shape(node, s);
}
void Relay::heal_cuts() {
  std::lock_guard l(impl_->mu);
  impl_->rules.heal_cuts();
}
void Relay::heal_shapes() {
  std::lock_guard l(impl_->mu);
  impl_->rules.heal_shapes();
}
RelayCounters Relay::counters() const {
  std::lock_guard l(impl_->mu);
  return impl_->counters;
}

asio::awaitable<void> Relay::Impl::udp_loop(uint16_t port, int to) {
  udp::socket& in = *udp_sockets[port][to];
  std::vector<char> buf(65536);
  while (true) {
    udp::endpoint src;
    auto [ec, n] = co_await in.async_receive_from(asio::buffer(buf), src, kTuple);
    if (ec == asio::error::operation_aborted || !in.is_open()) co_return;
    if (ec) continue;
    int from = node_of(src.address());
    if (from < 0) {
      count(&RelayCounters::unknown_sources);
      continue;
    }
    auto delay = datagram_verdict(from, to);
    if (!delay) continue;
    // Sent from the sender's relay address: the answer comes back through us.
    udp::socket& out = *udp_sockets[port][from];
    udp::endpoint dest(real[to], port);
    auto data = std::make_shared<std::string>(buf.data(), n);
    if (*delay == 0) {
      out.async_send_to(asio::buffer(*data), dest, [data](boost::system::error_code, size_t) {});
      continue;
    }
    auto timer = std::make_shared<asio::steady_timer>(io, std::chrono::milliseconds(*delay));
    timer->async_wait([timer, data, &out, dest](boost::system::error_code e) {
      if (!e) out.async_send_to(asio::buffer(*data), dest, [data](boost::system::error_code, size_t) {});
    });
  }
}

asio::awaitable<void> Relay::Impl::accept_loop(tcp::acceptor& acceptor, uint16_t port, int to) {
  while (true) {
    auto [ec, socket] = co_await acceptor.async_accept(kTuple);
    if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
    if (ec) {
      co_await sleep_for(10ms);  // EMFILE and the like: do not spin
      continue;
    }
    boost::system::error_code rec;
    int from = node_of(socket.remote_endpoint(rec).address());
    if (rec || from < 0) {
      count(&RelayCounters::unknown_sources);
      continue;  // closed as it goes out of scope
    }
    count(&RelayCounters::connections);
    asio::co_spawn(io, connection(std::move(socket), port, from, to), asio::detached);
  }
}

// One direction of a relayed TCP connection: a reader that queues what it
// reads with the time it was read, a writer that sends each piece in order
// when the link lets it (not blocked) and its delay has passed.
asio::awaitable<void> Relay::Impl::pump(std::shared_ptr<Pipe> pipe, bool forward, int from, int to) {
  tcp::socket& src = forward ? pipe->down : pipe->up;
  tcp::socket& dst = forward ? pipe->up : pipe->down;
  auto ex = co_await asio::this_coro::executor;
  std::deque<Piece> queue;
  size_t queued = 0;
  bool reading = true;
  asio::steady_timer wake(ex, Clock::time_point::max());

  // The reader: runs beside the writer below, on the same thread.
  auto reader = [&]() -> asio::awaitable<void> {
    std::vector<char> buf(kChunk);
    while (true) {
      while (queued > kMaxQueued && src.is_open()) co_await sleep_for(5ms);
      auto [ec, n] = co_await src.async_read_some(asio::buffer(buf), kTuple);
      Piece p;
      p.read_at = Clock::now();
      if (ec) {
        p.eof = ec == asio::error::eof;
      } else {
        p.data.assign(buf.data(), n);
        queued += n;
      }
      bool end = p.data.empty();
      queue.push_back(std::move(p));
      wake.cancel();
      if (end) break;
    }
    reading = false;
  };
  asio::co_spawn(ex, reader(), asio::detached);

  Clock::time_point last{};
  bool clean_end = false;  // the source ended cleanly: the other direction may go on
  while (true) {
    while (queue.empty()) {
      wake.expires_at(Clock::time_point::max());
      co_await wake.async_wait(kTuple);
    }
    Piece& p = queue.front();
    if (p.data.empty()) {
      if (p.eof) {
        boost::system::error_code ec;
        dst.shutdown(tcp::socket::shutdown_send, ec);
        if (++pipe->closed == 2) pipe->close();
        clean_end = true;
      } else {
        pipe->close();  // an error (a reset, a killed node): both sides go
      }
      break;
    }
    std::optional<int64_t> delay;
    while (!(delay = stream_verdict(from, to))) {
      if (!dst.is_open()) break;
      co_await sleep_for(kStallPoll);
    }
    if (!dst.is_open()) break;
    auto at = std::max(last, p.read_at + std::chrono::milliseconds(*delay));
    if (at > Clock::now()) {
      asio::steady_timer t(ex, at);
      co_await t.async_wait(kTuple);
    }
    last = at;
    auto [ec, n] = co_await asio::async_write(dst, asio::buffer(p.data), kTuple);
    if (ec) {
      pipe->close();
      break;
    }
    queued -= p.data.size();
    queue.pop_front();
  }
  // The reader holds references into this frame: wait until it ended.
  if (!clean_end) pipe->close();
  while (reading) co_await sleep_for(5ms);
}

asio::awaitable<void> Relay::Impl::connection(tcp::socket down, uint16_t port, int from, int to) {
  // The handshake needs both directions: wait while either is blocked.
  auto waited_until = Clock::now() + kConnectStall;
  while (!link_open(from, to)) {
    if (Clock::now() > waited_until) co_return;
    co_await sleep_for(kStallPoll);
  }
  tcp::socket up(io);
  tcp::endpoint dest(real[to], port);
  boost::system::error_code ec;
  cairn::io::bind_source(up, nodes[from].relay_ip, dest, ec);
  auto [cerr] = co_await up.async_connect(dest, kTuple);
  if (cerr) {
    // The node is down: refuse as it would (a reset, not a clean close).
    down.set_option(asio::socket_base::linger(true, 0), ec);
    co_return;
  }
  auto pipe = std::make_shared<Pipe>(std::move(down), std::move(up));
  asio::co_spawn(io, pump(pipe, true, from, to), asio::detached);
  asio::co_spawn(io, pump(pipe, false, to, from), asio::detached);
}

}  // namespace cairn::faults
