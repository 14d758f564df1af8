// Handler::write: FSM commands proposed on the leader and answered with the
// FSM's response at their index; a follower forwards to the leader.
#include <cinttypes>
#include <cstdio>

#include "api/config_entry.h"
#include "api/validate.h"
#include "core/duration.h"
#include "core/log.h"
#include "raft/errc.h"
#include "server/fsm/command.h"
#include "server/server_impl.h"

namespace cairn::server {

namespace rpc = api::rpc;

namespace {

bool is_delete(api::KvOp op) {
  return op == api::KvOp::delete_key || op == api::KvOp::delete_cas || op == api::KvOp::delete_tree;
}

// A version 4 UUID from two random words.
std::string uuid_from(uint64_t hi, uint64_t lo) {
  hi = (hi & ~uint64_t{0xf000}) | 0x4000;                            // version 4
  lo = (lo & ~(uint64_t{0xc} << 60)) | (uint64_t{0x8} << 60);          // RFC 4122 variant
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08" PRIx64 "-%04" PRIx64 "-%04" PRIx64 "-%04" PRIx64 "-%012" PRIx64, hi >> 32,
                (hi >> 16) & 0xffff, hi & 0xffff, lo >> 48, lo & uint64_t{0xffffffffffff});
  return buf;
}

// The aligned WriteValue of W from the FSM's response.
template <typename W>
Result<rpc::WriteValue> value_from(const fsm::Response& r) {
  using V = typename W::Value;
  if (const V* v = std::get_if<V>(&r)) return rpc::make_value<W, rpc::WriteValue>(*v);
  if constexpr (std::is_same_v<V, bool>) {
    if (std::holds_alternative<std::monostate>(r)) return rpc::make_value<W, rpc::WriteValue>(true);
  }
  return Error(errc::internal, "unexpected FSM response type");
}

}  // namespace

void Server::Impl::tombstone_hint(uint64_t index) {
  std::function<void(uint64_t)> hook;
  {
    std::lock_guard lock(mu);
    hook = hooks.on_kv_tombstone;
  }
  if (hook) hook(index);
}

std::string Server::Impl::new_session_id(const state::Store& s) {
  for (;;) {
    std::string id;
    {
      std::lock_guard lock(mu);
      id = uuid_from(rng->next_u64(), rng->next_u64());
    }
    auto existing = s.read().session_get(id);
    if (existing.ok() && !existing->value) return id;
  }
}

Result<std::shared_ptr<rpc::Handler>> Server::Impl::leader_handler(raft::NodeId hint) const {
  raft::NodeId leader = hint != raft::kNoNode ? hint : driver->status().leader;
  if (leader == raft::kNoNode || leader == self) return Error(errc::unavailable, "No cluster leader");
  std::string addr = address_of(leader);
  if (addr.empty()) return Error(errc::unavailable, "No cluster leader");
  std::shared_ptr<rpc::Handler> h = deps.connect ? deps.connect(addr) : nullptr;
  if (!h) return Error(errc::unavailable, "No path to the cluster leader at " + addr);
  return h;
}

bool Server::Impl::retry_for_leader(Hold& hold, std::function<void(Hold)> again) {
  if (options.rpc_hold_timeout.count() <= 0) return false;
  Instant now = clock->now();
  if (!hold) hold = now + options.rpc_hold_timeout;
  if (now >= *hold) return false;
  Duration stagger;
  {
    std::lock_guard lock(mu);
    stagger = Duration(static_cast<int64_t>(rng->uniform(static_cast<uint64_t>((options.rpc_hold_timeout / 16).count()) + 1)));
  }
  scheduler->after(stagger, [again = std::move(again), h = hold] { again(h); });
  return true;
}

bool is_no_leader(const Error& e) { return e.is(errc::unavailable) && e.message() == kNoLeader; }

