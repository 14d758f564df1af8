// Persistence of the services and checks registered through the API, so they
// survive an agent restart (Consul: data_dir/services/<hash>,
// data_dir/checks/<hash>). One JSON file per entry, named by the hex of its
// ID (IDs may contain '/'; long IDs use a hash, the ID is inside the file):
//   services/<name>: {"Token": "...", "Service": <NodeService>}
//   checks/<name>:   {"Token": "...", "Check": <HealthCheck>, "FailuresBeforeWarning": n,
//                     "FailuresBeforeCritical": n, "SuccessBeforePassing": n}
// The check's Status and Output are its state (a TTL check comes back with
// the status it last had).
//
// Durability: save_* returns after the file is written to a temporary name,
// fsynced and renamed over the old one (never a half-written entry).
// Thread safety: none of its own; LocalState calls it from its one strand.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "agent/local/local_state.h"
#include "core/result.h"

namespace cairn::agent::local {

// FNV-1a (64 bits) of `text`: the file name of a long ID, and the agent's
// service ContentHash.
uint64_t fnv1a64(std::string_view text);

class LocalStore {
 public:
  explicit LocalStore(std::string data_dir);

  Status save_service(const LocalService& s);
  Status remove_service(const std::string& id);
  Status save_check(const LocalCheck& c);
  Status remove_check(const std::string& id);

  struct Loaded {
    std::vector<LocalService> services;
    std::vector<LocalCheck> checks;
  };
  // Everything kept; a file that does not decode is logged and skipped.
  Loaded load() const;

  // The file name an ID is kept under.
  static std::string file_name(const std::string& id);

 private:
  std::string services_dir_;
  std::string checks_dir_;
};

}  // namespace cairn::agent::local
