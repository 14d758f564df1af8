// Raft commands of the server's state machine: a type byte, a format
// version byte, then the payload (core/codec.h). Type numbers are Consul's
// structs.MessageType, so logs and tooling line up:
//   0 register  1 deregister  2 kvs  3 session  5 tombstone  6 coordinates  8 txn
//   9 prepared query (Consul's PreparedQueryRequestType)
//   13 connect CA (Consul's ConnectCARequestType)
//   22 config entry (Consul's ConfigEntryRequestType)
// and one of Cairn's own, 127 restore (Consul restores through Raft's
// snapshot machinery, which has no message type).
// Bit 7 of the type (Consul's IgnoreUnknownTypeFlag, 128) marks a command
// that an older server may skip if it does not know the type; without it,
// an unknown type or version stops the FSM.
//
// Commands carry everything apply needs to be deterministic: the proposer's
// wall clock `now` (lock delays) and proposer-chosen session IDs. Tokens
// are never encoded: ACLs are checked before proposing.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "api/prepared_query.h"
#include "api/types.h"
#include "core/clock.h"
#include "core/result.h"
#include "server/state/store.h"

namespace cairn::server::fsm {

enum class CommandType : uint8_t {
  register_node = 0,
  deregister = 1,
  kvs = 2,
  session = 3,
  tombstone = 5,
  coordinate_batch = 6,
  txn = 8,
  prepared_query = 9,
  connect_ca = 13,
  config_entry = 22,
  restore = 127,
};
inline constexpr uint8_t kIgnoreUnknownTypeFlag = 128;
inline constexpr uint8_t kCommandVersion = 1;

enum class SessionOp : uint8_t { create = 1, destroy = 2 };
enum class TombstoneOp : uint8_t { reap = 1 };

struct RegisterCommand {
  api::RegisterRequest request;
  WallTime now;
};
struct DeregisterCommand {
  api::DeregisterRequest request;
  WallTime now;
};
struct KvCommand {
  state::KvOp op = state::KvOp::set;
  api::KVPair entry;
  WallTime now;
};
struct SessionCommand {
  SessionOp op = SessionOp::create;
  api::Session session;  // destroy uses only session.id
  WallTime now;
};
struct TombstoneCommand {
  TombstoneOp op = TombstoneOp::reap;
  uint64_t reap_up_to = 0;
};
struct TxnCommand {
  std::vector<api::TxnOp> ops;
  WallTime now;
};
// PUT /v1/snapshot: replace the whole state by the archive's
// (server/snapshot_archive.h), then continue at this entry's index.
struct RestoreCommand {
  std::string archive;
};
// The Connect CA's configuration and, with roots, its roots and root keys
// (state::CaWrite): Consul's CAOpSetConfig / CAOpSetRootsAndConfig.
struct ConnectCACommand {
  state::CaWrite write;
};
// A config entry write (Consul's ConfigEntryRequest: upsert, upsert-cas,
// delete, delete-cas). Deletes use only entry.kind and entry.name.
enum class ConfigEntryOp : uint8_t { upsert = 1, upsert_cas = 2, del = 3, delete_cas = 4 };
struct ConfigEntryCommand {
  ConfigEntryOp op = ConfigEntryOp::upsert;
  api::ConfigEntry entry;
  uint64_t cas_index = 0;
};
// Network coordinates of nodes (Consul's CoordinateBatchUpdateType).
struct CoordinateCommand {
  std::vector<api::CoordinateEntry> entries;
};
// A prepared query created, updated or deleted (api/prepared_query.h).
struct PreparedQueryCommand {
  api::PreparedQueryOp op = api::PreparedQueryOp::create;
  api::PreparedQuery query;
};
// A command of a type this build does not know, flagged ignorable.
struct IgnoredCommand {
  uint8_t type = 0;
};

using Command = std::variant<RegisterCommand, DeregisterCommand, KvCommand, SessionCommand, TombstoneCommand,
                             TxnCommand, RestoreCommand, ConnectCACommand, ConfigEntryCommand, CoordinateCommand,
                             PreparedQueryCommand, IgnoredCommand>;

std::string encode(const RegisterCommand& c);
std::string encode(const DeregisterCommand& c);
std::string encode(const KvCommand& c);
std::string encode(const SessionCommand& c);
std::string encode(const TombstoneCommand& c);
std::string encode(const TxnCommand& c);
std::string encode(const RestoreCommand& c);
std::string encode(const ConnectCACommand& c);
std::string encode(const ConfigEntryCommand& c);
std::string encode(const CoordinateCommand& c);
std::string encode(const PreparedQueryCommand& c);

// errc::invalid_argument for bytes that do not decode (truncated, trailing
// bytes, bad enum values); errc::not_supported-style failures — an unknown
// type without the ignorable flag, or an unknown version — are
// errc::internal: this server is older than the log and must stop.
Result<Command> decode(std::string_view bytes);

}  // namespace cairn::server::fsm
