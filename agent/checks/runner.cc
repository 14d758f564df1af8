// make_runner(): every check is a Monitor on one strand of the runtime's
// io_context. Polling kinds are a coroutine each (stagger, probe under a
// deadline, thresholds, sleep an interval); TTL checks a timer; alias checks
// of this node re-evaluate on local_changed(), of another node they follow
// blocking HealthNode queries. Thousands of checks cost timers and sockets,
// never threads.
//
// Thread-safety: the Runner's methods may be called from any thread; they
// validate at once (so add() can answer 400), keep an ID -> kind table under
// a small mutex (so update_ttl() can answer 404), and post the work to the
// strand. `report` is called on the strand, never after the Runner is gone.
#include "agent/checks/runner.h"

#include <atomic>
#include <map>
#include <mutex>

#include <boost/asio.hpp>

#include "agent/checks/plan.h"
#include "agent/checks/probe.h"
#include "api/rpc.h"
#include "core/io/random.h"
#include "core/io/runtime.h"
#include "core/log.h"

namespace cairn::agent::checks {

namespace asio = boost::asio;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

namespace {

using Strand = asio::strand<asio::io_context::executor_type>;

// Alias checks of another node: how long a blocking query waits, and the
// retry backoff while no server answers.
constexpr Duration kAliasWait = std::chrono::minutes(5);
constexpr Duration kAliasRetryMin = std::chrono::seconds(1);
constexpr Duration kAliasRetryMax = std::chrono::seconds(30);

struct Monitor {
  Monitor(Strand& strand, api::CheckDefinition c, CheckPlan p)
      : check(std::move(c)),
        plan(std::move(p)),
        thresholds(plan.success_before_passing, plan.failures_before_warning, plan.failures_before_critical),
        last_status(plan.initial_status),
        timer(strand) {}
  int64_t output_max = 4096;  // the agent's limit, lowered by the check's OutputMaxSize
  api::CheckDefinition check;
  CheckPlan plan;
  Thresholds thresholds;
  std::string last_status;
  std::string last_output;
  asio::steady_timer timer;
  std::shared_ptr<ProbeGuard> guard;  // of the probe in flight
  bool stopped = false;
  uint64_t ttl_generation = 0;
  uint64_t alias_index = 0;
  Duration alias_retry = kAliasRetryMin;
  bool alias_pause = false;
};

class Core : public std::enable_shared_from_this<Core> {
 public:
  explicit Core(RunnerEnv env)
      : env_(std::move(env)), strand_(asio::make_strand(env_.runtime->io())), rng_(make_system_rng()) {}

  Status add(const api::CheckDefinition& check, Origin origin) {
    if (check.id.empty()) return Error(errc::invalid_argument, "Check ID (CheckID) is missing");
    CAIRN_TRY(CheckPlan plan, plan_check(check, origin, {env_.enable_script_checks, env_.enable_local_script_checks}));
    CAIRN_RETURN_IF_ERROR(validate_target(plan.kind, check.definition));
    {
      std::lock_guard lock(mu_);
      kinds_[check.id] = plan.kind;
    }
    asio::post(strand_, [self = shared_from_this(), check, plan = std::move(plan)]() mutable {
      self->start(std::move(check), std::move(plan));
    });
    return ok_status();
  }

  void remove(const std::string& id) {
    {
      std::lock_guard lock(mu_);
      kinds_.erase(id);
    }
    asio::post(strand_, [self = shared_from_this(), id] {
      auto it = self->monitors_.find(id);
      if (it == self->monitors_.end()) return;
      stop(*it->second);
      self->monitors_.erase(it);
    });
  }

  Status update_ttl(const std::string& id, const std::string& status, const std::string& output) {
    if (status != api::kHealthPassing && status != api::kHealthWarning && status != api::kHealthCritical) {
      return Error(errc::invalid_argument, "Status must be passing, warning or critical, got \"" + status + "\"");
    }
    {
      std::lock_guard lock(mu_);
      auto it = kinds_.find(id);
      if (it == kinds_.end() || it->second != "ttl") {
        return Error(errc::not_found, "CheckID \"" + id + "\" does not have associated TTL");
      }
    }
    asio::post(strand_, [self = shared_from_this(), id, status, output] {
      auto it = self->monitors_.find(id);
      if (it == self->monitors_.end() || it->second->plan.kind != "ttl") return;
      self->report(*it->second, status, output);
      self->arm_ttl(it->second);
    });
    return ok_status();
  }

