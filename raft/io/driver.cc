#include "raft/io/driver.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>

#include "core/io/pch.h"
#include "core/io/random.h"
#include "core/log.h"
#include "raft/errc.h"
#include "raft/io/handoff.h"
#include "raft/io/rocks_storage.h"
#include "raft/node.h"

namespace cairn::raft {

namespace asio = boost::asio;
using Strand = asio::strand<asio::io_context::executor_type>;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

struct RaftDriver::Impl : std::enable_shared_from_this<RaftDriver::Impl> {
  Impl(asio::io_context& io_, DriverOptions o, LogStorage* s, Transport* t, Application* a)
      : io(io_), strand(asio::make_strand(io_)), ticker(strand), wake(strand), options(std::move(o)),
        storage(s), rocks(dynamic_cast<RocksLogStorage*>(s)), transport(t), app(a) {}

  asio::io_context& io;
  Strand strand;
  asio::steady_timer ticker;
  detail::Wakeup<Strand> wake;  // the Ready loop parks on it; notified when work arrives
  DriverOptions options;
  LogStorage* storage;
  RocksLogStorage* rocks;   // the one-fsync persist path; null for other storages
  Transport* transport;
  Application* app;
  std::unique_ptr<Rng> rng = make_system_rng();
  std::unique_ptr<Node> node;
  // The fsync thread (persist_on_thread). One thread: persists are serial anyway.
  std::optional<asio::thread_pool> persist_pool;

  // Strand-only state.
  bool stopped = false;
  bool parked = false;
  uint64_t ticks = 0;
  Index applied = 0;
  std::optional<HardState> lazy_hard_state;  // commit-only change not yet written
  HardState durable;  // term and vote as last written (a leader's early send needs its term durable)
  struct Proposal {
    Term term;
    uint64_t deadline;
    CompletionCallback done;
  };
  std::map<Index, Proposal> proposals;
  struct Read {
    uint64_t deadline;
    CompletionCallback done;
  };
  std::map<std::string, Read> reads_waiting_index;      // by context
  std::multimap<Index, Read> reads_waiting_apply;       // by read index
  struct Transfer {
    NodeId to;
    uint64_t deadline;
    CompletionCallback done;
  };
  std::vector<Transfer> transfers;  // complete when `to` is seen leading
  uint64_t last_leader_contact = 0;
  uint64_t snapshot_started_tick = 0;  // `ticks` when the last snapshot began (0: none yet)  // `ticks` when the leader was last heard from
  SoftState reported_soft;           // what on_leader_change last said
  Term reported_term = 0;
  bool ready_outstanding = false;    // between node->ready() and advance()
  // Application::snapshot_async: one at a time; its image waits here until the
  // Ready loop is between persists (storage compaction must not overlap one).
  bool snapshot_in_flight = false;
  struct Image {
    Index index;
    std::string data;
  };
  std::optional<Image> image_ready;
  // Staging an image into RocksLogStorage runs on the application's thread;
  // stop() takes this lock so that no staging write outlives it.
  std::mutex stage_mu;
  bool closing = false;  // guarded by stage_mu
  uint64_t read_seq = 0;
  std::string read_nonce;  // tells this process's read contexts from a previous one's

  mutable std::mutex mu;
  DriverStatus published;
  std::vector<uint32_t> persist_us;  // guarded by mu: a ring of the last kPersistSamples durations
  size_t persist_next = 0;
  static constexpr size_t kPersistSamples = 1024;

