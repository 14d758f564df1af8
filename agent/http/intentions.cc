// /v1/connect/intentions (list, legacy create, exact, by ID, check, match)
// and POST /v1/agent/connect/authorize, as Consul's agent/intentions_endpoint.go
// and agent/connect_auth.go answer them, over service-intentions config
// entries (api/intentions.h): every write is a read-modify-write of the
// destination's entry with ConfigEntryApply at its ModifyIndex (CAS),
// retried when another writer won.
#include "agent/http/intentions.h"

#include <ctime>

#include <nlohmann/json.hpp>

#include "agent/http/endpoints.h"
#include "agent/http/query_options.h"
#include "agent/uuid.h"
#include "core/io/system_clock.h"
#include "core/strings.h"

namespace cairn::agent::http {

using namespace api::rpc;
using api::Intention;
using api::IntentionIndex;
using api::IntentionTarget;

// ---- IntentionWatch ----

std::shared_ptr<IntentionWatch> IntentionWatch::make(std::shared_ptr<api::rpc::Handler> rpc, Scheduler& scheduler) {
  return std::shared_ptr<IntentionWatch>(new IntentionWatch(std::move(rpc), scheduler));
}

void IntentionWatch::start() { arm(Duration{0}); }

void IntentionWatch::stop() {
  std::lock_guard lock(mu_);
  stopped_ = true;
  if (timer_) timer_->cancel();
  timer_.reset();
}

std::shared_ptr<const IntentionIndex> IntentionWatch::current() const {
  std::lock_guard lock(mu_);
  return index_;
}

uint64_t IntentionWatch::index() const {
  std::lock_guard lock(mu_);
  return last_index_;
}

void IntentionWatch::arm(Duration delay) {
  std::lock_guard lock(mu_);
  if (stopped_) return;
  timer_ = scheduler_.after(delay, [weak = weak_from_this()] {
    if (auto self = weak.lock()) self->fetch();
  });
}

void IntentionWatch::fetch() {
  QueryOptions o;
  {
    std::lock_guard lock(mu_);
    if (stopped_) return;
    o.min_index = last_index_;
  }
  o.max_wait = kMaxWait;
  rpc_->query(o, ConfigEntryList{std::string(api::kServiceIntentionsKind)},
              [weak = weak_from_this()](Result<QueryResponse> r) {
                if (auto self = weak.lock()) self->on_answer(std::move(r));
              });
}

void IntentionWatch::on_answer(Result<QueryResponse> r) {
  if (!r.ok() || r->value.index() != IndexOf<ConfigEntryList, api::rpc::Query>::value) {
    Duration delay;
    {
      std::lock_guard lock(mu_);
      backoff_ = backoff_ == Duration{0} ? kRetryFirst : std::min(backoff_ * 2, Duration(kRetryMax));
      delay = backoff_;
    }
    return arm(delay);
  }
  auto fresh = std::make_shared<const IntentionIndex>(IntentionIndex::build(value_of<ConfigEntryList>(*r)));
  {
    std::lock_guard lock(mu_);
    backoff_ = Duration{0};
    // An index that went backwards (a restored snapshot) starts over, as
    // Consul's blocking-query clients do.
    last_index_ = r->meta.index < last_index_ ? 0 : r->meta.index;
    index_ = std::move(fresh);
  }
  arm(Duration{0});
}

namespace {

constexpr int kMaxCasAttempts = 5;
const std::string kIntentionsKind(api::kServiceIntentionsKind);

Response bad_request(std::string message) { return Response::error(400, std::move(message)); }

// Go's time.Time as JSON (RFC 3339 with nanoseconds, UTC).
std::string now_rfc3339() {
  auto since = SystemClock::instance().wall_now().since_unix_epoch;
  auto secs = std::chrono::duration_cast<std::chrono::seconds>(since);
  auto nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(since - secs).count();
  std::time_t t = static_cast<std::time_t>(secs.count());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char frac[16];
  std::snprintf(frac, sizeof frac, ".%09lldZ", static_cast<long long>(nanos));
  return std::string(buf) + frac;
}

// ?source= / ?destination= (exactly one, not empty), parsed as "ns/name".
Result<IntentionTarget> target_param(const Request& req, const std::string& name) {
  auto values = req.query.get_all(name);
  if (values.size() != 1 || values[0].empty())
    return Error(errc::invalid_argument, "required query parameter '" + name + "' not set");
  auto t = api::parse_intention_target(values[0]);
  if (!t.ok()) return Error(errc::invalid_argument, name + " \"" + values[0] + "\" is invalid: " + t.error().message());
  return t;
}

// Config entries are keyed by name alone: a destination in another
// namespace has no entry to live in.
Status check_destination_namespace(const IntentionTarget& dst) {
  if (dst.ns != api::kDefaultNamespace)
    return Error(errc::invalid_argument, "DestinationNS: only the \"default\" namespace is supported, got \"" + dst.ns + "\"");
  return {};
}

// Consul's intention identity from the query: ?source= and ?destination=.
struct Exact {
  IntentionTarget src, dst;
};
enum class ExactUse { read, write };
Result<Exact> exact_params(const Request& req, const Config& config, ExactUse use) {
  if (use == ExactUse::write) CAIRN_RETURN_IF_ERROR(check_datacenter(req, config));
  CAIRN_TRY(IntentionTarget src, target_param(req, "source"));
  CAIRN_TRY(IntentionTarget dst, target_param(req, "destination"));
  if (use == ExactUse::write) CAIRN_RETURN_IF_ERROR(check_destination_namespace(dst));
  return Exact{std::move(src), std::move(dst)};
}

Intention with_defaults(Intention x) {
  if (x.source_ns.empty()) x.source_ns = std::string(api::kDefaultNamespace);
  if (x.destination_ns.empty()) x.destination_ns = std::string(api::kDefaultNamespace);
  if (x.source_type.empty()) x.source_type = std::string(api::kIntentionSourceConsul);
  return x;
}

// Consul's checks on a legacy (ID-based) intention write, naming its fields.
Status check_legacy(const Intention& x) {
  auto fail = [](std::string m) { return Status(Error(errc::invalid_argument, std::move(m))); };
  if (x.source_name.empty()) return fail("SourceName must be set");
  if (x.destination_name.empty()) return fail("DestinationName must be set");
  if (x.action != "allow" && x.action != "deny") return fail("Action must be set to 'allow' or 'deny'");
  if (!x.permissions.empty())
    return fail("Permissions: L7 permissions cannot be set through the legacy ID-based API; use "
                "PUT /v1/connect/intentions/exact or a service-intentions config entry");
  return check_destination_namespace(IntentionTarget{x.destination_ns, x.destination_name});
}

// The source matching (ns, name) in e, or end().
auto find_source(api::ServiceIntentions& e, std::string_view ns, std::string_view name) {
  return std::find_if(e.sources.begin(), e.sources.end(), [&](const api::SourceIntention& s) {
    return api::namespace_or_default(s.ns) == api::namespace_or_default(ns) && s.name == name;
  });
}
auto find_legacy(api::ServiceIntentions& e, std::string_view id) {
  return std::find_if(e.sources.begin(), e.sources.end(),
                      [&](const api::SourceIntention& s) { return s.legacy_id == id; });
}

Error duplicate(const api::ServiceIntentions& e, const api::SourceIntention& existing) {
  api::ServiceIntentions one = e;
  one.sources = {existing};
  auto x = api::to_intentions(one, 0, 0);
  return Error(errc::invalid_argument, "duplicate intention found: " + api::describe_intention(x.front()));
}

// Changes one destination's entry. `mutate` edits the entry (empty sources
// when there was none; `existed` says which); it may fail with the answer
// for the client. The result is written at the ModifyIndex read (CAS), or
// the entry deleted when no source is left; a lost CAS starts over.
using Mutation = std::function<Status(api::ServiceIntentions& e, bool existed)>;

struct Modify : std::enable_shared_from_this<Modify> {
  EndpointContext& ctx;
  std::string token;
  std::string destination;
  Mutation mutate;
  std::function<void(Status)> done;
  int attempts = 0;

