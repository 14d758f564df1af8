// The agent's Connect leaf certificates (Consul's agent/leafcert): one leaf
// per local service name, whose key pair is made HERE — the private key
// never leaves the host; only the CSR goes to the servers (ConnectCASign).
//
//   - first use: roots are read (for the trust domain), an EC P-256 key and
//     a CSR for spiffe://<td>/ns/default/dc/<dc>/svc/<service> are made, the
//     leader signs it; the leaf is cached with its key (PrivateKeyPEM) and a
//     local index (CreateIndex/ModifyIndex, growing across all leaves);
//   - renewal: at 50–60% of the leaf's lifetime (random jitter per leaf), a
//     new key and CSR replace the leaf; a failed renewal keeps the old leaf
//     and retries with backoff;
//   - rotation: a background blocking query on ConnectCARoots (started on
//     first use) notices a new active root; every leaf not signed by it
//     (its AuthorityKeyId is not the active root's SigningKeyID) is renewed
//     at once;
//   - blocking reads: get(service, min_index, wait) answers when the leaf's
//     ModifyIndex is above min_index, or with the current leaf at `wait`;
//     roots(min_index, wait) the same for the roots' index.
//
// Thread-safety: every method may be called from any thread. The Handler's
// callbacks may arrive on any thread (inline too); the Scheduler's callbacks
// on its executor. Callbacks given to get()/roots() run outside the cache's
// lock, exactly once. Call stop() before destroying the Scheduler.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "api/rpc.h"
#include "core/clock.h"
#include "core/result.h"
#include "core/rng.h"
#include "core/scheduler.h"

namespace cairn::agent::connect {

struct LeafOptions {
  std::string datacenter = "dc1";
  std::string token;                                   // sent with every call
  Duration roots_wait = std::chrono::minutes(10);      // max_wait of the background roots query
  Duration retry_min = std::chrono::seconds(1);        // backoff after a failed call ...
  Duration retry_max = std::chrono::seconds(30);       // ... doubling up to this
  uint64_t seed = 1;                                   // renewal jitter
};

struct LeafStats {
  uint64_t signs = 0;          // ConnectCASign calls that succeeded
  uint64_t sign_failures = 0;
  uint64_t renewals = 0;       // leaves replaced (timer or rotation)
  uint64_t root_changes = 0;   // active root changes seen
  uint64_t roots_fetches = 0;  // ConnectCARoots calls sent
};

class LeafCache : public std::enable_shared_from_this<LeafCache> {
 public:
  using LeafCallback = std::function<void(Result<api::IssuedCert>)>;
  using RootsCallback = std::function<void(Result<std::pair<api::CARoots, uint64_t>>)>;

  static std::shared_ptr<LeafCache> make(std::shared_ptr<api::rpc::Handler> rpc, const Clock& clock,
                                         Scheduler& scheduler, LeafOptions options);

  // The leaf for `service`. min_index 0: at once (after the first signing).
  void get(const std::string& service, uint64_t min_index, Duration wait, LeafCallback done);
  // The roots as last seen by the background query, with their index.
  void roots(uint64_t min_index, Duration wait, RootsCallback done);

  // When the cached leaf of `service` will be renewed (wall time), if any.
  std::optional<WallTime> renew_at(const std::string& service) const;
  LeafStats stats() const;
  // Stops: parked callers are answered (cancelled), no timer re-arms, later
  // answers are dropped.
  void stop();

 private:
  struct Waiter {
    uint64_t min_index = 0;
    LeafCallback done;
    std::shared_ptr<TimerHandle> timer;
  };
  struct Entry {
    std::optional<api::IssuedCert> cert;
    std::string authority_key_id;  // of the cached leaf
    WallTime renew_at;
    std::shared_ptr<TimerHandle> renew_timer;
    bool signing = false;
    bool renew_again = false;  // a rotation arrived while signing
    Duration backoff{0};
    std::map<uint64_t, Waiter> waiters;
  };
  struct RootsWaiter {
    uint64_t min_index = 0;
    RootsCallback done;
    std::shared_ptr<TimerHandle> timer;
  };
  using Calls = std::vector<std::function<void()>>;

  LeafCache(std::shared_ptr<api::rpc::Handler> rpc, const Clock& clock, Scheduler& scheduler, LeafOptions options);
  void ensure_roots_watch(std::unique_lock<std::mutex>& lock);
  void watch_roots();
  void on_roots(Result<api::rpc::QueryResponse> r);
  void sign(const std::string& service);
  void on_signed(const std::string& service, std::string key, Result<api::rpc::WriteResponse> r);
  void schedule_renewal(const std::string& service, Entry& e, Calls& calls);
  void renew_soon(const std::string& service, Entry& e, Duration after, Calls& calls);
  void answer_leaf_waiters(Entry& e, Calls& calls, bool all, std::optional<Error> error);
  void answer_roots_waiters(Calls& calls, bool all);

  std::shared_ptr<api::rpc::Handler> rpc_;
  const Clock& clock_;
  Scheduler& scheduler_;
  LeafOptions options_;

  mutable std::mutex mu_;
  bool stopped_ = false;
  SeededRng rng_;
  uint64_t next_index_ = 0;  // leaf indexes
  uint64_t next_waiter_ = 0;
  std::map<std::string, Entry> entries_;
  // Roots.
  bool roots_watching_ = false;
  std::optional<api::CARoots> roots_;
  uint64_t roots_index_ = 0;
  Duration roots_backoff_{0};
  std::map<uint64_t, RootsWaiter> roots_waiters_;
  std::vector<std::string> waiting_for_roots_;  // services to sign once roots are known
  LeafStats stats_;
};

}  // namespace cairn::agent::connect
