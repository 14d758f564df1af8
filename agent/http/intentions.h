// The agent's copy of every intention, kept fresh by one background blocking
// query (ConfigEntryList{service-intentions}), so that
// /v1/connect/intentions/check and /v1/agent/connect/authorize are hash
// lookups in an api::IntentionIndex rather than a server round trip.
//
// Thread-safety: current() may be called from any thread; the query's
// callbacks run on a Handler thread and re-arm through the Scheduler (so a
// Handler that answers inside query() does not recurse). stop() before the
// Handler or the Scheduler goes away.
#pragma once

#include <memory>
#include <mutex>

#include "api/intentions.h"
#include "api/rpc.h"
#include "core/scheduler.h"

namespace cairn::agent::http {

class IntentionWatch : public std::enable_shared_from_this<IntentionWatch> {
 public:
  // How long each blocking query waits at most, and the retry backoff after
  // a failed one (doubling from the first to the last).
  static constexpr Duration kMaxWait = std::chrono::minutes(5);
  static constexpr Duration kRetryFirst = std::chrono::seconds(1);
  static constexpr Duration kRetryMax = std::chrono::seconds(30);

  static std::shared_ptr<IntentionWatch> make(std::shared_ptr<api::rpc::Handler> rpc, Scheduler& scheduler);

  void start();
  void stop();

  // The newest index, or null before the first answer.
  std::shared_ptr<const api::IntentionIndex> current() const;
  // The X-Consul-Index of the newest answer (0 before the first).
  uint64_t index() const;

 private:
  IntentionWatch(std::shared_ptr<api::rpc::Handler> rpc, Scheduler& scheduler) : rpc_(std::move(rpc)), scheduler_(scheduler) {}
  void fetch();
  void on_answer(Result<api::rpc::QueryResponse> r);
  void arm(Duration delay);

  std::shared_ptr<api::rpc::Handler> rpc_;
  Scheduler& scheduler_;
  mutable std::mutex mu_;
  std::shared_ptr<const api::IntentionIndex> index_;
  uint64_t last_index_ = 0;
  Duration backoff_{0};
  bool stopped_ = false;
  std::shared_ptr<TimerHandle> timer_;
};

}  // namespace cairn::agent::http
