#include "proxy/proxy.h"

#include <malloc.h>

#include <algorithm>
#include <atomic>
#include <deque>
#include <map>
#include <mutex>
#include <unordered_map>

#include "core/http/router.h"
#include "core/io/http_server.h"
#include "core/io/metrics.h"
#include "core/log.h"
#include "core/rng.h"
#include "proxy/tls_stream.h"

namespace cairn::proxy {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using Strand = asio::strand<asio::io_context::executor_type>;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

namespace {

struct Counters {
  std::atomic<uint64_t> connections{0}, active{0}, bytes_in{0}, bytes_out{0}, handshake_failures{0},
      authz_denials{0}, connect_failures{0}, identity_mismatches{0}, rejected{0}, resumed{0};

  DirectionStats load() const {
    auto l = [](const std::atomic<uint64_t>& a) { return a.load(std::memory_order_relaxed); };
    return {l(connections),      l(active),           l(bytes_in),           l(bytes_out), l(handshake_failures),
            l(authz_denials),    l(connect_failures), l(identity_mismatches), l(rejected), l(resumed)};
  }
};

void bump(std::atomic<uint64_t>& a, uint64_t n = 1) { a.fetch_add(n, std::memory_order_relaxed); }

struct Instance {
  Endpoint endpoint;
  std::atomic<uint32_t> active{0};
};

std::string endpoint_text(const tcp::endpoint& e) { return e.address().to_string() + ":" + std::to_string(e.port()); }

}  // namespace

struct Upstream {
  UpstreamConfig config;
  std::unique_ptr<tcp::acceptor> acceptor;
  std::mutex mu;  // guards instances, balancer, rng
  std::vector<std::shared_ptr<Instance>> instances;
  Balancer balancer;
  SeededRng rng;
  Upstream(UpstreamConfig c, uint64_t seed) : config(std::move(c)), balancer(config.policy), rng(seed) {}
};

// One proxied connection: the accepted leg (down) and the dialed leg (up),
// their buffers and deadline timer, all on one strand.
struct Conn : std::enable_shared_from_this<Conn> {
  Conn(Strand s, tcp::socket accepted, Counters& c, Proxy::Impl& owner)
      : strand(std::move(s)), timer(strand), turn_timer(strand), down(std::make_unique<Leg>(std::move(accepted))),
        counters(c), impl(owner) {}
  ~Conn();

  void close() {
    if (closed) return;
    closed = true;
    disarm();
    turn_timer.cancel();  // a handshake waiting for its turn gives up
    down->close();
    if (up) up->close();
  }
  // A deadline: when `d` passes, closes both legs (whole) or only the dialed
  // leg (a connect or upstream handshake that may be retried elsewhere;
  // timed_out tells). Re-arming or disarm() voids the previous one, even if
  // its handler is already queued.
  void arm(Duration d, bool whole) {
    uint64_t gen = ++deadline_gen;
    timed_out = false;
    timer.expires_after(d);
    timer.async_wait([w = weak_from_this(), gen, whole](boost::system::error_code ec) {
      auto c = w.lock();
      if (!c || ec || c->deadline_gen != gen) return;
      c->timed_out = true;
      if (whole) {
        c->close();
      } else {
        if (c->up) c->up->close();
        c->turn_timer.cancel();  // an upstream handshake waiting for its turn gives up too
      }
    });
  }
  void disarm() {
    ++deadline_gen;
    timer.cancel();
  }

  Strand strand;
  asio::steady_timer timer;
  asio::steady_timer turn_timer;  // a handshake step waiting for its turn (Impl::take_turn)
  bool waiting_turn = false, has_turn = false;
  std::unique_ptr<Leg> down, up;
  Counters& counters;
  Proxy::Impl& impl;  // outlives every Conn: Impl is held by each Conn's coroutines via shared_ptr
  std::shared_ptr<Proxy::Impl> keep;  // set at start
  std::shared_ptr<Instance> instance;
  uint64_t activity = 0;
  uint64_t deadline_gen = 0;
  bool timed_out = false;
  int open_directions = 2;
  bool closed = false;
  uint64_t id = 0;
  bool inbound = false;
  SpiffeId source;  // inbound: the authorized caller
};

struct Proxy::Impl : std::enable_shared_from_this<Proxy::Impl> {
  Impl(asio::io_context& io_, ProxyConfig c, std::shared_ptr<Authorizer> a)
      : io(io_), config(std::move(c)), authorizer(std::move(a)) {
    uint64_t seed = 0x9e3779b97f4a7c15ull;
    for (auto& u : config.upstreams) upstreams.push_back(std::make_unique<Upstream>(u, seed++));
    labels_in = {{"service", config.service}, {"direction", "inbound"}};
    labels_out = {{"service", config.service}, {"direction", "outbound"}};
  }

