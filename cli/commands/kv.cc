// cairn kv get|put|delete|export|import: Consul's `consul kv` commands over
// /v1/kv, with its flags, messages and output formats.
#include <fstream>
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <sstream>

#include "api/json.h"
#include "cli/client.h"
#include "cli/command.h"
#include "cli/commands/http_call.h"
#include "core/base64.h"
#include "core/http/url.h"

namespace cairn::cli {
namespace {

std::string kv_target(const std::string& key) { return "/v1/kv/" + http::percent_encode(key, true); }

// Consul strips one leading '/' ("pairs cannot start with a /").
std::string clean_key(std::string key) {
  if (!key.empty() && key[0] == '/') key.erase(0, 1);
  return key;
}

// Consul's prettyKVPair: a tabwriter with padding 6.
void print_detailed(const api::KVPair& kv, bool b64) {
  std::string value = kv.value.value_or("");
  std::vector<std::pair<std::string, std::string>> rows{
      {"CreateIndex", std::to_string(kv.raft.create_index)},
      {"Flags", std::to_string(kv.flags)},
      {"Key", kv.key},
      {"LockIndex", std::to_string(kv.lock_index)},
      {"ModifyIndex", std::to_string(kv.raft.modify_index)},
      {"Session", kv.session.empty() ? "-" : kv.session},
      {"Value", b64 ? base64_encode(value) : value}};
  for (const auto& [k, v] : rows) std::cout << k << std::string(11 - k.size() + 6, ' ') << v << "\n";
}

// Reads `arg` as Consul's DATA: "@file", "-" (stdin) or the text itself.
Result<std::string> read_data(const std::string& arg) {
  if (arg.size() > 1 && arg[0] == '@') {
    std::ifstream in(arg.substr(1), std::ios::binary);
    if (!in) return Error(errc::io_error, "Failed to read file: open " + arg.substr(1) + ": no such file or directory");
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  if (arg == "-") return std::string(std::istreambuf_iterator<char>(std::cin), {});
  return arg;
}

struct GetOptions {
  bool recurse = false, keys = false, detailed = false, base64 = false;
  std::string separator = "/";
  std::string key;
};

int kv_get(const ClientFlags& f, GetOptions o) {
  std::string key = clean_key(o.key);
  if (key.empty() && !o.recurse && !o.keys) return std::cerr << "Error! Missing KEY argument\n", kExitError;
  std::string target = kv_target(key);
  if (o.keys) {
    target += "?keys&separator=" + http::percent_encode(o.separator);
  } else if (o.recurse) {
    target += "?recurse";
  }
  auto res = http_call(f, "GET", target, {}, true);
  if (!res.ok()) return std::cerr << "Error querying Consul agent: " << res.error().message() << "\n", kExitError;
  if (o.keys) {
    auto keys = res->status == 404 ? Result<std::vector<std::string>>(std::vector<std::string>{})
                                   : api::decode_keys(res->body);
    if (!keys.ok()) return std::cerr << "Error querying Consul agent: " << keys.error().message() << "\n", kExitError;
    for (const auto& k : *keys) std::cout << k << "\n";
    return kExitOk;
  }
  if (res->status == 404) {
    if (o.recurse) return kExitOk;
    return std::cerr << "Error! No key exists at: " << key << "\n", kExitError;
  }
  auto pairs = api::decode_kv_pairs(res->body);
  if (!pairs.ok()) return std::cerr << "Error querying Consul agent: " << pairs.error().message() << "\n", kExitError;
  if (!o.recurse) {
    if (pairs->empty()) return std::cerr << "Error! No key exists at: " << key << "\n", kExitError;
    if (o.detailed) {
      print_detailed(pairs->front(), o.base64);
    } else {
      std::cout << pairs->front().value.value_or("") << "\n";
    }
    return kExitOk;
  }
  for (size_t i = 0; i < pairs->size(); ++i) {
    const auto& kv = (*pairs)[i];
    if (o.detailed) {
      print_detailed(kv, o.base64);
      if (i + 1 < pairs->size()) std::cout << "\n";
    } else {
      std::string v = kv.value.value_or("");
      std::cout << kv.key << ":" << (o.base64 ? base64_encode(v) : v) << "\n";
    }
  }
  return kExitOk;
}

struct PutOptions {
  uint64_t flags = 0, modify_index = 0;
  bool cas = false, acquire = false, release = false, base64 = false;
  std::string session;
  std::vector<std::string> args;  // KEY [DATA]
};

int kv_put(const ClientFlags& f, const PutOptions& o) {
  if (o.args.empty()) return std::cerr << "Error! Missing KEY argument\n", kExitError;
  if (o.args.size() > 2) {
    std::cerr << "Error! Too many arguments (expected 1 or 2, got " << o.args.size() << ")\n";
    return kExitError;
  }
  std::string key = o.args[0];
  std::string data;
  if (o.args.size() == 2 && !o.args[1].empty()) {
    auto d = read_data(o.args[1]);
    if (!d.ok()) return std::cerr << "Error! " << d.error().message() << "\n", kExitError;
    data = std::move(*d);
  }
  if (o.base64) {
    auto d = base64_decode(data);
    if (!d.ok()) return std::cerr << "Error! Cannot base 64 decode data: " << d.error().message() << "\n", kExitError;
    data = std::move(*d);
  }
  if ((o.acquire || o.release) && o.session.empty())
    return std::cerr << "Error! Missing -session (required with -acquire and -release)\n", kExitError;
  if (o.cas && o.modify_index == 0) return std::cerr << "Must specify -modify-index with -cas!\n", kExitError;
  // As Consul's Go API sends them: flags only when set.
  std::vector<std::string> params;
  if (o.flags != 0) params.push_back("flags=" + std::to_string(o.flags));
  if (o.cas) params.push_back("cas=" + std::to_string(o.modify_index));
  if (o.acquire) params.push_back("acquire=" + http::percent_encode(o.session));
  if (o.release) params.push_back("release=" + http::percent_encode(o.session));
  std::string target = kv_target(key);
  for (size_t i = 0; i < params.size(); ++i) target += (i ? "&" : "?") + params[i];
  auto res = http_call(f, "PUT", target, data);
  bool ok = res.ok() && res->body.find("true") != std::string::npos;
  if (o.cas) {
    if (!res.ok()) return std::cerr << "Error! Did not write to " << key << ": " << res.error().message() << "\n", kExitError;
    if (!ok) return std::cerr << "Error! Did not write to " << key << ": CAS failed\n", kExitError;
    std::cout << "Success! Data written to: " << key << "\n";
  } else if (o.acquire || o.release) {
    if (!res.ok()) return std::cerr << "Error! Failed writing data: " << res.error().message() << "\n", kExitError;
    if (!ok) return std::cerr << (o.acquire ? "Error! Did not acquire lock\n" : "Error! Did not release lock\n"), kExitError;
    std::cout << (o.acquire ? "Success! Lock acquired on: " : "Success! Lock released on: ") << key << "\n";
  } else {
    if (!res.ok()) return std::cerr << "Error! Failed writing data: " << res.error().message() << "\n", kExitError;
    std::cout << "Success! Data written to: " << key << "\n";
  }
  return kExitOk;
}

struct DeleteOptions {
  bool recurse = false, cas = false;
  uint64_t modify_index = 0;
  std::string key;
};

int kv_delete(const ClientFlags& f, const DeleteOptions& o) {
  std::string key = clean_key(o.key);
  if (key.empty() && !o.recurse) return std::cerr << "Error! Missing KEY argument\n", kExitError;
  if (o.cas && o.recurse) return std::cerr << "Cannot specify both -cas and -recurse!\n", kExitError;
  if (o.cas && o.modify_index == 0) return std::cerr << "Must specify -modify-index with -cas!\n", kExitError;
  std::string target = kv_target(key);
  if (o.recurse) target += "?recurse";
  if (o.cas) target += "?cas=" + std::to_string(o.modify_index);
  auto res = http_call(f, "DELETE", target);
  if (!res.ok()) {
    std::cerr << "Error! Did not delete key" << (o.recurse ? "s with prefix " : " ") << key << ": "
              << res.error().message() << "\n";
    return kExitError;
  }
  if (o.cas && res->body.find("true") == std::string::npos)
    return std::cerr << "Error! Did not delete key " << key << ": CAS failed\n", kExitError;
  std::cout << (o.recurse ? "Success! Deleted keys with prefix: " : "Success! Deleted key: ") << key << "\n";
  return kExitOk;
}

// Consul's kvExportEntry: lower-case names, the value in base64.
int kv_export(const ClientFlags& f, const std::string& prefix) {
  auto res = http_call(f, "GET", kv_target(clean_key(prefix)) + "?recurse", {}, true);
  if (!res.ok()) return std::cerr << "Error querying Consul agent: " << res.error().message() << "\n", kExitError;
  std::vector<api::KVPair> pairs;
  if (res->status != 404) {
    auto decoded = api::decode_kv_pairs(res->body);
    if (!decoded.ok()) return std::cerr << "Error querying Consul agent: " << decoded.error().message() << "\n", kExitError;
    pairs = std::move(*decoded);
  }
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (const auto& kv : pairs)
    out.push_back({{"key", kv.key}, {"flags", kv.flags}, {"value", base64_encode(kv.value.value_or(""))}});
  std::cout << out.dump(1, '\t') << "\n";
  return kExitOk;
}

int kv_import(const ClientFlags& f, const std::string& arg) {
  if (arg.empty()) return std::cerr << "Error! Missing DATA argument\n", kExitError;
  auto data = read_data(arg);
  if (!data.ok()) return std::cerr << "Error! " << data.error().message() << "\n", kExitError;
  auto entries = nlohmann::json::parse(*data, nullptr, false);
  if (!entries.is_array()) return std::cerr << "Cannot unmarshal data: expected a JSON array\n", kExitError;
  for (const auto& e : entries) {
    if (!e.is_object() || !e.contains("key") || !e["key"].is_string())
      return std::cerr << "Cannot unmarshal data: every entry needs a string \"key\"\n", kExitError;
    std::string key = e["key"].get<std::string>();
    uint64_t flags = e.contains("flags") && e["flags"].is_number_unsigned() ? e["flags"].get<uint64_t>() : 0;
    std::string value = e.contains("value") && e["value"].is_string() ? e["value"].get<std::string>() : "";
    auto bytes = base64_decode(value);
    if (!bytes.ok()) return std::cerr << "Error base 64 decoding value for key " << key << ": " << bytes.error().message() << "\n", kExitError;
    auto res = http_call(f, "PUT", kv_target(key) + (flags ? "?flags=" + std::to_string(flags) : ""), *bytes);
    if (!res.ok()) return std::cerr << "Error! Failed writing data for key " << key << ": " << res.error().message() << "\n", kExitError;
    std::cout << "Imported: " << key << "\n";
  }
  return kExitOk;
}

}  // namespace

void add_kv_command(CLI::App& app, int* exit_code) {
  auto* kv = app.add_subcommand("kv", "Interact with the key-value store");
  kv->require_subcommand(1);

  auto* get = kv->add_subcommand("get", "Retrieve or list data from the KV store");
  auto gf = add_client_flags(get);
  auto go = std::make_shared<GetOptions>();
  get->add_flag("--recurse", go->recurse, "Retrieve every key under the prefix");
  get->add_flag("--keys", go->keys, "List keys under the prefix, not values");
  get->add_option("--separator", go->separator, "Separator for -keys (default \"/\")");
  get->add_flag("--detailed", go->detailed, "Show every field of each entry");
  get->add_flag("--base64", go->base64, "Base64-encode values");
  get->add_option("key", go->key, "KEY or prefix");
  get->callback([=] { *exit_code = kv_get(*gf, *go); });

  auto* put = kv->add_subcommand("put", "Set or update data in the KV store");
  auto pf = add_client_flags(put);
  auto po = std::make_shared<PutOptions>();
  put->add_option("--flags", po->flags, "Unsigned integer flags stored with the key");
  put->add_flag("--cas", po->cas, "Check-and-set: write only if -modify-index is the key's ModifyIndex");
  put->add_option("--modify-index", po->modify_index, "ModifyIndex for -cas");
  put->add_flag("--acquire", po->acquire, "Acquire the lock on the key with -session");
  put->add_flag("--release", po->release, "Release the lock on the key held by -session");
  put->add_option("--session", po->session, "Session for -acquire and -release");
  put->add_flag("--base64", po->base64, "DATA is base64-encoded");
  // As Go's flag package: flags end at KEY, so DATA may start with '-' ("-5").
  put->prefix_command();
  put->footer("Arguments: KEY [DATA | @file | -]");
  put->callback([=] {
    po->args = put->remaining();
    if (!po->args.empty() && po->args[0].size() > 1 && po->args[0][0] == '-') {
      std::cerr << "flag provided but not defined: " << po->args[0] << "\n";
      *exit_code = kExitUsage;
      return;
    }
    *exit_code = kv_put(*pf, *po);
  });

  auto* del = kv->add_subcommand("delete", "Remove data from the KV store");
  auto df = add_client_flags(del);
  auto dopt = std::make_shared<DeleteOptions>();
  del->add_flag("--recurse", dopt->recurse, "Delete every key under the prefix");
  del->add_flag("--cas", dopt->cas, "Delete only if -modify-index is the key's ModifyIndex");
  del->add_option("--modify-index", dopt->modify_index, "ModifyIndex for -cas");
  del->add_option("key", dopt->key, "KEY or prefix");
  del->callback([=] { *exit_code = kv_delete(*df, *dopt); });

  auto* exp = kv->add_subcommand("export", "Export part of the KV tree as JSON");
  auto ef = add_client_flags(exp);
  auto prefix = std::make_shared<std::string>();
  exp->add_option("prefix", *prefix, "PREFIX (default: the whole tree)");
  exp->callback([=] { *exit_code = kv_export(*ef, *prefix); });

  auto* imp = kv->add_subcommand("import", "Import KV entries from `kv export` JSON");
  auto inf = add_client_flags(imp);
  auto data = std::make_shared<std::string>();
  imp->add_option("data", *data, "DATA: the JSON, @file or - (stdin)");
  imp->callback([=] { *exit_code = kv_import(*inf, *data); });
}

}  // namespace cairn::cli