  void bump(uint64_t DriverStatus::*field, uint64_t n = 1) {
    std::lock_guard lock(mu);
    published.*field += n;
  }
  void publish();
  void kick() {
    if (parked && node->has_ready()) wake.notify();
  }
  // Runs `call` on the leader and tracks the entry it appended as a proposal.
  void submit(const std::function<Status(Node&)>& call, CompletionCallback done);
  void track_proposal(Index index, CompletionCallback done);
  void start_transfer(NodeId to, CompletionCallback done);
  void bootstrap(ConfState cs, const std::function<void(Status)>& done);
  void report_leader(const Ready& rd);
  void notify_conf(const ConfState& cs, Index index) {
    if (options.on_conf_change) options.on_conf_change(cs, index);
  }
  void receive(Message m);
  void unreachable(NodeId id);
  void snapshot_status(NodeId id, bool ok);
  asio::awaitable<void> tick_loop();
  asio::awaitable<void> ready_loop();
  asio::awaitable<Status> persist(const std::vector<Entry>& entries, std::optional<HardState> hs);
  Status write(const std::vector<Entry>& entries, const std::optional<HardState>& hs);
  void on_tick();
  void apply_entries(const std::vector<Entry>& entries);
  void serve_reads();
  void maybe_compact();
  void compact(Index index, std::string data);
  void image_done(Index index, Result<std::string> image);
  void fail_all(const Status& why);
  void fail(const Status& why);
};

Result<std::shared_ptr<RaftDriver>> RaftDriver::start(asio::io_context& io, DriverOptions options, LogStorage* storage,
                                                      Transport* transport, Application* app) {
  auto impl = std::make_shared<Impl>(io, std::move(options), storage, transport, app);
  // Restart: the in-memory application comes back from the latest snapshot;
  // the log above it is re-applied as the node hands out committed entries.
  CAIRN_TRY(Snapshot snap, storage->snapshot());
  if (!snap.empty()) CAIRN_RETURN_IF_ERROR(app->restore(snap));
  impl->applied = snap.metadata.index;
  Config cfg = impl->options.raft;
  cfg.applied = impl->applied;
  CAIRN_TRY(impl->node, Node::create(cfg, storage, impl->rng.get()));
  if (impl->options.persist_on_thread && impl->rocks != nullptr) impl->persist_pool.emplace(1);
  impl->read_nonce = std::to_string(impl->rng->next_u64()) + ":";
  impl->published.id = cfg.id;
  impl->publish();
  HardState hs = impl->node->raft().hard_state();
  impl->reported_term = hs.term;
  impl->durable = hs;
  // The configuration the application now holds: the snapshot's.
  asio::post(impl->strand, [impl, conf = snap.metadata.conf_state, index = snap.metadata.index] {
    if (!impl->stopped) impl->notify_conf(conf, index);
  });
  asio::co_spawn(impl->strand, impl->ready_loop(), asio::detached);
  if (impl->options.tick_interval.count() > 0) asio::co_spawn(impl->strand, impl->tick_loop(), asio::detached);
  log::info("raft", "node {} started: applied {}, first {}, last {}, persist {}", cfg.id, impl->applied,
            storage->first_index(), storage->last_index(), impl->persist_pool ? "on a thread" : "on the strand");
  return std::shared_ptr<RaftDriver>(new RaftDriver(impl));
}

RaftDriver::~RaftDriver() { stop(); }

void RaftDriver::stop() {
  {
    std::lock_guard lock(impl_->stage_mu);
    impl_->closing = true;
  }
  asio::defer(impl_->strand, [impl = impl_] {
    if (impl->stopped) return;
    impl->fail_all(Error(cairn::errc::cancelled, "raft driver stopped"));
    impl->stopped = true;
    impl->ticker.cancel();
    impl->wake.notify();
  });
}

DriverStatus RaftDriver::status() const {
  std::lock_guard lock(impl_->mu);
  return impl_->published;
}

std::pair<uint64_t, uint64_t> RaftDriver::persist_latency_us() const {
  std::vector<uint32_t> v;
  {
    std::lock_guard lock(impl_->mu);
    v = impl_->persist_us;
  }
  if (v.empty()) return {0, 0};
  auto at = [&](size_t pct) -> uint64_t {
    auto nth = v.begin() + static_cast<std::ptrdiff_t>(std::min(v.size() - 1, v.size() * pct / 100));
    std::nth_element(v.begin(), nth, v.end());
    return *nth;
  };
  uint64_t p50 = at(50);
  return {p50, at(99)};
}

void RaftDriver::propose(std::string data, CompletionCallback done) {
  asio::defer(impl_->strand, [impl = impl_, data = std::move(data), done = std::move(done)]() mutable {
    if (data.empty() && !impl->stopped) {
      return done({Error(cairn::errc::invalid_argument, "empty proposal"), 0, impl->node->leader()});
    }
    impl->submit([&](Node& n) { return n.propose(std::move(data)); }, std::move(done));
  });
}

void RaftDriver::propose_conf_change(ConfChange cc, CompletionCallback done) {
  asio::defer(impl_->strand, [impl = impl_, cc, done = std::move(done)]() mutable {
    impl->submit([&](Node& n) { return n.propose_conf_change(cc); }, std::move(done));
  });
}

void RaftDriver::transfer_leadership(NodeId to, CompletionCallback done) {
  asio::defer(impl_->strand, [impl = impl_, to, done = std::move(done)]() mutable {
    impl->start_transfer(to, std::move(done));
  });
}

void RaftDriver::campaign() {
  asio::defer(impl_->strand, [impl = impl_] {
    if (impl->stopped) return;
    impl->node->campaign();
    impl->kick();
  });
}

void RaftDriver::bootstrap(ConfState cs, std::function<void(Status)> done) {
  asio::defer(impl_->strand, [impl = impl_, cs = std::move(cs), done = std::move(done)]() mutable {
    impl->bootstrap(std::move(cs), done);
  });
}

void RaftDriver::Impl::submit(const std::function<Status(Node&)>& call, CompletionCallback done) {
  Node& n = *node;
  if (stopped) return done({Error(cairn::errc::cancelled, "raft driver stopped"), 0, kNoNode});
  // Only the leader takes proposals: a forwarded proposal's index is not
  // known here, so the caller could not be told when it is applied.
  if (n.state() != StateType::leader) {
    bump(&DriverStatus::proposals_failed);
    return done({raft_error(errc::not_leader, "not the leader"), 0, n.leader()});
  }
  Status st = call(n);
  if (!st.ok()) {
    bump(&DriverStatus::proposals_failed);
    return done({st, 0, n.leader()});
  }
  // A leader appends a proposal at once (raft/README.md), so it is the last entry.
  track_proposal(n.raft().log().last_index(), std::move(done));
}

void RaftDriver::Impl::track_proposal(Index index, CompletionCallback done) {
  // An earlier proposal at this index lost its entry to a truncation when we
  // were deposed and re-elected (§5.3); it can no longer be applied.
  if (auto old = proposals.find(index); old != proposals.end()) {
    bump(&DriverStatus::proposals_failed);
    auto old_done = std::move(old->second.done);
    proposals.erase(old);
    old_done({raft_error(errc::proposal_dropped, "overwritten by another leader"), 0, node->leader()});
  }
  proposals[index] = {node->term(), ticks + options.request_timeout_ticks, std::move(done)};
  bump(&DriverStatus::proposals);
  kick();
}

void RaftDriver::Impl::start_transfer(NodeId to, CompletionCallback done) {
  Node& n = *node;
  if (stopped) return done({Error(cairn::errc::cancelled, "raft driver stopped"), 0, kNoNode});
  if (n.state() != StateType::leader) return done({raft_error(errc::not_leader, "not the leader"), 0, n.leader()});
  const ProgressTracker& trk = n.raft().tracker();
  if (to == kNoNode) {
    // The voter with the most of the log needs the shortest catch-up before
    // the leader may send it TimeoutNow (thesis §3.10).
    Index best = 0;
    for (NodeId v : trk.config().voters) {
      const Progress* pr = trk.get(v);
      if (v == n.id() || pr == nullptr || (to != kNoNode && pr->match <= best)) continue;
      to = v;
      best = pr->match;
    }
    if (to == kNoNode) {
      return done({raft_error(errc::invalid_argument, "transfer: there is no other voter"), 0, n.leader()});
    }
  }
  if (!trk.config().is_voter(to)) {
    return done({raft_error(errc::invalid_argument, "transfer: node " + std::to_string(to) + " is not a voter"), 0,
                 n.leader()});
  }
  if (to == n.id()) return done({{}, 0, to});
  n.transfer_leadership(to);
  transfers.push_back({to, ticks + options.request_timeout_ticks, std::move(done)});
  kick();
}

void RaftDriver::Impl::bootstrap(ConfState cs, const std::function<void(Status)>& done) {
  if (stopped) return done(Error(cairn::errc::cancelled, "raft driver stopped"));
  // A node that heard from anyone (a term, a vote) or holds a log already
  // belongs to a cluster; bootstrapping it would fork that cluster's history.
  if (!node->raft().hard_state().empty() || storage->last_index() != 0 || storage->first_index() != 1 ||
      node->raft().log().last_index() != 0 || ready_outstanding) {
    return done(Error(cairn::errc::already_exists, "bootstrap: this node already holds raft state"));
  }
  if (cs.voters.empty()) return done(Error(cairn::errc::invalid_argument, "bootstrap: conf_state has no voter"));
  Snapshot snap = bootstrap_snapshot(cs);
  Status st;
  if (rocks != nullptr) {
    st = rocks->bootstrap(cs);
  } else {
    st = storage->apply_snapshot(snap);
    if (st.ok()) st = storage->set_hard_state(HardState{snap.metadata.term, kNoNode, snap.metadata.index});
  }
  if (!st.ok()) return done(st);
  if (st = app->restore(snap); !st.ok()) return done(st);
  Config cfg = options.raft;
  cfg.applied = snap.metadata.index;
  auto created = Node::create(cfg, storage, rng.get());
  if (!created.ok()) return done(created.error());
  node = std::move(created).value();
  applied = snap.metadata.index;
  reported_term = node->term();
  durable = node->raft().hard_state();
  log::info("raft", "node {} bootstrapped with {} voters", cfg.id, cs.voters.size());
  notify_conf(cs, snap.metadata.index);
  publish();
  kick();
  done({});
}

void RaftDriver::read_index(CompletionCallback done) {
  asio::defer(impl_->strand, [impl = impl_, done = std::move(done)]() mutable {
    Node& n = *impl->node;
    if (impl->stopped) return done({Error(cairn::errc::cancelled, "raft driver stopped"), 0, kNoNode});
    std::string ctx = impl->read_nonce + std::to_string(++impl->read_seq);
    Status st = n.read_index(ctx);
    if (!st.ok()) return done({st, 0, n.leader()});
    impl->reads_waiting_index.emplace(ctx, Impl::Read{impl->ticks + impl->options.request_timeout_ticks, std::move(done)});
    impl->kick();
  });
}

void RaftDriver::Impl::receive(Message m) {
  asio::defer(strand, [impl = shared_from_this(), m = std::move(m)]() mutable {
    if (impl->stopped) return;
    NodeId from = m.from;
    bool from_leader = m.type == MessageType::app || m.type == MessageType::heartbeat || m.type == MessageType::snap;
    Status st = impl->node->step(std::move(m));
    if (!st.ok()) log::debug("raft", "step: {}", st.error().message());
    if (from_leader && impl->node->leader() == from) impl->last_leader_contact = impl->ticks;
    impl->kick();
  });
}

void RaftDriver::Impl::unreachable(NodeId id) {
  asio::defer(strand, [impl = shared_from_this(), id] {
    if (impl->stopped) return;
    impl->node->report_unreachable(id);
    impl->kick();
  });
}

void RaftDriver::Impl::snapshot_status(NodeId id, bool ok) {
  asio::defer(strand, [impl = shared_from_this(), id, ok] {
    if (impl->stopped) return;
    impl->node->report_snapshot(id, ok);
    impl->kick();
  });
}

void RaftDriver::receive(Message m) { impl_->receive(std::move(m)); }
void RaftDriver::report_unreachable(NodeId id) { impl_->unreachable(id); }
void RaftDriver::report_snapshot(NodeId id, bool ok) { impl_->snapshot_status(id, ok); }

TransportHandlers RaftDriver::transport_handlers() {
  // Weak: the transport may outlive the driver.
  std::weak_ptr<Impl> weak = impl_;
  return TransportHandlers{
      [weak](Message m) {
        if (auto impl = weak.lock()) impl->receive(std::move(m));
      },
      [weak](NodeId id) {
        if (auto impl = weak.lock()) impl->unreachable(id);
      },
      [weak](NodeId id, bool ok) {
        if (auto impl = weak.lock()) impl->snapshot_status(id, ok);
      },
      // A received snapshot file's fsyncs go where the log's run.
      [weak](std::function<void()> work) {
        auto impl = weak.lock();
        if (impl && impl->persist_pool) {
          asio::post(impl->persist_pool->get_executor(), std::move(work));
        } else {
          work();
        }
      },
  };
}

void RaftDriver::tick() {
  asio::defer(impl_->strand, [impl = impl_] { impl->on_tick(); });
}

// ---- the strand ----

void RaftDriver::Impl::on_tick() {
  if (stopped) return;
  node->tick();
  ++ticks;
  // Requests past their deadline fail; a late answer finds nothing to complete.
  for (auto it = proposals.begin(); it != proposals.end();) {
    if (it->second.deadline > ticks) {
      ++it;
      continue;
    }
    bump(&DriverStatus::proposals_failed);
    auto done = std::move(it->second.done);
    it = proposals.erase(it);
    done({Error(cairn::errc::timeout, "proposal not applied in time"), 0, node->leader()});
  }
  std::erase_if(reads_waiting_index, [&](auto& kv) {
    if (kv.second.deadline > ticks) return false;
    kv.second.done({Error(cairn::errc::timeout, "read index not confirmed in time"), 0, node->leader()});
    return true;
  });
  std::erase_if(reads_waiting_apply, [&](auto& kv) {
    if (kv.second.deadline > ticks) return false;
    kv.second.done({Error(cairn::errc::timeout, "read index not applied in time"), 0, node->leader()});
    return true;
  });
  std::erase_if(transfers, [&](Transfer& t) {
    if (t.deadline > ticks) return false;
    t.done({Error(cairn::errc::timeout, "leadership transfer not done in time"), 0, node->leader()});
    return true;
  });
  kick();
  publish();
}

asio::awaitable<void> RaftDriver::Impl::tick_loop() {
  auto self = shared_from_this();
  while (!stopped) {
    // Re-armed after each tick, never catching up (see the lease note in driver.h).
    ticker.expires_after(options.tick_interval);
    co_await ticker.async_wait(kTuple);
    if (stopped) co_return;
    on_tick();
  }
}

Status RaftDriver::Impl::write(const std::vector<Entry>& entries, const std::optional<HardState>& hs) {
  auto started = std::chrono::steady_clock::now();
  Status st;
  if (rocks != nullptr) {
    st = rocks->persist(entries, hs);
  } else {
    if (!entries.empty()) st = storage->append(entries);
    if (st.ok() && hs) st = storage->set_hard_state(*hs);
  }
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started).count();
  std::lock_guard lock(mu);
  if (persist_us.size() < kPersistSamples) {
    persist_us.push_back(static_cast<uint32_t>(us));
  } else {
    persist_us[persist_next] = static_cast<uint32_t>(us);
  }
  persist_next = (persist_next + 1) % kPersistSamples;
  return st;
}

