#include "gossip/member_list.h"

namespace cairn::gossip {

Member* MemberList::find(std::string_view name) {
  auto it = index_.find(std::string(name));
  return it == index_.end() ? nullptr : &members_[it->second];
}

const Member* MemberList::find(std::string_view name) const {
  auto it = index_.find(std::string(name));
  return it == index_.end() ? nullptr : &members_[it->second];
}

Member& MemberList::add(Member m, Rng& rng) {
  auto idx = static_cast<uint32_t>(members_.size());
  if (m.live()) ++live_;
  index_.emplace(m.name, idx);
  members_.push_back(std::move(m));
  // SWIM §4.3: a new member goes to a uniformly random slot of the rest of
  // the current round, so it is probed this round without biasing the order.
  probe_order_.push_back(idx);
  std::size_t lo = std::min(probe_pos_, probe_order_.size() - 1);
  std::size_t j = lo + rng.uniform(probe_order_.size() - lo);
  std::swap(probe_order_[j], probe_order_.back());
  return members_.back();
}

void MemberList::remove(std::string_view name) {
  auto it = index_.find(std::string(name));
  if (it == index_.end()) return;
  uint32_t idx = it->second;
  if (members_[idx].live()) --live_;
  index_.erase(it);
  if (idx != members_.size() - 1) {
    members_[idx] = std::move(members_.back());
    index_[members_[idx].name] = idx;
  }
  members_.pop_back();
  probe_order_.clear();  // indices moved: start a fresh round
  probe_pos_ = 0;
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
