// A check runner that records what the local state asks of it, and can be
// told to refuse an add (as the real one refuses a script check or a bad
// interval) or an update_ttl.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "agent/checks/runner.h"

namespace cairn::agent::local::test {

class FakeRunner : public checks::Runner {
 public:
  Status add(const api::CheckDefinition& check, checks::Origin origin) override {
    if (refuse_id && *refuse_id == check.id) return Error(errc::invalid_argument, "refused: " + check.id);
    running[check.id] = check;
    origins[check.id] = origin;
    ++adds;
    return {};
  }
  void remove(const std::string& id) override {
    running.erase(id);
    removed.push_back(id);
  }
  Status update_ttl(const std::string& id, const std::string& status, const std::string& output) override {
    auto it = running.find(id);
    if (it == running.end() || it->second.definition.ttl == Duration(0))
      return Error(errc::not_found, "CheckID \"" + id + "\" does not have associated TTL");
    ttl_updates.push_back({id, status, output});
    return {};
  }
  void local_changed() override { ++changes; }

  std::optional<std::string> refuse_id;
  std::map<std::string, api::CheckDefinition> running;
  std::map<std::string, checks::Origin> origins;
  std::vector<std::string> removed;
  std::vector<checks::StatusUpdate> ttl_updates;
  int adds = 0;
  int changes = 0;
};

}  // namespace cairn::agent::local::test