asio::awaitable<Status> RaftDriver::Impl::persist(const std::vector<Entry>& entries, std::optional<HardState> hs) {
  if (!persist_pool) co_return write(entries, hs);
  // The strand is free while the fsync runs; the coroutine resumes on it.
  co_return co_await asio::co_spawn(
      persist_pool->get_executor(),
      [this, &entries, &hs]() -> asio::awaitable<Status> { co_return write(entries, hs); }, asio::use_awaitable);
}

void RaftDriver::Impl::fail(const Status& why) {
  log::error("raft", "storage failed, stopping the driver: {}", why.error().message());
  fail_all(why);
  stopped = true;
  ticker.cancel();
  {
    std::lock_guard lock(mu);
    published.failed = true;
  }
}

asio::awaitable<void> RaftDriver::Impl::ready_loop() {
  auto self = shared_from_this();
  while (!stopped) {
    if (image_ready) {
      Image image = std::move(*image_ready);
      image_ready.reset();
      compact(image.index, std::move(image.data));
      if (stopped) co_return;
    }
    if (!node->has_ready()) {
      parked = true;
      co_await wake.wait();
      parked = false;
      continue;
    }
    Ready rd = node->ready();
    ready_outstanding = true;
    bump(&DriverStatus::readies);

    // 0. A leader writes its log in parallel with replicating it (thesis
    // §10.2.1): its messages claim nothing about its own disk (the core counts
    // its copy toward commitment only once advance() says it is durable), so
    // they leave before the fsync — as long as their term and the vote are
    // already durable. One fsync instead of two on a commit's critical path.
    if (node->state() == StateType::leader && !rd.snapshot && !rd.messages.empty() &&
        (!rd.hard_state || (rd.hard_state->term == durable.term && rd.hard_state->vote == durable.vote))) {
      transport->send(std::move(rd.messages));
      rd.messages.clear();
      bump(&DriverStatus::sends_before_persist);
    }
    // 1. Persist. A snapshot replaces the log first (§7), then entries and
    // hard state go in one batch with one fsync.
    if (rd.snapshot) {
      Status st = storage->apply_snapshot(*rd.snapshot);
      if (!st.ok()) {
        fail(st);
        co_return;
      }
    }
    std::optional<HardState> hs = rd.hard_state;
    if (hs && !rd.must_sync && rd.entries.empty()) {
      lazy_hard_state = hs;  // commit index only: recoverable, no fsync needed
      hs.reset();
    } else if (!hs && lazy_hard_state && !rd.entries.empty()) {
      hs = lazy_hard_state;
    }
    if (!rd.entries.empty() || hs) {
      Status st = co_await persist(rd.entries, hs);
      if (!st.ok()) {
        fail(st);
        co_return;
      }
      lazy_hard_state.reset();
      if (hs) durable = *hs;
      std::lock_guard lock(mu);
      ++published.fsyncs;
      published.entries_persisted += rd.entries.size();
      published.max_entries_per_fsync = std::max<uint64_t>(published.max_entries_per_fsync, rd.entries.size());
    }
    if (stopped) co_return;

    // 2. Send: only now may messages acknowledge what was persisted.
    if (!rd.messages.empty()) transport->send(std::move(rd.messages));
    // status() must already say what on_leader_change reports: a listener
    // that reacts by proposing checks status().state first.
    publish();
    report_leader(rd);

    // 3. Apply.
    if (rd.snapshot) {
      Index si = rd.snapshot->metadata.index;
      Status st = app->restore(*rd.snapshot);
      if (!st.ok()) {
        fail(st);
        co_return;
      }
      // Proposals at or below the snapshot were decided elsewhere; we cannot tell how.
      for (auto it = proposals.begin(); it != proposals.end() && it->first <= si;) {
        it->second.done({Error(cairn::errc::unavailable, "outcome unknown: replaced by a snapshot"), 0, node->leader()});
        it = proposals.erase(it);
      }
      applied = std::max(applied, si);
      bump(&DriverStatus::snapshots_applied);
      notify_conf(rd.snapshot->metadata.conf_state, si);
    }
    apply_entries(rd.committed_entries);
    for (auto& rs : rd.read_states) {
      auto it = reads_waiting_index.find(rs.context);
      if (it == reads_waiting_index.end()) continue;  // timed out, or another process's
      reads_waiting_apply.emplace(rs.index, std::move(it->second));
      reads_waiting_index.erase(it);
    }
    serve_reads();

    // 4. Advance.
    node->advance();
    ready_outstanding = false;
    maybe_compact();
    publish();
  }
}