void Server::Impl::forward_write(raft::NodeId hint, rpc::WriteOptions o, rpc::Write w, rpc::WriteCallback done,
                                 Hold hold) {
  // The hop limit: a write that was forwarded to this server travels no
  // further (two servers that each believe the other leads would pass it
  // back and forth). The forwarding server holds and retries it.
  if (o.forwarded) return done(Error(errc::unavailable, std::string(kNoLeader)));
  auto self = shared_from_this();
  auto again = [self, o, w, done](Hold next) { self->write(o, w, done, next); };
  auto h = leader_handler(hint);
  if (!h.ok()) {
    if (h.error().is(errc::unavailable) && retry_for_leader(hold, again)) return;
    return done(h.error());
  }
  {
    std::lock_guard lock(mu);
    ++stats.writes_forwarded;
  }
  rpc::WriteOptions hop = o;
  hop.forwarded = true;
  // A "No cluster leader" from the far side was never proposed there (it
  // does not lead): safe to retry within the hold, as Consul's forward does.
  (*h)->write(std::move(hop), std::move(w),
              [self, again = std::move(again), done, hold](Result<rpc::WriteResponse> r) mutable {
                if (!r.ok() && is_no_leader(r.error()) && self->retry_for_leader(hold, again)) return;
                done(std::move(r));
              });
}

void Server::Impl::propose(std::string command, std::function<void(Result<std::pair<uint64_t, fsm::Response>>)> done,
                           std::function<void(raft::NodeId)> not_leader) {
  std::weak_ptr<Impl> weak = shared_from_this();
  driver->propose(std::move(command), [weak, done = std::move(done), not_leader = std::move(not_leader)](
                                          raft::Completion c) {
    auto self = weak.lock();
    if (!self) return done(Error(errc::cancelled, "server stopped"));
    if (!c.status.ok()) {
      if (c.status.error().code() == raft::make_error_code(raft::errc::not_leader)) return not_leader(c.leader);
      return done(rpc_error_of(c.status.error()));
    }
    // Runs on the driver strand right after apply() of this index.
    std::optional<fsm::Applied> applied = self->take_applied(c.index);
    if (!applied) return done(Error(errc::unavailable, "outcome unknown: the entry was not applied here"));
    if (applied->rejection) return done(Error(errc::invalid_argument, applied->rejection->message()));
    done(std::make_pair(c.index, std::move(applied->response)));
  });
}

