#include "agent/local/local_agent.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>

#include "agent/checks/runner.h"
#include "agent/local/store.h"
#include "agent/local/sync.h"
#include "core/io/asio_scheduler.h"
#include "core/io/random.h"
#include "core/io/runtime.h"
#include "core/io/system_clock.h"
#include "core/log.h"
#include "core/wait_queue.h"

namespace cairn::agent::local {

namespace asio = boost::asio;

struct LocalAgent::Impl {
  Impl(const Config& c, LocalAgentDeps d)
      : config(c),
        deps(std::move(d)),
        strand(asio::make_strand(deps.runtime->io())),
        scheduler(strand),
        rng(make_system_rng()),
        store(c.data_dir),
        state(LocalStateOptions{c.node_name, &SystemClock::instance(), &store, nullptr, c.check_output_max_size,
                                c.sidecar_min_port, c.sidecar_max_port}) {}

  Config config;
  LocalAgentDeps deps;
  asio::strand<asio::io_context::executor_type> strand;
  AsioScheduler scheduler;
  std::unique_ptr<Rng> rng;
  LocalStore store;
  LocalState state;
  std::unique_ptr<checks::Runner> runner;
  std::shared_ptr<SyncDriver> sync;
  WaitQueue changes{scheduler};  // blocking reads of local state (?hash)

  NodeIdentity identity() const {
    NodeIdentity n;
    n.id = config.node_id;
    n.name = config.node_name;
    n.address = deps.advertise_address ? deps.advertise_address() : std::string();
    n.datacenter = config.datacenter;
    n.tagged_addresses = node_tagged_addresses(n.address);
    n.meta = config.node_meta;
    return n;
  }
};

LocalAgent::LocalAgent(const Config& config, LocalAgentDeps deps)
    : impl_(std::make_unique<Impl>(config, std::move(deps))) {
  Impl* impl = impl_.get();
  checks::RunnerEnv env;
  env.runtime = impl->deps.runtime;
  env.node_name = config.node_name;
  env.enable_script_checks = config.enable_script_checks;
  env.enable_local_script_checks = config.enable_local_script_checks;
  env.output_max_size = config.check_output_max_size;
  env.local_checks = [impl](const std::string& id) { return impl->state.service_checks(id, false); };
  env.local_service_exists = [impl](const std::string& id) { return impl->state.service(id).has_value(); };
  env.rpc = impl->deps.rpc;
  env.report = [impl](checks::StatusUpdate u) {
    asio::post(impl->strand, [impl, u = std::move(u)] {
      Status st = impl->state.update_status(u.check_id, u.status, u.output);
      if (!st.ok() && !st.error().is(errc::not_found))
        log::warn("local", "check {}: status not recorded: {}", u.check_id, st.error().message());
    });
  };
  impl->runner = checks::make_runner(std::move(env));
  impl->state.set_runner(impl->runner.get());

  SyncDriver::Deps sd;
  sd.local = &impl->state;
  sd.scheduler = &impl->scheduler;
  sd.rng = impl->rng.get();
  sd.clock = &SystemClock::instance();
  sd.rpc = impl->deps.rpc;
  sd.cluster_size = impl->deps.cluster_size;
  sd.self = [impl] { return impl->identity(); };
  impl->sync = SyncDriver::create(std::move(sd));
  impl->state.set_on_change([impl, sync = std::weak_ptr<SyncDriver>(impl->sync)] {
    if (auto s = sync.lock()) s->trigger_partial();
    impl->changes.notify_all();  // on the local strand: writes run there
  });
}

LocalAgent::~LocalAgent() {
  if (impl_->sync) impl_->sync->stop();
  impl_->state.set_runner(nullptr);
  impl_->runner.reset();  // stops the probes; no report after this
}

void LocalAgent::start() {
  post([impl = impl_.get()] {
    impl->state.load_persisted();
    Status st = impl->state.apply_config(impl->config.services, impl->config.checks);
    if (!st.ok()) log::error("local", "a service or check of the configuration was not registered: {}", st.error().message());
    size_t services = impl->state.services().size(), checks = impl->state.checks().size();
    log::info("local", "local state: {} services, {} checks", services, checks);
    impl->sync->start();
  });
}

void LocalAgent::stop() {
  if (impl_->sync) impl_->sync->stop();
}

LocalState& LocalAgent::state() { return impl_->state; }

void LocalAgent::post(std::function<void()> fn) { asio::post(impl_->strand, std::move(fn)); }

void LocalAgent::wait_for_change(Duration timeout, std::function<void(bool woken)> fn) {
  impl_->changes.wait(timeout, std::move(fn));
}

void LocalAgent::reload(const Config& fresh, std::function<void(Status)> done) {
  post([impl = impl_.get(), services = fresh.services, checks = fresh.checks, done = std::move(done)] {
    Status st = impl->state.apply_config(services, checks);
    impl->config.services = services;
    impl->config.checks = checks;
    impl->sync->trigger_full();
    log::info("local", "reloaded the configuration's services and checks");
    done(std::move(st));
  });
}

bool LocalAgent::matches_user_event(const std::string& service_filter, const std::string& tag_filter) const {
  return user_event_matches(impl_->state.services(), service_filter, tag_filter);
}

}  // namespace cairn::agent::local