  void local_changed() {
    asio::post(strand_, [self = shared_from_this()] {
      for (auto& [id, m] : self->monitors_) {
        if (self->is_local_alias(*m)) self->evaluate_local_alias(*m);
      }
    });
  }

  // Called by ~Runner: no report after this returns; probes are cancelled
  // and scripts killed.
  void shutdown() {
    {
      std::lock_guard lock(report_mu_);
      stopped_ = true;
    }
    asio::post(strand_, [self = shared_from_this()] {
      for (auto& [id, m] : self->monitors_) stop(*m);
      self->monitors_.clear();
    });
    processes_.kill_all();
  }

 private:
  static void stop(Monitor& m) {
    m.stopped = true;
    m.timer.cancel();
    if (m.guard) m.guard->fire(false);
  }

  bool is_local_alias(const Monitor& m) const {
    return m.plan.kind == "alias" && (m.check.definition.alias_node.empty() || m.check.definition.alias_node == env_.node_name);
  }

  // On the strand.
  void start(api::CheckDefinition check, CheckPlan plan) {
    if (auto it = monitors_.find(check.id); it != monitors_.end()) {
      stop(*it->second);
      monitors_.erase(it);
    }
    if (stopped_) return;
    auto m = std::make_shared<Monitor>(strand_, std::move(check), std::move(plan));
    // As Consul: a check's OutputMaxSize may only lower the agent's limit.
    m->output_max = env_.output_max_size > 0 ? env_.output_max_size : 4096;
    const auto own = static_cast<int64_t>(m->check.definition.output_max_size);
    if (own > 0 && own < m->output_max) m->output_max = own;
    monitors_[m->check.id] = m;
    const auto& kind = m->plan.kind;
    if (kind == "ttl") {
      arm_ttl(m);
    } else if (kind == "alias") {
      if (is_local_alias(*m)) {
        evaluate_local_alias(*m);
      } else {
        alias_query(m);
      }
    } else {
      auto stagger = Duration(rng_->uniform(static_cast<uint64_t>(m->plan.interval.count())));
      asio::co_spawn(strand_, poll(shared_from_this(), m, stagger), [id = m->check.id](std::exception_ptr e) {
        if (!e) return;
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& ex) {
          log::error("checks", "check {} stopped: {}", id, ex.what());
        }
      });
    }
  }

  // Thresholds, then report a change (polling kinds).
  void record(Monitor& m, const Outcome& o) {
    std::string status = m.thresholds.apply(o.status);
    if (!status.empty()) report(m, status, o.output);
  }

  void report(Monitor& m, const std::string& status, const std::string& output) {
    std::string out = truncate_output(output, m.output_max);
    if (m.stopped || (status == m.last_status && out == m.last_output)) return;
    m.last_status = status;
    m.last_output = out;
    std::lock_guard lock(report_mu_);
    if (stopped_ || !env_.report) return;
    env_.report(StatusUpdate{m.check.id, status, out});
  }

  static asio::awaitable<Outcome> run_probe(ProbeContext& pc, const Monitor& m) {
    const auto& kind = m.plan.kind;
    const auto& d = m.check.definition;
    try {
      if (kind == "tcp") co_return co_await probe_tcp(pc, d);
      if (kind == "udp") co_return co_await probe_udp(pc, d);
      if (kind == "http") co_return co_await probe_http(pc, d);
      if (kind == "script") co_return co_await probe_script(pc, d);
      if (kind == "h2ping") co_return co_await probe_h2ping(pc, d);
      if (kind == "grpc") co_return co_await probe_grpc(pc, d);
    } catch (const std::exception& e) {
      co_return Outcome{std::string(api::kHealthCritical), e.what()};
    }
    co_return Outcome{std::string(api::kHealthCritical), "Check type is not valid"};
  }

