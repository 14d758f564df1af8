// Handler::query: consistency modes, forwarding to the leader, blocking
// queries parked on their watch keys, and the Raft status queries.
#include <algorithm>
#include <cctype>
#include <iterator>
#include <limits>
#include <map>

#include "api/config_entry.h"
#include "api/rpc_codec.h"
#include "gossip/vivaldi.h"
#include "core/log.h"
#include "raft/errc.h"
#include "server/prepared_query.h"
#include "server/server_impl.h"

namespace cairn::server {

namespace rpc = api::rpc;
namespace watch_for = state::watch_for;

namespace {

struct ReadResult {
  uint64_t index = 1;
  rpc::QueryValue value;
};

template <typename Q, typename T>
Result<ReadResult> indexed(Result<state::Indexed<T>> r) {
  if (!r.ok()) return r.error();
  return ReadResult{r->index, rpc::make_value<Q, rpc::QueryValue>(std::move(r->value))};
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::optional<gossip::Coordinate> to_vivaldi(const api::Coord& c) {
  gossip::Coordinate g;
  if (c.vec.size() != g.vec.size()) return std::nullopt;
  std::copy(c.vec.begin(), c.vec.end(), g.vec.begin());
  g.error = c.error;
  g.adjustment = c.adjustment;
  g.height = c.height;
  if (!g.valid()) return std::nullopt;
  return g;
}

// ?near (QueryOptions::near): a stable sort by estimated RTT from the near
// node's coordinate (gossip::estimate_rtt, serf's DistanceTo); nodes without
// a coordinate go last in the order they had. Nothing moves when the near
// node has no coordinate (Consul's sortNodesByDistanceFrom does the same).
template <typename T, typename NodeOf>
Status sort_near(const state::ReadView& v, const std::string& near, std::vector<T>& items, NodeOf node_of) {
  if (items.size() < 2) return {};
  CAIRN_TRY(auto all, v.coordinates());
  std::map<std::string, gossip::Coordinate> coords;
  for (const auto& e : all.value) {
    if (!e.segment.empty()) continue;
    if (auto g = to_vivaldi(e.coord)) coords.emplace(lower(e.node), *g);
  }
  auto from = coords.find(lower(near));
  if (from == coords.end()) return {};
  std::vector<std::pair<double, size_t>> keyed;
  keyed.reserve(items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    auto it = coords.find(lower(node_of(items[i])));
    double d = it == coords.end() ? std::numeric_limits<double>::infinity()
                                  : std::chrono::duration<double>(gossip::estimate_rtt(from->second, it->second)).count();
    keyed.emplace_back(d, i);
  }
  std::stable_sort(keyed.begin(), keyed.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<T> sorted;
  sorted.reserve(items.size());
  for (const auto& [d, i] : keyed) sorted.push_back(std::move(items[i]));
  items = std::move(sorted);
  return {};
}

Status apply_near(const state::ReadView& v, const std::string& near, rpc::QueryValue& value) {
  if (near.empty()) return {};
  return std::visit(
      [&](auto& x) -> Status {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::vector<api::Node>>) {
          return sort_near(v, near, x, [](const api::Node& n) { return n.node; });
        } else if constexpr (std::is_same_v<T, std::vector<api::CatalogServiceEntry>>) {
          return sort_near(v, near, x, [](const api::CatalogServiceEntry& e) { return e.node.node; });
        } else if constexpr (std::is_same_v<T, std::vector<api::HealthServiceEntry>>) {
          return sort_near(v, near, x, [](const api::HealthServiceEntry& e) { return e.node.node; });
        } else if constexpr (std::is_same_v<T, std::vector<api::HealthCheck>>) {
          return sort_near(v, near, x, [](const api::HealthCheck& c) { return c.node; });
        } else {
          return {};
        }
      },
      value);
}

// One query at one consistent view.
Result<ReadResult> read_one(const state::ReadView& v, const rpc::Query& q) {
  return std::visit(
      Overloaded{
          [&](const rpc::KvGet& x) { return indexed<rpc::KvGet>(v.kv_get(x.key)); },
          [&](const rpc::KvList& x) { return indexed<rpc::KvList>(v.kv_list(x.prefix)); },
          [&](const rpc::KvKeys& x) { return indexed<rpc::KvKeys>(v.kv_keys(x.prefix, x.separator)); },
          [&](const rpc::SessionGet& x) { return indexed<rpc::SessionGet>(v.session_get(x.id)); },
          [&](const rpc::SessionList&) { return indexed<rpc::SessionList>(v.session_list()); },
          [&](const rpc::SessionNode& x) { return indexed<rpc::SessionNode>(v.node_sessions(x.node)); },
          [&](const rpc::CatalogNodes&) { return indexed<rpc::CatalogNodes>(v.nodes()); },
          [&](const rpc::CatalogServices&) { return indexed<rpc::CatalogServices>(v.services()); },
          [&](const rpc::CatalogServiceNodes& x) {
            return indexed<rpc::CatalogServiceNodes>(v.service_nodes(x.service, x.tags, x.connect));
          },
          [&](const rpc::CatalogNodeServices& x) { return indexed<rpc::CatalogNodeServices>(v.node_services(x.node)); },
          [&](const rpc::HealthNode& x) { return indexed<rpc::HealthNode>(v.node_checks(x.node)); },
          [&](const rpc::HealthChecks& x) { return indexed<rpc::HealthChecks>(v.service_checks(x.service)); },
          [&](const rpc::HealthState& x) { return indexed<rpc::HealthState>(v.checks_in_state(x.state)); },
          [&](const rpc::HealthService& x) {
            return indexed<rpc::HealthService>(v.health_service(x.service, x.tags, x.passing_only, x.connect));
          },
          [&](const rpc::TxnRead& x) -> Result<ReadResult> {
            auto r = v.txn(x.ops);
            if (!r.ok()) return r.error();
            return ReadResult{std::max<uint64_t>(v.applied_index(), 1),
                              rpc::make_value<rpc::TxnRead, rpc::QueryValue>(std::move(r).value())};
          },
          [&](const rpc::ConnectCARoots&) { return indexed<rpc::ConnectCARoots>(v.ca_roots()); },
          [&](const rpc::ConnectCAConfigGet&) -> Result<ReadResult> {
            auto r = v.ca_config();
            if (!r.ok()) return r.error();
            r->value.config.private_key.clear();  // never stored; never answered
            r->value.config.root_cert.clear();
            return ReadResult{r->index, rpc::make_value<rpc::ConnectCAConfigGet, rpc::QueryValue>(std::move(r->value))};
          },
          [&](const rpc::ConfigEntryGet& x) -> Result<ReadResult> {
            if (Status st = api::check_config_entry_kind(x.kind); !st.ok()) return st.error();
            return indexed<rpc::ConfigEntryGet>(v.config_entry_get(x.kind, x.name));
          },
          [&](const rpc::ConfigEntryList& x) -> Result<ReadResult> {
            if (!x.kind.empty())
              if (Status st = api::check_config_entry_kind(x.kind); !st.ok()) return st.error();
            return indexed<rpc::ConfigEntryList>(v.config_entry_list(x.kind));
          },
          [&](const rpc::CoordinateNodes&) { return indexed<rpc::CoordinateNodes>(v.coordinates()); },
          [&](const rpc::CoordinateNode& x) { return indexed<rpc::CoordinateNode>(v.coordinate(x.node)); },
          [&](const rpc::PreparedQueryGet& x) { return indexed<rpc::PreparedQueryGet>(v.prepared_query_get(x.id)); },
          [&](const rpc::PreparedQueryList&) { return indexed<rpc::PreparedQueryList>(v.prepared_query_list()); },
          [&](const rpc::PreparedQueryExplain& x) {
            return indexed<rpc::PreparedQueryExplain>(explain_prepared_query(v, x.id_or_name));
          },
          [&](const auto&) -> Result<ReadResult> { return Error(errc::internal, "not a state query"); },
      },
      q);
}

Result<ReadResult> read(const state::ReadView& v, const rpc::Query& q, const std::string& near) {
  if (const auto* x = std::get_if<rpc::PreparedQueryExecute>(&q)) {  // sorts by its own near rules
    return indexed<rpc::PreparedQueryExecute>(execute_prepared_query(
        v, *x, near, [&v](const std::string& from, std::vector<api::HealthServiceEntry>& nodes) {
          return sort_near(v, from, nodes, [](const api::HealthServiceEntry& e) { return e.node.node; });
        }));
  }
  CAIRN_TRY(ReadResult r, read_one(v, q));
  CAIRN_RETURN_IF_ERROR(apply_near(v, near, r.value));
  return r;
}

// What a query watches (server/state/watch.h's table).
std::vector<state::WatchKey> watch_keys(const rpc::Query& q) {
  return std::visit(
      Overloaded{
          [](const rpc::KvGet& x) { return watch_for::kv_key(x.key); },
          [](const rpc::KvList& x) { return watch_for::kv_prefix(x.prefix); },
          [](const rpc::KvKeys& x) { return watch_for::kv_prefix(x.prefix); },
          [](const rpc::SessionGet& x) { return watch_for::session(x.id); },
          [](const rpc::SessionList&) { return watch_for::sessions(); },
          [](const rpc::SessionNode& x) { return watch_for::node_sessions(x.node); },
          [](const rpc::CatalogNodes&) { return watch_for::catalog_nodes(); },
          [](const rpc::CatalogServices&) { return watch_for::catalog_services(); },
          [](const rpc::CatalogServiceNodes& x) {
            return x.connect ? watch_for::connect_service(x.service) : watch_for::service(x.service);
          },
          [](const rpc::CatalogNodeServices& x) { return watch_for::catalog_node(x.node); },
          [](const rpc::HealthNode& x) { return watch_for::node_checks(x.node); },
          [](const rpc::HealthChecks& x) { return watch_for::service(x.service); },
          [](const rpc::HealthState&) { return watch_for::checks_in_state(); },
          [](const rpc::HealthService& x) {
            return x.connect ? watch_for::connect_service(x.service) : watch_for::service(x.service);
          },
          [](const rpc::ConnectCARoots&) { return watch_for::connect_ca(); },
          [](const rpc::ConnectCAConfigGet&) { return watch_for::connect_ca(); },
          [](const rpc::ConfigEntryGet& x) { return watch_for::config_entries(x.kind); },
          [](const rpc::CoordinateNodes&) { return watch_for::coordinates(); },
          [](const rpc::CoordinateNode&) { return watch_for::coordinates(); },
          [](const rpc::PreparedQueryGet&) { return watch_for::prepared_queries(); },
          [](const rpc::PreparedQueryList&) { return watch_for::prepared_queries(); },
          [](const rpc::ConfigEntryList& x) { return watch_for::config_entries(x.kind); },
          [](const auto&) { return std::vector<state::WatchKey>{}; },
      },
      q);
}

bool is_status_query(const rpc::Query& q) {
  return std::holds_alternative<rpc::StatusLeader>(q) || std::holds_alternative<rpc::StatusPeers>(q) ||
         std::holds_alternative<rpc::OperatorRaftConfiguration>(q);
}

}  // namespace

void Server::Impl::query(rpc::QueryOptions o, rpc::Query q, rpc::QueryCallback done, Hold hold) {
  if (Status st = usable(); !st.ok()) return done(st.error());
  if (is_status_query(q)) return done(status_query(q));
  // Neither blocks (Consul's Txn.Read and Snapshot do not): answer at once.
  if (std::holds_alternative<rpc::TxnRead>(q) || std::holds_alternative<rpc::SnapshotSave>(q)) o.min_index = 0;
  // Nor do prepared query executions and explanations (Consul's neither).
  if (std::holds_alternative<rpc::PreparedQueryExecute>(q) || std::holds_alternative<rpc::PreparedQueryExplain>(q))
    o.min_index = 0;
  auto self = shared_from_this();
  // No leader yet (an election is running): try again shortly, as Consul holds RPCs.
  auto no_leader = [self, o, q, done, hold](const Error& e) mutable {
    auto again = [self, o, q, done](Hold next) { self->query(o, q, done, next); };
    if (e.is(errc::unavailable) && self->retry_for_leader(hold, again)) return;
    done(e);
  };
  switch (o.consistency) {
    case rpc::Consistency::stale:
      return start_read(std::move(o), std::move(q), std::move(done));
    case rpc::Consistency::leader: {
      if (is_leader()) return start_read(std::move(o), std::move(q), std::move(done));
      // The hop limit (see forward_write): a forwarded query goes no further.
      if (o.forwarded) return done(Error(errc::unavailable, std::string(kNoLeader)));
      auto h = leader_handler(raft::kNoNode);
      if (!h.ok()) return no_leader(h.error());
      {
        std::lock_guard lock(mu);
        ++stats.queries_forwarded;
      }
      rpc::QueryOptions hop = o;
      hop.forwarded = true;
      return (*h)->query(std::move(hop), std::move(q), [no_leader, done](Result<rpc::QueryResponse> r) mutable {
        if (!r.ok() && is_no_leader(r.error())) return no_leader(r.error());
        done(std::move(r));
      });
    }
    case rpc::Consistency::consistent: {
      // ReadIndex (thesis §6.4) works on any member: once this server has
      // applied the read index, its state is at least as new as any write
      // acknowledged before the query began.
      std::weak_ptr<Impl> weak = self;
      driver->read_index([weak, o, q, done, no_leader](raft::Completion c) mutable {
        auto me = weak.lock();
        if (!me) return done(Error(errc::cancelled, "server stopped"));
        if (!c.status.ok()) {
          const Error& e = c.status.error();
          if (e.code().category() == raft::raft_category()) return no_leader(Error(errc::unavailable, "No cluster leader"));
          return done(rpc_error_of(e));
        }
        me->start_read(std::move(o), std::move(q), std::move(done));
      });
      return;
    }
  }
  done(Error(errc::invalid_argument, "consistency: unknown mode"));
}

void Server::Impl::start_read(rpc::QueryOptions o, rpc::Query q, rpc::QueryCallback done) {
  if (std::holds_alternative<rpc::SnapshotSave>(q)) {
    // A checkpoint and its packing, on the read strand (not the snapshot
    // thread: a job there must not hold the Server, whose end joins it).
    auto job = [self = shared_from_this(), o, done = std::move(done)] {
      auto archive = self->save_archive();
      if (!archive.ok()) return done(archive.error());
      rpc::QueryResponse resp{self->meta_for(o),
                              rpc::make_value<rpc::SnapshotSave, rpc::QueryValue>(std::move(archive->first))};
      resp.meta.index = std::max<uint64_t>(archive->second, 1);
      done(std::move(resp));
    };
    return asio::post(strand, std::move(job));
  }
  auto w = std::make_shared<Waiter>();
  w->options = std::move(o);
  w->query = std::move(q);
  w->done = std::move(done);
  // Reads run on the server's strand, never on the caller's thread (an RPC
  // connection) or the driver's strand (which must keep applying).
  asio::post(strand, [self = shared_from_this(), w] { self->run(w); });
}

rpc::QueryMeta Server::Impl::meta_for(const rpc::QueryOptions& o) const {
  rpc::QueryMeta meta;
  raft::DriverStatus st = driver->status();
  meta.known_leader = st.leader != raft::kNoNode;
  if (o.consistency == rpc::Consistency::stale && st.state != raft::StateType::leader) {
    meta.last_contact = options.raft.tick_interval * static_cast<int64_t>(st.ticks_since_leader_contact);
  }
  return meta;
}

// The reads of one batch of woken waiters. A result is shared only while
// the store has applied nothing since it was read (checked under watch_mu,
// where the waiter parks): a write after the read either shows in the
// applied index, and the waiter reads again, or its wake-up comes after the
// park and finds the waiter registered. So no wake-up is lost.
struct ReadCache {
  struct Entry {
    uint64_t applied = 0;  // the store's applied index before the read
    Result<ReadResult> result = Error(errc::internal);
  };
  const state::Store* store = nullptr;
  std::map<std::string, Entry> by_query;  // rpc-encoded (near, query)
  std::optional<rpc::QueryMeta> meta[3];  // by consistency mode
};

void Server::Impl::on_woken(std::shared_ptr<Waiter> w) {
  bool first;
  {
    std::lock_guard lock(woken_mu);
    first = woken.empty();
    woken.push_back(std::move(w));
  }
  if (first) asio::post(strand, [self = shared_from_this()] { self->run_woken(); });
}

void Server::Impl::run_woken() {
  std::vector<std::shared_ptr<Waiter>> batch;
  {
    std::lock_guard lock(woken_mu);
    batch.swap(woken);
  }
  ReadCache cache;
  for (const auto& w : batch) run(w, batch.size() > 1 ? &cache : nullptr);
}

void Server::Impl::run(const std::shared_ptr<Waiter>& w, ReadCache* cache) {
  std::shared_ptr<state::Store> s = store_ref();
  if (!s) {
    bool was_stopped = is_stopped();
    std::unique_lock lock(watch_mu);
    if (w->finished) return;
    if (!was_stopped) {  // a snapshot is being restored: try again right after
      lock.unlock();
      asio::post(strand, [self = shared_from_this(), w] { self->run(w); });
      return;
    }
    w->finished = true;
    parked.erase(w);
    std::shared_ptr<TimerHandle> timer = std::move(w->timer);
    lock.unlock();
    if (timer) timer->cancel();
    return w->done(Error(errc::cancelled, "server stopped"));
  }
  bool first_park = false;
  bool answered = false;
  std::shared_ptr<TimerHandle> timer;  // to cancel once answered
  Result<ReadResult> r = Error(errc::internal);
  {
    // Read and park under one lock: a write applied after this read cannot
    // collect its waiters before this one is registered, so no wake-up is lost.
    std::lock_guard lock(watch_mu);
    if (w->finished) return;
    if (cache && cache->store != s.get()) {
      cache->by_query.clear();
      cache->store = s.get();
    }
    if (!cache) {
      r = read(s->read(), w->query, w->options.near);
    } else {
      rpc::QueryOptions key_options;
      key_options.near = w->options.near;
      std::string key = rpc::encode(rpc::Request{0, rpc::QueryCall{std::move(key_options), w->query}});
      uint64_t applied = s->applied_index();
      auto it = cache->by_query.find(key);
      if (it == cache->by_query.end() || it->second.applied != applied) {
        ReadCache::Entry e{applied, read(s->read(), w->query, w->options.near)};
        it = cache->by_query.insert_or_assign(std::move(key), std::move(e)).first;
      }
      r = it->second.result;
    }
    bool blocking = w->options.min_index > 0 && !w->expired;
    if (r.ok() && blocking && r->index <= w->options.min_index) {
      std::weak_ptr<Impl> weak = shared_from_this();
      w->id = registry.add(watch_keys(w->query), [weak, w] {
        if (auto self = weak.lock()) self->on_woken(w);
      });
      w->parked = true;
      first_park = !w->armed;
      w->armed = true;
      parked.insert(w);
    } else {
      w->finished = answered = true;
      w->parked = false;
      parked.erase(w);
      timer = std::move(w->timer);
    }
  }
  if (first_park) {
    {
      std::lock_guard lock(mu);
      ++stats.queries_parked;
    }
    Duration wait = w->options.max_wait.count() > 0 ? std::min(w->options.max_wait, options.max_query_wait)
                                                   : options.default_query_wait;
    std::weak_ptr<Impl> weak = shared_from_this();
    auto handle = scheduler->after(wait, [weak, w] {
      if (auto self = weak.lock()) self->expire(w);
    });
    std::lock_guard lock(watch_mu);
    if (w->finished) {
      handle->cancel();  // answered in between (woken on another thread)
    } else {
      w->timer = std::move(handle);
    }
    return;
  }
  if (!answered) return;  // parked again after a wake-up
  if (timer) timer->cancel();
  if (!r.ok()) return w->done(r.error());
  rpc::QueryMeta meta;
  auto mode = static_cast<size_t>(w->options.consistency);
  if (cache && mode < std::size(cache->meta)) {
    if (!cache->meta[mode]) cache->meta[mode] = meta_for(w->options);
    meta = *cache->meta[mode];
  } else {
    meta = meta_for(w->options);
  }
  rpc::QueryResponse resp{meta, std::move(r->value)};
  resp.meta.index = std::max<uint64_t>(r->index, 1);
  w->done(std::move(resp));
}

void Server::Impl::expire(const std::shared_ptr<Waiter>& w) {
  {
    std::lock_guard lock(watch_mu);
    if (w->finished) return;
    if (w->parked) registry.remove(w->id);
    w->parked = false;
    w->expired = true;
  }
  run(w);  // answers with the current result
}

void Server::Impl::fail_parked(const Error& why) {
  std::vector<std::shared_ptr<Waiter>> all;
  {
    std::lock_guard lock(watch_mu);
    for (auto& w : parked) {
      if (w->parked) registry.remove(w->id);
      w->parked = false;
      w->finished = true;
      all.push_back(w);
    }
    parked.clear();
  }
  for (auto& w : all) {
    if (w->timer) w->timer->cancel();  // finished: nobody else touches it now
    w->done(why);
  }
}

Result<rpc::QueryResponse> Server::Impl::status_query(const rpc::Query& q) const {
  raft::DriverStatus st = driver->status();
  rpc::QueryResponse resp;
  resp.meta.known_leader = st.leader != raft::kNoNode;
  if (std::holds_alternative<rpc::StatusLeader>(q)) {
    resp.value = rpc::make_value<rpc::StatusLeader, rpc::QueryValue>(
        st.leader == raft::kNoNode ? std::string() : address_of(st.leader));
  } else if (std::holds_alternative<rpc::StatusPeers>(q)) {
    std::vector<std::string> peers;
    for (raft::NodeId id : st.conf_state.voters) {
      std::string addr = address_of(id);
      if (!addr.empty()) peers.push_back(std::move(addr));
    }
    resp.value = rpc::make_value<rpc::StatusPeers, rpc::QueryValue>(std::move(peers));
  } else {
    rpc::RaftConfiguration conf;
    conf.index = st.conf_index;
    auto add = [&](raft::NodeId id, bool voter) {
      conf.servers.push_back(rpc::RaftServer{node_id_of(id), node_name_of(id), address_of(id), id == st.leader, voter});
    };
    for (raft::NodeId id : st.conf_state.voters) add(id, true);
    for (raft::NodeId id : st.conf_state.learners) add(id, false);
    resp.value = rpc::make_value<rpc::OperatorRaftConfiguration, rpc::QueryValue>(std::move(conf));
  }
  return resp;
}

}  // namespace cairn::server
