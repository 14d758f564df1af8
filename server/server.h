// server::Server: the replicated state machine behind Raft, answering the
// agent<->server contract (api/rpc.h).
//
// What it owns (all under ServerOptions::data_dir):
//   state/  the state store (server/state/store.h), applied by the FSM;
//   raft/   the Raft log and hard state (raft/io/rocks_storage.h);
//   a RaftDriver (raft/io/driver.h) running the Raft node, with this
//   server as its Application; the blocking-query waiters
//   (state::WatchRegistry) and their timers; the gossip view of the servers.
//
// Writes are proposed on the leader and answered once applied here with the
// FSM's response at that index; a follower forwards them to the leader over
// ServerDeps::connect. Queries follow QueryOptions::consistency (api/rpc.h);
// blocking queries park on exactly the watch keys they read
// (state::watch_for) and cost a registry entry and one timer each, no thread.
//
// Bootstrap (server/README.md "Bootstrap"): storage with Raft state just
// starts; `bootstrap` makes a one-voter cluster and campaigns at once;
// `bootstrap_expect` waits for that many alive servers with the same expect
// in the gossip view, asks each for its peers (StatusPeers) and bootstraps
// all of them as voters only if none has any; otherwise, and without either
// option, the server waits to be added by a leader.
//
// Threading: every public method may be called from any thread. Callbacks
// run on the driver's strand, the server's strand or the scheduler's
// thread and must not block. Hooks (ServerHooks) run on the driver's strand.
//
// Lifetime: stop() stops the driver, fails pending requests and parked
// queries with errc::cancelled and closes the state store. The Raft log
// storage is closed when the Server is destroyed: destroy it only after the
// io_context has run what stop() posted (or has stopped), since the driver
// refers to the storage and to the Server as its Application.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "api/rpc.h"
#include "core/clock.h"
#include "core/result.h"
#include "core/scheduler.h"
#include "gossip/membership.h"
#include "raft/io/driver.h"
#include "raft/io/transport.h"
#include "raft/types.h"
#include "server/state/store.h"

namespace boost::asio {
class io_context;
}