  asio::io_context& io;
  const ProxyConfig config;
  std::shared_ptr<Authorizer> authorizer;
  Counters in, out;
  std::atomic<int64_t> open_total{0};
  std::atomic<uint64_t> closed_total{0};
  std::unique_ptr<asio::steady_timer> trim_timer;
  std::atomic<uint64_t> authz_generation{0};

  std::mutex ctx_mu;
  std::optional<LeafCertificate> leaf;
  std::optional<TrustBundle> bundle;
  std::shared_ptr<const TlsContexts> contexts;

  std::unique_ptr<tcp::acceptor> inbound_acceptor;
  std::vector<std::unique_ptr<Upstream>> upstreams;
  http::Router stats_router;
  std::unique_ptr<http::Server> stats_server;
  uint16_t stats_port = 0;

  // Handshake turns (config.handshake_turns > 0): at most `max_turns`
  // handshake steps (SSL_do_handshake calls) are granted at once; the others
  // wait in `turn_queue`, and a finished step hands its turn to the next
  // through that connection's strand (a post: it queues behind the handlers
  // already queued, so established connections' traffic runs between two
  // handshake steps instead of behind a burst of them).
  std::mutex turn_mu;
  unsigned turns_out = 0;
  const unsigned max_turns = static_cast<unsigned>(config.handshake_turns);  // 0: no turns taken
  std::deque<std::weak_ptr<Conn>> turn_queue;

  std::mutex conns_mu;
  std::unordered_map<uint64_t, std::weak_ptr<Conn>> conns;
  uint64_t next_conn_id = 1;
  bool stopped = false;

  metrics::Labels labels_in, labels_out;
  std::mutex flush_mu;
  std::map<std::string, uint64_t> flushed;  // counter values already added to the registry

  std::shared_ptr<const TlsContexts> current_contexts() {
    std::lock_guard l(ctx_mu);
    return contexts;
  }
  Status rebuild_contexts() {  // holds ctx_mu
    if (!leaf || !bundle) return {};
    auto made = TlsContexts::make(*leaf, *bundle);
    if (!made) return made.error();
    contexts = *made;
    return {};
  }

  Status listen(tcp::acceptor& a, const std::string& address, uint16_t port, const std::string& what) {
    boost::system::error_code ec;
    auto addr = asio::ip::make_address(address, ec);
    if (ec) return Error(errc::invalid_argument, what + ": bad address \"" + address + "\"");
    tcp::endpoint ep(addr, port);
    a.open(ep.protocol(), ec);
    if (!ec) a.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) a.bind(ep, ec);
    if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return Error(errc::io_error, what + ": cannot listen on " + address + ":" + std::to_string(port) + ": " +
                                             ec.message());
    return {};
  }

  void start_accepting(tcp::acceptor& a, bool inbound_side, Upstream* upstream) {
    asio::co_spawn(a.get_executor(), accept_loop(shared_from_this(), a, inbound_side, upstream), asio::detached);
  }

  static asio::awaitable<void> accept_loop(std::shared_ptr<Impl> self, tcp::acceptor& a, bool inbound_side,
                                           Upstream* upstream) {
    Counters& counters = inbound_side ? self->in : self->out;
    asio::steady_timer backoff(a.get_executor());
    for (;;) {
      Strand strand = asio::make_strand(self->io);
      auto [ec, socket] = co_await a.async_accept(strand, kTuple);
      if (ec == asio::error::operation_aborted || !a.is_open()) co_return;
      if (ec) {
        // Out of descriptors and the like: say so, wait a little, go on.
        log::warn("proxy", "accept failed: {}", ec.message());
        backoff.expires_after(std::chrono::milliseconds(50));
        co_await backoff.async_wait(kTuple);
        continue;
      }
      if (self->open_total.fetch_add(1) >= self->config.max_connections) {
        self->open_total.fetch_sub(1);
        bump(counters.rejected);
        log::debug("proxy", "connection refused: max_connections ({}) reached", self->config.max_connections);
        boost::system::error_code ignored;
        socket.close(ignored);
        continue;
      }
      socket.set_option(tcp::no_delay(true), ec);
      auto conn = std::make_shared<Conn>(strand, std::move(socket), counters, *self);
      conn->keep = self;
      conn->inbound = inbound_side;
      bump(counters.connections);
      bump(counters.active);
      self->register_conn(conn);
      if (inbound_side) asio::co_spawn(strand, serve_inbound(conn), asio::detached);
      else asio::co_spawn(strand, serve_outbound(conn, upstream), asio::detached);
    }
  }