  // One polling check: first run after `stagger`, then every interval after
  // the previous run ended (as Consul: runs never overlap).
  static asio::awaitable<void> poll(std::shared_ptr<Core> self, std::shared_ptr<Monitor> m, Duration stagger) {
    m->timer.expires_after(stagger);
    co_await m->timer.async_wait(kTuple);
    while (!m->stopped) {
      auto guard = std::make_shared<ProbeGuard>();
      m->guard = guard;
      ProbeContext pc{self->strand_, m->plan.timeout, m->output_max, guard.get(), &self->tls_,
                      &self->processes_};
      asio::steady_timer deadline(self->strand_);
      deadline.expires_after(m->plan.timeout);
      deadline.async_wait([guard](boost::system::error_code ec) {
        if (!ec) guard->fire(true);
      });
      Outcome outcome = co_await run_probe(pc, *m);
      deadline.cancel();
      m->guard.reset();
      if (m->stopped) break;
      self->record(*m, outcome);
      m->timer.expires_after(m->plan.interval);
      co_await m->timer.async_wait(kTuple);
    }
  }

  void arm_ttl(const std::shared_ptr<Monitor>& m) {
    uint64_t generation = ++m->ttl_generation;
    m->timer.expires_after(m->plan.ttl);
    m->timer.async_wait([weak = weak_from_this(), m, generation](boost::system::error_code ec) {
      auto self = weak.lock();
      if (ec || !self || m->stopped || generation != m->ttl_generation) return;
      // Consul's CheckTTL.getExpiredOutput.
      std::string output = m->last_output.empty()
                               ? "TTL expired"
                               : "TTL expired (last output before timeout follows): " + m->last_output;
      self->report(*m, std::string(api::kHealthCritical), output);
    });
  }

  // Consul's CheckAlias.processChecks: the worst status of the aliased
  // checks; none is passing; an absent service is critical.
  void alias_result(Monitor& m, const std::vector<api::HealthCheck>& checks, bool service_exists) {
    const auto& d = m.check.definition;
    std::string health(api::kHealthPassing);
    std::string msg = "No checks found.";
    bool found = false;
    for (const auto& c : checks) {
      if (c.check_id == m.check.id && c.service_id == m.check.service_id) continue;  // never itself
      if (!d.alias_node.empty() && !c.node.empty() && c.node != d.alias_node) continue;
      bool match = c.service_id == d.alias_service;
      if (!c.service_id.empty() && !match) continue;
      if (match) found = true;
      if (c.status == api::kHealthCritical || c.status == api::kHealthWarning) {
        if (health != api::kHealthCritical) {
          health = c.status;
          msg = "Aliased check \"" + c.name + "\" failing: " + c.output;
        }
      } else if (health == api::kHealthPassing) {
        msg = "All checks passing.";
      }
    }
    if (!found && !d.alias_service.empty() && !service_exists) {
      health = std::string(api::kHealthCritical);
      msg = "Service " + d.alias_service + " could not be found on node " +
            (d.alias_node.empty() ? env_.node_name : d.alias_node);
    }
    report(m, health, msg);
  }

  void evaluate_local_alias(Monitor& m) {
    const auto& service = m.check.definition.alias_service;
    std::vector<api::HealthCheck> checks;
    if (env_.local_checks) checks = env_.local_checks(service);
    bool exists = service.empty() || !env_.local_service_exists || env_.local_service_exists(service);
    alias_result(m, checks, exists);
  }

  // Runs `fn(self, m)` on the strand if the runner and monitor still live.
  template <typename Fn>
  auto on_strand(const std::shared_ptr<Monitor>& m, Fn fn) {
    return [weak = weak_from_this(), weak_m = std::weak_ptr<Monitor>(m), fn = std::move(fn)](auto result) mutable {
      auto self = weak.lock();
      if (!self) return;
      asio::post(self->strand_, [weak_self = std::weak_ptr<Core>(self), weak_m, fn = std::move(fn),
                                 result = std::move(result)]() mutable {
        auto s = weak_self.lock();
        auto mon = weak_m.lock();
        if (s && mon && !mon->stopped) fn(*s, mon, std::move(result));
      });
    };
  }

  // The next query of an alias check of another node, after `delay`.
  void alias_after(const std::shared_ptr<Monitor>& m, Duration delay) {
    m->timer.expires_after(delay);
    m->timer.async_wait([weak = weak_from_this(), m](boost::system::error_code ec) {
      auto self = weak.lock();
      if (!ec && self && !m->stopped) self->alias_query(m);
    });
  }