void RaftDriver::Impl::apply_entries(const std::vector<Entry>& entries) {
  for (const Entry& e : entries) {
    if (e.index <= applied) continue;
    if (e.type == EntryType::normal && !e.data.empty()) app->apply(e);
    applied = e.index;
    if (e.type == EntryType::conf_change) {
      // The core adopted it when it was appended (thesis §4.1); a change that
      // did not apply was skipped by every server and left no configuration.
      for (const Raft::ConfigAt& c : node->raft().config_history()) {
        if (c.index == e.index) notify_conf(c.conf, c.index);
      }
    }
    // Proposals up to this index are decided: ours if the term matches, else
    // a later leader overwrote it (§5.3).
    for (auto it = proposals.begin(); it != proposals.end() && it->first <= e.index;) {
      bool mine = it->first == e.index && it->second.term == e.term;
      if (!mine) bump(&DriverStatus::proposals_failed);
      it->second.done(mine ? Completion{{}, e.index, node->leader()}
                           : Completion{raft_error(errc::proposal_dropped, "overwritten by another leader"), 0,
                                        node->leader()});
      it = proposals.erase(it);
    }
  }
}

void RaftDriver::Impl::serve_reads() {
  while (!reads_waiting_apply.empty() && reads_waiting_apply.begin()->first <= applied) {
    auto node_handle = reads_waiting_apply.extract(reads_waiting_apply.begin());
    bump(&DriverStatus::reads);
    node_handle.mapped().done({{}, node_handle.key(), node->leader()});
  }
}

