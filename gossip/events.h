// Serf-style user events and queries on top of the membership core: Lamport
// clocks (Lamport 1978) order them, a ring of recent Lamport times
// de-duplicates them (serf's eventBuffer/queryBuffer), and a query table
// tracks open queries at the origin and answerable ones at responders.
//
// Thread-safety: owned by one Membership.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "gossip/messages.h"

namespace cairn::gossip {

class LamportClock {
 public:
  uint64_t time() const { return t_; }
  // Returns the current time and moves past it (serf: Time() then Increment()).
  uint64_t tick() { return t_++; }
  // Lamport's rule: never behind a time we have seen.
  void witness(uint64_t t) {
    if (t >= t_) t_ = t + 1;
  }

 private:
  uint64_t t_ = 0;
};

enum class Seen { fresh, duplicate, too_old };

// Remembers the items seen at each of the last `size` Lamport times.
template <typename T>
class LamportDedupe {
 public:
  explicit LamportDedupe(std::size_t size) : slots_(size) {}

  // `clock` is the current Lamport time (after witnessing ltime).
  Seen record(uint64_t ltime, uint64_t clock, const T& item) {
    uint64_t n = slots_.size();
    if (clock > n && ltime < clock - n) return Seen::too_old;
    Slot& s = slots_[ltime % n];
    if (s.used && s.ltime == ltime) {
      for (const auto& prev : s.items)
        if (prev == item) return Seen::duplicate;
    } else {
      s = Slot{true, ltime, {}};
    }
    s.items.push_back(item);
    return Seen::fresh;
  }

  // Calls f(ltime, item) for every remembered item (for push-pull catch-up).
  template <typename F>
  void for_each(F&& f) const {
    for (const auto& s : slots_)
      if (s.used)
        for (const auto& item : s.items) f(s.ltime, item);
  }

 private:
  struct Slot {
    bool used = false;
    uint64_t ltime = 0;
    std::vector<T> items;
  };
  std::vector<Slot> slots_;
};

struct EventKey {
  std::string name;
  std::string payload;
  friend bool operator==(const EventKey&, const EventKey&) = default;
};

// Glob match where '*' matches any run of characters (serf uses regular
// expressions; a glob keeps the pure core small and covers "web-*").
bool glob_match(std::string_view pattern, std::string_view text);

// Serf query filters: the node list (if any) must name us, and every tag
// filter must match our tag of that name.
bool query_matches(const QueryMessage& q, std::string_view self, const Tags& tags);

// Handle for answering a received query (given in QueryRequest).
struct QueryKey {
  uint64_t ltime = 0;
  uint32_t id = 0;
  std::string origin;
  friend auto operator<=>(const QueryKey&, const QueryKey&) = default;
};

class QueryTable {
 public:
  // --- origin side ---
  void open(uint32_t id, Instant deadline) { open_[id] = Open{deadline, {}}; }
  // True when this responder's (ack or response) is new for an open query.
  bool record_response(uint32_t id, const std::string& from, bool is_ack);
  // Ids whose deadline has passed; they are closed.
  std::vector<uint32_t> expire_open(Instant now);
  bool is_open(uint32_t id) const { return open_.count(id) != 0; }

  // --- responder side ---
  struct Answerable {
    std::string origin_addr;
    Instant deadline;
    uint8_t relay_factor = 0;
  };
  void answerable(QueryKey key, Answerable a) { pending_[std::move(key)] = std::move(a); }
  // Where and how to respond, once; nullopt if unknown, answered or late.
  std::optional<Answerable> take_answerable(const QueryKey& key, Instant now);
  void expire_pending(Instant now);
  std::size_t pending_size() const { return pending_.size(); }

 private:
  struct Open {
    Instant deadline;
    std::set<std::pair<std::string, bool>> seen;  // (responder, is_ack)
  };
  std::map<uint32_t, Open> open_;
  std::map<QueryKey, Answerable> pending_;
};

}  // namespace cairn::gossip
