#include "gossip/io/node.h"

#include <map>
#include <set>
#include <nlohmann/json.hpp>

#include "core/io/pch.h"
#include "core/io/random.h"
#include "core/io/source_addr.h"
#include "core/io/system_clock.h"
#include "core/log.h"

namespace cairn::gossip {

namespace asio = boost::asio;
using udp = asio::ip::udp;
using tcp = asio::ip::tcp;
using Strand = asio::strand<asio::io_context::executor_type>;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

namespace {

constexpr std::string_view kKeyQueryPrefix = "_cairn_keyring_";
constexpr size_t kMaxDatagram = 65507;

// "ip" or "ip:port" or "[v6]:port" → endpoint; the port defaults to 8301.
Result<std::pair<asio::ip::address, uint16_t>> parse_addr(std::string_view text, uint16_t default_port) {
  std::string host(text);
  uint16_t port = default_port;
  if (!host.empty() && host.front() == '[') {
    auto close = host.find(']');
    if (close == std::string::npos) return Error(errc::invalid_argument, "invalid address \"" + host + "\"");
    if (close + 2 < host.size() && host[close + 1] == ':') port = static_cast<uint16_t>(std::stoul(host.substr(close + 2)));
    host = host.substr(1, close - 1);
  } else if (auto colon = host.rfind(':'); colon != std::string::npos && host.find(':') == colon) {
    std::string p = host.substr(colon + 1);
    if (p.empty() || p.size() > 5 || p.find_first_not_of("0123456789") != std::string::npos || std::stoul(p) > 65535)
      return Error(errc::invalid_argument, "invalid port in address \"" + std::string(text) + "\"");
    port = static_cast<uint16_t>(std::stoul(p));
    host = host.substr(0, colon);
  }
  boost::system::error_code ec;
  auto ip = asio::ip::make_address(host, ec);
  if (ec) return Error(errc::invalid_argument, "invalid address \"" + std::string(text) + "\" (an IP address is needed)");
  return std::make_pair(ip, port);
}

std::string endpoint_string(const asio::ip::address& ip, uint16_t port) {
  return ip.is_v6() ? "[" + ip.to_string() + "]:" + std::to_string(port) : ip.to_string() + ":" + std::to_string(port);
}

Duration tick_interval(const Config& c) {
  Duration t = c.probe_timeout / 5;
  return std::clamp<Duration>(t, std::chrono::milliseconds(10), std::chrono::milliseconds(100));
}

}  // namespace

struct GossipNode::Impl : std::enable_shared_from_this<GossipNode::Impl> {
  Impl(asio::io_context& io_, NodeOptions o, Handlers h)
      : io(io_), strand(asio::make_strand(io_)), udp_socket(strand), acceptor(strand), ticker(strand),
        options(std::move(o)), handlers(std::move(h)) {}

  asio::io_context& io;
  Strand strand;
  udp::socket udp_socket;
  tcp::acceptor acceptor;
  asio::steady_timer ticker;
  NodeOptions options;
  Handlers handlers;
  std::optional<Membership> core;
  std::string advertise;
  uint16_t port = 0;
  bool stopped = false;

  // Strand-only state.
  struct PendingJoin {
    std::vector<std::string> addrs;
    Instant deadline;
    std::function<void(Result<int>)> done;
    std::map<std::string, std::string> failed;  // address → why its stream failed
  };
  std::vector<PendingJoin> joins;
  std::vector<std::pair<Instant, std::function<void()>>> leaves;
  struct PendingKeyOp {
    KeyOp op;
    KeyOpResult result;
    std::function<void(KeyOpResult)> done;
    std::set<std::string> responders;
  };
  std::map<uint32_t, PendingKeyOp> key_ops;

  // Read from any thread.
  mutable std::mutex mu;
  std::vector<MemberInfo> member_snapshot;
  NodeCounters counters;
  Stats stats;
  Coordinate coordinate_snapshot;

  Instant now() const { return SystemClock::instance().now(); }

  asio::awaitable<void> tick_loop();
  asio::awaitable<void> udp_loop();
  asio::awaitable<void> accept_loop();
  asio::awaitable<void> read_stream(tcp::socket socket);
  asio::awaitable<void> send_stream(std::string to, std::string frame);

