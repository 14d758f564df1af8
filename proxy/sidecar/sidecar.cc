#include "proxy/sidecar/sidecar.h"

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <charconv>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

#include "api/json.h"
#include "core/http/url.h"
#include "core/log.h"
#include "proxy/intention_authorizer.h"
#include "proxy/sidecar/backoff.h"
#include "proxy/sidecar/mapping.h"

namespace cairn::proxy::sidecar {
namespace {

constexpr std::string_view kLog = "proxy.sidecar";
// An answer that came back at once with nothing new (an endpoint that does
// not block, such as /v1/agent/service/<id> on an agent without ?hash
// blocking) is asked again after this long, never in a busy loop.
constexpr Duration kUnblockedPoll = std::chrono::seconds(1);

uint64_t header_index(const api::HttpResult& r) {
  std::string text = r.header("X-Consul-Index");
  uint64_t n = 0;
  std::from_chars(text.data(), text.data() + text.size(), n);
  return n;
}

std::string wait_param(Duration wait) {
  return std::to_string(std::chrono::duration_cast<std::chrono::seconds>(wait).count()) + "s";
}

// One watched source. `target(version)` is the request for the state after
// `version` ("" first); `version_of` reads the answer's version (the index,
// or the content hash); `apply` takes a 200's answer.
struct Watch {
  std::string name;
  std::function<std::string(const std::string& version)> target;
  std::function<std::string(const api::HttpResult&)> version_of;
  std::function<void(const api::HttpResult&)> apply;
  std::shared_ptr<std::atomic<bool>> stop = std::make_shared<std::atomic<bool>>(false);
};

}  // namespace

struct Sidecar::State : std::enable_shared_from_this<Sidecar::State> {
  boost::asio::io_context& io;
  SidecarOptions options;

  std::mutex mu;
  std::condition_variable wake;  // stop() interrupts the loops' backoff sleeps
  bool stopping = false;

  Registration registration;
  ProxyConfig config;
  std::string trust_domain;
  std::string datacenter = "dc1";
  LeafCertificate leaf;
  TrustBundle bundle;
  std::shared_ptr<const api::IntentionIndex> index;
  bool default_allow = false;
  std::map<std::string, std::vector<Endpoint>> endpoints;  // by destination name
  std::map<std::string, std::shared_ptr<std::atomic<bool>>> upstream_watches;  // by "name?dc"
  std::shared_ptr<IntentionAuthorizer> authorizer;
  std::unique_ptr<Proxy> proxy;

  State(boost::asio::io_context& io_, SidecarOptions o) : io(io_), options(std::move(o)) {}

  api::HttpClient client() const { return api::HttpClient(options.agent, options.token); }
  Duration request_timeout() const { return options.wait + options.wait / 16 + std::chrono::seconds(10); }

  // Sleeps up to `d`; false when the sidecar (or the watch) stopped.
  bool sleep_for(Duration d, const std::atomic<bool>& watch_stop) {
    std::unique_lock lock(mu);
    wake.wait_for(lock, d, [&] { return stopping || watch_stop.load(); });
    return !stopping && !watch_stop.load();
  }

  // Builds and starts a Proxy from the current state. Caller holds mu.
  Status start_proxy_locked() {
    authorizer = std::make_shared<IntentionAuthorizer>(config.service, default_allow, index);
    auto p = std::make_unique<Proxy>(io, config, authorizer);
    CAIRN_RETURN_IF_ERROR(p->set_leaf(leaf));
    CAIRN_RETURN_IF_ERROR(p->set_trust_bundle(bundle));
    for (const auto& u : config.upstreams) {
      auto it = endpoints.find(u.destination_name);
      if (it != endpoints.end()) CAIRN_RETURN_IF_ERROR(p->set_endpoints(u.destination_name, it->second));
    }
    CAIRN_RETURN_IF_ERROR(p->start());
    proxy = std::move(p);
    std::string ports = "inbound=" + std::to_string(proxy->inbound_port());
    for (const auto& u : config.upstreams)
      ports += " upstream." + u.destination_name + "=" + std::to_string(proxy->upstream_port(u.destination_name));
    if (proxy->stats_port()) ports += " stats=" + std::to_string(proxy->stats_port());
    log::info(kLog, "sidecar ready: proxy={} service={} {}", options.proxy_id, config.service, ports);
    return {};
  }

