#include "raft/read_only.h"

namespace cairn::raft {

void ReadOnly::add_request(Index index, const Message& request, NodeId self) {
  if (pending_.count(request.context)) return;
  ReadIndexStatus st{request, index, {self}};
  pending_.emplace(request.context, std::move(st));
  queue_.push_back(request.context);
}

const std::set<NodeId>* ReadOnly::recv_ack(NodeId from, const std::string& context) {
  auto it = pending_.find(context);
  if (it == pending_.end()) return nullptr;
  it->second.acks.insert(from);
  return &it->second.acks;
}

std::vector<ReadIndexStatus> ReadOnly::advance(const std::string& context) {
  std::vector<ReadIndexStatus> out;
  if (!pending_.count(context)) return out;
  while (!queue_.empty()) {
    std::string ctx = std::move(queue_.front());
    queue_.pop_front();
    auto it = pending_.find(ctx);
    out.push_back(std::move(it->second));
    pending_.erase(it);
    if (ctx == context) break;
  }
  return out;
}

const std::string* ReadOnly::last_pending_context() const {
  return queue_.empty() ? nullptr : &queue_.back();
}

}  // namespace cairn::raft
