#include "agent/agent.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <regex>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "agent/cache/cache.h"
#include "agent/connect/leaf_cache.h"
#include "agent/sidecar/stats.h"
#include "agent/sidecar/supervisor.h"
#include "api/connect_proxy.h"
#include "agent/dns/server.h"
#include "agent/http/endpoints.h"
#include "agent/http/intentions.h"
#include "agent/coordinate_sync.h"
#include "agent/local/local_agent.h"
#include "agent/log_monitor.h"
#include "agent/user_events.h"
#include "agent/uuid.h"
#include "api/io/rpc_client.h"
#include "api/rpc.h"
#include "api/server_tags.h"
#include "core/io/asio_scheduler.h"
#include "core/io/http_server.h"
#include "core/io/metrics.h"
#include "core/duration.h"
#include "core/io/runtime.h"
#include "core/io/random.h"
#include "core/io/system_clock.h"
#include "core/log.h"
#include "core/version.h"
#include "gossip/io/node.h"

namespace cairn::agent {

namespace fs = std::filesystem;
namespace asio = boost::asio;

namespace {

// Loads the node id kept in the data dir, or makes one and keeps it.
Result<std::string> load_or_create_node_id(const std::string& data_dir) {
  fs::path p = fs::path(data_dir) / "node-id";
  std::ifstream in(p);
  if (in) {
    std::string id;
    std::getline(in, id);
    if (id.size() == 36) return id;
    return Error(errc::parse_error, p.string() + ": not a node id");
  }
  std::string id = random_uuid();
  fs::path tmp = p;
  tmp += ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << id << "\n";
    if (!out) return Error(errc::io_error, "cannot write " + tmp.string());
  }
  std::error_code ec;
  fs::rename(tmp, p, ec);  // atomic: never a half-written id
  if (ec) return Error(errc::io_error, "cannot write " + p.string() + ": " + ec.message());
  return id;
}

// The keyring: the one kept in the data dir wins over `encrypt` (as Consul:
// a rotated key must survive a restart with the old -encrypt flag).
Result<gossip::Keyring> load_keyring(const Config& c, const std::string& path) {
  CAIRN_TRY(auto kept, gossip::Keyring::load(path));
  if (kept.enabled()) {
    if (!c.encrypt.empty()) log::info("agent", "using the keyring in {}; the encrypt setting is ignored", path);
    return kept;
  }
  if (c.encrypt.empty()) return gossip::Keyring{};
  CAIRN_TRY(auto ring, gossip::Keyring::from_base64({c.encrypt}));
  CAIRN_RETURN_IF_ERROR(ring.save(path));
  return ring;
}

}  // namespace

struct Agent::Impl {
  Config config;
  Runtime* runtime = nullptr;
  std::function<void(ShutdownReason)> shutdown_request;
  std::unique_ptr<http::EndpointContext> endpoints;
  bool remove_data_dir = false;
  bool prepared = false;
  cairn::http::Router router;
  std::unique_ptr<cairn::http::Server> server;
  std::vector<std::string> http_addresses;
  std::shared_ptr<gossip::GossipNode> gossip;

  // User events live on their own strand.
  std::optional<asio::strand<asio::io_context::executor_type>> event_strand;
  std::unique_ptr<AsioScheduler> event_scheduler;
  std::unique_ptr<UserEvents> events;

  // Server mode.
  uint16_t rpc_port = 0;
  std::shared_ptr<api::rpc::Handler> rpc;
  std::function<void(const gossip::MemberEvent&)> member_listener;

  // The RPC addresses of this datacenter's live servers, kept from member
  // events so that a client's RPC calls do not copy the gossip view each time.
  std::mutex servers_mu;
  std::map<std::string, std::string> servers;  // node name -> RPC address
  void track_server(const gossip::MemberEvent& e);
  std::vector<std::string> server_addresses();

  std::unique_ptr<asio::steady_timer> retry_timer;
  int retry_attempts = 0;

  std::unique_ptr<LogMonitor> monitor;  // /v1/agent/monitor
  void add_metric_collectors();

