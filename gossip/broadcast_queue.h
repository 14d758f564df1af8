// The dissemination buffer of SWIM §4.1: updates ride on outgoing packets,
// each sent at most retransmit_limit = λ · ceil(log10(n + 1)) times, the
// least-transmitted (and among equals the newest) first — memberlist's
// TransmitLimitedQueue. A newer update about the same member replaces the
// older one (its key), so stale news never crowds out fresh news.
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
  std::map<Order, Entry> entries_;
  std::unordered_map<std::string, Order> by_key_;
  uint64_t next_id_ = 0;
};

}  // namespace cairn::gossip