  void register_conn(const std::shared_ptr<Conn>& c) {
    std::lock_guard l(conns_mu);
    c->id = next_conn_id++;
    conns.emplace(c->id, c);
  }
  void unregister_conn(uint64_t id) {
    std::lock_guard l(conns_mu);
    conns.erase(id);
  }
  std::vector<std::shared_ptr<Conn>> live_conns() {
    std::vector<std::shared_ptr<Conn>> out;
    std::lock_guard l(conns_mu);
    for (auto& [id, w] : conns) {
      if (auto c = w.lock()) out.push_back(std::move(c));
    }
    return out;
  }

  // ---- handshake turns ----

  // True: c holds a turn. False: c closed while waiting.
  static asio::awaitable<bool> take_turn(std::shared_ptr<Conn> c) {
    Impl& self = c->impl;
    if (c->closed) co_return false;
    c->waiting_turn = true;
    {
      std::lock_guard l(self.turn_mu);
      if (self.turns_out < self.max_turns) {
        ++self.turns_out;
        c->waiting_turn = false;
        co_return true;
      }
      self.turn_queue.push_back(c);
    }
    // pass_turn's post runs on this strand, so after this wait has started.
    c->turn_timer.expires_at(asio::steady_timer::time_point::max());
    co_await c->turn_timer.async_wait(kTuple);
    c->waiting_turn = false;
    if (!c->has_turn) co_return false;  // closed; pass_turn skips or passes on our entry
    c->has_turn = false;
    if (c->closed) {
      self.pass_turn();
      co_return false;
    }
    co_return true;
  }

  void pass_turn() {
    std::shared_ptr<Conn> next;
    {
      std::lock_guard l(turn_mu);
      while (!next && !turn_queue.empty()) {
        next = turn_queue.front().lock();
        turn_queue.pop_front();
      }
      if (!next) {
        --turns_out;
        return;
      }
    }
    asio::post(next->strand, [next] {
      if (!next->waiting_turn) {  // it closed and left before its turn came
        next->impl.pass_turn();
        return;
      }
      next->has_turn = true;
      next->turn_timer.cancel();
    });
  }

  struct ConnTurns final : HandshakeTurns {
    explicit ConnTurns(std::shared_ptr<Conn> conn) : c(std::move(conn)) {}
    asio::awaitable<bool> acquire() override { return take_turn(c); }
    void release() override { c->impl.pass_turn(); }
    std::shared_ptr<Conn> c;
  };

  // ---- inbound: TLS + identity -> authorize -> route -> forward ----

  static asio::awaitable<void> serve_inbound(std::shared_ptr<Conn> c) {
    Impl& self = c->impl;
    Counters& k = self.in;
    boost::system::error_code ec;
    std::string remote = endpoint_text(c->down->socket().remote_endpoint(ec));
    auto ctx = self.current_contexts();
    c->arm(self.config.handshake_timeout, true);
    std::string why = "no certificates";
    bool ok = ctx && c->down->start_tls(ctx, true);
    ConnTurns turns(c);
    if (ok) ok = co_await c->down->handshake(why, self.max_turns ? &turns : nullptr);
    c->disarm();
    if (!ok) {
      bump(k.handshake_failures);
      log::info("proxy", "inbound handshake from {} failed: {}", remote, c->timed_out ? "handshake timeout" : why);
      c->close();
      co_return;
    }
    auto id = parse_spiffe_id(c->down->peer_spiffe_uri());
    if (!id) {
      bump(k.handshake_failures);
      log::info("proxy", "inbound from {} refused: certificate has no service SPIFFE ID ({})", remote,
                id.error().detail());
      c->close();
      co_return;
    }
    c->source = *id;
    uint64_t generation = self.authz_generation.load();
    Decision d = self.decide(c->source);
    if (!d.allow) {
      bump(k.authz_denials);
      log::info("proxy", "inbound {} -> {} denied: {}", c->source.uri(), self.config.service, d.reason);
      c->close();
      co_return;
    }
    // A revocation between the decision and now would have missed us.
    if (self.authz_generation.load() != generation && !(d = self.decide(c->source)).allow) {
      bump(k.authz_denials);
      log::info("proxy", "inbound {} -> {} denied: {}", c->source.uri(), self.config.service, d.reason);
      c->close();
      co_return;
    }
    if (c->down->resumed()) bump(k.resumed);
    if (!co_await self.route_inbound(c)) co_return;
    co_await relay(c, self.config.idle_timeout);
  }