  // DNS (agent/dns), answered from the agent cache (agent/cache).
  std::unique_ptr<AsioScheduler> cache_scheduler;
  std::shared_ptr<cache::Cache> cache;
  std::unique_ptr<dns::Server> dns;
  std::vector<std::string> dns_addresses;
  Status start_dns();
  void start_sidecars();

  // Every intention, kept fresh by one blocking query (check, authorize).
  std::unique_ptr<AsioScheduler> intentions_scheduler;
  std::shared_ptr<http::IntentionWatch> intentions;

  // Connect leaf certificates and CA roots (agent/connect).
  std::unique_ptr<AsioScheduler> leaf_scheduler;
  std::shared_ptr<connect::LeafCache> leaf_cache;

  // Local services and checks, anti-entropy (agent/local).
  std::unique_ptr<local::LocalAgent> local;
  // Connect.ManagedSidecar proxies, run as `cairn connect proxy` children.
  std::shared_ptr<sidecar::Supervisor> sidecars;
  // The local proxies' counters, republished in this agent's metrics.
  std::unique_ptr<sidecar::StatsScraper> sidecar_stats;
  // Our network coordinate to the servers (coordinate_sync.h).
  std::unique_ptr<AsioScheduler> coordinate_scheduler;
  std::shared_ptr<CoordinateSync> coordinate_sync;
  SeededRng coordinate_rng{random_seed()};
  void start_coordinate_sync();
  std::function<Result<Config>()> reload_config;
  void start_local();
  void reload(std::function<void(Status)> done);

  void on_user_event(const gossip::UserEvent& ue);
  void retry_join();
};

Agent::Agent(Config config) : impl_(std::make_unique<Impl>()) { impl_->config = std::move(config); }

Agent::~Agent() {
  if (impl_->gossip) impl_->gossip->stop();
  if (impl_->remove_data_dir) {
    std::error_code ec;
    fs::remove_all(impl_->config.data_dir, ec);
  }
}

void Agent::set_shutdown_request(std::function<void(ShutdownReason)> fn) { impl_->shutdown_request = std::move(fn); }

void Agent::set_server(uint16_t rpc_port, std::shared_ptr<api::rpc::Handler> rpc) {
  impl_->rpc_port = rpc_port;
  impl_->rpc = std::move(rpc);
}

void Agent::Impl::track_server(const gossip::MemberEvent& e) {
  using Kind = gossip::MemberEvent::Kind;
  std::lock_guard<std::mutex> l(servers_mu);
  auto s = api::parse_server(e.member.name, e.member.addr, e.member.tags);
  if ((e.kind == Kind::join || e.kind == Kind::update) && s && s->datacenter == config.datacenter) {
    servers[e.member.name] = s->rpc_addr;
  } else {
    servers.erase(e.member.name);  // failed, left, reaped, or no longer a server of ours
  }
}

std::vector<std::string> Agent::Impl::server_addresses() {
  std::lock_guard<std::mutex> l(servers_mu);
  std::vector<std::string> out;
  out.reserve(servers.size());
  for (const auto& [name, addr] : servers) out.push_back(addr);
  return out;
}

void Agent::set_member_listener(std::function<void(const gossip::MemberEvent&)> fn) {
  impl_->member_listener = std::move(fn);
}

std::vector<gossip::MemberInfo> Agent::members() const {
  return impl_->gossip ? impl_->gossip->members() : std::vector<gossip::MemberInfo>{};
}

const Config& Agent::config() const { return impl_->config; }
const std::vector<std::string>& Agent::http_addresses() const { return impl_->http_addresses; }
const std::vector<std::string>& Agent::dns_addresses() const { return impl_->dns_addresses; }
std::string Agent::gossip_address() const { return impl_->gossip ? impl_->gossip->advertise() : std::string(); }

