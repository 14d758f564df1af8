// The agent-side cache of catalog reads (Consul's agent/cache, for the
// queries DNS needs). Each entry is one api::rpc::Query; once fetched it is
// kept fresh by a background blocking query (min_index = the last index,
// max_wait = Options::refresh_wait, consistency stale when allow_stale), so a
// steady stream of lookups makes no server round trip. An entry not read for
// Options::idle_ttl is dropped when its blocking query next returns (so within
// idle_ttl + refresh_wait). A stale read whose server reported a last contact
// above max_stale is not served: it is fetched again from the leader first.
// Failed refreshes keep the last value and retry with backoff.
//
// Options::use_cache false (dns_config.use_cache) turns caching off: every
// get() is one query to the servers, stale when allow_stale, asked again of
// the leader when its last contact is above max_stale (Consul's DNS without
// the cache). Options::max_age (dns_config.cache_max_age) bounds how long ago
// a server last confirmed a cached value: an older one is fetched again
// before it is served, and background refreshes then wait at most max_age/2,
// so an entry whose servers answer never ages out.
//
// Cacheable queries: HealthService, CatalogNodeServices, CatalogNodes,
// CatalogServiceNodes, CatalogServices. Others pass straight through.
//
// Thread-safety: get() may be called from any thread; the Handler's callbacks
// may arrive on any thread; `done` runs either inside get() (a hit) or on the
// Handler's thread, never under the cache's lock. Timers run on the
// Scheduler's executor. The Cache must outlive its scheduled timers: call
// stop() before destroying it while the Handler may still answer.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "api/rpc.h"
#include "core/clock.h"
#include "core/result.h"
#include "core/scheduler.h"

namespace cairn::agent::cache {

using Value = std::shared_ptr<const api::rpc::QueryResponse>;
using Callback = std::function<void(Result<Value>)>;

// What readers of cached catalog data (the DNS resolver) depend on.
class Reader {
 public:
  virtual ~Reader() = default;
  virtual void get(api::rpc::Query query, Callback done) = 0;
};

struct Options {
  bool allow_stale = true;                                   // dns_config.allow_stale
  Duration max_stale = std::chrono::hours(87600);            // dns_config.max_stale
  bool use_cache = true;                                     // dns_config.use_cache
  Duration max_age{0};                                       // dns_config.cache_max_age; 0: no bound
  Duration refresh_wait = std::chrono::minutes(1);           // max_wait of the background queries
  Duration idle_ttl = std::chrono::minutes(3);               // unused this long: dropped
  Duration retry_min = std::chrono::seconds(1);              // backoff after a failed refresh ...
  Duration retry_max = std::chrono::seconds(30);             // ... doubling up to this
  std::string token;                                         // sent with every query
};

struct Stats {
  uint64_t hits = 0;
  uint64_t misses = 0;       // answered by a fetch (first use, or too stale)
  uint64_t fetches = 0;      // queries sent to the Handler, blocking or not
  uint64_t passed = 0;       // reads not cached (use_cache off, or not cacheable)
  uint64_t entries = 0;
  uint64_t dropped = 0;      // idle entries removed
};

// The key of a cacheable query ("" when the query is not cacheable).
std::string cache_key(const api::rpc::Query& q);

class Cache final : public Reader, public std::enable_shared_from_this<Cache> {
 public:
  static std::shared_ptr<Cache> make(std::shared_ptr<api::rpc::Handler> rpc, const Clock& clock,
                                     Scheduler& scheduler, Options options);
  void get(api::rpc::Query query, Callback done) override;
  Stats stats() const;
  // Stops refreshing: later blocking answers are dropped, no timer re-arms.
  void stop();

 private:
  struct Entry;
  Cache(std::shared_ptr<api::rpc::Handler> rpc, const Clock& clock, Scheduler& scheduler, Options options);
  void pass_through(api::rpc::Query query, Callback done);
  void fetch(const std::string& key, std::shared_ptr<Entry> e, bool blocking, api::rpc::Consistency consistency);
  void on_answer(const std::string& key, std::shared_ptr<Entry> e, bool blocking, Result<api::rpc::QueryResponse> r);

  std::shared_ptr<api::rpc::Handler> rpc_;
  const Clock& clock_;
  Scheduler& scheduler_;
  Options options_;
  mutable std::mutex mu_;
  bool stopped_ = false;
  std::unordered_map<std::string, std::shared_ptr<Entry>> entries_;
  Stats stats_;
};

}  // namespace cairn::agent::cache
