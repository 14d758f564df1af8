// Hand-offs without waking another io thread (raft/io/README.md, "Hand-offs";
// docs/benchmarks.md, Raft). Included by raft/io sources only (Asio).
//
// Asio queues a completion on the scheduler's shared queue and interrupts an
// idle io thread when work is *posted*, when a parked steady_timer is
// *cancelled* and when a pending timer is re-armed. On the commit path that
// happened several times per message (the Ready loop's wake timer, the peer
// writer's wake timer, a deadline re-armed around every frame read and every
// batch written), and on 2 shared cores each interruption is a context switch.
// `Wakeup` resumes a parked coroutine with asio::defer — queued on the
// notifying io thread, run right after its current handler — and
// `LazyDeadline` moves a deadline by storing a time point, its timer re-armed
// only from its own completion.
#pragma once

#include <chrono>
#include <functional>
#include <memory>

#include "core/io/pch.h"

namespace cairn::raft::detail {

namespace asio = boost::asio;

// One coroutine parks on it at a time; notify() and wait() run on `ex` (a strand).
template <typename Executor>
class Wakeup {
 public:
  explicit Wakeup(Executor ex) : ex_(std::move(ex)) {}

  asio::awaitable<void> wait() {
    co_await asio::async_initiate<decltype(asio::use_awaitable), void()>(
        [this](auto handler) { parked_ = std::make_unique<Parked<decltype(handler)>>(std::move(handler)); },
        asio::use_awaitable);
  }
  bool waiting() const { return parked_ != nullptr; }
  // Resumes the parked coroutine (if any) after the current handler.
  void notify() {
    if (!parked_) return;
    asio::defer(ex_, [h = std::shared_ptr<ParkedBase>(std::move(parked_))] { h->resume(); });
  }

 private:
  struct ParkedBase {
    virtual ~ParkedBase() = default;
    virtual void resume() = 0;
  };
  template <typename Handler>
  struct Parked final : ParkedBase {
    explicit Parked(Handler&& h) : handler(std::move(h)) {}
    void resume() override { std::move(handler)(); }
    Handler handler;
  };
  Executor ex_;
  std::unique_ptr<ParkedBase> parked_;  // the coroutine's completion handler while it waits
};

// A deadline that moves for free. expires_after()/disarm() store a time point;
// run() sleeps until the stored point or `granularity`, whichever is sooner,
// and calls on_expire() once the point has passed. A deadline moved earlier
// than the current sleep is therefore noticed up to `granularity` late.
class LazyDeadline : public std::enable_shared_from_this<LazyDeadline> {
 public:
  using Clock = std::chrono::steady_clock;
  template <typename Executor>
  LazyDeadline(Executor ex, Clock::duration granularity)
      : timer_(std::move(ex)), granularity_(std::max<Clock::duration>(granularity, std::chrono::milliseconds(1))) {}

  void expires_after(Clock::duration d) { at_ = Clock::now() + d; }
  void disarm() { at_ = Clock::time_point::max(); }
  // Ends run() without calling on_expire.
  void stop() {
    stopped_ = true;
    timer_.cancel();
  }
  // co_spawn it on the timer's executor (the one that moves the deadline).
  asio::awaitable<void> run(std::function<void()> on_expire) {
    auto self = shared_from_this();
    while (!stopped_) {
      auto now = Clock::now();
      if (now >= at_) {
        on_expire();
        co_return;
      }
      timer_.expires_at(at_ - now < granularity_ ? at_ : now + granularity_);
      co_await timer_.async_wait(asio::as_tuple(asio::use_awaitable));
    }
  }

 private:
  asio::steady_timer timer_;
  Clock::duration granularity_;
  Clock::time_point at_ = Clock::time_point::max();
  bool stopped_ = false;
};

}  // namespace cairn::raft::detail