// Gauges read when /v1/agent/metrics is asked: the process's memory,
// threads and descriptors, and the gossip pool by role and status.
void Agent::Impl::add_metric_collectors() {
  metrics::add_collector([] {
    std::ifstream statm("/proc/self/statm");
    uint64_t pages_total = 0, pages_resident = 0;
    if (statm >> pages_total >> pages_resident) {
      double page = static_cast<double>(::sysconf(_SC_PAGESIZE));
      metrics::set_gauge("consul.runtime.rss_bytes", static_cast<double>(pages_resident) * page);
      metrics::set_gauge("consul.runtime.virtual_bytes", static_cast<double>(pages_total) * page);
    }
    std::error_code ec;
    double fds = 0;
    for (auto it = fs::directory_iterator("/proc/self/fd", ec); !ec && it != fs::directory_iterator(); it.increment(ec)) ++fds;
    metrics::set_gauge("consul.runtime.open_fds", fds);
    std::ifstream status("/proc/self/status");
    for (std::string line; std::getline(status, line);) {
      if (line.rfind("Threads:", 0) == 0) metrics::set_gauge("consul.runtime.threads", std::atof(line.c_str() + 8));
    }
  });
  metrics::add_collector([this] {
    if (!gossip) return;
    double clients = 0, servers = 0, failed = 0;
    for (const auto& m : gossip->members()) {
      if (m.state == gossip::MemberState::alive) {
        (m.tags.count("role") && m.tags.at("role") == api::kRoleServer ? servers : clients) += 1;
      } else if (m.state == gossip::MemberState::dead) {
        failed += 1;
      }
    }
    metrics::set_gauge("consul.members.clients", clients);
    metrics::set_gauge("consul.members.servers", servers);
    metrics::set_gauge("consul.serf.member.failed", failed);
  });
}

void Agent::Impl::on_user_event(const gossip::UserEvent& ue) {
  if (ue.name.rfind(kEventPrefix, 0) != 0) return;
  auto e = decode_event(ue.payload);
  if (!e.ok()) {
    log::warn("agent", "dropped a malformed user event: {}", e.error().message());
    return;
  }
  e->ltime = ue.ltime;
  // Filters, as Consul applies them on receipt.
  if (!e->node_filter.empty()) {
    try {
      if (!std::regex_search(config.node_name, std::regex(e->node_filter))) return;
    } catch (const std::regex_error&) {
      return;
    }
  }
  if (!e->service_filter.empty() && !(local && local->matches_user_event(e->service_filter, e->tag_filter))) return;
  log::debug("agent", "user event: name={} id={}", e->name, e->id);
  asio::post(*event_strand, [this, ev = std::move(e).value()]() mutable { events->add(std::move(ev)); });
}

void Agent::Impl::retry_join() {
  gossip->join(config.retry_join, [this](Result<int> joined) {
    asio::post(runtime->io(), [this, joined] {
      if (joined.ok()) {
        log::info("agent", "retry join succeeded: contacted {} nodes", *joined);
        return;
      }
      ++retry_attempts;
      if (config.retry_max > 0 && retry_attempts >= config.retry_max) {
        log::error("agent", "retry join failed {} times, giving up: {}", retry_attempts, joined.error().message());
        // Consul exits with an error here: the operator asked for a bounded number of attempts.
        if (shutdown_request) shutdown_request(ShutdownReason::fatal);
        return;
      }
      // Exponential backoff from min(1s, retry_interval), capped at retry_interval.
      Duration delay = std::min<Duration>(config.retry_interval, std::chrono::seconds(1));
      for (int i = 1; i < retry_attempts && delay < config.retry_interval; ++i) delay *= 2;
      delay = std::min(delay, config.retry_interval);
      log::warn("agent", "join failed: {}; retrying in {}", joined.error().message(), format_duration(delay));
      retry_timer->expires_after(delay);
      retry_timer->async_wait([this](boost::system::error_code ec) {
        if (!ec) retry_join();
      });
    });
  });
}

