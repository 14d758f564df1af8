// The server's finite state machine: Raft hands it each committed entry in
// order; it decodes the command (server/fsm/command.h) and applies it to the
// state store as one atomic batch at the entry's index.
//
// Results. apply() distinguishes three outcomes:
//   - success: Applied::response holds the command's answer (KV: bool;
//     session create: the ID; session destroy: bool; tombstone reap: how many;
//     register/deregister: monostate; txn: api::TxnResponse, whose errors
//     mean it rolled back), and Applied::touched the watch keys
//     to wake (server/state/watch.h);
//   - rejection: the command was refused (a missing node, corrupt bytes, an
//     index already applied); Applied::rejection holds the Error for the
//     proposer, the index is recorded, and every replica refuses it alike;
//   - failure: the returned Result is an error — an unknown non-ignorable
//     command type or version (this server is older than the log) or a
//     storage failure. Nothing is recorded; the Raft driver must stop applying
//     (Consul panics here) rather than let replicas diverge.
//
// Thread-safety: apply() from one thread (the apply loop); reads go through
// store().read() from anywhere.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "core/result.h"
#include "server/state/store.h"
#include "server/state/watch.h"

namespace cairn::server::fsm {

using Response = std::variant<std::monostate, bool, std::string, uint64_t, api::TxnResponse>;

struct Applied {
  Response response;                // meaningful when !rejection
  std::optional<Error> rejection;   // why the command was refused
  state::TouchSet touched;
  // A restore command: the store is left alone; the owner of the store
  // (server::Server) replaces it by this archive and rebases it at the
  // entry's index (it alone can swap the store under its readers).
  std::optional<std::string> restore_archive;
};

class Fsm {
 public:
  explicit Fsm(state::Store& store) : store_(store) {}

  Result<Applied> apply(uint64_t index, std::string_view bytes);

  state::Store& store() { return store_; }

 private:
  state::Store& store_;
};

}  // namespace cairn::server::fsm
