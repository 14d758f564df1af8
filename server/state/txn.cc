// /v1/txn against the state store (Consul's state/txn.go): every op of a
// transaction runs in order inside ONE Txn — one RocksDB WriteBatch at one
// Raft index — and later ops see what earlier ones wrote. Errors are
// collected per op with Consul's texts; the store commits the batch only
// when there are none (store.cc), so a rollback is simply the batch never
// written. KV writes go through kv_apply (kv.cc), the same code as /v1/kv,
// so sessions, lock indexes and lock delays follow the same rules; catalog
// writes use the register/deregister pieces (catalog_write.cc).
#include <string>

#include "server/state/keys.h"
#include "server/state/tables.h"

namespace cairn::server::state {
namespace {

using api::TxnVerb;

// Go's %q for the texts clients read.
std::string q(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string_view verb_name(TxnVerb v) {
  switch (v) {
    case TxnVerb::set: return "set";
    case TxnVerb::cas: return "cas";
    case TxnVerb::lock: return "lock";
    case TxnVerb::unlock: return "unlock";
    case TxnVerb::del: return "delete";
    case TxnVerb::delete_cas: return "delete-cas";
    case TxnVerb::delete_tree: return "delete-tree";
    case TxnVerb::get: return "get";
    case TxnVerb::get_tree: return "get-tree";
    case TxnVerb::check_index: return "check-index";
    case TxnVerb::check_session: return "check-session";
    case TxnVerb::check_not_exists: return "check-not-exists";
  }
  return "?";
}

// One op's outcome: results, or the text of its TxnError; Err only for a
// storage failure (which aborts the whole apply).
struct OpOutcome {
  std::vector<api::TxnResult> results;
  std::optional<std::string> what;
};
OpOutcome failed(std::string what) { return OpOutcome{{}, std::move(what)}; }
OpOutcome ok_with(api::TxnResult r) { return OpOutcome{{std::move(r)}, std::nullopt}; }
OpOutcome ok_empty() { return OpOutcome{}; }

// A refusal by a table operation becomes the op's error; a storage failure
// stays an Err.
Result<OpOutcome> refused(const Error& e) {
  if (is_storage_failure(e)) return e;
  return failed(e.message());
}

// What a write op reports: the entry as stored now, value blanked (Consul
// clones and drops the value of everything but get).
Result<OpOutcome> kv_written(const Reader& r, const std::string& key) {
  CAIRN_TRY(auto e, r.record<api::KVPair>(kKv, key, "kv"));
  if (!e) return ok_empty();
  e->value.reset();
  return ok_with(std::move(*e));
}

Result<OpOutcome> kv_op(const Reader& r, Txn* t, const api::TxnKvOp& op) {
  const api::KVPair& in = op.entry;
  const std::string& key = in.key;
  // A write verb: run kv_apply (the /v1/kv code), then report the entry.
  auto write = [&](KvOp kv, std::string lost, bool report) -> Result<OpOutcome> {
    Result<bool> done = kv_apply(*t, kv, in);
    if (!done.ok()) return refused(done.error());
    if (!*done) return failed(std::move(lost));
    return report ? kv_written(*t, key) : ok_empty();
  };
  switch (op.verb) {
    case TxnVerb::set: return write(KvOp::set, "", true);
    case TxnVerb::cas: return write(KvOp::cas, "failed to set key " + q(key) + ", index is stale", true);
    case TxnVerb::lock: return write(KvOp::lock, "failed to lock key " + q(key) + ", lock is already held", true);
    case TxnVerb::unlock:
      return write(KvOp::unlock,
                   "failed to unlock key " + q(key) + ", lock isn't held, or is held by another session", true);
    case TxnVerb::del: return write(KvOp::delete_key, "", false);
    case TxnVerb::delete_cas:
      return write(KvOp::delete_cas, "failed to delete key " + q(key) + ", index is stale", false);
    case TxnVerb::delete_tree: return write(KvOp::delete_tree, "", false);
    case TxnVerb::get: {
      CAIRN_TRY(auto e, r.record<api::KVPair>(kKv, key, "kv"));
      if (!e) return failed("key " + q(key) + " doesn't exist");
      return ok_with(std::move(*e));
    }
    case TxnVerb::get_tree: {
      CAIRN_TRY(auto entries, r.records<api::KVPair>(kKv, key, "kv"));
      OpOutcome out;
      for (auto& e : entries) out.results.emplace_back(std::move(e));
      return out;
    }
    case TxnVerb::check_index: {
      CAIRN_TRY(auto e, r.record<api::KVPair>(kKv, key, "kv"));
      if (!e) return failed("failed to check index, key " + q(key) + " doesn't exist");
      if (e->raft.modify_index != in.raft.modify_index)
        return failed("failed index check for key " + q(key) + ", current modify index " +
                      std::to_string(e->raft.modify_index) + " != " + std::to_string(in.raft.modify_index));
      e->value.reset();
      return ok_with(std::move(*e));
    }
    case TxnVerb::check_session: {
      CAIRN_TRY(auto e, r.record<api::KVPair>(kKv, key, "kv"));
      if (!e) return failed("failed to check session, key " + q(key) + " doesn't exist");
      if (e->session != in.session)
        return failed("failed session check for key " + q(key) + ", current session " + q(e->session) + " != " +
                      q(in.session));
      e->value.reset();
      return ok_with(std::move(*e));
    }
    case TxnVerb::check_not_exists: {
      CAIRN_TRY(auto e, r.record<api::KVPair>(kKv, key, "kv"));
      if (e) return failed("key " + q(key) + " exists");
      return ok_empty();
    }
  }
  return failed("unknown KV verb " + q(verb_name(op.verb)));
}

// A CAS on a catalog row (Consul's ensure*CASTxn / delete*CASTxn): a set
// with index 0 only creates, otherwise the row must exist at that index; a
// delete needs the row at that index.
template <typename T>
bool cas_holds(const std::optional<T>& existing, uint64_t index, bool is_delete) {
  if (!existing) return !is_delete && index == 0;
  return existing->raft.modify_index == index;
}

// The shared shape of node, service and check ops: `find` reads the row,
// `ensure`/`remove` write it; `what` names it in errors ("node \"n\"").
template <typename T, typename Find, typename Ensure, typename Remove>
Result<OpOutcome> catalog_op(const Reader& r, Txn* t, TxnVerb verb, std::string_view kind, const std::string& what,
                             uint64_t cas_index, Find&& find, Ensure&& ensure, Remove&& remove) {
  auto report = [&](const Reader& from) -> Result<OpOutcome> {
    CAIRN_TRY(std::optional<T> row, find(from));
    if (!row) return ok_empty();
    return ok_with(std::move(*row));
  };
  switch (verb) {
    case TxnVerb::get: {
      CAIRN_TRY(std::optional<T> row, find(r));
      if (!row) return failed(what + " doesn't exist");
      return ok_with(std::move(*row));
    }
    case TxnVerb::set:
    case TxnVerb::cas: {
      if (verb == TxnVerb::cas) {
        CAIRN_TRY(std::optional<T> row, find(*t));
        if (!cas_holds(row, cas_index, false)) return failed("failed to set " + what + ", index is stale");
      }
      if (Status st = ensure(*t); !st.ok()) return refused(st.error());
      return report(*t);
    }
    case TxnVerb::del:
    case TxnVerb::delete_cas: {
      if (verb == TxnVerb::delete_cas) {
        CAIRN_TRY(std::optional<T> row, find(*t));
        if (!cas_holds(row, cas_index, true)) return failed("failed to delete " + what + ", index is stale");
      }
      if (Status st = remove(*t); !st.ok()) return refused(st.error());
      return ok_empty();
    }
    default:
      return failed("unknown " + std::string(kind) + " verb " + q(verb_name(verb)));
  }
}

Result<OpOutcome> node_op(const Reader& r, Txn* t, const api::TxnNodeOp& op) {
  const api::Node& n = op.node;
  return catalog_op<api::Node>(
      r, t, op.verb, "Node", "node " + q(n.node), n.raft.modify_index,
      [&](const Reader& from) { return find_node(from, n.node); }, [&](Txn& w) { return ensure_node(w, n); },
      [&](Txn& w) { return delete_node(w, n.node); });
}

Result<OpOutcome> service_op(const Reader& r, Txn* t, const api::TxnServiceOp& op) {
  api::NodeService s = op.service;
  if (s.id.empty()) s.id = s.service;  // Consul's default: the ID is the name
  return catalog_op<api::NodeService>(
      r, t, op.verb, "Service", "service " + q(s.id) + " on node " + q(op.node), s.raft.modify_index,
      [&](const Reader& from) { return find_service(from, op.node, s.id); },
      [&](Txn& w) { return ensure_service(w, op.node, s); }, [&](Txn& w) { return delete_service(w, op.node, s.id); });
}

Result<OpOutcome> check_op(const Reader& r, Txn* t, const api::TxnCheckOp& op) {
  const api::HealthCheck& c = op.check;
  return catalog_op<api::HealthCheck>(
      r, t, op.verb, "Check", "check " + q(c.check_id) + " on node " + q(c.node), c.raft.modify_index,
      [&](const Reader& from) { return find_check(from, c.node, c.check_id); },
      [&](Txn& w) { return ensure_check(w, c); }, [&](Txn& w) { return delete_check(w, c.node, c.check_id); });
}

TxnVerb verb_of(const api::TxnOp& op) {
  return std::visit([](const auto& o) { return o.verb; }, op);
}

// `t` is null for a read-only transaction (then no op may write).
Result<api::TxnResponse> dispatch(const Reader& r, Txn* t, const std::vector<api::TxnOp>& ops) {
  api::TxnResponse out;
  for (size_t i = 0; i < ops.size(); ++i) {
    if (!t && api::txn_verb_writes(verb_of(ops[i])))
      return Error(errc::invalid_argument, "op " + std::to_string(i) + " writes in a read-only transaction");
    CAIRN_TRY(OpOutcome o, std::visit(
                               [&](const auto& x) -> Result<OpOutcome> {
                                 using T = std::decay_t<decltype(x)>;
                                 if constexpr (std::is_same_v<T, api::TxnKvOp>) return kv_op(r, t, x);
                                 else if constexpr (std::is_same_v<T, api::TxnNodeOp>) return node_op(r, t, x);
                                 else if constexpr (std::is_same_v<T, api::TxnServiceOp>) return service_op(r, t, x);
                                 else return check_op(r, t, x);
                               },
                               ops[i]));
    // Consul runs every op and reports every failure, not just the first.
    if (o.what) out.errors.push_back(api::TxnError{i, std::move(*o.what)});
    for (auto& res : o.results) out.results.push_back(std::move(res));
  }
  if (!out.errors.empty()) out.results.clear();
  return out;
}

}  // namespace

Result<api::TxnResponse> txn_apply(Txn& t, const std::vector<api::TxnOp>& ops) { return dispatch(t, &t, ops); }

Result<api::TxnResponse> txn_read(const Reader& r, const std::vector<api::TxnOp>& ops) {
  return dispatch(r, nullptr, ops);
}

}  // namespace cairn::server::state