  void input(std::string_view from, Transport transport, std::string_view bytes);
  void drain();
  void send(Packet& p);
  void handle_key_query(const QueryRequest& q);
  void finish_key_op(uint32_t id);
  void check_joins(Instant t);
  void stream_failed(const std::string& to, const std::string& why);
  void bump(uint64_t NodeCounters::*field) {
    std::lock_guard lock(mu);
    ++(counters.*field);
  }
};

Result<std::shared_ptr<GossipNode>> GossipNode::start(asio::io_context& io, NodeOptions options, Handlers handlers) {
  auto impl = std::make_shared<Impl>(io, std::move(options), std::move(handlers));
  auto& o = impl->options;
  auto bind = parse_addr(o.bind_addr, o.port);
  if (!bind.ok()) return Error(errc::invalid_argument, "bind_addr: " + bind.error().message());
  boost::system::error_code ec;
  // TCP first (port 0 picks one), then UDP on the same port.
  tcp::endpoint tep(bind->first, o.port);
  impl->acceptor.open(tep.protocol(), ec);
  if (!ec) impl->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) impl->acceptor.bind(tep, ec);
  if (!ec) impl->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return Error(errc::io_error, "gossip: cannot listen on TCP " + endpoint_string(bind->first, o.port) + ": " + ec.message());
  impl->port = impl->acceptor.local_endpoint().port();
  udp::endpoint uep(bind->first, impl->port);
  impl->udp_socket.open(uep.protocol(), ec);
  if (!ec) impl->udp_socket.bind(uep, ec);
  if (ec) return Error(errc::io_error, "gossip: cannot bind UDP " + endpoint_string(bind->first, impl->port) + ": " + ec.message());
  impl->udp_socket.set_option(asio::socket_base::receive_buffer_size(4 << 20), ec);

  std::string adv = o.advertise_addr;
  if (adv.empty()) adv = bind->first.is_unspecified() ? (bind->first.is_v6() ? "::1" : "127.0.0.1") : bind->first.to_string();
  auto adv_ip = asio::ip::make_address(adv, ec);
  if (ec) return Error(errc::invalid_argument, "advertise_addr: invalid address \"" + adv + "\"");
  impl->advertise = endpoint_string(adv_ip, impl->port);

  auto core = Membership::create(o.config, LocalNode{o.name, impl->advertise, o.tags}, make_system_rng(), impl->now());
  if (!core.ok()) return core.error();
  impl->core.emplace(std::move(core).value());
  impl->member_snapshot = impl->core->members();

  asio::co_spawn(impl->strand, impl->tick_loop(), asio::detached);
  asio::co_spawn(impl->strand, impl->udp_loop(), asio::detached);
  asio::co_spawn(impl->strand, impl->accept_loop(), asio::detached);
  log::info("gossip", "listening on {} (udp+tcp), advertising {}{}", endpoint_string(bind->first, impl->port),
            impl->advertise, o.keyring.enabled() ? ", encrypted" : "");
  return std::shared_ptr<GossipNode>(new GossipNode(impl));
}

GossipNode::~GossipNode() { stop(); }

uint16_t GossipNode::port() const { return impl_->port; }
const std::string& GossipNode::advertise() const { return impl_->advertise; }

void GossipNode::stop() {
  asio::post(impl_->strand, [impl = impl_] {
    if (impl->stopped) return;
    impl->stopped = true;
    boost::system::error_code ec;
    impl->ticker.cancel();
    impl->udp_socket.close(ec);
    impl->acceptor.close(ec);
  });
}

asio::awaitable<void> GossipNode::Impl::tick_loop() {
  auto self = shared_from_this();
  Duration every = tick_interval(options.config);
  while (!stopped) {
    ticker.expires_after(every);
    co_await ticker.async_wait(kTuple);  // cancelled only by stop()
    if (stopped) co_return;
    Instant t = now();
    core->tick(t);
    drain();
    check_joins(t);
    for (auto it = leaves.begin(); it != leaves.end();) {
      if (core->leave_propagated() || t >= it->first) {
        auto done = std::move(it->second);
        it = leaves.erase(it);
        done();
      } else {
        ++it;
      }
    }
  }
}

asio::awaitable<void> GossipNode::Impl::udp_loop() {
  auto self = shared_from_this();
  std::string buf(kMaxDatagram, '\0');
  udp::endpoint from;
  while (!stopped) {
    auto [ec, n] = co_await udp_socket.async_receive_from(asio::buffer(buf), from, kTuple);
    if (ec) {
      if (stopped || ec == asio::error::operation_aborted) co_return;
      continue;  // ICMP errors from earlier sends surface here; keep going
    }
    input(endpoint_string(from.address(), from.port()), Transport::datagram, std::string_view(buf.data(), n));
  }
}

