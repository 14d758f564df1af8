#include "gossip/events.h"

#include <algorithm>

namespace cairn::gossip {

bool glob_match(std::string_view p, std::string_view t) {
  // Iterative wildcard match with one backtrack point: linear in practice,
  // never exponential on hostile patterns.
  std::size_t pi = 0, ti = 0, star = std::string_view::npos, mark = 0;
  while (ti < t.size()) {
    if (pi < p.size() && p[pi] == '*') {
      star = pi++;
      mark = ti;
    } else if (pi < p.size() && p[pi] == t[ti]) {
      ++pi;
      ++ti;
    } else if (star != std::string_view::npos) {
      pi = star + 1;
      ti = ++mark;
    } else {
      return false;
    }
  }
  while (pi < p.size() && p[pi] == '*') ++pi;
  return pi == p.size();
}

bool query_matches(const QueryMessage& q, std::string_view self, const Tags& tags) {
  if (!q.filter_nodes.empty() &&
      std::find(q.filter_nodes.begin(), q.filter_nodes.end(), self) == q.filter_nodes.end())
    return false;
  for (const auto& [key, pattern] : q.filter_tags) {
    auto it = tags.find(key);
    if (it == tags.end() || !glob_match(pattern, it->second)) return false;
  }
  return true;
}

bool QueryTable::record_response(uint32_t id, const std::string& from, bool is_ack) {
  auto it = open_.find(id);
  if (it == open_.end()) return false;
  return it->second.seen.emplace(from, is_ack).second;
}

std::vector<uint32_t> QueryTable::expire_open(Instant now) {
  std::vector<uint32_t> done;
  for (auto it = open_.begin(); it != open_.end();) {
    if (it->second.deadline <= now) {
      done.push_back(it->first);
      it = open_.erase(it);
    } else {
      ++it;
    }
  }
  return done;
}

std::optional<QueryTable::Answerable> QueryTable::take_answerable(const QueryKey& key, Instant now) {
  auto it = pending_.find(key);
  if (it == pending_.end()) return std::nullopt;
  std::optional<Answerable> a;
  if (now < it->second.deadline) a = std::move(it->second);
  pending_.erase(it);
  return a;
}

void QueryTable::expire_pending(Instant now) {
  std::erase_if(pending_, [&](const auto& kv) { return kv.second.deadline <= now; });
}

}  // namespace cairn::gossip