  Decision decide(const SpiffeId& source) {
    if (!config.trust_domain.empty() && source.trust_domain != config.trust_domain)
      return {false, "trust domain " + source.trust_domain + " is not " + config.trust_domain};
    return authorizer->authorize(source);
  }

  // route: L4 sends everything to the local service (L7 routing slots in here).
  asio::awaitable<bool> route_inbound(const std::shared_ptr<Conn>& c) {
    boost::system::error_code ec;
    auto addr = asio::ip::make_address(config.local_service_address, ec);
    if (!ec) ec = co_await dial(c, tcp::endpoint(addr, config.local_service_port), config.local_connect_timeout);
    if (ec) {
      bump(in.connect_failures);
      log::warn("proxy", "local service {}:{} unreachable: {}", config.local_service_address,
                config.local_service_port, ec.message());
      c->close();
      co_return false;
    }
    co_return true;
  }

  // Connects c->up to `to` within `timeout`.
  static asio::awaitable<boost::system::error_code> dial(const std::shared_ptr<Conn>& c, tcp::endpoint to,
                                                         Duration timeout) {
    c->up = std::make_unique<Leg>(tcp::socket(c->strand));
    c->arm(timeout, false);
    auto [ec] = co_await c->up->socket().async_connect(to, kTuple);
    c->disarm();
    if (c->timed_out) ec = asio::error::timed_out;
    if (!ec) c->up->socket().set_option(tcp::no_delay(true), ec);
    if (!ec) c->up->socket().non_blocking(true, ec);  // Leg's reads never block
    co_return ec;
  }

  // ---- outbound: route (pick) -> connect -> mTLS + identity -> forward ----

  std::shared_ptr<Instance> pick(Upstream& u, const std::vector<Instance*>& tried) {
    std::lock_guard l(u.mu);
    std::vector<Candidate> cands;
    cands.reserve(u.instances.size());
    for (auto& i : u.instances) {
      bool was_tried = std::find(tried.begin(), tried.end(), i.get()) != tried.end();
      cands.push_back({i->endpoint.healthy && !was_tried, i->active.load(std::memory_order_relaxed)});
    }
    auto idx = u.balancer.pick(cands, u.rng);
    if (!idx) return nullptr;
    auto inst = u.instances[*idx];
    inst->active.fetch_add(1, std::memory_order_relaxed);
    return inst;
  }

  static asio::awaitable<void> serve_outbound(std::shared_ptr<Conn> c, Upstream* u) {
    Impl& self = c->impl;
    Counters& k = self.out;
    const UpstreamConfig& uc = u->config;
    std::vector<Instance*> tried;
    bool connected = false;
    for (int attempt = 0; attempt < uc.max_attempts && !connected; ++attempt) {
      auto inst = self.pick(*u, tried);
      if (!inst) break;
      tried.push_back(inst.get());
      c->instance = inst;  // ~Conn or the next pick gives the count back
      std::string target = inst->endpoint.address + ":" + std::to_string(inst->endpoint.port);
      boost::system::error_code ec;
      auto addr = asio::ip::make_address(inst->endpoint.address, ec);
      if (!ec) ec = co_await dial(c, tcp::endpoint(addr, inst->endpoint.port), uc.connect_timeout);
      if (ec) {
        bump(k.connect_failures);
        log::info("proxy", "upstream {}: connect to {} failed: {}", uc.destination_name, target, ec.message());
        self.release(c);
        if (c->closed) co_return;
        continue;
      }
      auto ctx = self.current_contexts();
      c->arm(self.config.handshake_timeout, false);
      std::string why = "no certificates";
      bool ok = ctx && c->up->start_tls(ctx, false, target);
      ConnTurns turns(c);
      if (ok) ok = co_await c->up->handshake(why, self.max_turns ? &turns : nullptr);
      c->disarm();
      if (!ok) {
        bump(k.handshake_failures);
        log::info("proxy", "upstream {}: handshake with {} failed: {}", uc.destination_name, target,
                  c->timed_out ? "handshake timeout" : why);
        self.release(c);
        if (c->closed) co_return;
        continue;
      }
      std::string uri = c->up->peer_spiffe_uri();
      auto id = parse_spiffe_id(uri);
      if (!id || id->service != uc.destination_name || (!uc.datacenter.empty() && id->datacenter != uc.datacenter) ||
          (!self.config.trust_domain.empty() && id->trust_domain != self.config.trust_domain)) {
        bump(k.identity_mismatches);
        log::warn("proxy", "upstream {}: {} presented \"{}\", not the destination service; closed",
                  uc.destination_name, target, uri);
        self.release(c);
        if (c->closed) co_return;
        continue;
      }
      if (c->up->resumed()) bump(k.resumed);
      connected = true;
    }
    if (!connected) {
      log::info("proxy", "upstream {}: no instance reachable; closing the client connection", uc.destination_name);
      c->close();
      co_return;
    }
    co_await relay(c, uc.idle_timeout);
  }