asio::awaitable<void> GossipNode::Impl::accept_loop() {
  auto self = shared_from_this();
  while (!stopped) {
    auto [ec, socket] = co_await acceptor.async_accept(kTuple);
    if (ec) {
      if (stopped || ec == asio::error::operation_aborted) co_return;
      continue;
    }
    asio::co_spawn(strand, read_stream(std::move(socket)), asio::detached);
  }
}

asio::awaitable<void> GossipNode::Impl::read_stream(tcp::socket socket) {
  auto self = shared_from_this();
  // One framed message per connection, under the stream deadline.
  asio::steady_timer deadline(strand, options.config.stream_timeout);
  deadline.async_wait([&socket](boost::system::error_code ec) {
    if (!ec) socket.close(ec);
  });
  boost::system::error_code ec;
  auto peer = socket.remote_endpoint(ec);
  unsigned char len_bytes[4];
  auto [e1, n1] = co_await asio::async_read(socket, asio::buffer(len_bytes), kTuple);
  if (e1) co_return;
  uint32_t len = (uint32_t{len_bytes[0]} << 24) | (uint32_t{len_bytes[1]} << 16) | (uint32_t{len_bytes[2]} << 8) | len_bytes[3];
  if (len == 0 || len > options.config.max_stream_bytes + 64) {
    bump(&NodeCounters::bad_packets);
    co_return;
  }
  std::string body(len, '\0');
  auto [e2, n2] = co_await asio::async_read(socket, asio::buffer(body), kTuple);
  deadline.cancel();
  if (e2) co_return;
  input(endpoint_string(peer.address(), peer.port()), Transport::stream, body);
}

void GossipNode::Impl::input(std::string_view from, Transport transport, std::string_view bytes) {
  if (stopped) return;
  std::string plain;
  std::string_view packet = bytes;
  if (options.keyring.enabled()) {
    auto opened = options.keyring.decrypt(bytes);
    if (opened.ok()) {
      plain = std::move(opened).value();
      packet = plain;
    } else if (!options.accept_plaintext) {
      bump(&NodeCounters::bad_packets);
      log::debug("gossip", "dropped a packet from {}: {}", from, opened.error().message());
      return;
    }
  }
  {
    std::lock_guard lock(mu);
    ++counters.packets_received;
  }
  if (!core->receive(now(), from, transport, packet).ok()) bump(&NodeCounters::bad_packets);
  drain();
}

void GossipNode::Impl::send(Packet& p) {
  std::string bytes = std::move(p.bytes);
  if (options.keyring.enabled() && !options.send_plaintext) {
    auto sealed = options.keyring.encrypt(bytes);
    if (!sealed.ok()) {
      log::error("gossip", "cannot encrypt: {}", sealed.error().message());
      return;
    }
    bytes = std::move(sealed).value();
  }
  {
    std::lock_guard lock(mu);
    ++counters.packets_sent;
  }
  if (p.transport == Transport::stream) {
    std::string frame(4, '\0');
    uint32_t n = static_cast<uint32_t>(bytes.size());
    for (int i = 0; i < 4; ++i) frame[i] = static_cast<char>(n >> (24 - 8 * i));
    frame += bytes;
    asio::co_spawn(io, send_stream(p.to, std::move(frame)), asio::detached);
    return;
  }
  auto to = parse_addr(p.to, 8301);
  if (!to.ok() || bytes.size() > kMaxDatagram) {
    bump(&NodeCounters::bad_packets);
    return;
  }
  auto buf = std::make_shared<std::string>(std::move(bytes));
  udp_socket.async_send_to(asio::buffer(*buf), udp::endpoint(to->first, to->second),
                           [buf](boost::system::error_code, size_t) {});
}

asio::awaitable<void> GossipNode::Impl::send_stream(std::string to, std::string frame) {
  auto self = shared_from_this();
  auto addr = parse_addr(to, 8301);
  if (!addr.ok()) co_return;
  auto ex = co_await asio::this_coro::executor;
  tcp::socket socket(ex);
  asio::steady_timer deadline(ex, options.config.stream_timeout);
  deadline.async_wait([&socket](boost::system::error_code ec) {
    if (!ec) socket.close(ec);
  });
  tcp::endpoint peer(addr->first, addr->second);
  boost::system::error_code bind_ec;  // on failure the kernel picks the source
  cairn::io::bind_source(socket, options.bind_addr, peer, bind_ec);
  auto [e1] = co_await socket.async_connect(peer, kTuple);
  if (!e1) {
    auto [e2, n] = co_await asio::async_write(socket, asio::buffer(frame), kTuple);
    e1 = e2;
  }
  deadline.cancel();
  if (e1) {
    bump(&NodeCounters::stream_failures);
    asio::post(strand, [self, to, why = e1.message()] { self->stream_failed(to, why); });
  }
  boost::system::error_code ignored;
  socket.shutdown(tcp::socket::shutdown_both, ignored);
}