namespace cairn::server {

struct ServerOptions {
  std::string data_dir;  // raft log in data_dir/raft, state in data_dir/state; created if missing
  std::string node_name;
  std::string node_id;     // a UUID; the Raft id is api::raft_id_of(node_id)
  std::string datacenter;  // only servers of this datacenter are peers
  std::string rpc_address; // "ip:port" where others reach this server's RPC (and Raft)
  int bootstrap_expect = 0;  // 0: no expect-bootstrap
  bool bootstrap = false;    // single-server bootstrap (dev mode): lead at once
  // Tick interval, timeouts, snapshot threshold. raft.raft.id,
  // on_leader_change and on_conf_change are set by start().
  raft::DriverOptions raft;
  state::StoreOptions store;
  // Build Raft snapshots off the driver's strand: the checkpoint is taken on
  // the strand, its files are read and packed on a dedicated thread
  // (raft::Application::snapshot_async). Off: all of it on the strand.
  bool snapshot_on_thread = true;
  // A blocking query without a wait waits this long (Consul: 5 min); no
  // query waits longer than max_query_wait (Consul: 10 min; the caller adds
  // the wait/16 jitter before).
  Duration default_query_wait = std::chrono::minutes(5);
  Duration max_query_wait = std::chrono::minutes(10) + std::chrono::minutes(10) / 16;
  // A request that finds no leader (an election is running) is retried after
  // random staggers of up to rpc_hold_timeout/16 until this much time passed,
  // then answered "No cluster leader" (Consul's rpc_hold_timeout, 7s). Zero:
  // answer at once.
  Duration rpc_hold_timeout = std::chrono::seconds(7);
  // The Connect CA (server/README.md "Connect CA"): when enabled, a server
  // that becomes leader and finds no CA state creates one from `ca` (the
  // agent's connect.* settings). Off: the ConnectCA* calls answer
  // invalid_argument "Connect must be enabled in order to use this endpoint".
  bool connect_enabled = false;
  api::CAProviderConfig ca;
};

// What leader duties (server/leader.h) need to hear about. Set with
// Server::set_hooks; each may be empty. They run on the driver's strand and
// must not block.
struct ServerHooks {
  // This server became (true) or stopped being (false) the leader.
  std::function<void(bool leading)> on_leader;
  // A session with a TTL was created (on every server, when applied) or
  // renewed (on the leader that answered the renew): expire it at 2×ttl.
  std::function<void(const std::string& id, Duration ttl)> on_session_ttl;
  // A session was destroyed (applied).
  std::function<void(const std::string& id)> on_session_destroyed;
  // A KV delete left tombstones at `index` (applied).
  std::function<void(uint64_t index)> on_kv_tombstone;
  // PUT /v1/snapshot replaced the whole state (applied, on every server):
  // what the leader tracks of the old state (session timers) starts over.
  std::function<void()> on_state_restored;
  // The server failed (a storage failure or an entry it cannot apply) and
  // stopped applying the Raft log; it answers every request "server failed"
  // from now on. Called once. The process should exit (Consul panics) so
  // that its supervisor restarts it on a clean store.
  std::function<void()> on_failed;
};

struct ServerDeps {
  raft::Transport* transport = nullptr;  // created by the caller; must outlive the Server
  // Tells the transport where a peer's Raft lives (its RPC address).
  std::function<void(raft::NodeId, std::string rpc_address)> set_peer_address;
  // A Handler that sends to the server at rpc_address (api/io RpcClient):
  // forwarding to the leader, and the bootstrap check of the others' peers.
  std::function<std::shared_ptr<api::rpc::Handler>(const std::string& rpc_address)> connect;
  // Null: SystemClock. Wall time is put into commands (lock delays).
  Clock* clock = nullptr;
  // Null: timers on the server's strand. Blocking-query wait timers.
  Scheduler* scheduler = nullptr;
};

// Counters for tests and /status pages.
struct ServerCounters {
  uint64_t commands_applied = 0;  // entries handed to the FSM
  uint64_t entries_skipped = 0;   // entries at or below the store's applied index (restart)
  uint64_t snapshots_taken = 0;   // images packed (on the strand or the snapshot thread)
  uint64_t snapshots_restored = 0;
  uint64_t writes_forwarded = 0;
  uint64_t queries_forwarded = 0;
  uint64_t queries_parked = 0;    // blocking queries that waited at least once
  uint64_t bootstraps = 0;        // times this server bootstrapped a configuration
  bool failed = false;            // the FSM or storage failed; the server stopped applying
};

class Server : public api::rpc::Handler {
 public:
  static Result<std::shared_ptr<Server>> start(boost::asio::io_context& io, ServerOptions options, ServerDeps deps);
  ~Server() override;

  // Give these to the transport.
  raft::TransportHandlers transport_handlers();

  // The gossip view (the agent owns gossip; the composition root calls these).
  void on_member_event(const gossip::MemberEvent& e);
  void set_members(std::vector<gossip::MemberInfo> members);

  // api::rpc::Handler
  void query(api::rpc::QueryOptions options, api::rpc::Query query, api::rpc::QueryCallback done) override;
  void write(api::rpc::WriteOptions options, api::rpc::Write write, api::rpc::WriteCallback done) override;

  // --- for leader duties (server/leader.h) ---
  // Replaces the hooks; if this server leads already, calls on_leader(true)
  // at once (on the caller's thread).
  void set_hooks(ServerHooks hooks);
  // Proposes a raw FSM command (server/fsm/command.h) on this server, which
  // must lead; `done` once applied here (a rejection is invalid_argument).
  void propose_command(std::string command, std::function<void(Status)> done);
  // One membership change through the driver (leader only).
  void change_membership(raft::ConfChange change, std::function<void(Status)> done);
  raft::ConfState conf_state() const;
  std::vector<gossip::MemberInfo> members() const;
  bool is_leader() const;

  // --- introspection and tests ---
  raft::DriverStatus raft_status() const;
  ServerCounters counters() const;
  // One Raft tick now (tests run with raft.tick_interval zero).
  void tick();

  void stop();

  struct Impl;

 private:
  explicit Server(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<Impl> impl_;
};

}  // namespace cairn::server