  void alias_retry(const std::shared_ptr<Monitor>& m) {
    alias_after(m, m->alias_retry);
    m->alias_retry = std::min(m->alias_retry * 2, kAliasRetryMax);
  }

  void alias_query(const std::shared_ptr<Monitor>& m) {
    if (m->alias_pause) {
      m->alias_pause = false;
      return alias_after(m, kAliasRetryMin);
    }
    auto handler = env_.rpc ? env_.rpc() : nullptr;
    if (!handler) return alias_retry(m);
    api::rpc::QueryOptions options;
    options.min_index = m->alias_index;
    options.max_wait = kAliasWait;
    options.consistency = api::rpc::Consistency::stale;
    handler->query(options, api::rpc::HealthNode{m->check.definition.alias_node},
                   on_strand(m, [](Core& self, std::shared_ptr<Monitor> m, Result<api::rpc::QueryResponse> r) {
                     if (!r.ok()) return self.alias_retry(m);
                     m->alias_retry = kAliasRetryMin;
                     const uint64_t previous = m->alias_index;
                     // An index that went back (a restored snapshot) restarts the watch.
                     m->alias_index = r->meta.index >= previous ? r->meta.index : 0;
                     // An answer that did not move the index (the wait ran out, or a
                     // server that does not block) is followed by a pause, never a spin.
                     m->alias_pause = previous != 0 && r->meta.index <= previous;
                     auto checks = api::rpc::value_of<api::rpc::HealthNode>(*r);
                     self.alias_remote_checks(m, std::move(checks));
                   }));
  }

  // The service's checks are known; when it has none, ask the catalog
  // whether the service exists at all before the next blocking query.
  void alias_remote_checks(const std::shared_ptr<Monitor>& m, std::vector<api::HealthCheck> checks) {
    const auto& d = m->check.definition;
    bool found = d.alias_service.empty();
    for (const auto& c : checks) found = found || c.service_id == d.alias_service;
    auto handler = env_.rpc ? env_.rpc() : nullptr;
    if (found || !handler) {
      alias_result(*m, checks, true);
      return alias_query(m);
    }
    api::rpc::QueryOptions options;
    options.consistency = api::rpc::Consistency::stale;
    handler->query(options, api::rpc::CatalogNodeServices{d.alias_node},
                   on_strand(m, [checks = std::move(checks)](Core& self, std::shared_ptr<Monitor> m,
                                                             Result<api::rpc::QueryResponse> r) {
                     if (!r.ok()) return self.alias_retry(m);
                     bool exists = false;
                     const auto& services = api::rpc::value_of<api::rpc::CatalogNodeServices>(*r);
                     if (services) {
                       for (const auto& s : services->services) exists = exists || s.id == m->check.definition.alias_service;
                     }
                     self.alias_result(*m, checks, exists);
                     self.alias_query(m);
                   }));
  }

  RunnerEnv env_;
  Strand strand_;
  std::unique_ptr<Rng> rng_;
  TlsContexts tls_;
  ProcessTable processes_;
  std::map<std::string, std::shared_ptr<Monitor>> monitors_;  // strand
  std::mutex mu_;
  std::map<std::string, std::string> kinds_;  // ID -> kind, under mu_
  std::mutex report_mu_;
  std::atomic<bool> stopped_{false};
};

class RunnerImpl : public Runner {
 public:
  explicit RunnerImpl(RunnerEnv env) : core_(std::make_shared<Core>(std::move(env))) {}
  ~RunnerImpl() override { core_->shutdown(); }
  Status add(const api::CheckDefinition& check, Origin origin) override { return core_->add(check, origin); }
  void remove(const std::string& check_id) override { core_->remove(check_id); }
  Status update_ttl(const std::string& check_id, const std::string& status, const std::string& output) override {
    return core_->update_ttl(check_id, status, output);
  }
  void local_changed() override { core_->local_changed(); }

 private:
  std::shared_ptr<Core> core_;
};

}  // namespace

std::unique_ptr<Runner> make_runner(RunnerEnv env) { return std::make_unique<RunnerImpl>(std::move(env)); }

}  // namespace cairn::agent::checks
