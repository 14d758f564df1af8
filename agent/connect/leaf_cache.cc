#include "agent/connect/leaf_cache.h"

#include <algorithm>

#include "core/io/x509.h"
#include "core/log.h"

namespace cairn::agent::connect {

namespace rpc = api::rpc;
namespace x509 = io::x509;

namespace {

Duration next_backoff(Duration current, const LeafOptions& o) {
  if (current.count() <= 0) return o.retry_min;
  return std::min(current * 2, o.retry_max);
}

}  // namespace

std::shared_ptr<LeafCache> LeafCache::make(std::shared_ptr<rpc::Handler> rpc, const Clock& clock, Scheduler& scheduler,
                                           LeafOptions options) {
  return std::shared_ptr<LeafCache>(new LeafCache(std::move(rpc), clock, scheduler, std::move(options)));
}

LeafCache::LeafCache(std::shared_ptr<rpc::Handler> rpc, const Clock& clock, Scheduler& scheduler, LeafOptions options)
    : rpc_(std::move(rpc)), clock_(clock), scheduler_(scheduler), options_(std::move(options)), rng_(options_.seed) {}

void LeafCache::get(const std::string& service, uint64_t min_index, Duration wait, LeafCallback done) {
  Calls calls;
  bool need_sign = false;
  bool need_watch = false;
  {
    std::unique_lock lock(mu_);
    if (stopped_) {
      lock.unlock();
      return done(Error(errc::cancelled, "agent shutting down"));
    }
    Entry& e = entries_[service];
    if (e.cert && (min_index == 0 || e.cert->raft.modify_index > min_index)) {
      calls.push_back([done, cert = *e.cert] { done(cert); });
    } else {
      uint64_t id = ++next_waiter_;
      std::weak_ptr<LeafCache> weak = shared_from_this();
      Waiter w{min_index, std::move(done), nullptr};
      w.timer = scheduler_.after(wait, [weak, service, id] {
        auto self = weak.lock();
        if (!self) return;
        LeafCallback cb;
        std::optional<api::IssuedCert> cert;
        {
          std::lock_guard l(self->mu_);
          auto it = self->entries_.find(service);
          if (it == self->entries_.end()) return;
          auto wit = it->second.waiters.find(id);
          if (wit == it->second.waiters.end()) return;
          cb = std::move(wit->second.done);
          cert = it->second.cert;
          it->second.waiters.erase(wit);
        }
        if (cert) return cb(*cert);
        cb(Error(errc::timeout, "timed out waiting for the leaf certificate of " + service));
      });
      e.waiters.emplace(id, std::move(w));
      if (!e.cert && !e.signing) {
        e.signing = true;
        need_sign = true;
      }
    }
    if (!roots_watching_) {
      roots_watching_ = true;
      need_watch = true;
    }
  }
  for (auto& c : calls) c();
  if (need_watch) watch_roots();
  if (need_sign) sign(service);
}

void LeafCache::roots(uint64_t min_index, Duration wait, RootsCallback done) {
  bool need_watch = false;
  {
    std::unique_lock lock(mu_);
    if (stopped_) {
      lock.unlock();
      return done(Error(errc::cancelled, "agent shutting down"));
    }
    if (!roots_watching_) {
      roots_watching_ = true;
      need_watch = true;
    }
    if (roots_ && (min_index == 0 || roots_index_ > min_index)) {
      auto value = std::make_pair(*roots_, roots_index_);
      lock.unlock();
      done(std::move(value));
    } else {
      uint64_t id = ++next_waiter_;
      std::weak_ptr<LeafCache> weak = shared_from_this();
      RootsWaiter w{min_index, std::move(done), nullptr};
      w.timer = scheduler_.after(wait, [weak, id] {
        auto self = weak.lock();
        if (!self) return;
        RootsCallback cb;
        std::optional<std::pair<api::CARoots, uint64_t>> value;
        {
          std::lock_guard l(self->mu_);
          auto it = self->roots_waiters_.find(id);
          if (it == self->roots_waiters_.end()) return;
          cb = std::move(it->second.done);
          self->roots_waiters_.erase(it);
          if (self->roots_) value = std::make_pair(*self->roots_, self->roots_index_);
        }
        if (value) return cb(std::move(*value));
        cb(Error(errc::unavailable, "the CA roots are not known yet"));
      });
      roots_waiters_.emplace(id, std::move(w));
    }
  }
  if (need_watch) watch_roots();
}

void LeafCache::watch_roots() {
  rpc::QueryOptions o;
  {
    std::lock_guard lock(mu_);
    if (stopped_) return;
    o.min_index = roots_index_;
    ++stats_.roots_fetches;
  }
  o.max_wait = options_.roots_wait;
  o.token = options_.token;
  std::weak_ptr<LeafCache> weak = shared_from_this();
  rpc_->query(std::move(o), rpc::ConnectCARoots{}, [weak](Result<rpc::QueryResponse> r) {
    if (auto self = weak.lock()) self->on_roots(std::move(r));
  });
}

void LeafCache::on_roots(Result<rpc::QueryResponse> r) {
  Calls calls;
  std::vector<std::string> to_sign;
  {
    std::lock_guard lock(mu_);
    if (stopped_) return;
    if (!r.ok() || r->value.index() != rpc::IndexOf<rpc::ConnectCARoots, rpc::Query>::value) {
      roots_backoff_ = next_backoff(roots_backoff_, options_);
      log::debug("connect", "CA roots query failed, retrying in {} ms: {}",
                 std::chrono::duration_cast<std::chrono::milliseconds>(roots_backoff_).count(),
                 r.ok() ? "wrong response type" : r.error().message());
      std::weak_ptr<LeafCache> weak = shared_from_this();
      scheduler_.after(roots_backoff_, [weak] {
        if (auto self = weak.lock()) self->watch_roots();
      });
      return;
    }
    roots_backoff_ = Duration(0);
    api::CARoots& v = rpc::value_of<rpc::ConnectCARoots>(*r);
    bool changed = !roots_ || roots_->active_root_id != v.active_root_id;
    if (roots_ && changed && !roots_->active_root_id.empty()) ++stats_.root_changes;
    roots_ = std::move(v);
    roots_index_ = std::max<uint64_t>(r->meta.index, 1);
    answer_roots_waiters(calls, false);
    if (!roots_->trust_domain.empty()) {
      for (auto& s : waiting_for_roots_) to_sign.push_back(std::move(s));
      waiting_for_roots_.clear();
    }
    if (changed && !roots_->active_root_id.empty()) {
      std::string active_key_id;
      for (const auto& root : roots_->roots)
        if (root.active) active_key_id = root.signing_key_id;
      for (auto& [name, e] : entries_) {
        if (!e.cert || e.authority_key_id == active_key_id) continue;
        if (e.signing) {
          e.renew_again = true;
          continue;
        }
        e.signing = true;
        to_sign.push_back(name);
      }
    }
  }
  for (auto& c : calls) c();
  for (const auto& s : to_sign) sign(s);
  watch_roots();
}

void LeafCache::sign(const std::string& service) {
  std::string td;
  {
    std::lock_guard lock(mu_);
    if (stopped_) return;
    if (!roots_ || roots_->trust_domain.empty()) {
      waiting_for_roots_.push_back(service);
      return;
    }
    td = roots_->trust_domain;
  }
  std::string uri = "spiffe://" + td + "/ns/default/dc/" + options_.datacenter + "/svc/" + service;
  auto key = x509::generate_key("ec", 256);
  Result<std::string> csr = key.ok() ? x509::make_csr(*key, {service, uri, {}}) : Result<std::string>(key.error());
  if (!csr.ok()) return on_signed(service, "", csr.error());
  rpc::WriteOptions o;
  o.token = options_.token;
  std::weak_ptr<LeafCache> weak = shared_from_this();
  rpc_->write(std::move(o), rpc::ConnectCASign{*csr},
              [weak, service, key = *key](Result<rpc::WriteResponse> r) {
                if (auto self = weak.lock()) self->on_signed(service, key, std::move(r));
              });
}

void LeafCache::on_signed(const std::string& service, std::string key, Result<rpc::WriteResponse> r) {
  Calls calls;
  bool again = false;
  {
    std::lock_guard lock(mu_);
    if (stopped_) return;
    Entry& e = entries_[service];
    e.signing = false;
    if (r.ok() && r->value.index() != rpc::IndexOf<rpc::ConnectCASign, rpc::Write>::value)
      r = Error(errc::internal, "wrong response type to ConnectCASign");
    std::optional<x509::CertInfo> info;
    if (r.ok()) {
      auto parsed = x509::read_cert(rpc::value_of<rpc::ConnectCASign>(*r).cert_pem);
      if (parsed.ok()) {
        info = std::move(*parsed);
      } else {
        r = parsed.error();
      }
    }
    if (!r.ok()) {
      ++stats_.sign_failures;
      e.backoff = next_backoff(e.backoff, options_);
      log::warn("connect", "signing the leaf of {} failed: {}", service, r.error().message());
      if (!e.cert) {
        // No leaf to serve: the callers get the error (Consul's first fetch does too).
        answer_leaf_waiters(e, calls, true, r.error());
      } else {
        renew_soon(service, e, e.backoff, calls);
      }
    } else {
      api::IssuedCert cert = std::move(rpc::value_of<rpc::ConnectCASign>(*r));
      cert.private_key_pem = std::move(key);
      ++next_index_;
      cert.raft = {next_index_, next_index_};
      if (e.cert) ++stats_.renewals;
      ++stats_.signs;
      e.cert = std::move(cert);
      e.authority_key_id = info->authority_key_id;
      e.backoff = Duration(0);
      answer_leaf_waiters(e, calls, false, std::nullopt);
      schedule_renewal(service, e, calls);
      if (e.renew_again) {
        e.renew_again = false;
        std::string active_key_id;
        if (roots_)
          for (const auto& root : roots_->roots)
            if (root.active) active_key_id = root.signing_key_id;
        if (!active_key_id.empty() && active_key_id != e.authority_key_id) {
          e.signing = true;
          again = true;
        }
      }
    }
  }
  for (auto& c : calls) c();
  if (again) sign(service);
}

void LeafCache::schedule_renewal(const std::string& service, Entry& e, Calls& calls) {
  auto after = x509::parse_rfc3339(e.cert->valid_after);
  auto before = x509::parse_rfc3339(e.cert->valid_before);
  if (!after.ok() || !before.ok()) return;
  Duration life = before->since_unix_epoch - after->since_unix_epoch;
  // At 50-60% of the lifetime: half-life, spread so that leaves issued
  // together do not all come back at once.
  double fraction = 0.5 + 0.1 * static_cast<double>(rng_.uniform(1000)) / 1000.0;
  e.renew_at = WallTime{after->since_unix_epoch +
                        std::chrono::duration_cast<Duration>(std::chrono::duration<double, std::nano>(
                            static_cast<double>(life.count()) * fraction))};
  Duration delay = e.renew_at.since_unix_epoch - clock_.wall_now().since_unix_epoch;
  renew_soon(service, e, std::max(delay, Duration(0)), calls);
}

void LeafCache::renew_soon(const std::string& service, Entry& e, Duration after, Calls&) {
  if (e.renew_timer) e.renew_timer->cancel();
  std::weak_ptr<LeafCache> weak = shared_from_this();
  e.renew_timer = scheduler_.after(after, [weak, service] {
    auto self = weak.lock();
    if (!self) return;
    {
      std::lock_guard lock(self->mu_);
      if (self->stopped_) return;
      Entry& en = self->entries_[service];
      if (en.signing) return;
      en.signing = true;
    }
    self->sign(service);
  });
}

void LeafCache::answer_leaf_waiters(Entry& e, Calls& calls, bool all, std::optional<Error> error) {
  for (auto it = e.waiters.begin(); it != e.waiters.end();) {
    Waiter& w = it->second;
    bool ready = all || (e.cert && (w.min_index == 0 || e.cert->raft.modify_index > w.min_index));
    if (!ready) {
      ++it;
      continue;
    }
    if (w.timer) w.timer->cancel();
    if (error) {
      calls.push_back([done = std::move(w.done), err = *error] { done(err); });
    } else {
      calls.push_back([done = std::move(w.done), cert = *e.cert] { done(cert); });
    }
    it = e.waiters.erase(it);
  }
}

void LeafCache::answer_roots_waiters(Calls& calls, bool all) {
  for (auto it = roots_waiters_.begin(); it != roots_waiters_.end();) {
    RootsWaiter& w = it->second;
    bool ready = all || (roots_ && (w.min_index == 0 || roots_index_ > w.min_index));
    if (!ready) {
      ++it;
      continue;
    }
    if (w.timer) w.timer->cancel();
    if (roots_) {
      calls.push_back([done = std::move(w.done), v = std::make_pair(*roots_, roots_index_)] { done(v); });
    } else {
      calls.push_back([done = std::move(w.done)] { done(Error(errc::cancelled, "agent shutting down")); });
    }
    it = roots_waiters_.erase(it);
  }
}

std::optional<WallTime> LeafCache::renew_at(const std::string& service) const {
  std::lock_guard lock(mu_);
  auto it = entries_.find(service);
  if (it == entries_.end() || !it->second.cert) return std::nullopt;
  return it->second.renew_at;
}

LeafStats LeafCache::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

void LeafCache::stop() {
  Calls calls;
  {
    std::lock_guard lock(mu_);
    if (stopped_) return;
    stopped_ = true;
    Error cancelled(errc::cancelled, "agent shutting down");
    for (auto& [name, e] : entries_) {
      if (e.renew_timer) e.renew_timer->cancel();
      answer_leaf_waiters(e, calls, true, cancelled);
    }
    for (auto& [id, w] : roots_waiters_) {
      if (w.timer) w.timer->cancel();
      calls.push_back([done = std::move(w.done), cancelled] { done(cancelled); });
    }
    roots_waiters_.clear();
  }
  for (auto& c : calls) c();
}

}  // namespace cairn::agent::connect