Status Agent::prepare() {
  Config& c = impl_->config;
  if (impl_->prepared) return {};
  if (c.data_dir.empty() && c.dev) {
    std::string tmpl = (fs::temp_directory_path() / "cairn-dev-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) return Error(errc::io_error, "cannot create a temporary data dir");
    c.data_dir = tmpl;
    impl_->remove_data_dir = true;
  }
  std::error_code ec;
  fs::create_directories(c.data_dir, ec);
  if (ec) return Error(errc::io_error, "data_dir: cannot create " + c.data_dir + ": " + ec.message());
  if (c.node_id.empty()) {
    CAIRN_TRY(c.node_id, load_or_create_node_id(c.data_dir));
  }
  impl_->prepared = true;
  return {};
}

io::TlsSettings rpc_tls_settings(const Config& c) {
  io::TlsSettings s;
  s.ca_file = c.tls.ca_file;
  s.cert_file = c.tls.cert_file;
  s.key_file = c.tls.key_file;
  s.verify_incoming = c.tls.verify_incoming;
  s.verify_outgoing = c.tls.verify_outgoing;
  s.verify_server_hostname = c.tls.verify_server_hostname;
  s.datacenter = c.datacenter;
  s.domain = c.domain;
  return s;
}

Status Agent::start(Runtime& runtime) {
  Config& c = impl_->config;
  impl_->runtime = &runtime;
  CAIRN_RETURN_IF_ERROR(prepare());

  // Events.
  impl_->event_strand.emplace(asio::make_strand(runtime.io()));
  impl_->event_scheduler = std::make_unique<AsioScheduler>(*impl_->event_strand);
  impl_->events = std::make_unique<UserEvents>(*impl_->event_scheduler);
  impl_->retry_timer = std::make_unique<asio::steady_timer>(runtime.io());

  // Gossip.
  gossip::NodeOptions g;
  g.name = c.node_name;
  g.bind_addr = c.bind_addr;
  g.port = static_cast<uint16_t>(c.serf_lan_port);
  g.advertise_addr = c.advertise_addr;
  g.tags = {{"role", std::string(api::kRoleClient)}, {"dc", c.datacenter}, {"id", c.node_id}, {"build", version()},
            {"vsn", "2"}};
  if (c.server) {
    // Consul's server tags (api/server_tags.h): clients find servers by them,
    // servers find each other and bootstrap by them.
    g.tags["role"] = std::string(api::kRoleServer);
    g.tags["port"] = std::to_string(impl_->rpc_port);
    if (c.bootstrap_expect > 0) g.tags["expect"] = std::to_string(c.bootstrap_expect);
    if (c.bootstrap) g.tags["bootstrap"] = "1";
  }
  g.config = gossip::Config::lan();
  g.keyring_path = (fs::path(c.data_dir) / "serf" / "local.keyring").string();
  CAIRN_TRY(g.keyring, load_keyring(c, g.keyring_path));
  g.accept_plaintext = !c.encrypt_verify_incoming;
  g.send_plaintext = !c.encrypt_verify_outgoing;
  bool encrypted = g.keyring.enabled();
  gossip::GossipNode::Handlers handlers;
  handlers.on_user_event = [impl = impl_.get()](const gossip::UserEvent& e) { impl->on_user_event(e); };
  handlers.on_member = [impl = impl_.get()](const gossip::MemberEvent& e) {
    impl->track_server(e);
    if (impl->member_listener) impl->member_listener(e);
  };
  CAIRN_TRY(impl_->gossip, gossip::GossipNode::start(runtime.io(), std::move(g), std::move(handlers)));

  impl_->endpoints = std::make_unique<http::EndpointContext>(http::EndpointContext{
      c,
      [impl = impl_.get()](bool leave) {
        if (impl->shutdown_request) impl->shutdown_request(leave ? ShutdownReason::leave : ShutdownReason::signal);
      },
      impl_->gossip, encrypted, impl_->events.get(),
      [strand = *impl_->event_strand](std::function<void()> fn) { asio::post(strand, std::move(fn)); }});
  if (!impl_->rpc) {
    // A client agent: its handlers call the servers of its datacenter it
    // learned of by gossip, over RPC (api/io/rpc_client.h fails over).
    api::RpcClientOptions rpc_options;
    CAIRN_TRY(rpc_options.tls, io::TlsConfig::load(rpc_tls_settings(c)));
    rpc_options.source_ip = c.bind_addr;
    impl_->rpc = std::make_shared<api::RpcClient>(
        runtime.io(), [impl = impl_.get()] { return impl->server_addresses(); }, rpc_options);
  }
  impl_->endpoints->rpc = impl_->rpc;
  impl_->intentions_scheduler = std::make_unique<AsioScheduler>(asio::make_strand(runtime.io()));
  impl_->intentions = http::IntentionWatch::make(impl_->rpc, *impl_->intentions_scheduler);
  impl_->endpoints->intentions = impl_->intentions;
  impl_->intentions->start();
  if (c.connect.enabled) {
    connect::LeafOptions lo;
    lo.datacenter = c.datacenter;
    lo.seed = random_seed();
    impl_->leaf_scheduler = std::make_unique<AsioScheduler>(asio::make_strand(runtime.io()));
    impl_->leaf_cache = connect::LeafCache::make(impl_->rpc, SystemClock::instance(), *impl_->leaf_scheduler, lo);
    impl_->endpoints->leaf_cache = impl_->leaf_cache;
  }
  impl_->start_local();
  impl_->start_coordinate_sync();
  impl_->monitor = std::make_unique<LogMonitor>();
  impl_->endpoints->monitor = impl_->monitor.get();
  impl_->add_metric_collectors();
  http::register_endpoints(impl_->router, *impl_->endpoints);

  if (c.http_port >= 0) {
    cairn::http::ServerOptions o;
    o.max_conns_per_client = c.limits.http_max_conns_per_client;
    o.read_timeout = c.limits.http_read_timeout;
    o.idle_timeout = c.limits.http_idle_timeout;
    o.max_body_bytes = static_cast<size_t>(c.limits.http_max_body_bytes);
    o.max_header_bytes = static_cast<size_t>(c.limits.http_max_header_bytes);
    impl_->server = std::make_unique<cairn::http::Server>(runtime.io(), impl_->router, o);
    for (const auto& addr : c.client_addr) {
      CAIRN_TRY(uint16_t port, impl_->server->listen(addr, static_cast<uint16_t>(c.http_port)));
      std::string shown = addr.find(':') != std::string::npos ? "[" + addr + "]" : addr;
      impl_->http_addresses.push_back(shown + ":" + std::to_string(port));
      log::info("agent", "Started HTTP server on {}:{} (tcp)", shown, port);
    }
    impl_->server->start();
  } else {
    log::info("agent", "HTTP API disabled (ports.http = -1)");
  }
  CAIRN_RETURN_IF_ERROR(impl_->start_dns());
  impl_->start_sidecars();
  log::info("agent", "agent started: node={} id={} datacenter={} gossip={} data_dir={}", c.node_name, c.node_id,
            c.datacenter, impl_->gossip->advertise(), c.data_dir);

  if (!c.start_join.empty()) {
    // -join failing is fatal, as in Consul; wait for it here.
    auto done = std::make_shared<std::promise<Result<int>>>();
    impl_->gossip->join(c.start_join, [done](Result<int> r) { done->set_value(std::move(r)); });
    // The io threads do not run yet: drive the loop here until the join answers.
    auto fut = done->get_future();
    while (fut.wait_for(std::chrono::milliseconds(0)) != std::future_status::ready) runtime.io().run_one_for(std::chrono::milliseconds(50));
    auto joined = fut.get();
    if (!joined.ok()) return Error(errc::unavailable, "failed to join " + joined.error().message());
    log::info("agent", "joined: contacted {} nodes", *joined);
  }
  if (!c.retry_join.empty()) impl_->retry_join();
  return {};
}

// The supervisor runs the client binary (`cairn connect proxy`; a server
// agent runs as cairn-server, which `cairn` exec'd with CAIRN_CLIENT_BINARY
// set to itself) against the agent's first HTTP address, for every local
// sidecar whose parent asked for Connect.ManagedSidecar.
void Agent::Impl::start_sidecars() {
  if (!local || http_addresses.empty()) return;
  std::error_code ec;
  const char* client = std::getenv("CAIRN_CLIENT_BINARY");
  std::filesystem::path exe = client && *client ? std::filesystem::path(client)
                                                : std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) {
    log::warn("agent", "managed sidecars disabled: cannot find this binary: {}", ec.message());
    return;
  }
  sidecar::SupervisorOptions o;
  o.command = {exe.string(), "connect", "proxy", "-http-addr", http_addresses.front()};
  o.desired = [state = &local->state()] {
    std::vector<std::string> ids;
    for (const auto& s : state->services())
      if (s.supervised && s.service.kind == api::kConnectProxyKind) ids.push_back(s.service.id);
    return ids;
  };
  sidecars = sidecar::Supervisor::make(runtime->io(), std::move(o));
  sidecars->start();
  metrics::add_collector([weak = std::weak_ptr<sidecar::Supervisor>(sidecars)] {
    auto s = weak.lock();
    if (!s) return;
    for (const auto& c : s->children()) {
      metrics::set_gauge("cairn.sidecar.running", c.pid > 0 ? 1 : 0, {{"proxy_id", c.id}});
      metrics::set_gauge("cairn.sidecar.restarts", c.restarts, {{"proxy_id", c.id}});
    }
  });
  // Every local connect-proxy with a stats listener (Proxy.Config.stats_bind_addr),
  // managed or not.
  sidecar_stats = std::make_unique<sidecar::StatsScraper>(
      [state = &local->state()] {
        std::vector<sidecar::StatsTarget> out;
        for (const auto& s : state->services()) {
          if (s.service.kind != api::kConnectProxyKind) continue;
          auto p = api::parse_connect_proxy(s.service.proxy_json);
          if (!p.ok() || p->config_json.empty()) continue;
          auto cfg = nlohmann::json::parse(p->config_json, nullptr, false);
          if (cfg.is_object() && cfg.contains("stats_bind_addr") && cfg["stats_bind_addr"].is_string())
            out.push_back({s.service.id, cfg["stats_bind_addr"].get<std::string>()});
        }
        return out;
      },
      std::chrono::seconds(10));
  sidecar_stats->start();
}