  // Gives back the instance's count and drops the failed dialed leg, keeping
  // the client's.
  void release(const std::shared_ptr<Conn>& c) {
    if (c->instance) c->instance->active.fetch_sub(1, std::memory_order_relaxed);
    c->instance.reset();
    if (c->up) c->up->close();
    c->up.reset();
  }

  // ---- forward: bytes both ways, half-close kept, idle deadline ----

  static asio::awaitable<void> relay(std::shared_ptr<Conn> c, Duration idle) {
    c->disarm();
    if (c->closed) co_return;
    asio::co_spawn(c->strand, pump(c, *c->down, *c->up, c->counters.bytes_in), asio::detached);
    asio::co_spawn(c->strand, pump(c, *c->up, *c->down, c->counters.bytes_out), asio::detached);
    // Idle deadline: checked every `idle`; a connection with no byte either
    // way over a whole period is closed (so after idle..2*idle of silence).
    uint64_t seen = c->activity;
    for (;;) {
      c->timer.expires_after(idle);
      auto [ec] = co_await c->timer.async_wait(kTuple);
      if (ec || c->closed) co_return;
      if (c->activity == seen) {
        log::debug("proxy", "closing a connection idle for {} s",
                   std::chrono::duration_cast<std::chrono::seconds>(idle).count());
        c->close();
        co_return;
      }
      seen = c->activity;
    }
  }

  // One direction. Only the leg's 4 KiB buffer is held while waiting for
  // data; a 64 KiB one comes from the per-thread pool when data is there and
  // goes back when the source has nothing more.
  static asio::awaitable<void> pump(std::shared_ptr<Conn> c, Leg& from, Leg& to, std::atomic<uint64_t>& bytes) {
    for (;;) {
      {
        // Read first: the handshake may have left application data in
        // OpenSSL's buffer, and a burst goes on without waiting.
        PooledBuffer buf;
        for (;;) {
          auto [ec, n] = co_await from.read_available(buf.data(), PooledBuffer::kBytes);
          if (c->closed) co_return;
          if (ec == asio::error::would_block) break;
          if (ec) {
            if (ec == asio::error::eof && --c->open_directions > 0) {
              co_await to.shutdown_send();  // the other direction goes on (half-close)
            } else {
              c->close();
            }
            co_return;
          }
          bump(bytes, n);
          ++c->activity;
          if (auto wec = co_await to.write_all(buf.data(), n)) {
            c->close();
            co_return;
          }
          ++c->activity;
        }
      }
      to.release_idle_memory();
      if (auto ec = co_await from.fill(); ec || c->closed) {
        c->close();
        co_return;
      }
    }
  }

  // ---- memory ----

  // A burst of handshakes leaves the heap high (OpenSSL's transient
  // handshake buffers, freed but fragmented); glibc keeps it. Every 5 s, if
  // 64 or more connections closed since the last look, give the free pages
  // back (malloc_trim walks the heap once: ~ms, on no connection's strand).
  static asio::awaitable<void> trim_loop(std::shared_ptr<Impl> self) {
    uint64_t seen = 0;
    for (;;) {
      self->trim_timer->expires_after(std::chrono::seconds(5));
      auto [ec] = co_await self->trim_timer->async_wait(kTuple);
      if (ec) co_return;
      uint64_t closed = self->closed_total.load(std::memory_order_relaxed);
      if (closed - seen >= 64) {
        auto t0 = std::chrono::steady_clock::now();
        malloc_trim(0);
        log::debug("proxy", "malloc_trim took {} us", std::chrono::duration_cast<std::chrono::microseconds>(
                                                          std::chrono::steady_clock::now() - t0).count());
      }
      seen = closed;
    }
  }

