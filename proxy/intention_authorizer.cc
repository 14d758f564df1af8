#include "proxy/intention_authorizer.h"

namespace cairn::proxy {

IntentionAuthorizer::IntentionAuthorizer(std::string destination, bool default_allow,
                                         std::shared_ptr<const api::IntentionIndex> index)
    : destination_(std::move(destination)), default_allow_(default_allow), index_(std::move(index)) {}

Decision IntentionAuthorizer::authorize(const SpiffeId& source) const {
  std::shared_ptr<const api::IntentionIndex> index;
  bool default_allow;
  {
    std::lock_guard l(mu_);
    index = index_;
    default_allow = default_allow_;
  }
  auto by_default = [&] { return Decision{default_allow, default_allow ? "default allow" : "default deny"}; };
  if (!index) return by_default();
  api::IntentionTarget src{source.ns, source.service}, dst;
  dst.name = destination_;
  auto d = index->decide(src, dst, default_allow, false);
  if (!d.intention) return by_default();
  const auto& i = *d.intention;
  std::string what = i.permissions.empty() ? i.action : "L7 permissions, not applicable to a TCP connection";
  return {d.allowed, "intention " + i.source_ns + "/" + i.source_name + " => " + i.destination_ns + "/" +
                         i.destination_name + " (" + what + ")"};
}

void IntentionAuthorizer::set_index(std::shared_ptr<const api::IntentionIndex> index, bool default_allow) {
  {
    std::lock_guard l(mu_);
    index_ = std::move(index);
    default_allow_ = default_allow;
  }
  notify_changed();
}

}  // namespace cairn::proxy
