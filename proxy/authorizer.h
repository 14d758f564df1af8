// The authorize layer of the inbound side: given the caller's SPIFFE ID
// (already verified against the mesh roots), allow or deny, with a reason
// that is logged and counted.
//
// Plugs in: next session an intentions-backed Authorizer (api/intentions.h's
// IntentionIndex, kept current by blocking queries on
// /v1/connect/intentions/match) implements this; tests and the harness use
// StaticAuthorizer.
//
// Revocation: an implementation calls notify_changed() after its decisions
// may have changed; the proxy then re-checks every established inbound
// connection at once and closes the ones now denied.
//
// Thread-safety: authorize() is called from any io thread, concurrently;
// notify_changed() from any thread. set_change_listener() before the proxy
// starts (the Proxy sets it in its constructor).
#pragma once

#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "proxy/spiffe.h"

namespace cairn::proxy {

struct Decision {
  bool allow = false;
  std::string reason;  // e.g. "intention web => api (deny)", "default deny"
};

class Authorizer {
 public:
  virtual ~Authorizer() = default;
  virtual Decision authorize(const SpiffeId& source) const = 0;

  void set_change_listener(std::function<void()> listener);
  void notify_changed();

 private:
  std::mutex mu_;
  std::function<void()> listener_;
};

// Rules by source service name ("*" matches any); an exact name beats "*",
// as Consul's intention precedence does; no match -> the default.
class StaticAuthorizer final : public Authorizer {
 public:
  struct Rule {
    std::string source;  // service name or "*"
    bool allow = false;
  };
  StaticAuthorizer(std::vector<Rule> rules, bool default_allow);

  Decision authorize(const SpiffeId& source) const override;
  // Replaces the rules and the default, then notify_changed().
  void set_rules(std::vector<Rule> rules, bool default_allow);

 private:
  mutable std::mutex mu_;
  std::vector<Rule> rules_;
  bool default_allow_;
};

}  // namespace cairn::proxy
