// The member table: one compact record per known member (ourselves
// included), found by name in O(1), plus SWIM's round-robin probe order
// (Das et al. 2002, §4.3: "Round-Robin Probe Target Selection"): members are
// probed in a shuffled order, reshuffled each round, and a member that joins
// mid-round is inserted at a random later position, so every member is
// probed within a bounded time.
//
// Thread-safety: owned by one Membership.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "core/clock.h"
#include "core/rng.h"
#include "gossip/messages.h"

namespace cairn::gossip {

// encode_tags() bytes, shared by every member whose tags are byte-equal
// (MemberList::intern_tags): members of one role and datacenter often carry
// the same tags, and every member holds a record of every other one.
using TagBytes = std::shared_ptr<const std::string>;

// Kept small on purpose: every member holds one per member of the cluster,
// so a 10,000-member simulation holds 10^8 of them. Per-peer data that only
// probing produces (Vivaldi coordinate, RTT samples) lives apart, in
// Membership's latency table.
struct Member {
  std::string name;
  std::string addr;
  TagBytes tags;  // never null
  uint32_t incarnation = 0;
  MemberState state = MemberState::alive;
  Instant state_change;

  bool live() const { return state == MemberState::alive || state == MemberState::suspect; }
};

class MemberList {
 public:
  Member* find(std::string_view name);
  const Member* find(std::string_view name) const;

  // Adds a member not yet known; it joins the current probe round at a
  // random position still ahead of us.
  Member& add(Member m, Rng& rng);
  // Forgets a member (reaping). Restarts the probe round.
  void remove(std::string_view name);

  // Changes a member's state, keeping the live count.
  void set_state(Member& m, MemberState s, Instant now);

  // The next member to probe, skipping `self` and members that are dead or
  // left; nullptr when there is none.
  Member* next_probe_target(std::string_view self, Rng& rng);

  // Up to k distinct random members accepted by pred, in O(k) expected time
  // (a bounded number of random draws rather than a scan of the table).
  template <typename Pred>
  std::vector<Member*> random_members(std::size_t k, Rng& rng, Pred&& pred) {
    std::vector<Member*> out;
    if (members_.empty()) return out;
    std::size_t tries = 4 * k + 16;
    for (std::size_t t = 0; t < tries && out.size() < k; ++t) {
      Member& m = members_[rng.uniform(members_.size())];
      if (!pred(m)) continue;
      bool dup = false;
      for (Member* o : out) dup = dup || o == &m;
      if (!dup) out.push_back(&m);
    }
    return out;
  }

  // The shared copy of `encoded` tags (see TagBytes). Copies no member
  // uses any more are dropped when the pool outgrows the member table.
  TagBytes intern_tags(std::string_view encoded);
  // Whether `encoded` is byte-equal to tags interned before.
  bool known_tags(std::string_view encoded) const { return tag_pool_.find(encoded) != tag_pool_.end(); }

  std::size_t size() const { return members_.size(); }
  std::size_t live_count() const { return live_; }
  Member& at(std::size_t i) { return members_[i]; }
  const Member& at(std::size_t i) const { return members_[i]; }

 private:
  // Open addressing over member indices (index + 1; 0 is empty), linear
  // probing, at most half full. One probe usually touches one slot and the
  // member itself: with every member holding the whole cluster, a node-based
  // hash map's extra cache misses dominated 1,000-member simulations.
  int64_t slot_of(std::string_view name) const;  // -1 when absent
  void rebuild_index();

  struct TagHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
    std::size_t operator()(const TagBytes& t) const { return (*this)(std::string_view(*t)); }
  };
  struct TagEq {
    using is_transparent = void;
    static std::string_view view(std::string_view s) { return s; }
    static std::string_view view(const TagBytes& t) { return *t; }
    bool operator()(const auto& a, const auto& b) const { return view(a) == view(b); }
  };
  std::unordered_set<TagBytes, TagHash, TagEq> tag_pool_;

  std::vector<Member> members_;
  std::vector<uint32_t> slots_;
  std::vector<uint32_t> probe_order_;  // indices into members_
  std::size_t probe_pos_ = 0;
  std::size_t live_ = 0;
};

}  // namespace cairn::gossip
