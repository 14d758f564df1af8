// Internal to server/: Server's state, shared by server.cc (start, gossip,
// bootstrap, lifecycle), application.cc (the raft::Application), writes.cc
// and queries.cc. Includes Asio: never include it from a public header.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "api/server_tags.h"
#include "core/io/pch.h"
#include "core/rng.h"
#include "raft/io/rocks_storage.h"
#include "server/ca/ca.h"
#include "server/fsm/fsm.h"
#include "server/server.h"

namespace cairn::server {

namespace asio = boost::asio;

// std::visit over lambdas.
template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

// A blocking (or one-shot) local read in progress. Guarded by Impl::watch_mu.
struct Waiter {
  api::rpc::QueryOptions options;
  api::rpc::Query query;
  api::rpc::QueryCallback done;
  std::shared_ptr<TimerHandle> timer;
  state::WatchRegistry::WaiterId id = 0;  // registry entry while parked
  bool parked = false;
  bool armed = false;     // the max_wait timer was started
  bool expired = false;   // max_wait passed: answer with what is there
  bool finished = false;  // answered
};

// One batch of woken waiters (queries.cc): identical queries share one read.
struct ReadCache;

// What the RaftDriver refers to by raw pointer: the log storage and the
// Application. The driver's own callbacks hold this, so it lives exactly as
// long as the driver does (its strand and fsync thread may outlive the
// Server by a moment after stop()); the Application forwards to the Server
// while there is one.
struct RaftSide final : raft::Application {
  std::unique_ptr<raft::RocksLogStorage> log;
  std::weak_ptr<Server::Impl> server;

  void apply(const raft::Entry& entry) override;
  std::string snapshot() override;
  bool snapshot_async(raft::Index applied, std::function<void(Result<std::string>)> done) override;
  Status restore(const raft::Snapshot& snapshot) override;
};

struct ServerEntry {
  api::ServerInfo info;
  gossip::MemberState state = gossip::MemberState::alive;
};

struct Server::Impl : std::enable_shared_from_this<Server::Impl> {
  Impl(asio::io_context& io_, ServerOptions o, ServerDeps d);
  ~Impl();

  asio::io_context& io;
  asio::strand<asio::io_context::executor_type> strand;  // reads and wake-ups
  ServerOptions options;
  ServerDeps deps;
  raft::NodeId self = raft::kNoNode;
  Clock* clock = nullptr;
  Scheduler* scheduler = nullptr;
  std::unique_ptr<Scheduler> own_scheduler;
  std::shared_ptr<RaftSide> raft_side;
  std::shared_ptr<raft::RaftDriver> driver;
  // Packs snapshots off the driver's strand (ServerOptions::snapshot_on_thread).
  std::optional<asio::thread_pool> snapshot_pool;
  std::shared_ptr<std::atomic<uint64_t>> snapshots_taken = std::make_shared<std::atomic<uint64_t>>(0);

  // Guards everything below up to watch_mu.
  mutable std::mutex mu;
  std::shared_ptr<state::Store> store;  // null once stopped (or while a snapshot is restored)
  std::unique_ptr<Rng> rng;             // session IDs
  std::map<std::string, gossip::MemberInfo> members;  // by name
  std::map<raft::NodeId, ServerEntry> servers;        // this datacenter's servers, by Raft id
  std::map<raft::NodeId, std::string> told_addresses; // what set_peer_address was told
  ServerHooks hooks;
  ServerCounters stats;
  bool stopped = false;
  bool leading = false;
  bool bootstrap_settled = false;  // bootstrapped, added, or found peers: expect-bootstrap is over
  bool bootstrap_running = false;  // asking the others for their peers
  uint64_t snapshot_seq = 0;

  // Driver strand only: the FSM's outcome of the entry applied last, which
  // the driver's completion for that index (run right after apply) takes.
  std::optional<std::pair<uint64_t, fsm::Applied>> last_applied;

  // Connect CA signing limits (connect_ca.cc), configured from the stored CA configuration.
  ca::SignLimiter ca_limiter;
  // The active root's key and certificate kept parsed between leaves (connect_ca.cc).
  ca::IssuerCache ca_issuer;

  std::mutex watch_mu;
  state::WatchRegistry registry;
  std::set<std::shared_ptr<Waiter>> parked;
  // Waiters a write woke, waiting for the one strand job that re-runs them
  // all (run_woken): a write that wakes 10,000 queries on one key posts one
  // job and reads the key once, not 10,000 times.
  std::mutex woken_mu;
  std::vector<std::shared_ptr<Waiter>> woken;

