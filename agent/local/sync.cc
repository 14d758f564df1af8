#include "agent/local/sync.h"

#include <cmath>

#include "core/log.h"

namespace cairn::agent::local {

using namespace api::rpc;

int ae_scale_factor(size_t nodes) {
  constexpr double kThreshold = 128;
  if (static_cast<double>(nodes) <= kThreshold) return 1;
  return static_cast<int>(std::ceil(std::log2(static_cast<double>(nodes)) - std::log2(kThreshold))) + 1;
}

Duration full_sync_delay(Duration interval, size_t nodes, Rng& rng) {
  Duration scaled = interval * ae_scale_factor(nodes);
  return scaled + Duration(static_cast<int64_t>(rng.uniform(static_cast<uint64_t>(scaled.count()))));
}

std::shared_ptr<SyncDriver> SyncDriver::create(Deps deps, SyncOptions options) {
  return std::shared_ptr<SyncDriver>(new SyncDriver(std::move(deps), options));
}

SyncDriver::SyncDriver(Deps deps, SyncOptions options) : deps_(std::move(deps)), options_(options) {}

void SyncDriver::start() {
  want_full_ = true;
  kick();
  schedule_reap();
}

void SyncDriver::stop() {
  stopped_ = true;
  hop([](SyncDriver& d) {
    if (d.full_timer_) d.full_timer_->cancel();
    if (d.reap_timer_) d.reap_timer_->cancel();
  });
}

void SyncDriver::trigger_partial() {
  want_partial_ = true;
  kick();
}

void SyncDriver::trigger_full() {
  want_full_ = true;
  kick();
}

void SyncDriver::hop(std::function<void(SyncDriver&)> fn) {
  deps_.scheduler->after(Duration(0), [w = weak_from_this(), fn = std::move(fn)] {
    if (auto self = w.lock()) fn(*self);
  });
}

void SyncDriver::kick() {
  if (kick_pending_.exchange(true)) return;  // one run is queued already: it sees every flag
  hop([](SyncDriver& d) { d.run(); });
}

void SyncDriver::run() {
  kick_pending_ = false;
  if (busy_ || stopped_) return;
  if (backing_off_) return;  // the retry timer runs a full sync
  if (want_full_.exchange(false)) {
    want_partial_ = false;  // a full sync covers every change
    return full();
  }
  if (want_partial_.exchange(false)) {
    SyncPlan plan = plan_partial(deps_.local->snapshot(), deps_.self(), node_in_sync_);
    if (plan.writes.empty()) return;
    busy_ = true;
    execute(std::make_shared<std::vector<SyncOp>>(std::move(plan.writes)), 0, false);
  }
}

void SyncDriver::full() {
  busy_ = true;
  auto rpc = deps_.rpc ? deps_.rpc() : nullptr;
  if (!rpc) return finish(false, true, "No known Consul servers");
  NodeIdentity self = deps_.self();
  auto remote = std::make_shared<RemoteState>();
  rpc->query({}, CatalogNodeServices{self.name}, [w = weak_from_this(), rpc, remote, self](Result<QueryResponse> r) {
    auto d = w.lock();
    if (!d) return;
    if (!r.ok() || r->value.index() != IndexOf<CatalogNodeServices, Query>::value) {
      std::string why = r.ok() ? "unexpected answer" : r.error().message();
      return d->hop([why](SyncDriver& d) { d.finish(false, true, why); });
    }
    if (auto& ns = value_of<CatalogNodeServices>(*r)) {
      remote->node = ns->node;
      remote->services = ns->services;
    }
    rpc->query({}, HealthNode{self.name}, [w, remote](Result<QueryResponse> r) {
      auto d = w.lock();
      if (!d) return;
      if (!r.ok() || r->value.index() != IndexOf<HealthNode, Query>::value) {
        std::string why = r.ok() ? "unexpected answer" : r.error().message();
        return d->hop([why](SyncDriver& d) { d.finish(false, true, why); });
      }
      remote->checks = value_of<HealthNode>(*r);
      d->hop([remote](SyncDriver& d) {
        SyncPlan plan = plan_full(d.deps_.local->snapshot(), *remote, d.deps_.self());
        d.node_in_sync_ = false;
        for (const auto& m : plan.in_sync) d.apply(m);
        for (const auto& [id, tags] : plan.adopted_tags) d.deps_.local->adopt_tags(id, tags);
        d.execute(std::make_shared<std::vector<SyncOp>>(std::move(plan.writes)), 0, true);
      });
    });
  });
}

void SyncDriver::apply(const SyncMark& m) {
  switch (m.kind) {
    case SyncMark::Kind::node:
      node_in_sync_ = true;
      break;
    case SyncMark::Kind::service:
      deps_.local->mark_service_synced(m.id, m.revision);
      break;
    case SyncMark::Kind::check:
      deps_.local->mark_check_synced(m.id, m.revision);
      break;
    case SyncMark::Kind::service_tombstone:
      deps_.local->drop_service_tombstone(m.id, m.revision);
      break;
    case SyncMark::Kind::check_tombstone:
      deps_.local->drop_check_tombstone(m.id, m.revision);
      break;
  }
}

void SyncDriver::execute(std::shared_ptr<std::vector<SyncOp>> ops, size_t i, bool is_full) {
  if (stopped_) {
    busy_ = false;
    return;
  }
  if (i == ops->size()) return finish(true, is_full, "");
  auto rpc = deps_.rpc ? deps_.rpc() : nullptr;
  if (!rpc) return finish(false, is_full, "No known Consul servers");
  WriteOptions options;
  options.token = (*ops)[i].token;
  rpc->write(std::move(options), (*ops)[i].write, [w = weak_from_this(), ops, i, is_full](Result<WriteResponse> r) {
    auto d = w.lock();
    if (!d) return;
    d->hop([ops, i, is_full, r = std::move(r)](SyncDriver& d) {
      if (!r.ok()) {
        if (!r.error().is(errc::invalid_argument) && !r.error().is(errc::permission_denied))
          return d.finish(false, is_full, r.error().message());
        // The server refuses this entry: others still sync; it stays out
        // of sync and is tried again with the next full sync.
        log::warn("local", "anti-entropy: the catalog refused a write: {}", r.error().message());
      } else {
        for (const auto& m : (*ops)[i].marks) d.apply(m);
      }
      d.execute(ops, i + 1, is_full);
    });
  });
}

void SyncDriver::finish(bool ok, bool is_full, const std::string& why) {
  busy_ = false;
  if (stopped_) return;
  if (ok) {
    backoff_ = Duration(0);
    if (is_full) {
      ++full_syncs_done_;
      size_t nodes = deps_.cluster_size ? deps_.cluster_size() : 1;
      schedule_full(full_sync_delay(options_.interval, nodes, *deps_.rng));
    }
  } else {
    backoff_ = backoff_ == Duration(0) ? options_.retry_min : std::min(backoff_ * 2, options_.retry_max);
    Duration delay = backoff_ + Duration(static_cast<int64_t>(deps_.rng->uniform(
                                    static_cast<uint64_t>(backoff_.count() / 2 + 1))));
    log::warn("local", "anti-entropy sync failed: {}; retrying in {} ms", why,
              std::chrono::duration_cast<std::chrono::milliseconds>(delay).count());
    backing_off_ = true;
    schedule_full(delay);
  }
  run();  // changes that arrived meanwhile
}

void SyncDriver::schedule_full(Duration delay) {
  if (full_timer_) full_timer_->cancel();
  full_timer_ = deps_.scheduler->after(delay, [w = weak_from_this()] {
    auto d = w.lock();
    if (!d || d->stopped_) return;
    d->backing_off_ = false;
    d->want_full_ = true;
    d->run();
  });
}

void SyncDriver::schedule_reap() {
  reap_timer_ = deps_.scheduler->after(options_.reap_interval, [w = weak_from_this()] {
    auto d = w.lock();
    if (!d || d->stopped_) return;
    d->deps_.local->reap_critical(d->deps_.clock->now());
    d->schedule_reap();
  });
}

}  // namespace cairn::agent::local