void GossipNode::Impl::drain() {
  while (core->has_ready()) {
    Ready r = core->take_ready();
    for (auto& p : r.packets) send(p);
    if (!r.members.empty()) {
      auto snapshot = core->members();
      std::lock_guard lock(mu);
      member_snapshot = std::move(snapshot);
      stats = core->stats();
    }
    for (const auto& e : r.members) {
      log::info("gossip", "member {}: {} {}", e.member.name,
                e.kind == MemberEvent::Kind::join     ? "joined"
                : e.kind == MemberEvent::Kind::update ? "updated"
                : e.kind == MemberEvent::Kind::leave  ? "left"
                : e.kind == MemberEvent::Kind::failed ? "failed"
                                                      : "reaped",
                e.member.addr);
      if (handlers.on_member) handlers.on_member(e);
    }
    for (const auto& e : r.user_events)
      if (handlers.on_user_event) handlers.on_user_event(e);
    for (const auto& q : r.queries) {
      if (q.name.rfind(kKeyQueryPrefix, 0) == 0) {
        handle_key_query(q);
      } else if (handlers.on_query) {
        handlers.on_query(q);
      }
    }
    for (const auto& resp : r.responses) {
      auto it = key_ops.find(resp.id);
      if (it == key_ops.end() || resp.is_ack) continue;
      it->second.responders.insert(resp.from);
      auto j = nlohmann::json::parse(resp.payload, nullptr, false);
      auto& res = it->second.result;
      if (j.is_discarded()) {
        res.errors[resp.from] = "unreadable response";
        continue;
      }
      if (j.contains("error") && !j["error"].get<std::string>().empty()) res.errors[resp.from] = j["error"];
      if (j.contains("keys"))
        for (const auto& k : j["keys"]) res.keys[k.get<std::string>()] += 1;
      if (j.contains("primary")) res.primary_keys[resp.from] = j["primary"];
    }
    for (uint32_t id : r.finished_queries) finish_key_op(id);
  }
  std::lock_guard lock(mu);
  stats = core->stats();
  coordinate_snapshot = core->coordinate();
}

void GossipNode::Impl::handle_key_query(const QueryRequest& q) {
  std::string op = q.name.substr(kKeyQueryPrefix.size());
  Status st;
  if (op == "install") {
    st = options.keyring.install(q.payload);
  } else if (op == "use") {
    st = options.keyring.use(q.payload);
  } else if (op == "remove") {
    st = options.keyring.remove(q.payload);
  } else if (op != "list") {
    st = Error(errc::invalid_argument, "unknown keyring operation " + op);
  }
  if (st.ok() && op != "list" && !options.keyring_path.empty()) st = options.keyring.save(options.keyring_path);
  nlohmann::json reply = {{"error", st.ok() ? std::string() : st.error().message()}};
  if (op == "list") {
    reply["keys"] = options.keyring.list();
    reply["primary"] = options.keyring.primary();
  }
  if (st.ok() && op != "list") log::info("gossip", "keyring: {} done", op);
  auto sent = core->respond(now(), q.key, reply.dump());
  if (!sent.ok()) log::warn("gossip", "keyring: cannot answer the {} query: {}", op, sent.error().message());
}

void GossipNode::Impl::finish_key_op(uint32_t id) {
  auto it = key_ops.find(id);
  if (it == key_ops.end()) return;
  auto op = std::move(it->second);
  key_ops.erase(it);
  // Members that never answered count as errors, as Consul reports them.
  for (const auto& m : member_snapshot) {
    if (m.state != MemberState::alive) continue;
    if (!op.responders.count(m.name)) op.result.errors[m.name] = "no response";
  }
  op.done(std::move(op.result));
}

// A join whose every address refused the connection fails now rather than at
// its deadline.
void GossipNode::Impl::stream_failed(const std::string& to, const std::string& why) {
  for (auto& j : joins)
    if (std::find(j.addrs.begin(), j.addrs.end(), to) != j.addrs.end()) j.failed[to] = why;
  check_joins(now());
}