  Modify(EndpointContext& c, std::string t, std::string d, Mutation m, std::function<void(Status)> fn)
      : ctx(c), token(std::move(t)), destination(std::move(d)), mutate(std::move(m)), done(std::move(fn)) {}

  void run() {
    if (!ctx.rpc) return done(Error(errc::unavailable, "No known Consul servers"));
    if (++attempts > kMaxCasAttempts)
      return done(Error(errc::unavailable, "intention write for \"" + destination + "\" lost to concurrent writes " +
                                               std::to_string(kMaxCasAttempts) + " times; try again"));
    ctx.rpc->query({}, ConfigEntryGet{kIntentionsKind, destination}, [self = shared_from_this()](Result<QueryResponse> r) {
      if (!r.ok()) return self->done(r.error());
      if (r->value.index() != IndexOf<ConfigEntryGet, api::rpc::Query>::value)
        return self->done(Error(errc::internal, "internal error: response type not correct"));
      self->apply(value_of<ConfigEntryGet>(*r));
    });
  }

  void apply(const std::optional<api::ConfigEntry>& stored) {
    api::ServiceIntentions e;
    e.name = destination;
    uint64_t cas_index = 0;
    if (stored) {
      auto parsed = api::service_intentions_of(*stored);
      if (!parsed.ok()) return done(Error(errc::internal, "stored service-intentions entry \"" + destination +
                                                             "\" does not decode: " + parsed.error().message()));
      e = std::move(*parsed);
      cas_index = stored->modify_index;
    }
    if (auto st = mutate(e, stored.has_value()); !st.ok()) return done(st);
    auto self = shared_from_this();
    auto after = [self](Result<WriteResponse> r, size_t expect) {
      if (!r.ok()) return self->done(r.error());
      if (r->value.index() != expect) return self->done(Error(errc::internal, "internal error: response type not correct"));
      bool happened = std::visit([](const auto& v) {
        if constexpr (std::is_same_v<std::decay_t<decltype(v)>, bool>) return v;
        return false;
      }, r->value);
      if (!happened) return self->run();  // another writer changed the entry first
      self->done({});
    };
    WriteOptions wo;
    wo.token = token;
    if (e.sources.empty()) {
      if (!stored) return done({});
      ctx.rpc->write(wo, ConfigEntryDelete{kIntentionsKind, destination, true, cas_index},
                     [after](Result<WriteResponse> r) { after(std::move(r), IndexOf<ConfigEntryDelete, api::rpc::Write>::value); });
      return;
    }
    api::normalize_intentions(e);
    if (auto st = api::validate_intentions(e); !st.ok()) return done(st);
    api::ConfigEntry entry{kIntentionsKind, destination, api::encode_service_intentions(e), 0, 0};
    ctx.rpc->write(wo, ConfigEntryApply{std::move(entry), true, cas_index},
                   [after](Result<WriteResponse> r) { after(std::move(r), IndexOf<ConfigEntryApply, api::rpc::Write>::value); });
  }
};

void modify(EndpointContext& ctx, std::string token, std::string destination, Mutation mutate,
            std::function<void(Status)> done) {
  std::make_shared<Modify>(ctx, std::move(token), std::move(destination), std::move(mutate), std::move(done))->run();
}

// Every intention (one ConfigEntryList), with the query meta.
void with_all(EndpointContext& ctx, QueryOptions options, Responder responder,
              std::function<void(const IntentionIndex&, const QueryMeta&)> next) {
  query_then<ConfigEntryList>(ctx, std::move(options), ConfigEntryList{kIntentionsKind}, responder,
                              [next = std::move(next)](std::vector<api::ConfigEntry>& entries, const QueryMeta& meta) {
                                next(IntentionIndex::build(entries), meta);
                              });
}

// The decision from the agent's watched index, or (before its first answer,
// or without a watch) from one ConfigEntryList.
void with_index(EndpointContext& ctx, Responder responder, std::function<void(const IntentionIndex&)> next) {
  if (ctx.intentions) {
    if (auto idx = ctx.intentions->current()) return next(*idx);
  }
  with_all(ctx, {}, responder, [next = std::move(next)](const IntentionIndex& idx, const QueryMeta&) { next(idx); });
}

Response status_reply(const Status& st, Response ok) { return st.ok() ? std::move(ok) : rpc_error(st.error()); }

// Consul's SPIFFE service identity: spiffe://<trust-domain>/ns/<ns>/dc/<dc>/svc/<service>
// (partitions add /ap/<partition> first; only "default" is accepted).
Result<IntentionTarget> parse_spiffe_service(std::string_view uri) {
  const Error bad(errc::invalid_argument, "ClientCertURI not a valid Connect identifier");
  constexpr std::string_view kScheme = "spiffe://";
  if (uri.substr(0, kScheme.size()) != kScheme) return bad;
  uri.remove_prefix(kScheme.size());
  auto slash = uri.find('/');
  if (slash == 0 || slash == std::string_view::npos) return bad;
  std::vector<std::string_view> parts;
  for (std::string_view rest = uri.substr(slash + 1); !rest.empty();) {
    auto next = rest.find('/');
    parts.push_back(rest.substr(0, next));
    rest = next == std::string_view::npos ? std::string_view() : rest.substr(next + 1);
  }
  if (parts.size() == 8 && parts[0] == "ap") {
    if (parts[1] != "default") return Error(errc::invalid_argument, "ClientCertURI: admin partitions are not supported");
    parts.erase(parts.begin(), parts.begin() + 2);
  }
  if (parts.size() != 6 || parts[0] != "ns" || parts[2] != "dc" || parts[4] != "svc")
    return Error(errc::invalid_argument, "ClientCertURI not a valid Service identifier");
  for (auto p : parts)
    if (p.empty()) return bad;
  return IntentionTarget{std::string(parts[1]), std::string(parts[5])};
}

}  // namespace

void register_intentions(Router& router, EndpointContext& ctx) {
  // GET /v1/connect/intentions: every intention, by precedence; blocking; ?filter.
  router.add(Method::get, "/v1/connect/intentions", [&ctx](Request& req, Responder responder) {
    auto params = parse_read(req, ctx.config, Filtering::applied);
    if (!params.ok()) return responder.respond(error_response(params.error()));
    run_query<ConfigEntryList>(ctx, *params, ConfigEntryList{kIntentionsKind}, responder,
                               [p = *params](std::vector<api::ConfigEntry>& entries) {
                                 return json_text_reply(p, api::to_json(IntentionIndex::build(entries).all()));
                               });
  });

  // POST /v1/connect/intentions: the legacy create; the new ID is the source's LegacyID.
  router.add(Method::post, "/v1/connect/intentions", [&ctx](Request& req, Responder responder) {
    if (auto st = check_datacenter(req, ctx.config); !st.ok()) return responder.respond(error_response(st.error()));
    auto body = api::decode_intention(req.body);
    if (!body.ok()) return responder.respond(bad_request(body.error().message()));
    if (!body->id.empty()) return responder.respond(bad_request("ID must be empty when creating a new intention"));
    Intention x = with_defaults(std::move(*body));
    if (auto st = check_legacy(x); !st.ok()) return responder.respond(error_response(st.error()));
    x.id = random_uuid();
    x.created_at = x.updated_at = now_rfc3339();
    auto source = api::to_source(x);
    modify(ctx, request_token(req), x.destination_name,
           [source](api::ServiceIntentions& e, bool) -> Status {
             if (auto it = find_source(e, source.ns, source.name); it != e.sources.end()) return duplicate(e, *it);
             e.sources.push_back(source);
             return {};
           },
           [responder, id = x.id](Status st) {
             responder.respond(status_reply(st, Response::json(nlohmann::json{{"ID", id}}.dump())));
           });
  });

  // /v1/connect/intentions/exact?source=&destination=
  router.add(Method::get, "/v1/connect/intentions/exact", [&ctx](Request& req, Responder responder) {
    auto exact = exact_params(req, ctx.config, ExactUse::read);
    if (!exact.ok()) return responder.respond(error_response(exact.error()));
    const auto& [src, dst] = *exact;
    auto params = parse_read(req, ctx.config);
    if (!params.ok()) return responder.respond(error_response(params.error()));
    run_query<ConfigEntryGet>(ctx, *params, ConfigEntryGet{kIntentionsKind, dst.name}, responder,
                              [p = *params, src = src, dst = dst](std::optional<api::ConfigEntry>& entry) {
                                std::vector<api::ConfigEntry> one;
                                if (entry) one.push_back(*entry);
                                auto idx = IntentionIndex::build(one);
                                const Intention* x = idx.find_exact(src, dst);
                                if (!x) return Response::error(404, "Intention not found");
                                return json_text_reply(p, api::to_json(*x));
                              });
  });

  router.add(Method::put, "/v1/connect/intentions/exact", [&ctx](Request& req, Responder responder) {
    auto exact = exact_params(req, ctx.config, ExactUse::write);
    if (!exact.ok()) return responder.respond(error_response(exact.error()));
    const auto& [src, dst] = *exact;
    auto body = api::decode_intention(req.body);
    if (!body.ok()) return responder.respond(bad_request(body.error().message()));
    Intention x = with_defaults(std::move(*body));
    x.id.clear();  // Consul clears the legacy ID on this endpoint
    x.source_ns = src.ns;
    x.source_name = src.name;
    auto source = api::to_source(x);
    modify(ctx, request_token(req), dst.name,
           [source, meta = x.meta](api::ServiceIntentions& e, bool) -> Status {
             if (auto it = find_source(e, source.ns, source.name); it != e.sources.end()) {
               *it = source;
             } else {
               e.sources.push_back(source);
             }
             if (!meta.empty()) e.meta = meta;
             return {};
           },
           [responder](Status st) { responder.respond(status_reply(st, bool_reply(true))); });
  });

  router.add(Method::del, "/v1/connect/intentions/exact", [&ctx](Request& req, Responder responder) {
    auto exact = exact_params(req, ctx.config, ExactUse::write);
    if (!exact.ok()) return responder.respond(error_response(exact.error()));
    const auto& [src, dst] = *exact;
    modify(ctx, request_token(req), dst.name,
           [src = src](api::ServiceIntentions& e, bool) -> Status {
             if (auto it = find_source(e, src.ns, src.name); it != e.sources.end())
               e.sources.erase(it);
             return {};
           },
           [responder](Status st) { responder.respond(status_reply(st, bool_reply(true))); });
  });

  // GET /v1/connect/intentions/check?source=&destination= → {"Allowed": bool}.
  router.add(Method::get, "/v1/connect/intentions/check", [&ctx](Request& req, Responder responder) {
    auto exact = exact_params(req, ctx.config, ExactUse::read);
    if (!exact.ok()) return responder.respond(error_response(exact.error()));
    const auto& [src, dst] = *exact;
    if (auto type = req.query.get("source-type"); type && !type->empty() && *type != api::kIntentionSourceConsul)
      return responder.respond(bad_request("unsupported SourceType: \"" + *type + "\""));
    bool default_allow = ctx.config.acl_default_policy == "allow";
    with_index(ctx, responder, [responder, src = src, dst = dst, default_allow](const IntentionIndex& idx) {
      // Consul's Intention.Check: an L7 intention answers Allowed (its
      // permissions are decided per request by the proxy).
      auto d = idx.decide(src, dst, default_allow, /*allow_permissions=*/true);
      responder.respond(Response::json(nlohmann::json{{"Allowed", d.allowed}}.dump()));
    });
  });

  // GET /v1/connect/intentions/match?by=source|destination&name=... (repeatable); blocking.
  router.add(Method::get, "/v1/connect/intentions/match", [&ctx](Request& req, Responder responder) {
    auto by = req.query.get_all("by");
    if (by.size() != 1) return responder.respond(bad_request("required query parameter 'by' not set"));
    api::IntentionMatchBy match_by;
    if (by[0] == "source") {
      match_by = api::IntentionMatchBy::source;
    } else if (by[0] == "destination") {
      match_by = api::IntentionMatchBy::destination;
    } else {
      return responder.respond(bad_request("'by' parameter must be one of 'source' or 'destination'"));
    }
    auto names = req.query.get_all("name");
    if (names.empty()) return responder.respond(bad_request("required query parameter 'name' not set"));
    std::vector<std::pair<std::string, IntentionTarget>> targets;
    for (const auto& n : names) {
      auto t = api::parse_intention_target(n);
      if (!t.ok()) return responder.respond(bad_request("name \"" + n + "\" is invalid: " + t.error().message()));
      targets.emplace_back(n, *t);
    }
    auto params = parse_read(req, ctx.config);
    if (!params.ok()) return responder.respond(error_response(params.error()));
    run_query<ConfigEntryList>(ctx, *params, ConfigEntryList{kIntentionsKind}, responder,
                               [p = *params, targets, match_by](std::vector<api::ConfigEntry>& entries) {
                                 auto idx = IntentionIndex::build(entries);
                                 std::vector<std::pair<std::string, std::vector<Intention>>> out;
                                 for (const auto& [name, t] : targets) out.emplace_back(name, idx.match(match_by, t));
                                 return json_text_reply(p, api::to_json(out));
                               });
  });

  // /v1/connect/intentions/<id>: the legacy API by ID (the source's LegacyID).
  router.add(Method::get, "/v1/connect/intentions/<id>", [&ctx](Request& req, Responder responder) {
    auto id = path_value(req, "id", "Missing intention ID");
    if (!id.ok()) return responder.respond(error_response(id.error()));
    auto params = parse_read(req, ctx.config);
    if (!params.ok()) return responder.respond(error_response(params.error()));
    with_all(ctx, params->options, responder,
             [responder, p = *params, id = *id](const IntentionIndex& idx, const QueryMeta& meta) {
               const Intention* x = idx.find_id(id);
               Response resp = x ? json_text_reply(p, api::to_json(*x)) : Response::error(404, "Intention not found");
               set_query_meta(resp, meta, p.options.consistency);
               responder.respond(std::move(resp));
             });
  });

  router.add(Method::put, "/v1/connect/intentions/<id>", [&ctx](Request& req, Responder responder) {
    if (auto st = check_datacenter(req, ctx.config); !st.ok()) return responder.respond(error_response(st.error()));
    auto id = path_value(req, "id", "Missing intention ID");
    if (!id.ok()) return responder.respond(error_response(id.error()));
    auto body = api::decode_intention(req.body);
    if (!body.ok()) return responder.respond(bad_request(body.error().message()));
    Intention x = with_defaults(std::move(*body));
    x.id = *id;
    if (auto st = check_legacy(x); !st.ok()) return responder.respond(error_response(st.error()));
    std::string token = request_token(req);
    with_all(ctx, {}, responder, [&ctx, responder, x, token](const IntentionIndex& idx, const QueryMeta&) mutable {
      const Intention* old = idx.find_id(x.id);
      if (!old) return responder.respond(Response::error(404, "Cannot modify non-existent intention: '" + x.id + "'"));
      x.created_at = old->created_at;
      x.updated_at = now_rfc3339();
      auto source = api::to_source(x);
      std::string old_destination = old->destination_name;
      auto reply = [responder, id = x.id](Status st) {
        responder.respond(status_reply(st, Response::json(nlohmann::json{{"ID", id}}.dump())));
      };
      auto remove_old = [id = x.id](api::ServiceIntentions& e, bool) -> Status {
        if (auto it = find_legacy(e, id); it != e.sources.end()) e.sources.erase(it);
        return {};
      };
      auto put_new = [source, same = old_destination == x.destination_name](api::ServiceIntentions& e, bool) -> Status {
        if (same) {
          auto it = find_legacy(e, source.legacy_id);
          if (it == e.sources.end())
            return Error(errc::not_found, "Cannot modify non-existent intention: '" + source.legacy_id + "'");
          e.sources.erase(it);
        }
        if (auto it = find_source(e, source.ns, source.name); it != e.sources.end()) return duplicate(e, *it);
        e.sources.push_back(source);
        return {};
      };
      if (old_destination == x.destination_name) return modify(ctx, token, x.destination_name, put_new, reply);
      // A new destination: add it there first, then take it out of the old
      // entry (two writes; Consul does both in one Raft entry).
      modify(ctx, token, x.destination_name, put_new,
             [&ctx, token, old_destination, remove_old, reply](Status st) {
               if (!st.ok()) return reply(st);
               modify(ctx, token, old_destination, remove_old, reply);
             });
    });
  });

  router.add(Method::del, "/v1/connect/intentions/<id>", [&ctx](Request& req, Responder responder) {
    if (auto st = check_datacenter(req, ctx.config); !st.ok()) return responder.respond(error_response(st.error()));
    auto id = path_value(req, "id", "Missing intention ID");
    if (!id.ok()) return responder.respond(error_response(id.error()));
    std::string token = request_token(req);
    with_all(ctx, {}, responder, [&ctx, responder, id = *id, token](const IntentionIndex& idx, const QueryMeta&) {
      const Intention* old = idx.find_id(id);
      if (!old) return responder.respond(Response::error(404, "Cannot delete non-existent intention: '" + id + "'"));
      modify(ctx, token, old->destination_name,
             [id](api::ServiceIntentions& e, bool) -> Status {
               if (auto it = find_legacy(e, id); it != e.sources.end()) e.sources.erase(it);
               return {};
             },
             [responder](Status st) { responder.respond(status_reply(st, bool_reply(true))); });
    });
  });

  // POST /v1/agent/connect/authorize {Target, ClientCertURI, ClientCertSerial}.
  // The trust domain of ClientCertURI is not compared with the CA's roots
  // (Consul does not either: connect_auth.go "we DON'T explicitly validate
  // the trust-domain").
  router.add(Method::post, "/v1/agent/connect/authorize", [&ctx](Request& req, Responder responder) {
    nlohmann::json body;
    try {
      body = nlohmann::json::parse(req.body.empty() ? std::string("{}") : req.body);
    } catch (const nlohmann::json::exception& e) {
      return responder.respond(bad_request(std::string("Request decode failed: ") + e.what()));
    }
    if (!body.is_object()) return responder.respond(bad_request("Request decode failed: body: expected an object"));
    auto text = [&body](std::string_view name) -> Result<std::string> {
      for (const auto& item : body.items()) {
        if (!equal_fold(item.key(), name)) continue;
        if (item.value().is_null()) return std::string();
        if (!item.value().is_string())
          return Error(errc::invalid_argument, "Request decode failed: " + std::string(name) + ": expected a string");
        return item.value().get<std::string>();
      }
      return std::string();
    };
    auto target = text("Target");
    if (!target.ok()) return responder.respond(error_response(target.error()));
    auto uri = text("ClientCertURI");
    if (!uri.ok()) return responder.respond(error_response(uri.error()));
    if (target->empty()) return responder.respond(bad_request("Target service must be specified"));
    auto src = parse_spiffe_service(*uri);
    if (!src.ok()) return responder.respond(error_response(src.error()));
    bool default_allow = ctx.config.acl_default_policy == "allow";
    with_index(ctx, responder, [responder, src = *src, dst = IntentionTarget{"default", *target}, default_allow](const IntentionIndex& idx) {
      // An L4 decision: an L7 intention denies here (connect_auth.go).
      auto d = idx.decide(src, dst, default_allow, /*allow_permissions=*/false);
      std::string reason;
      if (!d.intention) {
        reason = "Default behavior configured by ACLs";
      } else {
        reason = std::string(d.has_permissions ? "Matched L7 intention: " : "Matched L4 intention: ") +
                 api::describe_intention(*d.intention);
      }
      responder.respond(Response::json(nlohmann::json{{"Authorized", d.allowed}, {"Reason", reason}}.dump()));
    });
  });
}

}  // namespace cairn::agent::http
