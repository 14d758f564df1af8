#include "proxy/authorizer.h"

namespace cairn::proxy {

void Authorizer::set_change_listener(std::function<void()> listener) {
  std::lock_guard l(mu_);
  listener_ = std::move(listener);
}

void Authorizer::notify_changed() {
  std::function<void()> fn;
  {
    std::lock_guard l(mu_);
    fn = listener_;
  }
  if (fn) fn();
}

StaticAuthorizer::StaticAuthorizer(std::vector<Rule> rules, bool default_allow)
    : rules_(std::move(rules)), default_allow_(default_allow) {}

Decision StaticAuthorizer::authorize(const SpiffeId& source) const {
  std::lock_guard l(mu_);
  const Rule* wildcard = nullptr;
  for (const auto& r : rules_) {
    if (r.source == source.service)
      return {r.allow, "rule " + r.source + " (" + (r.allow ? "allow" : "deny") + ")"};
    if (r.source == "*" && !wildcard) wildcard = &r;
  }
  if (wildcard) return {wildcard->allow, std::string("rule * (") + (wildcard->allow ? "allow" : "deny") + ")"};
  return {default_allow_, default_allow_ ? "default allow" : "default deny"};
}

void StaticAuthorizer::set_rules(std::vector<Rule> rules, bool default_allow) {
  {
    std::lock_guard l(mu_);
    rules_ = std::move(rules);
    default_allow_ = default_allow;
  }
  notify_changed();
}

}  // namespace cairn::proxy
