#include "core/io/runtime.h"

#include <csignal>
#include <cstdlib>
#include <thread>

#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/io_context.hpp>

#include "core/log.h"

namespace cairn {

namespace asio = boost::asio;

struct Runtime::Impl {
  asio::io_context io;
  std::unique_ptr<asio::signal_set> signals;
  asio::executor_work_guard<asio::io_context::executor_type> work = asio::make_work_guard(io);
  int signal_count = 0;
  std::function<void()> on_signal;
  std::unique_ptr<asio::signal_set> reload_signals;
  std::function<void()> on_reload;

  void arm();
  void arm_reload();
};

Runtime::Runtime() : impl_(std::make_unique<Impl>()) {}
Runtime::~Runtime() = default;

asio::io_context& Runtime::io() { return impl_->io; }

void Runtime::on_shutdown_signal(std::function<void()> fn) {
  impl_->on_signal = std::move(fn);
  impl_->signals = std::make_unique<asio::signal_set>(impl_->io, SIGINT, SIGTERM);
  impl_->arm();
}

void Runtime::Impl::arm() {
  signals->async_wait([this](const boost::system::error_code& ec, int signo) {
    if (ec) return;
    if (++signal_count > 1) {
      log::warn("agent", "second signal {}: exiting now", signo);
      std::_Exit(1);
    }
    log::info("agent", "caught signal {}: shutting down gracefully", signo);
    arm();  // a second signal exits at once
    on_signal();
  });
}

void Runtime::on_reload_signal(std::function<void()> fn) {
  impl_->on_reload = std::move(fn);
  impl_->reload_signals = std::make_unique<asio::signal_set>(impl_->io, SIGHUP);
  impl_->arm_reload();
}

void Runtime::Impl::arm_reload() {
  reload_signals->async_wait([this](const boost::system::error_code& ec, int) {
    if (ec) return;
    log::info("agent", "caught SIGHUP: reloading");
    arm_reload();
    on_reload();
  });
}

void Runtime::exit_after(std::chrono::nanoseconds after) {
  auto timer = std::make_shared<asio::steady_timer>(impl_->io, after);
  timer->async_wait([timer](const boost::system::error_code& ec) {
    if (ec) return;
    log::error("agent", "graceful shutdown did not finish in time: exiting");
    std::_Exit(1);
  });
}

void Runtime::run(unsigned threads) {
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  std::vector<std::thread> pool;
  for (unsigned i = 1; i < threads; ++i) pool.emplace_back([this] { impl_->io.run(); });
  impl_->io.run();
  for (auto& t : pool) t.join();
}

void Runtime::stop() {
  impl_->work.reset();
  if (impl_->signals) {
    boost::system::error_code ignored;
    impl_->signals->cancel(ignored);
  }
  if (impl_->reload_signals) {
    boost::system::error_code ignored;
    impl_->reload_signals->cancel(ignored);
  }
  impl_->io.stop();
}

}  // namespace cairn
