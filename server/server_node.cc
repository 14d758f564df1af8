#include "server/server_node.h"
#include "server/snapshot_archive.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <atomic>
#include <map>
#include <mutex>

#include "api/io/rpc_client.h"
#include "api/rpc_codec.h"
#include "api/server_tags.h"
#include "core/io/asio_scheduler.h"
#include "core/io/stream.h"
#include "core/io/tls.h"
#include "core/io/system_clock.h"
#include "core/log.h"
#include "raft/io/transport.h"
#include "server/rpc/listener.h"

namespace cairn::server {

namespace asio = boost::asio;

namespace {

// The Raft transport of a server whose peers come and go (learned by
// gossip; a restarted peer may come back on another port). One TcpTransport
// per peer address, replaced when the address changes, plus one that only
// serves the inbound connections the port-8300 listener hands over.
class PeerTransports final : public raft::Transport {
 public:
  PeerTransports(asio::io_context& io, raft::TcpTransportOptions base) : io_(io), base_(std::move(base)) {}

  Status start(raft::TransportHandlers handlers) {
    std::lock_guard<std::mutex> l(mu_);
    handlers_ = std::move(handlers);
    CAIRN_TRY(inbound_, raft::TcpTransport::create(io_, base_));
    inbound_->start(handlers_);
    // Peers learned before the handlers existed.
    for (auto& [id, peer] : peers_) {
      if (!peer.transport) peer.transport = connect(id, peer.address);
    }
    return {};
  }

  void adopt_inbound(std::shared_ptr<io::Stream> stream) {
    std::shared_ptr<raft::TcpTransport> t;
    {
      std::lock_guard<std::mutex> l(mu_);
      t = inbound_;
    }
    if (t) {
      t->adopt_inbound(std::move(stream));
    } else {
      boost::system::error_code ec;
      stream->close(ec);
    }
  }

  void set_peer(raft::NodeId id, const std::string& address) {
    if (id == base_.id) return;
    std::shared_ptr<raft::TcpTransport> old;
    {
      std::lock_guard<std::mutex> l(mu_);
      if (stopped_) return;
      auto it = peers_.find(id);
      if (it != peers_.end() && it->second.address == address) return;
      if (it != peers_.end()) old = std::move(it->second.transport);
      peers_[id] = Peer{address, inbound_ ? connect(id, address) : nullptr};
    }
    if (old) old->stop();
  }

  // An outbound transport to one peer; null when the address is bad. mu_ held.
  std::shared_ptr<raft::TcpTransport> connect(raft::NodeId id, const std::string& address) {
    raft::TcpTransportOptions o = base_;
    o.peers = {{id, address}};
    auto t = raft::TcpTransport::create(io_, o);
    if (!t.ok()) {
      log::warn("server", "raft peer {:016x} at {}: {}", id, address, t.error().message());
      return nullptr;
    }
    (*t)->start(handlers_);
    log::info("server", "raft peer {:016x} at {}", id, address);
    return std::move(t).value();
  }

  void send(std::vector<raft::Message> messages) override {
    std::map<raft::NodeId, std::vector<raft::Message>> by_peer;
    for (auto& m : messages) by_peer[m.to].push_back(std::move(m));
    for (auto& [to, batch] : by_peer) {
      std::shared_ptr<raft::TcpTransport> t;
      {
        std::lock_guard<std::mutex> l(mu_);
        auto it = peers_.find(to);
        if (it != peers_.end()) t = it->second.transport;
      }
      if (t) {
        t->send(std::move(batch));
      } else if (handlers_.on_unreachable) {
        handlers_.on_unreachable(to);  // no address yet: the leader probes again later
      }
    }
  }

  void stop() {
    std::map<raft::NodeId, Peer> peers;
    std::shared_ptr<raft::TcpTransport> inbound;
    {
      std::lock_guard<std::mutex> l(mu_);
      stopped_ = true;
      peers.swap(peers_);
      inbound = std::move(inbound_);
    }
    for (auto& [id, p] : peers)
      if (p.transport) p.transport->stop();
    if (inbound) inbound->stop();
  }

 private:
  struct Peer {
    std::string address;
    std::shared_ptr<raft::TcpTransport> transport;
  };
  asio::io_context& io_;
  raft::TcpTransportOptions base_;
  std::mutex mu_;
  raft::TransportHandlers handlers_;
  std::shared_ptr<raft::TcpTransport> inbound_;
  std::map<raft::NodeId, Peer> peers_;
  bool stopped_ = false;
};

}  // namespace

struct ServerNode::Impl {
  asio::io_context& io;
  ServerNodeOptions options;
  std::string rpc_address;
  std::unique_ptr<rpc::RpcListener> listener;
  std::unique_ptr<PeerTransports> transport;
  std::shared_ptr<Server> server;
  std::mutex failed_mu;
  std::function<void()> on_failed;

