#include "core/io/asio_scheduler.h"

#include <boost/asio/steady_timer.hpp>

namespace cairn {
namespace {

class AsioTimer final : public TimerHandle {
 public:
  explicit AsioTimer(boost::asio::any_io_executor ex) : timer_(ex) {}
  void cancel() override {
    // Cancel on the timer's executor: the timer is not thread-safe.
    boost::asio::post(timer_.get_executor(), [self = self_.lock()] {
      if (self) self->timer_.cancel();
    });
  }
  boost::asio::steady_timer timer_;
  std::weak_ptr<AsioTimer> self_;
};

}  // namespace

std::shared_ptr<TimerHandle> AsioScheduler::after(Duration delay, std::function<void()> fn) {
  auto t = std::make_shared<AsioTimer>(executor_);
  t->self_ = t;
  t->timer_.expires_after(delay);
  t->timer_.async_wait([t, fn = std::move(fn)](const boost::system::error_code& ec) {
    if (!ec) fn();
  });
  return t;
}

}  // namespace cairn