  // ---- revocation ----

  void authorization_changed() {
    authz_generation.fetch_add(1);
    for (auto& c : live_conns()) {
      if (!c->inbound) continue;
      asio::post(c->strand, [c] {
        if (c->closed || c->source.service.empty()) return;
        Impl& self = c->impl;
        Decision d = self.decide(c->source);
        if (d.allow) return;
        bump(self.in.authz_denials);
        log::info("proxy", "inbound {} -> {} closed: authorization revoked: {}", c->source.uri(),
                  self.config.service, d.reason);
        c->close();
      });
    }
  }

  // ---- stats ----

  void flush_metrics() {
    std::lock_guard l(flush_mu);
    auto add = [&](const char* name, const metrics::Labels& labels, const char* dir, uint64_t now) {
      uint64_t& done = flushed[std::string(name) + "/" + dir];
      metrics::incr_counter(name, static_cast<double>(now - done), labels);
      done = now;
    };
    for (auto [dir, k, labels] : {std::tuple{"inbound", in.load(), &labels_in}, {"outbound", out.load(), &labels_out}}) {
      add("cairn.proxy.connections", *labels, dir, k.connections);
      add("cairn.proxy.bytes_in", *labels, dir, k.bytes_in);
      add("cairn.proxy.bytes_out", *labels, dir, k.bytes_out);
      add("cairn.proxy.handshake_failures", *labels, dir, k.handshake_failures);
      add("cairn.proxy.authz_denials", *labels, dir, k.authz_denials);
      add("cairn.proxy.connect_failures", *labels, dir, k.connect_failures);
      add("cairn.proxy.identity_mismatches", *labels, dir, k.identity_mismatches);
      add("cairn.proxy.rejected_connections", *labels, dir, k.rejected);
      add("cairn.proxy.resumed_handshakes", *labels, dir, k.resumed);
      metrics::set_gauge("cairn.proxy.active_connections", static_cast<double>(k.active), *labels);
    }
  }
};

Conn::~Conn() {
  bump(counters.active, static_cast<uint64_t>(-1));
  impl.open_total.fetch_sub(1);
  impl.closed_total.fetch_add(1, std::memory_order_relaxed);
  if (instance) instance->active.fetch_sub(1, std::memory_order_relaxed);
  impl.unregister_conn(id);
}

// ---- Proxy ----

Proxy::Proxy(asio::io_context& io, ProxyConfig config, std::shared_ptr<Authorizer> authorizer)
    : impl_(std::make_shared<Impl>(io, std::move(config), std::move(authorizer))) {
  std::weak_ptr<Impl> w = impl_;
  impl_->authorizer->set_change_listener([w] {
    if (auto i = w.lock()) i->authorization_changed();
  });
  metrics::add_collector([w] {
    if (auto i = w.lock()) i->flush_metrics();
  });
}

Proxy::~Proxy() {
  stop();
  impl_->authorizer->set_change_listener(nullptr);
}

Status Proxy::set_leaf(const LeafCertificate& leaf) {
  std::lock_guard l(impl_->ctx_mu);
  auto old = impl_->leaf;
  impl_->leaf = leaf;
  auto s = impl_->rebuild_contexts();
  if (!s) impl_->leaf = old;
  return s;
}

Status Proxy::set_trust_bundle(const TrustBundle& bundle) {
  std::lock_guard l(impl_->ctx_mu);
  auto old = impl_->bundle;
  impl_->bundle = bundle;
  auto s = impl_->rebuild_contexts();
  if (!s) impl_->bundle = old;
  return s;
}

Status Proxy::set_endpoints(std::string_view upstream, std::vector<Endpoint> endpoints) {
  for (auto& u : impl_->upstreams) {
    if (u->config.destination_name != upstream) continue;
    std::lock_guard l(u->mu);
    // Keep the state (open-connection counts) of instances that stay.
    std::vector<std::shared_ptr<Instance>> next;
    for (auto& e : endpoints) {
      std::shared_ptr<Instance> inst;
      for (auto& old : u->instances) {
        if (old->endpoint.address == e.address && old->endpoint.port == e.port) inst = old;
      }
      if (!inst) inst = std::make_shared<Instance>();
      inst->endpoint = e;
      next.push_back(std::move(inst));
    }
    u->instances = std::move(next);
    return {};
  }
  return Error(errc::not_found, "upstream \"" + std::string(upstream) + "\" is not configured");
}

