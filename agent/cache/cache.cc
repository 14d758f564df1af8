#include "agent/cache/cache.h"

#include <algorithm>
#include <optional>

namespace cairn::agent::cache {

using namespace api::rpc;

namespace {

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) {
    out += s;
    out += '\x1f';
  }
  return out;
}

}  // namespace

std::string cache_key(const Query& q) {
  return std::visit(
      [](const auto& x) -> std::string {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, HealthService>) {
          return std::string(x.connect ? "health-connect\x1e" : "health-service\x1e") + x.service + '\x1e' +
                 join(x.tags) + (x.passing_only ? "\x1ep" : "\x1e");
        } else if constexpr (std::is_same_v<T, CatalogServiceNodes>) {
          return std::string(x.connect ? "catalog-connect\x1e" : "catalog-service\x1e") + x.service + '\x1e' +
                 join(x.tags);
        } else if constexpr (std::is_same_v<T, CatalogNodeServices>) {
          return "catalog-node\x1e" + x.node;
        } else if constexpr (std::is_same_v<T, CatalogNodes>) {
          return "catalog-nodes";
        } else if constexpr (std::is_same_v<T, CatalogServices>) {
          return "catalog-services";
        } else {
          return "";
        }
      },
      q);
}

struct Cache::Entry {
  Query query;
  Value value;                 // null until the first answer
  Instant last_used;
  Instant fetched_at;          // when a server last answered for this entry
  bool fetching = false;       // a non-blocking fetch is in flight; waiters wait for it
  bool refreshing = false;     // the background blocking query is armed
  std::vector<Callback> waiters;
  Duration backoff{0};
};

std::shared_ptr<Cache> Cache::make(std::shared_ptr<Handler> rpc, const Clock& clock, Scheduler& scheduler,
                                   Options options) {
  return std::shared_ptr<Cache>(new Cache(std::move(rpc), clock, scheduler, std::move(options)));
}

Cache::Cache(std::shared_ptr<Handler> rpc, const Clock& clock, Scheduler& scheduler, Options options)
    : rpc_(std::move(rpc)), clock_(clock), scheduler_(scheduler), options_(std::move(options)) {}

void Cache::get(Query query, Callback done) {
  std::string key = options_.use_cache ? cache_key(query) : std::string();
  if (key.empty()) return pass_through(std::move(query), std::move(done));
  std::unique_lock lock(mu_);
  auto& slot = entries_[key];
  if (!slot) {
    slot = std::make_shared<Entry>();
    slot->query = std::move(query);
  }
  auto e = slot;
  e->last_used = clock_.now();
  bool too_stale = e->value && options_.allow_stale && e->value->meta.last_contact > options_.max_stale;
  bool too_old = e->value && options_.max_age > Duration{0} && clock_.now() - e->fetched_at > options_.max_age;
  if (e->value && !too_stale && !too_old && !stopped_) {
    ++stats_.hits;
    Value v = e->value;
    lock.unlock();
    done(std::move(v));
    return;
  }
  ++stats_.misses;
  e->waiters.push_back(std::move(done));
  if (e->fetching) return;
  e->fetching = true;
  lock.unlock();
  // Too stale for the client's bound: ask the leader (Consul's max_stale).
  fetch(key, e, false, too_stale || !options_.allow_stale ? Consistency::leader : Consistency::stale);
}

void Cache::pass_through(Query query, Callback done) {
  QueryOptions o;
  o.consistency = options_.allow_stale ? Consistency::stale : Consistency::leader;
  o.token = options_.token;
  {
    std::lock_guard lock(mu_);
    ++stats_.passed;
    ++stats_.fetches;
  }
  // A stale answer from a server out of touch for longer than max_stale is
  // asked again of the leader, once.
  std::optional<Query> retry;
  if (options_.allow_stale) retry = query;
  std::weak_ptr<Cache> weak = weak_from_this();
  auto deliver = [done](Result<QueryResponse> r) {
    if (!r.ok()) return done(r.error());
    done(Value(std::make_shared<const QueryResponse>(std::move(r).value())));
  };
  rpc_->query(o, std::move(query), [weak, o, retry = std::move(retry), deliver](Result<QueryResponse> r) mutable {
    auto self = weak.lock();
    if (!self || !retry || !r.ok() || r->meta.last_contact <= self->options_.max_stale) return deliver(std::move(r));
    o.consistency = Consistency::leader;
    {
      std::lock_guard lock(self->mu_);
      ++self->stats_.fetches;
    }
    self->rpc_->query(o, std::move(*retry), deliver);
  });
}

