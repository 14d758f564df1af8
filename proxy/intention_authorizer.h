// An Authorizer backed by Consul intentions (api/intentions.h's
// IntentionIndex): the caller's service → this proxy's destination service,
// Consul's precedence, the default (acl default policy) when none matches.
// The agent side (next session) keeps the index current with a blocking
// query and calls set_index(); each call re-checks open connections.
//
// L4 only: an intention with L7 Permissions does not allow a TCP
// connection (allow_permissions = false, as Consul's authorize), until the
// L7 layer decides those per request.
//
// Thread-safety: authorize() from any thread; set_index() from any thread.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "api/intentions.h"
#include "proxy/authorizer.h"

namespace cairn::proxy {

class IntentionAuthorizer final : public Authorizer {
 public:
  IntentionAuthorizer(std::string destination, bool default_allow,
                      std::shared_ptr<const api::IntentionIndex> index = nullptr);

  Decision authorize(const SpiffeId& source) const override;
  // Replaces the index and the default, then notify_changed().
  void set_index(std::shared_ptr<const api::IntentionIndex> index, bool default_allow);

 private:
  mutable std::mutex mu_;
  std::string destination_;
  bool default_allow_;
  std::shared_ptr<const api::IntentionIndex> index_;
};

}  // namespace cairn::proxy
