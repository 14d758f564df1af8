// A tiny in-memory network for unit tests of Membership: members exchange
// packets instantly (FIFO) on each step of a manual clock; a drop hook cuts
// chosen links. Larger, lossy, delayed runs belong to test/sim/gossip.
#pragma once

#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/rng.h"
#include "gossip/membership.h"

namespace cairn::gossip::testing {

using namespace std::chrono_literals;

inline std::string addr_of(uint32_t i) { return "10.0.0." + std::to_string(i) + ":8301"; }
inline std::string name_of(uint32_t i) { return "n" + std::to_string(i); }

class Net {
 public:
  explicit Net(std::size_t n, Config config = Config::local(), uint64_t seed = 1) : config_(config) {
    for (uint32_t i = 0; i < n; ++i) {
      auto m = Membership::create(config, LocalNode{name_of(i), addr_of(i), {{"role", "web"}}},
                                  std::make_unique<SeededRng>(seed * 97 + i), now_);
      members_.push_back(std::move(m).value());
    }
    up_.assign(n, true);
    events_.resize(n);
  }

  Membership& m(uint32_t i) { return members_[i]; }
  Instant now() const { return now_; }
  void crash(uint32_t i) { up_[i] = false; }

  // Joins every member through member 0 and runs until all see all.
  void join_all() {
    for (uint32_t i = 1; i < members_.size(); ++i) members_[i].join(now_, {addr_of(0)});
    deliver();
    run(2s);
  }

  // Advances the clock in `step`s, ticking live members and delivering.
  void run(Duration d, Duration step = 20ms) {
    Instant end = now_ + d;
    while (now_ < end) {
      now_ += step;
      for (uint32_t i = 0; i < members_.size(); ++i)
        if (up_[i]) members_[i].tick(now_);
      deliver();
    }
  }

  // Delivers until quiet.
  void deliver() {
    for (uint32_t i = 0; i < members_.size(); ++i) collect(i);
    while (!queue_.empty()) {
      auto [from, p] = std::move(queue_.front());
      queue_.pop_front();
      uint32_t to = static_cast<uint32_t>(std::stoul(p.to.substr(7)));
      if (to >= members_.size() || !up_[to] || (drop && drop(from, to, p))) continue;
      (void)members_[to].receive(now_, addr_of(from), p.transport, p.bytes);
      collect(to);
    }
  }

  // Everything member i reported so far.
  Ready& events(uint32_t i) { return events_[i]; }
  // Packets member i sent so far.
  std::vector<Packet>& sent(uint32_t i) { return sent_[i]; }

  std::function<bool(uint32_t from, uint32_t to, const Packet&)> drop;

 private:
  void collect(uint32_t i) {
    Ready r = members_[i].take_ready();
    if (sent_.size() < members_.size()) sent_.resize(members_.size());
    for (auto& p : r.packets) {
      sent_[i].push_back(p);
      queue_.emplace_back(i, std::move(p));
    }
    auto append = [](auto& to, auto& from) { to.insert(to.end(), from.begin(), from.end()); };
    append(events_[i].members, r.members);
    append(events_[i].user_events, r.user_events);
    append(events_[i].queries, r.queries);
    append(events_[i].responses, r.responses);
    append(events_[i].finished_queries, r.finished_queries);
  }

  Config config_;
  Instant now_{};
  std::vector<Membership> members_;
  std::vector<bool> up_;
  std::vector<Ready> events_;
  std::vector<std::vector<Packet>> sent_;
  std::deque<std::pair<uint32_t, Packet>> queue_;
};

}  // namespace cairn::gossip::testing
