// The Connect CA on the leader (server/README.md "Connect CA"): creating the
// CA when the state has none, signing leaves (not a Raft write), and turning
// a configuration change into one CA command. The CA logic itself is
// server/ca/ca.h; the state is server/state/ca.cc.
#include "core/log.h"
#include "server/fsm/command.h"
#include "server/server_impl.h"

namespace cairn::server {

namespace rpc = api::rpc;

namespace {

Error connect_disabled() { return Error(errc::invalid_argument, "Connect must be enabled in order to use this endpoint"); }

// What the leader reads before a CA decision: one consistent view.
struct CaView {
  api::CAConfiguration config;
  api::CARoots roots;
  api::CARoot active;
  std::string active_key;
};

Result<CaView> read_ca(const state::Store& s) {
  state::ReadView v = s.read();
  CaView out;
  CAIRN_TRY(auto config, v.ca_config());
  out.config = std::move(config.value);
  if (out.config.cluster_id.empty()) return Error(errc::unavailable, "the CA is not initialized yet; try again");
  CAIRN_TRY(auto roots, v.ca_roots());
  out.roots = std::move(roots.value);
  bool found = false;
  for (const auto& r : out.roots.roots) {
    if (!r.active) continue;
    out.active = r;
    found = true;
  }
  if (!found) return Error(errc::internal, "the CA has no active root");
  CAIRN_TRY(auto key, v.ca_root_key(out.active.id));
  if (!key) return Error(errc::internal, "the CA's active root has no key in the state store");
  out.active_key = std::move(*key);
  return out;
}

}  // namespace

void Server::Impl::ca_establish() {
  if (!options.connect_enabled) return;
  std::weak_ptr<Impl> weak = shared_from_this();
  // Key generation is slow (RSA 4096: seconds): off the driver's strand.
  asio::post(strand, [weak] {
    auto self = weak.lock();
    if (!self || !self->is_leader() || !self->usable().ok()) return;
    std::shared_ptr<state::Store> s = self->store_ref();
    if (!s) return;
    auto config = s->read().ca_config();
    if (!config.ok()) return log::error("server", "connect CA: reading the configuration: {}", config.error().message());
    if (!config->value.cluster_id.empty()) return;  // it exists
    uint64_t seed;
    std::string cluster_id;
    {
      std::lock_guard lock(self->mu);
      seed = self->rng->next_u64();
      cluster_id = ca::new_uuid(*self->rng);
    }
    SeededRng rng(seed);
    auto plan = ca::plan_initial(self->options.ca, cluster_id, self->clock->wall_now(), rng);
    if (!plan.ok()) return log::error("server", "connect CA: cannot create the root: {}", plan.error().message());
    auto retry = [weak] {
      auto me = weak.lock();
      if (!me) return;
      me->scheduler->after(std::chrono::seconds(1), [weak] {
        if (auto again = weak.lock()) again->ca_establish();
      });
    };
    self->propose(
        fsm::encode(fsm::ConnectCACommand{std::move(*plan)}),
        [weak, cluster_id, retry](Result<std::pair<uint64_t, fsm::Response>> r) {
          if (!r.ok()) {
            log::warn("server", "connect CA: initializing failed, retrying: {}", r.error().message());
            return retry();
          }
          const bool* done = std::get_if<bool>(&r->second);
          if (done && *done) log::info("server", "connect CA initialized: trust domain {}.consul", cluster_id);
        },
        [](raft::NodeId) {});  // no longer leading: the next leader does it
  });
}

void Server::Impl::ca_sign(const rpc::ConnectCASign& sign, rpc::WriteCallback done) {
  if (!options.connect_enabled) return done(connect_disabled());
  std::shared_ptr<state::Store> s = store_ref();
  if (!s) return done(Error(errc::unavailable, "restoring a snapshot; try again"));
  auto view = read_ca(*s);
  if (!view.ok()) return done(view.error());
  const api::CAProviderConfig& c = view->config.config;
  ca_limiter.configure(c.csr_max_per_second, c.csr_max_concurrent);
  auto permit = ca_limiter.acquire(clock->now());
  if (!permit.ok()) return done(permit.error());
  auto issuer = ca_issuer.get(view->active, view->active_key);
  if (!issuer.ok()) return done(Error(errc::internal, "the CA's active root: " + issuer.error().message()));
  ca::SignInput in{view->active, std::move(*issuer), view->roots.trust_domain, options.datacenter, c.leaf_cert_ttl};
  auto cert = ca::sign_leaf(in, sign.csr, clock->wall_now());
  if (!cert.ok()) return done(cert.error());
  done(rpc::WriteResponse{0, rpc::make_value<rpc::ConnectCASign, rpc::WriteValue>(std::move(*cert))});
}

Result<std::string> Server::Impl::ca_config_command(const rpc::ConnectCAConfigSet& set) {
  if (!options.connect_enabled) return connect_disabled();
  std::shared_ptr<state::Store> s = store_ref();
  if (!s) return Error(errc::unavailable, "restoring a snapshot; try again");
  CAIRN_TRY(CaView view, read_ca(*s));
  uint64_t seed;
  {
    std::lock_guard lock(mu);
    seed = rng->next_u64();
  }
  SeededRng rng_for_root(seed);
  CAIRN_TRY(state::CaWrite w, ca::plan_config_set(view.config, view.roots, view.active_key, set.config,
                                                  clock->wall_now(), rng_for_root));
  return fsm::encode(fsm::ConnectCACommand{std::move(w)});
}

}  // namespace cairn::server