  // Leader duties live on their own strand (leader.h's threading rule).
  asio::strand<asio::io_context::executor_type> leader_strand;
  std::unique_ptr<AsioScheduler> leader_scheduler;
  std::unique_ptr<LeaderDuties> leader;

  std::unique_ptr<asio::steady_timer> members_timer;
  std::function<std::vector<gossip::MemberInfo>()> member_source;
  Duration member_interval{0};
  std::atomic<bool> stopped{false};
  void refresh_members() {
    if (stopped) return;
    server->set_members(member_source());
    members_timer->expires_after(member_interval);
    members_timer->async_wait([this](boost::system::error_code ec) {
      if (!ec) refresh_members();
    });
  }

  std::mutex clients_mu;
  std::map<std::string, std::shared_ptr<api::RpcClient>> clients;  // by RPC address

  Impl(asio::io_context& io_, ServerNodeOptions o) : io(io_), options(std::move(o)), leader_strand(io_.get_executor()) {}

  std::shared_ptr<api::rpc::Handler> connect(const std::string& address) {
    std::lock_guard<std::mutex> l(clients_mu);
    auto& c = clients[address];
    if (!c) {
      api::RpcClientOptions co;
      co.tls = options.tls;
      co.source_ip = options.bind_ip;
      c = api::RpcClient::to(io, address, co);
    }
    return c;
  }