Status Agent::Impl::start_dns() {
  const Config& c = config;
  if (c.dns_port < 0) {
    log::info("agent", "DNS disabled (ports.dns = -1)");
    return {};
  }
  cache::Options co;
  co.allow_stale = c.dns_config.allow_stale;
  co.max_stale = c.dns_config.max_stale;
  co.use_cache = c.dns_config.use_cache;
  co.max_age = c.dns_config.cache_max_age;
  cache_scheduler = std::make_unique<AsioScheduler>(asio::make_strand(runtime->io()));
  cache = cache::Cache::make(rpc, SystemClock::instance(), *cache_scheduler, co);
  metrics::add_collector([weak = std::weak_ptr<cache::Cache>(cache)] {
    auto c = weak.lock();
    if (!c) return;
    auto s = c->stats();
    metrics::set_gauge("cairn.dns.cache.hits", static_cast<double>(s.hits));
    metrics::set_gauge("cairn.dns.cache.misses", static_cast<double>(s.misses));
    metrics::set_gauge("cairn.dns.cache.passed", static_cast<double>(s.passed));
    metrics::set_gauge("cairn.dns.cache.entries", static_cast<double>(s.entries));
  });
  auto resolver = std::make_shared<dns::Resolver>(
      c, cache, SystemClock::instance(),
      static_cast<uint64_t>(SystemClock::instance().wall_now().since_unix_epoch.count()));
  dns::ServerOptions so;
  so.recursors = c.recursors;
  so.recursor_timeout = c.dns_config.recursor_timeout;
  dns = std::make_unique<dns::Server>(runtime->io(), resolver, so);
  for (const auto& addr : c.client_addr) {
    CAIRN_TRY(uint16_t port, dns->listen(addr, static_cast<uint16_t>(c.dns_port)));
    std::string shown = addr.find(':') != std::string::npos ? "[" + addr + "]" : addr;
    dns_addresses.push_back(shown + ":" + std::to_string(port));
    log::info("agent", "Started DNS server on {}:{} (udp)", shown, port);
    log::info("agent", "Started DNS server on {}:{} (tcp)", shown, port);
  }
  dns->start();
  return {};
}

