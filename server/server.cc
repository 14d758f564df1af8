// Server: start-up, the gossip view of the servers, bootstrap and stop.
// Writes are in writes.cc, queries in queries.cc, the raft::Application in
// application.cc.
#include "server/server.h"

#include <algorithm>
#include <filesystem>

#include "core/io/asio_scheduler.h"
#include "core/io/random.h"
#include "core/io/system_clock.h"
#include "core/log.h"
#include "raft/errc.h"
#include "server/server_impl.h"

namespace cairn::server {

namespace fs = std::filesystem;
using api::rpc::Handler;

Server::Impl::Impl(asio::io_context& io_, ServerOptions o, ServerDeps d)
    : io(io_), strand(asio::make_strand(io_)), options(std::move(o)), deps(std::move(d)), rng(make_system_rng()) {}

Server::Impl::~Impl() = default;

Error rpc_error_of(const Error& e) {
  if (e.code().category() != raft::raft_category()) return e;
  switch (static_cast<raft::errc>(e.code().value())) {
    case raft::errc::not_leader:
      return Error(errc::unavailable, "No cluster leader");
    case raft::errc::invalid_conf_change:
    case raft::errc::learner_not_caught_up:
    case raft::errc::invalid_argument:
      return Error(errc::invalid_argument, e.message());
    default:
      return Error(errc::unavailable, "raft: " + e.message());
  }
}

Result<std::shared_ptr<Server>> Server::start(asio::io_context& io, ServerOptions options, ServerDeps deps) {
  if (options.data_dir.empty()) return Error(errc::invalid_argument, "data_dir: required");
  if (options.rpc_address.empty()) return Error(errc::invalid_argument, "rpc_address: required");
  if (options.datacenter.empty()) return Error(errc::invalid_argument, "datacenter: required");
  uint64_t self = api::raft_id_of(options.node_id);
  if (self == raft::kNoNode) return Error(errc::invalid_argument, "node_id: not a UUID: \"" + options.node_id + "\"");
  if (options.bootstrap_expect < 0) return Error(errc::invalid_argument, "bootstrap_expect: must be >= 0");
  if (options.bootstrap && options.bootstrap_expect > 0)
    return Error(errc::invalid_argument, "bootstrap_expect: cannot be combined with bootstrap");
  if (deps.transport == nullptr) return Error(errc::invalid_argument, "transport: required");

  auto impl = std::make_shared<Impl>(io, std::move(options), std::move(deps));
  impl->self = self;
  impl->clock = impl->deps.clock != nullptr ? impl->deps.clock : &SystemClock::instance();
  if (impl->deps.scheduler != nullptr) {
    impl->scheduler = impl->deps.scheduler;
  } else {
    impl->own_scheduler = std::make_unique<AsioScheduler>(impl->strand);
    impl->scheduler = impl->own_scheduler.get();
  }
  const ServerOptions& o = impl->options;
  std::error_code ec;
  fs::create_directories(o.data_dir, ec);
  if (ec) return Error(errc::io_error, "data_dir: " + o.data_dir + ": " + ec.message());

  CAIRN_TRY(std::unique_ptr<state::Store> store, state::Store::open(o.data_dir + "/state", o.store));
  impl->store = std::move(store);
  impl->raft_side = std::make_shared<RaftSide>();
  impl->raft_side->server = impl;
  CAIRN_TRY(impl->raft_side->log, raft::RocksLogStorage::open(o.data_dir + "/raft"));
  raft::RocksLogStorage& log_storage = *impl->raft_side->log;
  bool fresh_bootstrap = false;
  if (o.bootstrap && !log_storage.has_state()) {
    CAIRN_RETURN_IF_ERROR(log_storage.bootstrap(raft::ConfState{{self}, {}}));
    fresh_bootstrap = true;
    log::info("server", "bootstrapped a one-server cluster ({})", o.node_name);
  }

  if (o.snapshot_on_thread) impl->snapshot_pool.emplace(1);
  raft::DriverOptions dopts = o.raft;
  dopts.raft.id = self;
  std::weak_ptr<Impl> weak = impl;
  dopts.on_leader_change = [weak, self](raft::NodeId leader, raft::StateType state, raft::Term) {
    if (auto i = weak.lock()) i->leader_changed(state == raft::StateType::leader && leader == self);
  };
  // This callback lives in the driver: it keeps the storage and the
  // Application alive for as long as the driver may use them.
  dopts.on_conf_change = [side = impl->raft_side](const raft::ConfState& cs, raft::Index index) {
    (void)side;
    log::info("server", "raft configuration at {}: {} voters, {} learners", index, cs.voters.size(),
              cs.learners.size());
  };
  CAIRN_TRY(impl->driver,
            raft::RaftDriver::start(io, dopts, &log_storage, impl->deps.transport, impl->raft_side.get()));
  if (o.bootstrap) {
    raft::ConfState cs = impl->driver->status().conf_state;
    if (fresh_bootstrap || cs.voters == std::vector<raft::NodeId>{self}) impl->driver->campaign();
  }
  log::info("server", "{} started: raft id {:016x}, applied {}", o.node_name, self, impl->store->applied_index());
  impl->maybe_bootstrap();
  return std::shared_ptr<Server>(new Server(std::move(impl)));
}

Server::~Server() { stop(); }

raft::TransportHandlers Server::transport_handlers() { return impl_->driver->transport_handlers(); }

void Server::query(api::rpc::QueryOptions o, api::rpc::Query q, api::rpc::QueryCallback done) {
  impl_->query(std::move(o), std::move(q), std::move(done));
}
void Server::write(api::rpc::WriteOptions o, api::rpc::Write w, api::rpc::WriteCallback done) {
  impl_->write(std::move(o), std::move(w), std::move(done));
}

void Server::set_hooks(ServerHooks hooks) {
  std::function<void(bool)> on_leader = hooks.on_leader;
  bool leading;
  {
    std::lock_guard lock(impl_->mu);
    impl_->hooks = std::move(hooks);
    leading = impl_->leading;
  }
  // Leadership may have come before the hooks (a one-server cluster leads
  // during start()): tell them now.
  if (leading && on_leader) on_leader(true);
}

void Server::propose_command(std::string command, std::function<void(Status)> done) {
  impl_->propose(
      std::move(command),
      [done](Result<std::pair<uint64_t, fsm::Response>> r) { done(r.ok() ? Status{} : Status(r.error())); },
      [done](raft::NodeId) { done(Error(errc::unavailable, "not the leader")); });
}

void Server::change_membership(raft::ConfChange change, std::function<void(Status)> done) {
  impl_->driver->propose_conf_change(change, [done](raft::Completion c) {
    done(c.status.ok() ? Status{} : Status(rpc_error_of(c.status.error())));
  });
}

raft::ConfState Server::conf_state() const { return impl_->driver->status().conf_state; }

std::vector<gossip::MemberInfo> Server::members() const {
  std::lock_guard lock(impl_->mu);
  std::vector<gossip::MemberInfo> out;
  for (auto& [name, m] : impl_->members) out.push_back(m);
  return out;
}

bool Server::is_leader() const { return impl_->is_leader(); }
raft::DriverStatus Server::raft_status() const { return impl_->driver->status(); }

ServerCounters Server::counters() const {
  std::lock_guard lock(impl_->mu);
  ServerCounters c = impl_->stats;
  c.snapshots_taken = *impl_->snapshots_taken;
  return c;
}

void Server::tick() { impl_->driver->tick(); }
void Server::stop() { impl_->stop(); }

// ---- gossip ----

void Server::set_members(std::vector<gossip::MemberInfo> list) {
  std::vector<std::pair<raft::NodeId, std::string>> changed;
  {
    std::lock_guard lock(impl_->mu);
    impl_->members.clear();
    for (auto& m : list) {
      std::string name = m.name;
      impl_->members[name] = std::move(m);
    }
    changed = impl_->rebuild_servers();
  }
  impl_->tell_peers(changed);
  impl_->maybe_bootstrap();
}

void Server::on_member_event(const gossip::MemberEvent& e) {
  std::vector<std::pair<raft::NodeId, std::string>> changed;
  {
    std::lock_guard lock(impl_->mu);
    if (e.kind == gossip::MemberEvent::Kind::reap) {
      impl_->members.erase(e.member.name);
    } else {
      gossip::MemberInfo m = e.member;
      if (e.kind == gossip::MemberEvent::Kind::failed) m.state = gossip::MemberState::dead;
      if (e.kind == gossip::MemberEvent::Kind::leave) m.state = gossip::MemberState::left;
      impl_->members[m.name] = std::move(m);
    }
    changed = impl_->rebuild_servers();
  }
  impl_->tell_peers(changed);
  impl_->maybe_bootstrap();
}

std::vector<std::pair<raft::NodeId, std::string>> Server::Impl::rebuild_servers() {
  servers.clear();
  for (auto& [name, m] : members) {
    auto info = api::parse_server(m.name, m.addr, m.tags);
    if (!info || info->datacenter != options.datacenter || info->raft_id == raft::kNoNode) continue;
    servers[info->raft_id] = ServerEntry{*info, m.state};
  }
  std::vector<std::pair<raft::NodeId, std::string>> changed;
  for (auto& [id, s] : servers) {
    if (id == self) continue;
    auto& told = told_addresses[id];
    if (told == s.info.rpc_addr) continue;
    told = s.info.rpc_addr;
    changed.emplace_back(id, s.info.rpc_addr);
  }
  return changed;
}

void Server::Impl::tell_peers(const std::vector<std::pair<raft::NodeId, std::string>>& changed) {
  if (!deps.set_peer_address) return;
  for (auto& [id, addr] : changed) deps.set_peer_address(id, addr);
}

std::shared_ptr<state::Store> Server::Impl::store_ref() const {
  std::lock_guard lock(mu);
  return store;
}

bool Server::Impl::is_stopped() const {
  std::lock_guard lock(mu);
  return stopped;
}

Status Server::Impl::usable() const {
  std::lock_guard lock(mu);
  if (stopped) return Error(errc::cancelled, "server stopped");
  if (stats.failed) return Error(errc::unavailable, "server failed: it stopped applying the Raft log (see its log)");
  return {};
}

bool Server::Impl::is_leader() const { return driver->status().state == raft::StateType::leader; }

std::string Server::Impl::address_of(raft::NodeId id) const {
  if (id == self) return options.rpc_address;
  std::lock_guard lock(mu);
  auto it = servers.find(id);
  return it == servers.end() ? std::string() : it->second.info.rpc_addr;
}

std::string Server::Impl::node_id_of(raft::NodeId id) const {
  if (id == self) return options.node_id;
  std::lock_guard lock(mu);
  auto it = servers.find(id);
  return it == servers.end() ? std::string() : it->second.info.id;
}

std::string Server::Impl::node_name_of(raft::NodeId id) const {
  if (id == self) return options.node_name;
  std::lock_guard lock(mu);
  auto it = servers.find(id);
  return it == servers.end() ? std::string() : it->second.info.name;
}

void Server::Impl::leader_changed(bool lead) {
  std::function<void(bool)> hook;
  {
    std::lock_guard lock(mu);
    if (lead == leading) return;
    leading = lead;
    hook = hooks.on_leader;
  }
  log::info("server", "{} {} leadership", options.node_name, lead ? "acquired" : "lost");
  if (lead) ca_establish();
  if (hook) hook(lead);
}

// ---- bootstrap_expect (Consul's maybeBootstrap, agent/consul/server_serf.go) ----

void Server::Impl::maybe_bootstrap() {
  if (options.bootstrap_expect <= 0) return;
  std::vector<raft::NodeId> voters{self};
  std::vector<std::string> others;
  {
    std::lock_guard lock(mu);
    if (bootstrap_settled || bootstrap_running || stopped) return;
    raft::DriverStatus st = driver->status();
    if (st.term > 0 || !st.conf_state.voters.empty()) {
      bootstrap_settled = true;  // restarted with state, or a leader added us
      return;
    }
    for (auto& [id, s] : servers) {
      // Suspect is still alive to serf (Consul counts StatusAlive members).
      bool alive = s.state == gossip::MemberState::alive || s.state == gossip::MemberState::suspect;
      if (id == self || !alive) continue;
      if (s.info.bootstrap) {
        log::error("server", "server {} is in bootstrap mode; not bootstrapping with bootstrap_expect", s.info.name);
        return;
      }
      if (s.info.expect != options.bootstrap_expect) {
        log::error("server", "server {} expects {} servers, this one {}: all servers should expect the same number",
                   s.info.name, s.info.expect, options.bootstrap_expect);
        return;
      }
      voters.push_back(id);
      others.push_back(s.info.rpc_addr);
    }
    if (voters.size() < static_cast<size_t>(options.bootstrap_expect)) return;
    bootstrap_running = true;
  }
  std::sort(voters.begin(), voters.end());
  if (others.empty()) return bootstrap_with(std::move(voters));

  // Ask every other server whether it already belongs to a cluster: if one
  // does, this server must wait to be added rather than start another one.
  struct Poll {
    std::mutex mu;
    size_t remaining;
    std::string with_peers;
    bool error = false;
  };
  auto poll = std::make_shared<Poll>();
  poll->remaining = others.size();
  auto self_ptr = shared_from_this();
  auto answered = [self_ptr, poll, voters](const std::string& addr, Result<api::rpc::QueryResponse> r) {
    bool last;
    {
      std::lock_guard lock(poll->mu);
      if (!r.ok()) {
        log::warn("server", "bootstrap: asking {} for its peers failed: {}", addr, r.error().message());
        poll->error = true;
      } else if (!api::rpc::value_of<api::rpc::StatusPeers>(*r).empty()) {
        poll->with_peers = addr;
      }
      last = --poll->remaining == 0;
    }
    if (!last) return;
    if (!poll->with_peers.empty()) {
      log::info("server", "bootstrap: {} already has Raft peers; waiting to be added", poll->with_peers);
      std::lock_guard lock(self_ptr->mu);
      self_ptr->bootstrap_settled = true;
      self_ptr->bootstrap_running = false;
      return;
    }
    if (poll->error) {  // try again at the next gossip change
      std::lock_guard lock(self_ptr->mu);
      self_ptr->bootstrap_running = false;
      return;
    }
    self_ptr->bootstrap_with(voters);
  };
  for (const std::string& addr : others) {
    std::shared_ptr<Handler> h = deps.connect ? deps.connect(addr) : nullptr;
    if (!h) {
      answered(addr, Error(errc::unavailable, "no connection"));
      continue;
    }
    api::rpc::QueryOptions qo;
    qo.consistency = api::rpc::Consistency::stale;
    h->query(qo, api::rpc::StatusPeers{}, [answered, addr](Result<api::rpc::QueryResponse> r) { answered(addr, r); });
  }
}

void Server::Impl::bootstrap_with(std::vector<raft::NodeId> voters) {
  size_t n = voters.size();
  driver->bootstrap(raft::ConfState{std::move(voters), {}}, [self_ptr = shared_from_this(), n](Status st) {
    std::lock_guard lock(self_ptr->mu);
    self_ptr->bootstrap_running = false;
    self_ptr->bootstrap_settled = true;
    if (st.ok()) {
      ++self_ptr->stats.bootstraps;
      log::info("server", "bootstrapped a cluster of {} servers", n);
    } else {
      log::info("server", "bootstrap skipped: {}", st.error().message());
    }
  });
}

void Server::Impl::stop() {
  std::shared_ptr<state::Store> closing;
  {
    std::lock_guard lock(mu);
    if (stopped) return;
    stopped = true;
    closing = std::move(store);
  }
  driver->stop();
  fail_parked(Error(errc::cancelled, "server stopped"));
  log::info("server", "{} stopped", options.node_name);
}

}  // namespace cairn::server