  // --- the raft::Application, through RaftSide (application.cc) ---
  void apply(const raft::Entry& entry);
  std::string snapshot();
  bool snapshot_async(raft::Index applied, std::function<void(Result<std::string>)> done);
  Status restore(const raft::Snapshot& snapshot);
  // Replaces the store by the state in `archive` (server/snapshot_archive.h);
  // with rebase_to > 0 the new store continues at that applied index (a
  // restore entry), durably. Wakes every parked query.
  Status swap_in(std::string_view archive, uint64_t rebase_to);
  // GET /v1/snapshot: the whole state as an archive, and the index it holds.
  Result<std::pair<std::string, uint64_t>> save_archive();
  // PUT /v1/snapshot on the leader: the archive unpacks into an openable
  // store (invalid_argument naming what is wrong otherwise).
  Status verify_archive(std::string_view archive);
  // A fresh, empty path data_dir/<what>-tmp-<n> (not created).
  std::string temp_dir(std::string_view what);
  // A checkpoint of the store in a fresh temporary directory, and its index.
  Result<std::pair<std::string, uint64_t>> checkpoint_to_temp();
  std::optional<fsm::Applied> take_applied(uint64_t index);
  void fail_server(const std::string& what, const Error& e);
  void wake(const state::TouchSet& touched);
  void wake_all();

  // --- lifecycle, gossip, bootstrap (server.cc) ---
  std::shared_ptr<state::Store> store_ref() const;
  bool is_stopped() const;
  // cancelled once stopped, unavailable once failed; ok otherwise.
  Status usable() const;
  bool is_leader() const;
  std::string address_of(raft::NodeId id) const;   // "" when unknown
  std::string node_id_of(raft::NodeId id) const;   // "" when unknown
  std::string node_name_of(raft::NodeId id) const;
  // Rebuilds `servers` from `members` (mu held); returns the peer addresses to tell.
  std::vector<std::pair<raft::NodeId, std::string>> rebuild_servers();
  void tell_peers(const std::vector<std::pair<raft::NodeId, std::string>>& changed);
  void maybe_bootstrap();
  void bootstrap_with(std::vector<raft::NodeId> voters);
  void leader_changed(bool lead);
  void stop();

  // --- writes (writes.cc) ---
  // `hold`: until when a request that finds no leader is retried (set at the
  // first such failure; see ServerOptions::rpc_hold_timeout).
  using Hold = std::optional<Instant>;
  void write(api::rpc::WriteOptions o, api::rpc::Write w, api::rpc::WriteCallback done, Hold hold = {});
  void forward_write(raft::NodeId hint, api::rpc::WriteOptions o, api::rpc::Write w, api::rpc::WriteCallback done,
                     Hold hold);
  // While no leader is known: schedules `again` after a random stagger of up
  // to rpc_hold_timeout/16 and returns true, until the hold is over (false:
  // answer "No cluster leader"). Consul's RPC hold (agent/consul/rpc.go).
  bool retry_for_leader(Hold& hold, std::function<void(Hold)> again);
  // The Handler of the leader (hint, else the driver's), or unavailable "No cluster leader".
  Result<std::shared_ptr<api::rpc::Handler>> leader_handler(raft::NodeId hint) const;
  // Proposes `command`; `done` gets the FSM's outcome at its index, or the
  // Raft error (a not_leader Completion is handed to `not_leader`).
  void propose(std::string command, std::function<void(Result<std::pair<uint64_t, fsm::Response>>)> done,
               std::function<void(raft::NodeId leader)> not_leader);
  std::string new_session_id(const state::Store& s);
  // Calls hooks.on_kv_tombstone (a KV delete at `index` left tombstones).
  void tombstone_hint(uint64_t index);

  // --- Connect CA on the leader (connect_ca.cc) ---
  // Creates the CA when the state has none (on gaining leadership; retried
  // while leading until it exists).
  void ca_establish();
  void ca_sign(const api::rpc::ConnectCASign& s, api::rpc::WriteCallback done);
  // The CA write for a configuration change, or the error to answer.
  Result<std::string> ca_config_command(const api::rpc::ConnectCAConfigSet& s);

  // --- queries (queries.cc) ---
  void query(api::rpc::QueryOptions o, api::rpc::Query q, api::rpc::QueryCallback done, Hold hold = {});
  Result<api::rpc::QueryResponse> status_query(const api::rpc::Query& q) const;
  void start_read(api::rpc::QueryOptions o, api::rpc::Query q, api::rpc::QueryCallback done);
  // `cache`: a batch's shared reads (run_woken), or none.
  void run(const std::shared_ptr<Waiter>& w, ReadCache* cache = nullptr);
  void on_woken(std::shared_ptr<Waiter> w);
  void run_woken();
  void expire(const std::shared_ptr<Waiter>& w);
  api::rpc::QueryMeta meta_for(const api::rpc::QueryOptions& o) const;
  void fail_parked(const Error& why);
};

// The cairn::errc answer for a Raft error (api/rpc.h's error table).
Error rpc_error_of(const Error& raft_error);

// Consul's structs.ErrNoLeader (HTTP 500 "No cluster leader"), and whether an
// error is it: what a server answers a forwarded request it cannot serve.
inline constexpr std::string_view kNoLeader = "No cluster leader";
bool is_no_leader(const Error& e);

}  // namespace cairn::server