void Agent::set_reload(std::function<Result<Config>()> fn) { impl_->reload_config = std::move(fn); }

void Agent::reload(std::function<void(Status)> done) { impl_->reload(std::move(done)); }

void Agent::Impl::reload(std::function<void(Status)> done) {
  if (!reload_config || !local) return done(Error(errc::unavailable, "reload is not available"));
  auto fresh = reload_config();
  if (!fresh.ok()) return done(fresh.error());
  local->reload(*fresh, std::move(done));
}

// Our Vivaldi coordinate to the servers, on a strand of its own.
void Agent::Impl::start_coordinate_sync() {
  if (!gossip) return;
  coordinate_scheduler = std::make_unique<AsioScheduler>(asio::make_strand(runtime->io()));
  CoordinateSyncOptions o;
  o.node = config.node_name;
  CoordinateSyncDeps d;
  d.rpc = rpc.get();
  d.scheduler = coordinate_scheduler.get();
  d.coordinate = [g = gossip]() -> std::optional<api::Coord> {
    gossip::Coordinate c = g->coordinate();
    api::Coord out;
    out.vec.assign(c.vec.begin(), c.vec.end());
    out.error = c.error;
    out.adjustment = c.adjustment;
    out.height = c.height;
    return out;
  };
  d.cluster_size = [g = gossip] { return g->members().size(); };
  d.uniform = [this](uint64_t n) { return coordinate_rng.uniform(n); };
  coordinate_sync = CoordinateSync::make(std::move(o), std::move(d));
  coordinate_sync->start();
}

