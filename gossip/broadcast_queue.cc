#include "gossip/broadcast_queue.h"

#include <cmath>
#include <vector>

namespace cairn::gossip {

uint32_t retransmit_limit(uint32_t retransmit_mult, std::size_t n) {
  double scale = std::ceil(std::log10(static_cast<double>(n) + 1.0));
  return retransmit_mult * static_cast<uint32_t>(scale);
}

void BroadcastQueue::drop(Entries::iterator it) {
  if (!it->second.key.empty()) by_key_.erase(it->second.key);
  entries_.erase(it);
}

void BroadcastQueue::queue(std::string key, std::string encoded) {
  if (!key.empty()) {
    auto it = by_key_.find(key);
    if (it != by_key_.end()) {
      entries_.erase(it->second->first);
      by_key_.erase(it);
    }
  }
  Order order{0, ~next_id_++};
  auto [pos, inserted] = entries_.emplace(order, Entry{key, std::move(encoded)});
  if (!key.empty()) by_key_.emplace(std::move(key), &*pos);
  while (entries_.size() > max_depth_) drop(std::prev(entries_.end()));
}

std::size_t BroadcastQueue::fill(std::string& out, std::size_t budget, std::size_t overhead,
                                 uint32_t limit) {
  // Stop looking after this many misfits: messages are of similar size, so
  // once several do not fit the rest will not either, and a long queue must
  // not cost a full scan per packet.
  constexpr int kMaxMisfits = 16;
  constexpr std::size_t kSmallestMessage = 8;
  std::size_t used = 0;
  int misfits = 0;
  std::vector<Entries::node_type> sent;
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (budget - used < kSmallestMessage + overhead || misfits >= kMaxMisfits) break;
    std::size_t need = it->second.encoded.size() + overhead;
    if (need > budget - used) {
      ++misfits;
      ++it;
      continue;
    }
    out += it->second.encoded;
    used += it->second.encoded.size();
    sent.push_back(entries_.extract(it++));
  }
  for (auto& node : sent) {
    Order order{node.key().first + 1, node.key().second};
    if (order.first >= limit) {
      if (!node.mapped().key.empty()) by_key_.erase(node.mapped().key);
      continue;
    }
    node.key() = order;
    entries_.insert(std::move(node));  // same element address: by_key_ stays valid
  }
  return used;
}

std::optional<uint32_t> BroadcastQueue::transmits(const std::string& key) const {
  auto it = by_key_.find(key);
  if (it == by_key_.end()) return std::nullopt;
  return it->second->first.first;
}

}  // namespace cairn::gossip