  // Runs fn on the leader strand while the duties exist.
  void on_leader_strand(std::function<void(LeaderDuties&)> fn) {
    asio::post(leader_strand, [this, fn = std::move(fn)] {
      if (leader) fn(*leader);
    });
  }
};

ServerNode::ServerNode(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ServerNode::~ServerNode() = default;

Result<std::unique_ptr<ServerNode>> ServerNode::start(asio::io_context& io, ServerNodeOptions options) {
  auto impl = std::make_unique<Impl>(io, std::move(options));
  Impl* p = impl.get();
  ServerNodeOptions& o = p->options;

  rpc::RpcListenerOptions lo;
  lo.tls = o.tls;
  lo.listen = (o.bind_ip.find(':') != std::string::npos ? "[" + o.bind_ip + "]" : o.bind_ip) + ":" +
              std::to_string(o.port);
  CAIRN_TRY(p->listener, rpc::RpcListener::create(io, lo));
  uint16_t port = p->listener->port();
  p->rpc_address = o.advertise_ip + ":" + std::to_string(port);
  o.server.rpc_address = p->rpc_address;

  raft::TcpTransportOptions to;
  to.id = api::raft_id_of(o.server.node_id);
  if (to.id == raft::kNoNode) return Error(errc::invalid_argument, "node_id: not a UUID: " + o.server.node_id);
  to.listen_enabled = false;
  to.protocol_byte = api::rpc::kProtocolRaft;  // Consul's pool.RPCRaft
  to.tls = o.tls;
  to.source_ip = o.bind_ip;
  to.snapshot_dir = raft_snapshot_dir(o.server.data_dir);  // received snapshots stream to files there
  p->transport = std::make_unique<PeerTransports>(io, to);

  ServerDeps deps;
  deps.transport = p->transport.get();
  deps.set_peer_address = [t = p->transport.get()](raft::NodeId id, std::string address) { t->set_peer(id, address); };
  deps.connect = [p](const std::string& address) { return p->connect(address); };
  // Autopilot promotes a learner within max_trailing_logs of the leader's
  // log (Consul's MaxTrailingLogs); the core's own check must not refuse it
  // for lagging less than that (its default, 0, would refuse a learner
  // that is a few entries behind under a steady write load).
  if (o.server.raft.raft.learner_promotion_lag == 0) o.server.raft.raft.learner_promotion_lag = o.leader.max_trailing_logs;
  CAIRN_TRY(p->server, Server::start(io, o.server, std::move(deps)));
  CAIRN_RETURN_IF_ERROR(p->transport->start(p->server->transport_handlers()));

  // Leader duties.
  LeaderOptions lopt = o.leader;
  lopt.datacenter = o.server.datacenter;
  lopt.node_name = o.server.node_name;
  lopt.raft_id = to.id;
  if (auto st = lopt.validate(); !st.ok()) return st.error();
  p->leader_scheduler = std::make_unique<AsioScheduler>(p->leader_strand);
  LeaderDeps ld;
  Server* s = p->server.get();
  ld.rpc = s;
  ld.propose = [s](std::string command, std::function<void(Status)> done) {
    s->propose_command(std::move(command), std::move(done));
  };
  ld.conf_state = [s] { return s->conf_state(); };
  ld.change_membership = [s](raft::ConfChange cc, std::function<void(Status)> done) {
    s->change_membership(cc, std::move(done));
  };
  ld.members = [s] { return s->members(); };
  ld.last_index = [s] { return s->raft_status().last_index; };
  ld.raft_view = [s] { return raft_view_of(s->raft_status()); };
  ld.scheduler = p->leader_scheduler.get();
  ld.clock = &SystemClock::instance();
  p->leader = std::make_unique<LeaderDuties>(std::move(lopt), std::move(ld));

  ServerHooks hooks;
  hooks.on_leader = [p](bool leading) {
    p->on_leader_strand([leading](LeaderDuties& l) { leading ? l.start() : l.stop(); });
  };
  hooks.on_session_ttl = [p](const std::string& id, Duration ttl) {
    p->on_leader_strand([id, ttl](LeaderDuties& l) { l.session_ttl_reset(id, ttl); });
  };
  hooks.on_session_destroyed = [p](const std::string& id) {
    p->on_leader_strand([id](LeaderDuties& l) { l.session_destroyed(id); });
  };
  hooks.on_kv_tombstone = [p](uint64_t index) {
    p->on_leader_strand([index](LeaderDuties& l) { l.kv_tombstone_hint(index); });
  };
  hooks.on_state_restored = [p] {
    // Session timers of the old state are wrong now: start over from the
    // restored sessions, as on a new leadership.
    p->on_leader_strand([](LeaderDuties& l) {
      if (!l.leading()) return;
      l.stop();
      l.start();
    });
  };
  hooks.on_failed = [p] {
    std::function<void()> fn;
    {
      std::lock_guard lock(p->failed_mu);
      fn = p->on_failed;
    }
    if (fn) fn();
  };
  p->server->set_hooks(std::move(hooks));

  p->listener->start(*p->server,
                     [t = p->transport.get()](std::shared_ptr<io::Stream> s) { t->adopt_inbound(std::move(s)); });
  if (o.tls && o.tls->require_tls() && !o.tls->dial_tls())
    log::warn("server", "tls: verify_incoming without verify_outgoing: this server dials the others in plaintext, "
                        "which servers with verify_incoming refuse");
  log::info("server", "RPC and Raft on {} (raft id {:016x}; TLS {})", p->rpc_address, to.id,
            !o.tls                   ? "off"
            : o.tls->require_tls()   ? "required"
            : o.tls->can_serve_tls() ? "accepted, plaintext too"
                                     : "outgoing only");
  return std::unique_ptr<ServerNode>(new ServerNode(std::move(impl)));
}

uint16_t ServerNode::port() const { return impl_->listener->port(); }
const std::string& ServerNode::rpc_address() const { return impl_->rpc_address; }
std::shared_ptr<api::rpc::Handler> ServerNode::handler() const { return impl_->server; }
const std::shared_ptr<Server>& ServerNode::server() const { return impl_->server; }

void ServerNode::on_member_event(const gossip::MemberEvent& e) {
  impl_->server->on_member_event(e);
  impl_->on_leader_strand([e](LeaderDuties& l) { l.on_member_event(e); });
}

void ServerNode::set_members(std::vector<gossip::MemberInfo> members) {
  impl_->server->set_members(std::move(members));
}

void ServerNode::follow_members(std::function<std::vector<gossip::MemberInfo>()> members, Duration every) {
  impl_->member_source = std::move(members);
  impl_->member_interval = every;
  impl_->members_timer = std::make_unique<asio::steady_timer>(impl_->io);
  impl_->refresh_members();
}

void ServerNode::set_on_failed(std::function<void()> fn) {
  std::lock_guard lock(impl_->failed_mu);
  impl_->on_failed = std::move(fn);
}

void ServerNode::stop() {
  impl_->stopped = true;
  if (impl_->members_timer) impl_->members_timer->cancel();
  impl_->listener->stop();
  impl_->on_leader_strand([](LeaderDuties& l) { l.stop(); });
  impl_->server->stop();
  impl_->transport->stop();
  std::lock_guard<std::mutex> l(impl_->clients_mu);
  for (auto& [addr, c] : impl_->clients) c->close();
}

}  // namespace cairn::server