Status Proxy::start() {
  auto& i = *impl_;
  CAIRN_RETURN_IF_ERROR(i.config.validate());
  if (!i.current_contexts()) return Error(errc::unavailable, "proxy: no leaf certificate and trust bundle yet");
  if (i.config.local_service_port != 0) {
    i.inbound_acceptor = std::make_unique<tcp::acceptor>(asio::make_strand(i.io));
    CAIRN_RETURN_IF_ERROR(i.listen(*i.inbound_acceptor, i.config.bind_address, i.config.bind_port, "bind_port"));
  }
  for (size_t n = 0; n < i.upstreams.size(); ++n) {
    auto& u = *i.upstreams[n];
    u.acceptor = std::make_unique<tcp::acceptor>(asio::make_strand(i.io));
    CAIRN_RETURN_IF_ERROR(i.listen(*u.acceptor, u.config.local_bind_address, u.config.local_bind_port,
                                   "upstreams[" + std::to_string(n) + "].local_bind_port"));
  }
  if (i.config.stats_enabled) {
    std::weak_ptr<Impl> w = impl_;
    auto prom = [w](http::Request&) {
      if (auto p = w.lock()) p->flush_metrics();
      auto r = http::Response::text(metrics::to_prometheus(metrics::snapshot()));
      r.headers.set("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
      return r;
    };
    i.stats_router.add_sync(http::Method::get, "/metrics", prom);
    i.stats_router.add_sync(http::Method::get, "/stats", prom);
    i.stats_server = std::make_unique<http::Server>(i.io, i.stats_router, http::ServerOptions{});
    auto port = i.stats_server->listen(i.config.stats_bind_address, i.config.stats_bind_port);
    if (!port) return Error(errc::io_error, "stats_bind_port: " + port.error().detail());
    i.stats_port = *port;
    i.stats_server->start();
  }
  if (i.inbound_acceptor) i.start_accepting(*i.inbound_acceptor, true, nullptr);
  for (auto& u : i.upstreams) i.start_accepting(*u->acceptor, false, u.get());
  i.trim_timer = std::make_unique<asio::steady_timer>(asio::make_strand(i.io));
  asio::co_spawn(i.trim_timer->get_executor(), Impl::trim_loop(impl_), asio::detached);
  log::info("proxy", "proxy for {} started: inbound port {}, {} upstream(s)", i.config.service, inbound_port(),
            i.upstreams.size());
  return {};
}

void Proxy::stop() {
  auto& i = *impl_;
  {
    std::lock_guard l(i.conns_mu);
    if (i.stopped) return;
    i.stopped = true;
  }
  auto close_acceptor = [this](std::unique_ptr<tcp::acceptor>& a) {
    if (!a) return;
    asio::post(a->get_executor(), [a = a.get(), keep = impl_] {
      boost::system::error_code ec;
      a->close(ec);
    });
  };
  close_acceptor(i.inbound_acceptor);
  for (auto& u : i.upstreams) close_acceptor(u->acceptor);
  for (auto& c : i.live_conns()) asio::post(c->strand, [c] { c->close(); });
  if (i.trim_timer) asio::post(i.trim_timer->get_executor(), [t = i.trim_timer.get(), keep = impl_] { t->cancel(); });
  if (i.stats_server) i.stats_server->shutdown(Duration::zero(), [] {});
}

uint16_t Proxy::inbound_port() const {
  boost::system::error_code ec;
  return impl_->inbound_acceptor ? impl_->inbound_acceptor->local_endpoint(ec).port() : 0;
}

uint16_t Proxy::upstream_port(std::string_view name) const {
  for (auto& u : impl_->upstreams) {
    boost::system::error_code ec;
    if (u->config.destination_name == name && u->acceptor) return u->acceptor->local_endpoint(ec).port();
  }
  return 0;
}

uint16_t Proxy::stats_port() const { return impl_->stats_port; }

ProxyStats Proxy::stats() const { return {impl_->in.load(), impl_->out.load()}; }

}  // namespace cairn::proxy