void GossipNode::Impl::check_joins(Instant t) {
  if (joins.empty()) return;
  auto members = core->members();
  for (auto it = joins.begin(); it != joins.end();) {
    int reached = 0;
    for (const auto& a : it->addrs) {
      for (const auto& m : members) {
        if (m.name != core->name() && m.addr == a && m.state == MemberState::alive) {
          ++reached;
          break;
        }
      }
    }
    bool all_failed = it->failed.size() == it->addrs.size();
    if (reached > 0 || all_failed || t >= it->deadline) {
      auto done = std::move(it->done);
      std::string addrs;
      for (const auto& a : it->addrs) {
        addrs += (addrs.empty() ? "" : ", ") + a;
        if (auto f = it->failed.find(a); f != it->failed.end()) addrs += " (" + f->second + ")";
      }
      it = joins.erase(it);
      if (reached > 0) {
        done(reached);
      } else {
        done(Error(errc::unavailable, "no member answered at " + addrs));
      }
    } else {
      ++it;
    }
  }
}

void GossipNode::join(std::vector<std::string> addrs, std::function<void(Result<int>)> done) {
  asio::post(impl_->strand, [impl = impl_, addrs = std::move(addrs), done = std::move(done)]() mutable {
    std::vector<std::string> normalized;
    for (const auto& a : addrs) {
      auto p = parse_addr(a, 8301);
      if (!p.ok()) return done(p.error());
      normalized.push_back(endpoint_string(p->first, p->second));
    }
    Instant t = impl->now();
    impl->core->join(t, normalized);
    impl->drain();
    impl->joins.push_back({normalized, t + impl->options.config.stream_timeout, std::move(done)});
  });
}

void GossipNode::leave(std::function<void()> done) {
  asio::post(impl_->strand, [impl = impl_, done = std::move(done)]() mutable {
    Instant t = impl->now();
    impl->core->leave(t);
    impl->core->tick(t);  // sends the leave now (Membership::leave schedules gossip at once)
    impl->drain();
    impl->leaves.emplace_back(t + impl->options.leave_timeout, std::move(done));
  });
}

void GossipNode::force_leave(std::string name, std::function<void(Status)> done) {
  asio::post(impl_->strand, [impl = impl_, name = std::move(name), done = std::move(done)] {
    auto st = impl->core->force_leave(impl->now(), name);
    impl->drain();
    done(st);
  });
}

void GossipNode::user_event(std::string name, std::string payload, std::function<void(Status)> done) {
  asio::post(impl_->strand, [impl = impl_, name = std::move(name), payload = std::move(payload), done = std::move(done)] {
    auto st = impl->core->user_event(impl->now(), name, payload);
    impl->drain();
    done(st);
  });
}

void GossipNode::set_tags(Tags tags) {
  asio::post(impl_->strand, [impl = impl_, tags = std::move(tags)] {
    auto st = impl->core->set_tags(impl->now(), tags);
    if (!st.ok()) log::warn("gossip", "cannot set tags: {}", st.error().message());
    impl->drain();
  });
}

void GossipNode::key_operation(KeyOp op, std::string key, std::function<void(KeyOpResult)> done) {
  asio::post(impl_->strand, [impl = impl_, op, key = std::move(key), done = std::move(done)]() mutable {
    static const char* names[] = {"install", "use", "remove", "list"};
    KeyOpResult result;
    result.num_nodes = static_cast<int>(impl->core->num_live());
    if (op != KeyOp::list) {
      // Refuse a bad key before asking anyone.
      auto check = Keyring::from_base64({key});
      if (!check.ok()) {
        result.errors[impl->core->name()] = check.error().message();
        return done(std::move(result));
      }
    }
    auto id = impl->core->query(impl->now(), std::string(kKeyQueryPrefix) + names[static_cast<int>(op)], key);
    if (!id.ok()) {
      result.errors[impl->core->name()] = id.error().message();
      return done(std::move(result));
    }
    impl->key_ops[*id] = Impl::PendingKeyOp{op, std::move(result), std::move(done)};
    impl->drain();
  });
}

std::vector<MemberInfo> GossipNode::members() const {
  std::lock_guard lock(impl_->mu);
  return impl_->member_snapshot;
}

Coordinate GossipNode::coordinate() const {
  std::lock_guard lock(impl_->mu);
  return impl_->coordinate_snapshot;
}

NodeCounters GossipNode::counters() const {
  std::lock_guard lock(impl_->mu);
  return impl_->counters;
}

Stats GossipNode::core_stats() const {
  std::lock_guard lock(impl_->mu);
  return impl_->stats;
}

}  // namespace cairn::gossip