void Cache::fetch(const std::string& key, std::shared_ptr<Entry> e, bool blocking, Consistency consistency) {
  QueryOptions o;
  o.consistency = consistency;
  o.token = options_.token;
  {
    std::lock_guard lock(mu_);
    ++stats_.fetches;
    if (blocking && e->value) {
      o.min_index = std::max<uint64_t>(e->value->meta.index, 1);
      o.max_wait = options_.max_age > Duration{0} ? std::min(options_.refresh_wait, options_.max_age / 2)
                                                  : options_.refresh_wait;
    }
  }
  std::weak_ptr<Cache> weak = weak_from_this();
  rpc_->query(o, e->query, [weak, key, e, blocking](Result<QueryResponse> r) {
    if (auto self = weak.lock()) self->on_answer(key, e, blocking, std::move(r));
  });
}

void Cache::on_answer(const std::string& key, std::shared_ptr<Entry> e, bool blocking, Result<QueryResponse> r) {
  std::vector<Callback> waiters;
  Result<Value> outcome = Error(errc::internal, "unset");
  bool rearm = false;
  Duration delay{0};
  {
    std::lock_guard lock(mu_);
    auto erase = [&] {
      auto it = entries_.find(key);
      if (it != entries_.end() && it->second == e) entries_.erase(it);
      e->refreshing = false;
    };
    if (!blocking) {
      waiters = std::move(e->waiters);
      e->waiters.clear();
      e->fetching = false;
    }
    if (r.ok()) {
      e->value = std::make_shared<const QueryResponse>(std::move(r).value());
      e->fetched_at = clock_.now();
      e->backoff = Duration{0};
      outcome = e->value;
      bool idle = clock_.now() - e->last_used > options_.idle_ttl;
      if (stopped_) {
        erase();
      } else if (!blocking) {
        if (!e->refreshing) rearm = e->refreshing = true;
      } else if (idle) {
        erase();
        ++stats_.dropped;
      } else {
        rearm = true;
      }
    } else {
      outcome = r.error();
      if (!blocking) {
        // The first fetch failed: nothing to serve; the next get() retries.
        if (!e->value && !e->refreshing) erase();
      } else if (!stopped_ && clock_.now() - e->last_used <= options_.idle_ttl) {
        e->backoff = std::clamp(e->backoff * 2, options_.retry_min, options_.retry_max);
        delay = e->backoff;
        rearm = true;
      } else {
        erase();
        if (!stopped_) ++stats_.dropped;
      }
    }
    stats_.entries = entries_.size();
  }
  for (auto& w : waiters) w(outcome);
  if (!rearm) return;
  // Always through the scheduler: a Handler that answers inside query()
  // would otherwise recurse once per change.
  std::weak_ptr<Cache> weak = weak_from_this();
  scheduler_.after(delay, [weak, key, e] {
    auto self = weak.lock();
    if (!self) return;
    {
      std::lock_guard lock(self->mu_);
      if (self->stopped_) return;
    }
    self->fetch(key, e, true, self->options_.allow_stale ? Consistency::stale : Consistency::leader);
  });
}

Stats Cache::stats() const {
  std::lock_guard lock(mu_);
  Stats s = stats_;
  s.entries = entries_.size();
  return s;
}

void Cache::stop() {
  std::lock_guard lock(mu_);
  stopped_ = true;
  entries_.clear();
}

}  // namespace cairn::agent::cache
