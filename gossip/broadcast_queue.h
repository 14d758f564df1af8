// The dissemination buffer of SWIM §4.1: updates ride on outgoing packets,
// each sent at most retransmit_limit = λ · ceil(log10(n + 1)) times, the
// least-transmitted (and among equals the newest) first — memberlist's
// TransmitLimitedQueue. A newer update about the same member replaces the
// older one (its key), so stale news never crowds out fresh news.
//
// The queue holds at most max_depth messages: past that the most-transmitted
// (and among equals the oldest) are dropped first, as serf prunes its own
// queues. They have been sent the most, so they have spread the furthest,
// and push-pull repairs whatever they did not reach. Without a bound, a mass
// join queues one alive message per joiner in every member (10,000 members
// joining 10 ms apart: thousands per member, gigabytes in all).
//
// Thread-safety: owned by one Membership.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>

namespace cairn::gossip {

// λ · ceil(log10(n + 1)), n = members we know of.
uint32_t retransmit_limit(uint32_t retransmit_mult, std::size_t n);

class BroadcastQueue {
 public:
  explicit BroadcastQueue(std::size_t max_depth = 1024) : max_depth_(max_depth) {}

  // Adds an already-encoded message. A non-empty key invalidates any queued
  // message with the same key; an empty key never collides (user events).
  void queue(std::string key, std::string encoded);

  // Appends to `out` queued messages that fit in `budget` bytes, counting
  // `overhead` extra bytes per message, and counts one transmission for
  // each; those that reach `limit` are dropped. Returns bytes appended.
  std::size_t fill(std::string& out, std::size_t budget, std::size_t overhead, uint32_t limit);

  // Transmissions so far of the message queued under `key`, or nullopt once
  // it has been sent `limit` times (or was never queued).
  std::optional<uint32_t> transmits(const std::string& key) const;

  std::size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }

 private:
  // Order: fewest transmits first, then newest (highest id) first.
  using Order = std::pair<uint32_t, uint64_t>;  // (transmits, ~id)
  struct Entry {
    std::string key;
    std::string encoded;
  };
  using Entries = std::map<Order, Entry>;
  void drop(Entries::iterator it);

  // A map node keeps its address while fill() extracts and reinserts it
  // with a new order, so by_key_ points at the element and need not be
  // updated on every transmission (one hash lookup per message, not per
  // send).
  Entries entries_;
  std::unordered_map<std::string, const Entries::value_type*> by_key_;
  std::size_t max_depth_;
  uint64_t next_id_ = 0;
};

}  // namespace cairn::gossip