void RaftDriver::Impl::maybe_compact() {
  if (options.snapshot_threshold == 0 || snapshot_in_flight || image_ready) return;
  Index snap_index = storage->first_index() - 1;
  if (applied < snap_index + options.snapshot_threshold) return;
  if (options.snapshot_interval_ticks > 0 && snapshot_started_tick > 0 &&
      ticks < snapshot_started_tick + options.snapshot_interval_ticks)
    return;
  snapshot_started_tick = std::max<uint64_t>(ticks, 1);
  // Off the strand if the application can: serializing a large state here
  // stalls every commit behind it (bench/raft: p99 ~200 ms at 64 clients).
  std::weak_ptr<Impl> weak = weak_from_this();
  Index at = applied;
  auto term = node->raft().log().term(at);
  if (!term.ok()) return;
  bool async = app->snapshot_async(at, [weak, at, term = *term](Result<std::string> image) {
    auto impl = weak.lock();
    if (!impl) return;
    if (image.ok() && impl->rocks != nullptr) {
      // The large write happens here, off the strand; compact() then writes a reference.
      std::lock_guard lock(impl->stage_mu);
      if (impl->closing) return;
      Status st = impl->rocks->stage_snapshot_data(at, term, *image);
      if (!st.ok()) log::warn("raft", "staging the snapshot at {} failed (it is written at compaction): {}", at, st.error().message());
    }
    asio::post(impl->strand, [impl, at, image = std::move(image)]() mutable { impl->image_done(at, std::move(image)); });
  });
  if (async) {
    snapshot_in_flight = true;
    std::lock_guard lock(mu);
    published.snapshot_in_flight = true;
    return;
  }
  compact(at, app->snapshot());
}

