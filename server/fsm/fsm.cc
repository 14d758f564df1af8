#include "server/fsm/fsm.h"

#include "server/fsm/command.h"

namespace cairn::server::fsm {
namespace {

Applied rejected(Error e) {
  Applied a;
  a.rejection = std::move(e);
  return a;
}

// Folds a store result into an Applied, or a failure the driver must stop on.
template <typename T>
Result<Applied> settle(Result<T> r, state::TouchSet touched) {
  if (!r.ok()) {
    if (state::is_storage_failure(r.error())) return r.error();
    return rejected(r.error());
  }
  if constexpr (std::is_same_v<T, bool> || std::is_same_v<T, std::string> || std::is_same_v<T, uint64_t> ||
                std::is_same_v<T, api::TxnResponse>) {
    Applied a;
    a.response = std::move(r).value();
    a.touched = std::move(touched);
    return a;
  } else {
    Applied a;
    a.touched = std::move(touched);
    return a;
  }
}

}  // namespace

Result<Applied> Fsm::apply(uint64_t index, std::string_view bytes) {
  if (index <= store_.applied_index())
    return rejected(Error(errc::out_of_range, "index " + std::to_string(index) + " is already applied"));
  auto decoded = decode(bytes);
  if (!decoded) {
    if (decoded.error().is(errc::internal)) return decoded.error();
    // Every replica holds the same bytes and refuses them the same way.
    CAIRN_RETURN_IF_ERROR(store_.apply_noop(index));
    return rejected(decoded.error());
  }
  state::TouchSet touched;
  // `done` takes the store's result by value, so the store call (which fills
  // `touched`) has finished before `touched` is moved out.
  auto done = [&](auto r) { return settle(std::move(r), std::move(touched)); };
  return std::visit(
      [&](auto&& c) -> Result<Applied> {
        using C = std::decay_t<decltype(c)>;
        if constexpr (std::is_same_v<C, RegisterCommand>) {
          return done(store_.catalog_register(index, c.request, c.now, touched));
        } else if constexpr (std::is_same_v<C, DeregisterCommand>) {
          return done(store_.catalog_deregister(index, c.request, c.now, touched));
        } else if constexpr (std::is_same_v<C, KvCommand>) {
          return done(store_.kv_apply(index, c.op, c.entry, c.now, touched));
        } else if constexpr (std::is_same_v<C, SessionCommand>) {
          if (c.op == SessionOp::create) {
            return done(store_.session_create(index, c.session, touched));
          }
          return done(store_.session_destroy(index, c.session.id, c.now, touched));
        } else if constexpr (std::is_same_v<C, TombstoneCommand>) {
          return done(store_.reap_tombstones(index, c.reap_up_to, touched));
        } else if constexpr (std::is_same_v<C, TxnCommand>) {
          return done(store_.txn(index, c.ops, c.now, touched));
        } else if constexpr (std::is_same_v<C, ConnectCACommand>) {
          return done(store_.ca_set(index, c.write, touched));
        } else if constexpr (std::is_same_v<C, ConfigEntryCommand>) {
          bool cas = c.op == ConfigEntryOp::upsert_cas || c.op == ConfigEntryOp::delete_cas;
          if (c.op == ConfigEntryOp::upsert || c.op == ConfigEntryOp::upsert_cas)
            return done(store_.config_entry_apply(index, c.entry, cas, c.cas_index, touched));
          return done(store_.config_entry_delete(index, c.entry.kind, c.entry.name, cas, c.cas_index, touched));
        } else if constexpr (std::is_same_v<C, CoordinateCommand>) {
          return done(store_.coordinate_update(index, c.entries, touched));
        } else if constexpr (std::is_same_v<C, PreparedQueryCommand>) {
          return done(store_.prepared_query_apply(index, c.op, c.query, touched));
        } else if constexpr (std::is_same_v<C, RestoreCommand>) {
          Applied a;
          a.response = true;
          a.restore_archive = std::move(c.archive);
          return a;
        } else {
          static_assert(std::is_same_v<C, IgnoredCommand>);
          return settle(store_.apply_noop(index), {});
        }
      },
      *decoded);
}

}  // namespace cairn::server::fsm
