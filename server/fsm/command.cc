#include "server/fsm/command.h"

#include "api/wire.h"
#include "core/codec.h"

namespace cairn::server::fsm {
namespace {

std::string header(CommandType type) {
  std::string out;
  ByteWriter w(&out);
  w.u8(static_cast<uint8_t>(type));
  w.u8(kCommandVersion);
  return out;
}

void put_now(ByteWriter& w, WallTime now) { w.svarint(now.since_unix_epoch.count()); }
WallTime get_now(ByteReader& r) { return WallTime{Duration(r.svarint())}; }

Error corrupt(std::string_view what) {
  return Error(errc::invalid_argument, "corrupt " + std::string(what) + " command");
}

}  // namespace

std::string encode(const RegisterCommand& c) {
  std::string out = header(CommandType::register_node);
  ByteWriter w(&out);
  put_now(w, c.now);
  api::wire::put(w, c.request);
  return out;
}

std::string encode(const DeregisterCommand& c) {
  std::string out = header(CommandType::deregister);
  ByteWriter w(&out);
  put_now(w, c.now);
  api::wire::put(w, c.request);
  return out;
}

std::string encode(const KvCommand& c) {
  std::string out = header(CommandType::kvs);
  ByteWriter w(&out);
  w.u8(static_cast<uint8_t>(c.op));
  put_now(w, c.now);
  api::wire::put(w, c.entry);
  return out;
}

std::string encode(const SessionCommand& c) {
  std::string out = header(CommandType::session);
  ByteWriter w(&out);
  w.u8(static_cast<uint8_t>(c.op));
  put_now(w, c.now);
  api::wire::put(w, c.session);
  return out;
}

std::string encode(const TombstoneCommand& c) {
  std::string out = header(CommandType::tombstone);
  ByteWriter w(&out);
  w.u8(static_cast<uint8_t>(c.op));
  w.varint(c.reap_up_to);
  return out;
}

std::string encode(const TxnCommand& c) {
  std::string out = header(CommandType::txn);
  ByteWriter w(&out);
  put_now(w, c.now);
  api::wire::put(w, c.ops);
  return out;
}

std::string encode(const RestoreCommand& c) {
  std::string out = header(CommandType::restore);
  out += c.archive;  // the rest of the command is the archive, as it is
  return out;
}

std::string encode(const ConnectCACommand& c) {
  std::string out = header(CommandType::connect_ca);
  ByteWriter w(&out);
  const state::CaWrite& x = c.write;
  api::wire::put(w, x.config);
  w.boolean(x.roots.has_value());
  if (x.roots) api::wire::put(w, *x.roots);
  w.varint(x.keys.size());
  for (const auto& [id, pem] : x.keys) {
    w.bytes(id);
    w.bytes(pem);
  }
  w.boolean(x.cas);
  w.varint(x.cas_index);
  return out;
}

std::string encode(const ConfigEntryCommand& c) {
  std::string out = header(CommandType::config_entry);
  ByteWriter w(&out);
  w.u8(static_cast<uint8_t>(c.op));
  w.varint(c.cas_index);
  api::wire::put(w, c.entry);
  return out;
}

std::string encode(const CoordinateCommand& c) {
  std::string out = header(CommandType::coordinate_batch);
  ByteWriter w(&out);
  api::wire::put(w, c.entries);
  return out;
}

std::string encode(const PreparedQueryCommand& c) {
  std::string out = header(CommandType::prepared_query);
  ByteWriter w(&out);
  w.u8(static_cast<uint8_t>(c.op));
  api::wire::put(w, c.query);
  return out;
}

Result<Command> decode(std::string_view bytes) {
  ByteReader r(bytes);
  uint8_t raw_type = r.u8();
  uint8_t version = r.u8();
  if (!r.ok()) return Error(errc::invalid_argument, "command shorter than its two-byte header");
  bool ignorable = (raw_type & kIgnoreUnknownTypeFlag) != 0;
  uint8_t type = raw_type & static_cast<uint8_t>(~kIgnoreUnknownTypeFlag);
  auto unknown = [&]() -> Result<Command> {
    if (ignorable) return Command{IgnoredCommand{type}};
    return Error(errc::internal, "unknown command type " + std::to_string(type) + " version " +
                                     std::to_string(version) + ": this server is older than the log");
  };
  if (version != kCommandVersion) return unknown();

  auto finish = [&](Command c, std::string_view what) -> Result<Command> {
    if (!r.ok() || !r.at_end()) return corrupt(what);
    return c;
  };
  switch (static_cast<CommandType>(type)) {
    case CommandType::register_node: {
      RegisterCommand c;
      c.now = get_now(r);
      api::wire::get(r, c.request);
      return finish(std::move(c), "register");
    }
    case CommandType::deregister: {
      DeregisterCommand c;
      c.now = get_now(r);
      api::wire::get(r, c.request);
      return finish(std::move(c), "deregister");
    }
    case CommandType::kvs: {
      KvCommand c;
      uint8_t op = r.u8();
      if (op < static_cast<uint8_t>(state::KvOp::set) || op > static_cast<uint8_t>(state::KvOp::delete_tree))
        return corrupt("kvs");
      c.op = static_cast<state::KvOp>(op);
      c.now = get_now(r);
      api::wire::get(r, c.entry);
      return finish(std::move(c), "kvs");
    }
    case CommandType::session: {
      SessionCommand c;
      uint8_t op = r.u8();
      if (op != static_cast<uint8_t>(SessionOp::create) && op != static_cast<uint8_t>(SessionOp::destroy))
        return corrupt("session");
      c.op = static_cast<SessionOp>(op);
      c.now = get_now(r);
      api::wire::get(r, c.session);
      return finish(std::move(c), "session");
    }
    case CommandType::tombstone: {
      TombstoneCommand c;
      if (r.u8() != static_cast<uint8_t>(TombstoneOp::reap)) return corrupt("tombstone");
      c.reap_up_to = r.varint();
      return finish(std::move(c), "tombstone");
    }
    case CommandType::txn: {
      TxnCommand c;
      c.now = get_now(r);
      api::wire::get(r, c.ops);
      return finish(std::move(c), "txn");
    }
    case CommandType::connect_ca: {
      ConnectCACommand c;
      state::CaWrite& x = c.write;
      api::wire::get(r, x.config);
      if (r.boolean()) api::wire::get(r, x.roots.emplace());
      uint64_t n = r.varint();
      if (n > r.remaining()) return corrupt("connect CA");
      for (uint64_t i = 0; i < n && r.ok(); ++i) {
        std::string id = r.string();
        x.keys[std::move(id)] = r.string();
      }
      x.cas = r.boolean();
      x.cas_index = r.varint();
      return finish(std::move(c), "connect CA");
    }
    case CommandType::config_entry: {
      ConfigEntryCommand c;
      uint8_t op = r.u8();
      if (op < static_cast<uint8_t>(ConfigEntryOp::upsert) || op > static_cast<uint8_t>(ConfigEntryOp::delete_cas))
        return corrupt("config entry");
      c.op = static_cast<ConfigEntryOp>(op);
      c.cas_index = r.varint();
      api::wire::get(r, c.entry);
      return finish(std::move(c), "config entry");
    }
    case CommandType::coordinate_batch: {
      CoordinateCommand c;
      api::wire::get(r, c.entries);
      return finish(std::move(c), "coordinates");
    }
    case CommandType::prepared_query: {
      PreparedQueryCommand c;
      uint8_t op = r.u8();
      if (op > static_cast<uint8_t>(api::PreparedQueryOp::del)) return corrupt("prepared query");
      c.op = static_cast<api::PreparedQueryOp>(op);
      api::wire::get(r, c.query);
      return finish(std::move(c), "prepared query");
    }
    case CommandType::restore:
      return Command{RestoreCommand{std::string(bytes.substr(2))}};
  }
  return unknown();
}

}  // namespace cairn::server::fsm
