#include "gossip/member_list.h"

namespace cairn::gossip {

namespace {
std::size_t hash_name(std::string_view name) { return std::hash<std::string_view>{}(name); }
}  // namespace

int64_t MemberList::slot_of(std::string_view name) const {
  if (slots_.empty()) return -1;
  std::size_t mask = slots_.size() - 1;
  for (std::size_t i = hash_name(name) & mask;; i = (i + 1) & mask) {
    uint32_t s = slots_[i];
    if (s == 0) return -1;
    if (members_[s - 1].name == name) return static_cast<int64_t>(s - 1);
  }
}

Member* MemberList::find(std::string_view name) {
  int64_t i = slot_of(name);
  return i < 0 ? nullptr : &members_[static_cast<std::size_t>(i)];
}

const Member* MemberList::find(std::string_view name) const {
  int64_t i = slot_of(name);
  return i < 0 ? nullptr : &members_[static_cast<std::size_t>(i)];
}

void MemberList::rebuild_index() {
  std::size_t cap = 16;
  while (cap < 2 * members_.size()) cap *= 2;
  slots_.assign(cap, 0);
  std::size_t mask = cap - 1;
  for (uint32_t idx = 0; idx < members_.size(); ++idx) {
    std::size_t i = hash_name(members_[idx].name) & mask;
    while (slots_[i] != 0) i = (i + 1) & mask;
    slots_[i] = idx + 1;
  }
}

Member& MemberList::add(Member m, Rng& rng) {
  auto idx = static_cast<uint32_t>(members_.size());
  if (m.live()) ++live_;
  members_.push_back(std::move(m));
  if (2 * members_.size() > slots_.size()) {
    rebuild_index();  // doubles: amortised O(1) per add
  } else {
    std::size_t mask = slots_.size() - 1;
    std::size_t i = hash_name(members_.back().name) & mask;
    while (slots_[i] != 0) i = (i + 1) & mask;
    slots_[i] = idx + 1;
  }
  // SWIM §4.3: a new member goes to a uniformly random slot of the rest of
  // the current round, so it is probed this round without biasing the order.
  probe_order_.push_back(idx);
  std::size_t lo = std::min(probe_pos_, probe_order_.size() - 1);
  std::size_t j = lo + rng.uniform(probe_order_.size() - lo);
  std::swap(probe_order_[j], probe_order_.back());
  return members_.back();
}

void MemberList::remove(std::string_view name) {
  int64_t found = slot_of(name);
  if (found < 0) return;
  auto idx = static_cast<std::size_t>(found);
  if (members_[idx].live()) --live_;
  if (idx != members_.size() - 1) members_[idx] = std::move(members_.back());
  members_.pop_back();
  rebuild_index();       // reaping is rare: O(n) is fine
  probe_order_.clear();  // indices moved: start a fresh round
  probe_pos_ = 0;
}

TagBytes MemberList::intern_tags(std::string_view encoded) {
  auto it = tag_pool_.find(encoded);
  if (it != tag_pool_.end()) return *it;
  if (tag_pool_.size() > 2 * members_.size() + 16)
    std::erase_if(tag_pool_, [](const TagBytes& t) { return t.use_count() == 1; });
  TagBytes t = std::make_shared<const std::string>(encoded);
  tag_pool_.insert(t);
  return t;
}

void MemberList::set_state(Member& m, MemberState s, Instant now) {
  if (m.state == s) return;
  if (m.live()) --live_;
  m.state = s;
  m.state_change = now;
  if (m.live()) ++live_;
}

Member* MemberList::next_probe_target(std::string_view self, Rng& rng) {
  // At most one full round plus a reshuffle: skip self, dead and left.
  for (std::size_t checked = 0; checked <= members_.size(); ++checked) {
    if (probe_pos_ >= probe_order_.size()) {
      probe_order_.resize(members_.size());
      for (uint32_t i = 0; i < members_.size(); ++i) probe_order_[i] = i;
      rng.shuffle(probe_order_);
      probe_pos_ = 0;
      if (probe_order_.empty()) return nullptr;
    }
    Member& m = members_[probe_order_[probe_pos_++]];
    if (m.name != self && m.live()) return &m;
  }
  return nullptr;
}

}  // namespace cairn::gossip
