// cairn intention create|delete|get|list|check|match: Consul's `consul
// intention` commands over /v1/connect/intentions, with their flags,
// messages and exit codes (check: 0 allowed, 2 denied, 1 error).
#include <fstream>
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "api/intentions.h"
#include "cli/client.h"
#include "cli/command.h"
#include "cli/commands/http_call.h"
#include "core/http/url.h"

namespace cairn::cli {
namespace {

constexpr int kExitDenied = 2;

std::string exact_query(const std::string& src, const std::string& dst) {
  return "?source=" + http::percent_encode(src) + "&destination=" + http::percent_encode(dst);
}

std::string show(const api::Intention& x) {
  auto side = [](const std::string& ns, const std::string& name) {
    return ns.empty() || ns == api::kDefaultNamespace ? name : ns + "/" + name;
  };
  std::string action = x.action.empty() ? "l7" : x.action;
  return side(x.source_ns, x.source_name) + " => " + side(x.destination_ns, x.destination_name) + " (" + action + ")";
}

int fail(const std::string& what, const Error& e) {
  std::cerr << what << ": " << e.message() << "\n";
  return kExitError;
}

// One intention, by ID (one argument) or by SRC DST (two).
Result<api::Intention> fetch(const ClientFlags& f, const std::vector<std::string>& args) {
  std::string target = args.size() == 1 ? "/v1/connect/intentions/" + http::percent_encode(args[0], true)
                                        : "/v1/connect/intentions/exact" + exact_query(args[0], args[1]);
  CAIRN_TRY(api::HttpResult res, http_call(f, "GET", target, {}, true));
  if (res.status == 404) return Error(errc::not_found, "Intention not found");
  return api::decode_intention_response(res.body);
}

Status check_args(const std::vector<std::string>& args, bool id_allowed) {
  if (args.size() == 2 || (id_allowed && args.size() == 1)) return {};
  return Error(errc::invalid_argument, id_allowed ? "command requires exactly 1 or 2 arguments"
                                                  : "command requires exactly 2 arguments: SRC DST");
}

struct CreateOptions {
  bool allow = false, deny = false, replace = false;
  std::string description, file;
  std::vector<std::string> meta;  // k=v
  std::vector<std::string> args;
};

Result<std::vector<api::Intention>> intentions_to_create(const CreateOptions& o) {
  std::vector<api::Intention> out;
  if (!o.file.empty()) {
    std::ifstream in(o.file);
    if (!in) return Error(errc::io_error, "Error reading file " + o.file);
    std::string text(std::istreambuf_iterator<char>(in), {});
    CAIRN_TRY(api::Intention x, api::decode_intention(text));
    out.push_back(std::move(x));
    return out;
  }
  if (o.args.size() != 2) return Error(errc::invalid_argument, "Must specify two arguments: source and destination");
  if (o.allow && o.deny) return Error(errc::invalid_argument, "Only one of -allow or -deny may be specified");
  api::Intention x;
  auto src = api::parse_intention_target(o.args[0]);
  auto dst = api::parse_intention_target(o.args[1]);
  if (!src.ok()) return src.error();
  if (!dst.ok()) return dst.error();
  x.source_ns = src->ns;
  x.source_name = src->name;
  x.destination_ns = dst->ns;
  x.destination_name = dst->name;
  x.action = o.deny ? "deny" : "allow";
  x.description = o.description;
  for (const auto& kv : o.meta) {
    auto eq = kv.find('=');
    if (eq == std::string::npos) return Error(errc::invalid_argument, "Meta must be key=value, got \"" + kv + "\"");
    x.meta[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  out.push_back(std::move(x));
  return out;
}

int create(const ClientFlags& f, const CreateOptions& o) {
  auto ixns = intentions_to_create(o);
  if (!ixns.ok()) return fail("Error", ixns.error());
  for (auto& x : *ixns) {
    if (o.replace) {
      // Consul's -replace: the existing SRC DST intention goes first.
      auto del = http_call(f, "DELETE", "/v1/connect/intentions/exact" + exact_query(x.source_name, x.destination_name));
      if (!del.ok()) return fail("Error replacing intention \"" + show(x) + "\"", del.error());
    }
    nlohmann::json body = nlohmann::json::parse(api::to_json(x));
    body.erase("ID");
    for (const char* k : {"Precedence", "CreatedAt", "UpdatedAt", "CreateIndex", "ModifyIndex"}) body.erase(k);
    auto res = http_call(f, "POST", "/v1/connect/intentions", body.dump());
    if (!res.ok()) return fail("Error creating intention \"" + show(x) + "\"", res.error());
    std::cout << "Created: " << show(x) << "\n";
  }
  return kExitOk;
}

int remove(const ClientFlags& f, const std::vector<std::string>& args) {
  if (auto st = check_args(args, true); !st.ok()) return fail("Error", st.error());
  std::string target = args.size() == 1 ? "/v1/connect/intentions/" + http::percent_encode(args[0], true)
                                        : "/v1/connect/intentions/exact" + exact_query(args[0], args[1]);
  auto res = http_call(f, "DELETE", target);
  if (!res.ok()) return fail("Error deleting intention", res.error());
  std::cout << "Intention deleted.\n";
  return kExitOk;
}

int get(const ClientFlags& f, const std::vector<std::string>& args) {
  if (auto st = check_args(args, true); !st.ok()) return fail("Error", st.error());
  auto x = fetch(f, args);
  if (!x.ok()) return fail("Error reading the intention", x.error());
  std::vector<std::vector<std::string>> rows{{"Source:", x->source_name},
                                             {"Destination:", x->destination_name}};
  if (!x->action.empty()) rows.push_back({"Action:", x->action});
  if (!x->permissions.empty()) rows.push_back({"Permissions:", std::to_string(x->permissions.size()) + " (L7)"});
  if (!x->id.empty()) rows.push_back({"ID:", x->id});
  if (!x->description.empty()) rows.push_back({"Description:", x->description});
  for (const auto& [k, v] : x->meta) rows.push_back({"Meta[" + k + "]:", v});
  rows.push_back({"Precedence:", std::to_string(x->precedence)});
  if (!x->created_at.empty() && x->created_at != "0001-01-01T00:00:00Z") rows.push_back({"Created At:", x->created_at});
  print_table(std::cout, rows);
  return kExitOk;
}

int list(const ClientFlags& f) {
  auto res = http_call(f, "GET", "/v1/connect/intentions");
  if (!res.ok()) return fail("Error listing intentions", res.error());
  auto ixns = api::decode_intentions(res->body);
  if (!ixns.ok()) return fail("Error listing intentions", ixns.error());
  if (ixns->empty()) {
    std::cout << "There are no intentions.\n";
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows{{"ID", "Source", "Action", "Destination", "Precedence"}};
  for (const auto& x : *ixns)
    rows.push_back({x.id, x.source_name, x.action.empty() ? "l7" : x.action, x.destination_name,
                    std::to_string(x.precedence)});
  print_table(std::cout, rows);
  return kExitOk;
}

int check(const ClientFlags& f, const std::vector<std::string>& args) {
  if (auto st = check_args(args, false); !st.ok()) return fail("Error", st.error());
  auto res = http_call(f, "GET", "/v1/connect/intentions/check" + exact_query(args[0], args[1]));
  if (!res.ok()) return fail("Error checking the connection", res.error());
  bool allowed = false;
  try {
    allowed = nlohmann::json::parse(res->body).at("Allowed").get<bool>();
  } catch (const nlohmann::json::exception& e) {
    return fail("Error checking the connection", Error(errc::parse_error, e.what()));
  }
  std::cout << (allowed ? "Allowed" : "Denied") << "\n";
  return allowed ? kExitOk : kExitDenied;
}

int match(const ClientFlags& f, bool by_source, const std::vector<std::string>& args) {
  if (args.size() != 1) return fail("Error", Error(errc::invalid_argument, "command requires exactly one argument: NAME"));
  std::string target = std::string("/v1/connect/intentions/match?by=") + (by_source ? "source" : "destination") +
                       "&name=" + http::percent_encode(args[0]);
  auto res = http_call(f, "GET", target);
  if (!res.ok()) return fail("Error matching the intention", res.error());
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(res->body);
  } catch (const nlohmann::json::exception& e) {
    return fail("Error matching the intention", Error(errc::parse_error, e.what()));
  }
  auto ixns = api::decode_intentions(j.contains(args[0]) ? j[args[0]].dump() : "[]");
  if (!ixns.ok()) return fail("Error matching the intention", ixns.error());
  for (const auto& x : *ixns) std::cout << show(x) << "\n";
  return kExitOk;
}

}  // namespace

void add_intention_command(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("intention", "Interact with Connect service intentions");
  cmd->require_subcommand(1);

  auto* c = cmd->add_subcommand("create", "Create intentions");
  auto cf = add_client_flags(c);
  auto co = std::make_shared<CreateOptions>();
  c->add_flag("--allow", co->allow, "Allow the connection (the default)");
  c->add_flag("--deny", co->deny, "Deny the connection");
  c->add_flag("--replace", co->replace, "Replace an existing intention for SRC DST");
  c->add_option("--description", co->description, "A description of the intention");
  c->add_option("--meta", co->meta, "Metadata as key=value (repeatable)");
  c->add_option("--file", co->file, "Read the intention from a JSON file instead of SRC DST");
  c->add_option("args", co->args, "SRC DST");
  c->callback([=] { *exit_code = create(*cf, *co); });

  auto args_of = [](CLI::App* sub, std::shared_ptr<std::vector<std::string>> args, const char* what) {
    sub->add_option("args", *args, what);
  };

  auto* d = cmd->add_subcommand("delete", "Delete an intention");
  auto df = add_client_flags(d);
  auto da = std::make_shared<std::vector<std::string>>();
  args_of(d, da, "SRC DST, or ID");
  d->callback([=] { *exit_code = remove(*df, *da); });

  auto* g = cmd->add_subcommand("get", "Show an intention");
  auto gf = add_client_flags(g);
  auto ga = std::make_shared<std::vector<std::string>>();
  args_of(g, ga, "SRC DST, or ID");
  g->callback([=] { *exit_code = get(*gf, *ga); });

  auto* l = cmd->add_subcommand("list", "List every intention");
  auto lf = add_client_flags(l);
  l->callback([=] { *exit_code = list(*lf); });

  auto* k = cmd->add_subcommand("check", "Check whether SRC may connect to DST (exit 0 allowed, 2 denied)");
  auto kf = add_client_flags(k);
  auto ka = std::make_shared<std::vector<std::string>>();
  args_of(k, ka, "SRC DST");
  k->callback([=] { *exit_code = check(*kf, *ka); });

  auto* m = cmd->add_subcommand("match", "Show the intentions that match a destination (or -source)");
  auto mf = add_client_flags(m);
  auto ma = std::make_shared<std::vector<std::string>>();
  auto by_source = std::make_shared<bool>(false);
  auto by_destination = std::make_shared<bool>(false);
  m->add_flag("--source", *by_source, "Match intentions whose source is NAME");
  m->add_flag("--destination", *by_destination, "Match intentions whose destination is NAME (the default)");
  args_of(m, ma, "NAME");
  m->callback([=] { *exit_code = match(*mf, *by_source, *ma); });
}

}  // namespace cairn::cli