void RaftDriver::Impl::image_done(Index index, Result<std::string> image) {
  snapshot_in_flight = false;
  {
    std::lock_guard lock(mu);
    published.snapshot_in_flight = false;
  }
  if (stopped) return;
  if (!image.ok()) {
    log::warn("raft", "snapshot at {} failed: {}", index, image.error().message());
    return;  // the next apply past the threshold tries again
  }
  bump(&DriverStatus::snapshots_async);
  image_ready = Image{index, std::move(image).value()};
  if (parked) wake.notify();
}

void RaftDriver::Impl::compact(Index index, std::string data) {
  // The stored commit index must not lag the snapshot (see driver.h).
  if (lazy_hard_state) {
    Status st = write({}, lazy_hard_state);
    if (!st.ok()) return fail(st);
    lazy_hard_state.reset();
    bump(&DriverStatus::fsyncs);
  }
  // An image that arrives after a newer snapshot from the leader replaced the
  // log is out of date: Node::compact refuses it.
  Status st = node->compact(index, std::move(data));
  if (!st.ok()) {
    log::warn("raft", "compaction at {} failed: {}", index, st.error().message());
    return;
  }
  bump(&DriverStatus::compactions);
  log::debug("raft", "compacted the log up to {}", index);
}

void RaftDriver::Impl::report_leader(const Ready& rd) {
  SoftState soft = rd.soft_state.value_or(reported_soft);
  Term term = rd.hard_state ? rd.hard_state->term : reported_term;
  if (soft == reported_soft && term == reported_term) return;
  reported_soft = soft;
  reported_term = term;
  if (options.on_leader_change) options.on_leader_change(soft.leader, soft.state, term);
  if (soft.leader == kNoNode) return;
  std::erase_if(transfers, [&](Transfer& t) {
    if (t.to != soft.leader) return false;
    t.done({{}, 0, soft.leader});
    return true;
  });
}