  // Replaces the running Proxy with one for `next`; on failure the previous
  // configuration is started again. Caller holds mu.
  void restart_proxy_locked(ProxyConfig next) {
    ProxyConfig previous = config;
    if (proxy) proxy->stop();
    proxy.reset();
    config = std::move(next);
    if (auto st = start_proxy_locked(); !st) {
      log::error(kLog, "restarting the proxy with the new registration failed: {}; going back to the last good one",
                 st.error().detail());
      config = std::move(previous);
      if (auto again = start_proxy_locked(); !again)
        log::error(kLog, "restarting the proxy with the last good registration failed: {}", again.error().detail());
    }
  }

  void run(Watch w, std::string version);
  void ensure_upstream_watches_locked();
  Watch upstream_watch(const std::string& name, const std::string& dc);
  void apply_registration(const api::HttpResult& r);
  void apply_leaf(const api::HttpResult& r);
  void apply_roots(const api::HttpResult& r);
  void apply_intentions(const api::HttpResult& r);
};

// The loop every watch runs: a blocking GET, then apply; errors back off.
void Sidecar::State::run(Watch w, std::string version) {
  Backoff backoff;
  api::HttpClient c = client();
  while (!w.stop->load()) {
    {
      std::lock_guard lock(mu);
      if (stopping) return;
    }
    auto started = std::chrono::steady_clock::now();
    auto r = c.request("GET", w.target(version), {}, request_timeout());
    if (w.stop->load()) return;
    if (!r || r->status != 200) {
      Duration d = backoff.next();
      log::warn(kLog, "{}: {}; retrying in {}s", w.name,
                r ? "HTTP " + std::to_string(r->status) + ": " + r->body.substr(0, 200) : r.error().detail(),
                std::chrono::duration_cast<std::chrono::seconds>(d).count());
      if (!sleep_for(d, *w.stop)) return;
      continue;
    }
    backoff.reset();
    std::string next = w.version_of(*r);
    if (next == version && !version.empty()) {
      // Nothing new: the wait ran out, or the endpoint does not block.
      if (std::chrono::steady_clock::now() - started < kUnblockedPoll && !sleep_for(kUnblockedPoll, *w.stop)) return;
      continue;
    }
    {
      std::lock_guard lock(mu);
      if (stopping || w.stop->load()) return;
    }
    w.apply(*r);
    version = next;
  }
}

Watch Sidecar::State::upstream_watch(const std::string& name, const std::string& dc) {
  Watch w;
  w.name = "endpoints of " + name;
  w.target = [this, name, dc](const std::string& version) {
    std::string t = "/v1/health/connect/" + http::percent_encode(name) + "?passing";
    if (!dc.empty()) t += "&dc=" + http::percent_encode(dc);
    if (!version.empty()) t += "&index=" + version + "&wait=" + wait_param(options.wait);
    return t;
  };
  w.version_of = [](const api::HttpResult& r) { return std::to_string(header_index(r)); };
  w.apply = [this, name](const api::HttpResult& r) {
    auto rows = api::decode_health_service_entries(r.body);
    if (!rows) return log::warn(kLog, "endpoints of {}: {}", name, rows.error().detail());
    auto eps = endpoints_of(*rows);
    std::lock_guard lock(mu);
    log::debug(kLog, "endpoints of {}: {} instance(s)", name, eps.size());
    endpoints[name] = eps;
    if (proxy) {
      if (auto st = proxy->set_endpoints(name, std::move(eps)); !st)
        log::debug(kLog, "endpoints of {}: {}", name, st.error().detail());
    }
  };
  return w;
}

void Sidecar::State::ensure_upstream_watches_locked() {
  auto self = shared_from_this();
  std::map<std::string, std::pair<std::string, std::string>> wanted;
  for (const auto& u : config.upstreams) wanted[u.destination_name + "?" + u.datacenter] = {u.destination_name, u.datacenter};
  for (auto it = upstream_watches.begin(); it != upstream_watches.end();) {
    if (wanted.count(it->first)) {
      ++it;
      continue;
    }
    it->second->store(true);  // ends when its poll returns
    it = upstream_watches.erase(it);
  }
  wake.notify_all();
  for (const auto& [key, target] : wanted) {
    if (upstream_watches.count(key)) continue;
    Watch w = upstream_watch(target.first, target.second);
    upstream_watches[key] = w.stop;
    std::thread([self, w] { self->run(w, ""); }).detach();
  }
}

void Sidecar::State::apply_registration(const api::HttpResult& r) {
  auto reg = parse_registration(r.body);
  if (!reg) return log::error(kLog, "proxy registration: {}; keeping the last good configuration", reg.error().detail());
  std::lock_guard lock(mu);
  std::vector<std::string> ignored;
  auto next = proxy_config_of(*reg, trust_domain, &ignored);
  if (!next) return log::error(kLog, "proxy registration: {}; keeping the last good configuration", next.error().detail());
  for (const auto& f : ignored) log::debug(kLog, "ignoring unknown config key {}", f);
  Registration was = registration;
  registration = *reg;
  was.content_hash = reg->content_hash;
  if (was == *reg) return;
  log::info(kLog, "proxy registration changed; restarting the proxy");
  restart_proxy_locked(std::move(*next));
  ensure_upstream_watches_locked();
}

void Sidecar::State::apply_leaf(const api::HttpResult& r) {
  auto cert = api::decode_issued_cert(r.body);
  if (!cert) return log::error(kLog, "leaf: {}", cert.error().detail());
  auto leaf_pem = leaf_of(*cert);
  if (!leaf_pem) return log::error(kLog, "leaf: {}", leaf_pem.error().detail());
  std::lock_guard lock(mu);
  if (proxy) {
    if (auto st = proxy->set_leaf(*leaf_pem); !st) return log::error(kLog, "leaf: {}", st.error().detail());
  }
  leaf = std::move(*leaf_pem);
  log::info(kLog, "leaf certificate {} for {} in use", cert->serial_number, cert->service);
}

void Sidecar::State::apply_roots(const api::HttpResult& r) {
  auto roots = api::decode_ca_roots(r.body);
  if (!roots) return log::error(kLog, "roots: {}", roots.error().detail());
  auto b = trust_bundle_of(*roots);
  if (!b) return log::error(kLog, "roots: {}", b.error().detail());
  std::lock_guard lock(mu);
  if (proxy) {
    if (auto st = proxy->set_trust_bundle(*b); !st) return log::error(kLog, "roots: {}", st.error().detail());
  }
  bundle = std::move(*b);
  log::info(kLog, "trust bundle: {} root(s), active {}", roots->roots.size(), roots->active_root_id);
  if (roots->trust_domain != trust_domain) {
    trust_domain = roots->trust_domain;
    ProxyConfig next = config;
    next.trust_domain = trust_domain;
    if (proxy) restart_proxy_locked(std::move(next));
  }
}

void Sidecar::State::apply_intentions(const api::HttpResult& r) {
  std::string service, td, dc;
  {
    std::lock_guard lock(mu);
    service = config.service;
    td = trust_domain;
    dc = datacenter;
  }
  auto idx = intention_index_of(r.body, service);
  if (!idx) return log::error(kLog, "intentions: {}", idx.error().detail());
  // The decision when no intention names the caller: asked of the agent,
  // which knows its ACL default policy (/v1/agent/self does not show it).
  std::string body = authorize_body(service, unmatched_source_uri(td, dc));
  auto a = client().request("POST", "/v1/agent/connect/authorize", body, std::chrono::seconds(30));
  if (!a || a->status != 200)
    return log::error(kLog, "intentions: the default decision: {}",
                      a ? "HTTP " + std::to_string(a->status) + ": " + a->body : a.error().detail());
  auto allowed = authorized_of(a->body);
  if (!allowed) return log::error(kLog, "intentions: the default decision: {}", allowed.error().detail());
  std::lock_guard lock(mu);
  index = *idx;
  default_allow = *allowed;
  log::info(kLog, "intentions for {}: {} (no match: {})", service, (*idx)->all().size(), *allowed ? "allow" : "deny");
  if (authorizer) authorizer->set_index(index, default_allow);
}

Sidecar::Sidecar(std::shared_ptr<State> state) : state_(std::move(state)) {}

Sidecar::~Sidecar() { stop(); }

void Sidecar::stop() {
  std::unique_ptr<Proxy> p;
  {
    std::lock_guard lock(state_->mu);
    state_->stopping = true;
    p = std::move(state_->proxy);
  }
  state_->wake.notify_all();
  if (p) p->stop();
}

uint16_t Sidecar::inbound_port() const {
  std::lock_guard lock(state_->mu);
  return state_->proxy ? state_->proxy->inbound_port() : 0;
}

uint16_t Sidecar::upstream_port(std::string_view name) const {
  std::lock_guard lock(state_->mu);
  return state_->proxy ? state_->proxy->upstream_port(name) : 0;
}

ProxyStats Sidecar::stats() const {
  std::lock_guard lock(state_->mu);
  return state_->proxy ? state_->proxy->stats() : ProxyStats{};
}

namespace {

Result<api::HttpResult> get_ok(const api::HttpClient& c, const std::string& target) {
  auto r = c.request("GET", target);
  if (!r) return Error(errc::unavailable, "GET " + target + ": " + r.error().detail());
  if (r->status != 200) {
    std::string body = r->body.substr(0, 300);
    while (!body.empty() && (body.back() == '\n' || body.back() == '\r')) body.pop_back();
    return Error(errc::unavailable, "GET " + target + ": HTTP " + std::to_string(r->status) + ": " + body);
  }
  return r;
}

std::string index_text(const api::HttpResult& r) { return std::to_string(header_index(r)); }

}  // namespace

Result<std::unique_ptr<Sidecar>> Sidecar::start(boost::asio::io_context& io, SidecarOptions options) {
  auto self = std::make_shared<State>(io, std::move(options));
  State& s = *self;
  api::HttpClient c = s.client();
  const std::string reg_target = "/v1/agent/service/" + http::percent_encode(s.options.proxy_id);

  // First load: every source once, without blocking. A failure here ends
  // the command (exit 1) with the request or the field that failed.
  CAIRN_TRY(auto reg_answer, get_ok(c, reg_target));
  CAIRN_TRY(s.registration, parse_registration(reg_answer.body));
  CAIRN_TRY(auto roots_answer, get_ok(c, "/v1/agent/connect/ca/roots"));
  CAIRN_TRY(auto roots, api::decode_ca_roots(roots_answer.body));
  CAIRN_TRY(s.bundle, trust_bundle_of(roots));
  s.trust_domain = roots.trust_domain;
  std::vector<std::string> ignored;
  CAIRN_TRY(s.config, proxy_config_of(s.registration, s.trust_domain, &ignored));
  for (const auto& f : ignored) log::debug(kLog, "ignoring unknown config key {}", f);
  const std::string service = s.config.service;

  CAIRN_TRY(auto leaf_answer, get_ok(c, "/v1/agent/connect/ca/leaf/" + http::percent_encode(service)));
  CAIRN_TRY(auto cert, api::decode_issued_cert(leaf_answer.body));
  CAIRN_TRY(s.leaf, leaf_of(cert));
  log::info(kLog, "leaf certificate {} for {} in use", cert.serial_number, cert.service);

  const std::string ixn_base = "/v1/connect/intentions/match?by=destination&name=" + http::percent_encode(service);
  CAIRN_TRY(auto ixn_answer, get_ok(c, ixn_base));
  s.apply_intentions(ixn_answer);
  if (!s.index) return Error(errc::unavailable, "intentions for " + service + ": could not be loaded (see the log)");

  {
    std::lock_guard lock(s.mu);
    CAIRN_RETURN_IF_ERROR(s.start_proxy_locked());
  }

  // The watch loops, each from the version its first answer had.
  const std::string wait = wait_param(s.options.wait);
  Watch reg;
  reg.name = "proxy registration " + s.options.proxy_id;
  reg.target = [reg_target, wait](const std::string& v) {
    return v.empty() ? reg_target : reg_target + "?hash=" + http::percent_encode(v) + "&wait=" + wait;
  };
  reg.version_of = [](const api::HttpResult& r) {
    std::string h = r.header("X-Consul-ContentHash");
    return h.empty() ? std::to_string(std::hash<std::string>{}(r.body)) : h;
  };
  reg.apply = [&s](const api::HttpResult& r) { s.apply_registration(r); };

  Watch leaf;
  leaf.name = "leaf of " + service;
  leaf.target = [service, wait](const std::string& v) {
    std::string t = "/v1/agent/connect/ca/leaf/" + http::percent_encode(service);
    return v.empty() ? t : t + "?index=" + v + "&wait=" + wait;
  };
  leaf.version_of = index_text;
  leaf.apply = [&s](const api::HttpResult& r) { s.apply_leaf(r); };

  Watch roots_watch;
  roots_watch.name = "roots";
  roots_watch.target = [wait](const std::string& v) {
    return v.empty() ? std::string("/v1/agent/connect/ca/roots") : "/v1/agent/connect/ca/roots?index=" + v + "&wait=" + wait;
  };
  roots_watch.version_of = index_text;
  roots_watch.apply = [&s](const api::HttpResult& r) { s.apply_roots(r); };

  Watch ixn;
  ixn.name = "intentions for " + service;
  ixn.target = [ixn_base, wait](const std::string& v) {
    return v.empty() ? ixn_base : ixn_base + "&index=" + v + "&wait=" + wait;
  };
  ixn.version_of = index_text;
  ixn.apply = [&s](const api::HttpResult& r) { s.apply_intentions(r); };

  std::pair<Watch, std::string> loops[] = {
      {reg, reg.version_of(reg_answer)},
      {leaf, index_text(leaf_answer)},
      {roots_watch, index_text(roots_answer)},
      {ixn, index_text(ixn_answer)},
  };
  for (auto& [w, v] : loops) std::thread([self, w = w, v = v] { self->run(w, v); }).detach();
  {
    std::lock_guard lock(s.mu);
    s.ensure_upstream_watches_locked();
  }
  return std::unique_ptr<Sidecar>(new Sidecar(self));
}

Result<std::string> find_sidecar_for(const api::HttpClient& client, const std::string& service_id) {
  CAIRN_TRY(auto r, get_ok(client, "/v1/agent/services"));
  CAIRN_TRY(auto ids, proxy_ids_for(r.body, service_id));
  if (ids.empty())
    return Error(errc::not_found, "no sidecar proxy registered for service ID \"" + service_id + "\"");
  if (ids.size() > 1) {
    std::string list;
    for (const auto& id : ids) list += (list.empty() ? "" : ", ") + id;
    return Error(errc::invalid_argument,
                 "several sidecar proxies registered for service ID \"" + service_id + "\" (" + list + "); use -proxy-id");
  }
  return ids.front();
}

}  // namespace cairn::proxy::sidecar
