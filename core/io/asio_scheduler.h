// A Scheduler whose callbacks run on one Asio executor (normally a strand),
// so that strand-confined state (a WaitQueue) needs no lock.
#pragma once

#include <boost/asio/any_io_executor.hpp>

#include "core/scheduler.h"

namespace cairn {

class AsioScheduler final : public Scheduler {
 public:
  explicit AsioScheduler(boost::asio::any_io_executor executor) : executor_(std::move(executor)) {}
  std::shared_ptr<TimerHandle> after(Duration delay, std::function<void()> fn) override;

 private:
  boost::asio::any_io_executor executor_;
};

}  // namespace cairn