void RaftDriver::Impl::fail_all(const Status& why) {
  for (auto& [i, p] : proposals) p.done({why, 0, node->leader()});
  proposals.clear();
  for (auto& [c, r] : reads_waiting_index) r.done({why, 0, node->leader()});
  reads_waiting_index.clear();
  for (auto& [i, r] : reads_waiting_apply) r.done({why, 0, node->leader()});
  reads_waiting_apply.clear();
  for (Transfer& t : transfers) t.done({why, 0, node->leader()});
  transfers.clear();
}

void RaftDriver::Impl::publish() {
  std::lock_guard lock(mu);
  published.leader = node->leader();
  published.state = node->state();
  published.term = node->term();
  published.commit = node->raft().log().committed();
  published.applied = applied;
  published.first_index = storage->first_index();
  published.last_index = node->raft().log().last_index();
  const Raft::ConfigAt& conf = node->raft().config_history().back();
  published.conf_state = conf.conf;
  published.conf_index = conf.index;
  published.ticks_since_leader_contact = node->state() == StateType::leader ? 0 : ticks - last_leader_contact;
  published.peers.clear();
  if (node->state() == StateType::leader) {
    for (const auto& [id, pr] : node->raft().tracker().progress())
      if (id != node->id()) published.peers.push_back(PeerProgress{id, pr.match, pr.recent_active, pr.is_learner});
  }
}

}  // namespace cairn::raft