// Local services and checks: the persisted API registrations and the
// config's definitions, the check runner and anti-entropy, on one strand.
void Agent::Impl::start_local() {
  local::LocalAgentDeps deps;
  deps.runtime = runtime;
  deps.rpc = [this] { return rpc; };
  deps.cluster_size = [this] { return gossip ? gossip->members().size() : size_t{1}; };
  deps.advertise_address = [this] {
    std::string a = gossip ? gossip->advertise() : std::string();
    auto colon = a.rfind(':');
    if (colon != std::string::npos) a.resize(colon);
    if (a.size() > 1 && a.front() == '[') a = a.substr(1, a.size() - 2);
    return a;
  };
  local = std::make_unique<local::LocalAgent>(config, std::move(deps));
  endpoints->local = &local->state();
  endpoints->on_local_strand = [l = local.get()](std::function<void()> fn) { l->post(std::move(fn)); };
  endpoints->wait_local_change = [l = local.get()](Duration d, std::function<void(bool)> fn) {
    l->wait_for_change(d, std::move(fn));
  };
  endpoints->reload = [this](std::function<void(Status)> done) { reload(std::move(done)); };
  local->start();
}

void Agent::shutdown(bool leave, std::function<void()> done) {
  auto finish = [this, done = std::move(done)]() mutable {
    impl_->retry_timer->cancel();
    if (impl_->sidecar_stats) impl_->sidecar_stats->stop();
    if (impl_->sidecars) impl_->sidecars->stop();
    if (impl_->local) impl_->local->stop();
    if (impl_->dns) impl_->dns->stop();
    if (impl_->cache) impl_->cache->stop();
    if (impl_->intentions) impl_->intentions->stop();
    if (impl_->leaf_cache) impl_->leaf_cache->stop();
    if (impl_->coordinate_sync) impl_->coordinate_sync->stop();
    auto stop_gossip = [this, done = std::move(done)]() mutable {
      impl_->gossip->stop();
      done();
    };
    if (!impl_->server) return stop_gossip();
    impl_->server->shutdown(impl_->config.limits.shutdown_grace,
                            [this, stop_gossip = std::move(stop_gossip)]() mutable {
                              asio::post(impl_->runtime->io(), std::move(stop_gossip));
                            });
  };
  if (leave && impl_->gossip) {
    log::info("agent", "leaving the gossip pool");
    impl_->gossip->leave([finish = std::move(finish)]() mutable { finish(); });
  } else {
    finish();
  }
}

}  // namespace cairn::agent