void Server::Impl::write(rpc::WriteOptions o, rpc::Write w, rpc::WriteCallback done, Hold hold) {
  if (Status st = usable(); !st.ok()) return done(st.error());
  std::shared_ptr<state::Store> s = store_ref();
  if (!s) return done(Error(errc::unavailable, "restoring a snapshot; try again"));
  if (!is_leader()) return forward_write(raft::kNoNode, std::move(o), std::move(w), std::move(done), hold);

  auto self = shared_from_this();
  // Proposes `command` for write `w` and answers with W's value; `after`
  // runs on success before the answer (hooks for leader duties).
  auto submit = [&]<typename W>(const W&, std::string command, std::function<void(uint64_t, const rpc::WriteValue&)> after) {
    propose(
        std::move(command),
        [done, after](Result<std::pair<uint64_t, fsm::Response>> r) {
          if (!r.ok()) return done(r.error());
          auto v = value_from<W>(r->second);
          if (!v.ok()) return done(v.error());
          if (after) after(r->first, *v);
          done(rpc::WriteResponse{r->first, std::move(v).value()});
        },
        [self, o, w, done, hold](raft::NodeId leader) { self->forward_write(leader, o, w, done, hold); });
  };
  // A driver request's completion: `answer` on success, forwarded when
  // leadership moved meanwhile, else the error.
  auto on_driver = [&](std::function<rpc::WriteResponse(const raft::Completion&)> answer) {
    return [self, o, w, done, hold, answer = std::move(answer)](raft::Completion c) {
      if (c.status.ok()) return done(answer(c));
      if (c.status.error().code() == raft::make_error_code(raft::errc::not_leader))
        return self->forward_write(c.leader, o, w, done, hold);
      done(rpc_error_of(c.status.error()));
    };
  };
  WallTime now = clock->wall_now();

  std::visit(
      Overloaded{
          [&](const rpc::KvApply& kv) {
            std::function<void(uint64_t, const rpc::WriteValue&)> after;
            if (is_delete(kv.op)) {
              after = [self](uint64_t index, const rpc::WriteValue&) { self->tombstone_hint(index); };
            }
            submit(kv, fsm::encode(fsm::KvCommand{kv.op, kv.entry, now}), std::move(after));
          },
          [&](const rpc::SessionCreate& c) {
            api::Session session = c.session;
            session.id = new_session_id(*s);
            Duration ttl{0};
            if (!session.ttl.empty()) {
              auto parsed = parse_duration(session.ttl);
              if (!parsed.ok()) return done(Error(errc::invalid_argument, "TTL: invalid duration \"" + session.ttl + "\""));
              ttl = *parsed;
            }
            std::string id = session.id;
            submit(c, fsm::encode(fsm::SessionCommand{fsm::SessionOp::create, session, now}),
                   [self, id, ttl](uint64_t, const rpc::WriteValue&) {
                     std::function<void(const std::string&, Duration)> hook;
                     {
                       std::lock_guard lock(self->mu);
                       hook = self->hooks.on_session_ttl;
                     }
                     if (hook && ttl.count() > 0) hook(id, ttl);
                   });
          },
          [&](const rpc::SessionDestroy& d) {
            api::Session session;
            session.id = d.id;
            std::string id = d.id;
            submit(d, fsm::encode(fsm::SessionCommand{fsm::SessionOp::destroy, session, now}),
                   [self, id](uint64_t, const rpc::WriteValue&) {
                     std::function<void(const std::string&)> hook;
                     {
                       std::lock_guard lock(self->mu);
                       hook = self->hooks.on_session_destroyed;
                     }
                     if (hook) hook(id);
                   });
          },
          [&](const rpc::Txn& x) {
            if (x.ops.size() > api::kMaxTxnOps)
              return done(Error(errc::too_large, "Transaction contains too many operations (" +
                                                     std::to_string(x.ops.size()) + " > " +
                                                     std::to_string(api::kMaxTxnOps) + ")"));
            // KV deletes leave tombstones for the reaper, as a /v1/kv delete does.
            bool deletes = false;
            for (const auto& op : x.ops) {
              if (auto* kv = std::get_if<api::TxnKvOp>(&op))
                deletes = deletes || kv->verb == api::TxnVerb::del || kv->verb == api::TxnVerb::delete_cas ||
                          kv->verb == api::TxnVerb::delete_tree;
            }
            std::function<void(uint64_t, const rpc::WriteValue&)> after;
            if (deletes) {
              after = [self](uint64_t index, const rpc::WriteValue& v) {
                if (!rpc::value_of<rpc::Txn>(rpc::WriteResponse{index, v}).errors.empty()) return;
                self->tombstone_hint(index);
              };
            }
            submit(x, fsm::encode(fsm::TxnCommand{x.ops, now}), std::move(after));
          },
          [&](const rpc::SnapshotRestore& r) {
            // Refuse a bad archive here, before it reaches the log: every
            // replica must be able to apply what is committed.
            if (Status st = verify_archive(r.archive); !st.ok()) return done(st.error());
            submit(r, fsm::encode(fsm::RestoreCommand{r.archive}), nullptr);
          },
          [&](const rpc::CatalogRegister& r) {
            submit(r, fsm::encode(fsm::RegisterCommand{r.request, now}), nullptr);
          },
          [&](const rpc::CatalogDeregister& r) {
            submit(r, fsm::encode(fsm::DeregisterCommand{r.request, now}), nullptr);
          },
          [&](const rpc::SessionRenew& r) {
            // Nothing goes through Raft: the leader resets the session's TTL timer.
            auto got = s->read().session_get(r.id);
            if (!got.ok()) return done(got.error());
            if (!got->value) return done(Error(errc::not_found, "Session id '" + r.id + "' not found"));
            api::Session session = std::move(*got->value);
            std::function<void(const std::string&, Duration)> hook;
            {
              std::lock_guard lock(mu);
              hook = hooks.on_session_ttl;
            }
            auto ttl = parse_duration(session.ttl);
            if (hook && ttl.ok() && ttl->count() > 0) hook(session.id, *ttl);
            done(rpc::WriteResponse{0, rpc::make_value<rpc::SessionRenew, rpc::WriteValue>(std::move(session))});
          },
          [&](const rpc::OperatorRaftRemovePeer& r) {
            raft::NodeId id = raft::kNoNode;
            if (!r.id.empty()) {
              id = api::raft_id_of(r.id);
              if (id == raft::kNoNode) return done(Error(errc::invalid_argument, "id: not a node ID: \"" + r.id + "\""));
            } else if (!r.address.empty()) {
              if (r.address == options.rpc_address) id = this->self;
              std::lock_guard lock(mu);
              for (auto& [sid, e] : servers)
                if (e.info.rpc_addr == r.address) id = sid;
            } else {
              return done(Error(errc::invalid_argument, "Must specify either ?id with the server's ID or ?address"));
            }
            raft::ConfState cs = driver->status().conf_state;
            if (id == raft::kNoNode || !cs.contains(id)) {
              std::string what = r.id.empty() ? "address \"" + r.address + "\"" : "id \"" + r.id + "\"";
              return done(Error(errc::not_found, what + " was not found in the Raft configuration"));
            }
            driver->propose_conf_change(raft::ConfChange{raft::ConfChangeType::remove_node, id},
                                        on_driver([](const raft::Completion& c) {
                                          return rpc::WriteResponse{
                                              c.index, rpc::make_value<rpc::OperatorRaftRemovePeer, rpc::WriteValue>(true)};
                                        }));
          },
          [&](const rpc::ConfigEntryApply& a) {
            // Whatever the caller sent, only a body this server normalizes
            // itself reaches the log (the rules across entries run at apply).
            auto entry = api::decode_config_entry(a.entry.body);
            if (!entry.ok()) return done(entry.error());
            if (entry->kind != a.entry.kind || entry->name != a.entry.name)
              return done(Error(errc::invalid_argument, "config entry: kind and name do not match its body"));
            auto op = a.cas ? fsm::ConfigEntryOp::upsert_cas : fsm::ConfigEntryOp::upsert;
            submit(a, fsm::encode(fsm::ConfigEntryCommand{op, std::move(*entry), a.cas_index}), nullptr);
          },
          [&](const rpc::ConfigEntryDelete& d) {
            if (Status st = api::check_config_entry_kind(d.kind); !st.ok()) return done(st.error());
            if (d.name.empty()) return done(Error(errc::invalid_argument, "Name is required"));
            api::ConfigEntry entry;
            entry.kind = d.kind;
            entry.name = d.name;
            auto op = d.cas ? fsm::ConfigEntryOp::delete_cas : fsm::ConfigEntryOp::del;
            submit(d, fsm::encode(fsm::ConfigEntryCommand{op, std::move(entry), d.cas_index}), nullptr);
          },
          [&](const rpc::ConnectCAConfigSet& c) {
            auto command = ca_config_command(c);
            if (!command.ok()) return done(command.error());
            submit(c, std::move(*command), nullptr);
          },
          [&](const rpc::ConnectCASign& c) { ca_sign(c, std::move(done)); },
          [&](const rpc::PreparedQueryApply& a) {
            // Consul's PreparedQuery.Apply: the leader picks a create's ID;
            // an update or delete must name an existing query.
            api::PreparedQuery q = a.query;
            if (a.op == api::PreparedQueryOp::create) {
              if (!q.id.empty())
                return done(Error(errc::invalid_argument, "ID must be empty when creating a new prepared query"));
              for (;;) {
                {
                  std::lock_guard lock(mu);
                  q.id = uuid_from(rng->next_u64(), rng->next_u64());
                }
                auto taken = s->read().prepared_query_get(q.id);
                if (!taken.ok()) return done(taken.error());
                if (!taken->value) break;
              }
            } else {
              if (q.id.empty()) return done(Error(errc::invalid_argument, "Missing query ID"));
              auto existing = s->read().prepared_query_get(q.id);
              if (!existing.ok()) return done(existing.error());
              if (!existing->value)
                return done(Error(errc::not_found, "Cannot modify non-existent prepared query: '" + q.id + "'"));
            }
            if (a.op != api::PreparedQueryOp::del)
              if (Status st = api::validate_prepared_query(q); !st.ok()) return done(st.error());
            submit(a, fsm::encode(fsm::PreparedQueryCommand{a.op, std::move(q)}), nullptr);
          },
          [&](const rpc::CoordinateUpdate& u) {
            for (const auto& e : u.entries)
              if (Status st = api::validate_coordinate(e); !st.ok()) return done(st.error());
            submit(u, fsm::encode(fsm::CoordinateCommand{u.entries}), nullptr);
          },
          [&](const rpc::OperatorRaftTransferLeader& t) {
            raft::NodeId to = raft::kNoNode;
            if (!t.id.empty()) {
              to = api::raft_id_of(t.id);
              if (to == raft::kNoNode) return done(Error(errc::invalid_argument, "id: not a node ID: \"" + t.id + "\""));
            }
            driver->transfer_leadership(to, on_driver([self](const raft::Completion& c) {
                                          return rpc::WriteResponse{
                                              0, rpc::make_value<rpc::OperatorRaftTransferLeader, rpc::WriteValue>(
                                                     self->node_id_of(c.leader))};
                                        }));
          },
      },
      w);
}

}  // namespace cairn::server
