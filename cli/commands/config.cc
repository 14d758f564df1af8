// cairn config write|read|list|delete: Consul's `consul config` commands over
// /v1/config, with its flags and messages. JSON only: an HCL file is refused
// with a message saying so.
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <nlohmann/json.hpp>

#include "api/config_entry.h"
#include "cli/client.h"
#include "cli/command.h"
#include "cli/commands/http_call.h"
#include "core/http/url.h"

namespace cairn::cli {
namespace {

std::string entry_target(const std::string& kind, const std::string& name) {
  return "/v1/config/" + http::percent_encode(kind) + "/" + http::percent_encode(name, true);
}

Result<std::string> read_input(const std::string& arg) {
  if (arg == "-") return std::string(std::istreambuf_iterator<char>(std::cin), {});
  std::ifstream in(arg, std::ios::binary);
  if (!in) return Error(errc::io_error, "Failed to read file: open " + arg + ": no such file or directory");
  return std::string(std::istreambuf_iterator<char>(in), {});
}

struct WriteOptions {
  bool cas = false;
  uint64_t modify_index = 0;
  std::string file;
};

int config_write(const ClientFlags& f, const WriteOptions& o) {
  if (o.file.empty()) return std::cerr << "Must provide exactly one positional argument to specify the config entry to write\n", kExitError;
  auto data = read_input(o.file);
  if (!data.ok()) return std::cerr << data.error().message() << "\n", kExitError;
  auto parsed = nlohmann::json::parse(*data, nullptr, false);
  if (parsed.is_discarded())
    return std::cerr << "Failed to decode config entry input: the input is not JSON (HCL config entries are not "
                        "supported; write the entry as JSON)\n",
           kExitError;
  auto entry = api::decode_config_entry(*data);
  if (!entry.ok()) return std::cerr << "Failed to decode config entry input: " << entry.error().message() << "\n", kExitError;
  std::string what = entry->kind + "/" + entry->name;
  std::string target = "/v1/config";
  if (o.cas) target += "?cas=" + std::to_string(o.modify_index);
  auto res = http_call(f, "PUT", target, entry->body);
  if (!res.ok()) return std::cerr << "Error writing config entry " << what << ": " << res.error().message() << "\n", kExitError;
  if (res->body.find("true") == std::string::npos)
    return std::cerr << "Config entry not updated: " << what << "\n", kExitError;
  std::cout << "Config entry written: " << what << "\n";
  return kExitOk;
}

struct EntryOptions {
  std::string kind, name;
  bool cas = false;
  uint64_t modify_index = 0;
};

int require_kind_and_name(const EntryOptions& o) {
  if (o.kind.empty()) return std::cerr << "Must specify the -kind parameter\n", kExitError;
  if (o.name.empty()) return std::cerr << "Must specify the -name parameter\n", kExitError;
  return kExitOk;
}

int config_read(const ClientFlags& f, const EntryOptions& o) {
  if (int rc = require_kind_and_name(o); rc != kExitOk) return rc;
  auto res = http_call(f, "GET", entry_target(o.kind, o.name));
  if (!res.ok())
    return std::cerr << "Error reading config entry " << o.kind << "/" << o.name << ": " << res.error().message() << "\n",
           kExitError;
  // Consul prints the entry indented by four spaces, fields in its order.
  auto j = nlohmann::ordered_json::parse(res->body, nullptr, false);
  if (j.is_discarded()) return std::cerr << "Error reading config entry: the agent answered something else than JSON\n", kExitError;
  std::cout << j.dump(4) << "\n";
  return kExitOk;
}

int config_list(const ClientFlags& f, const std::string& kind) {
  if (kind.empty()) return std::cerr << "Must specify the -kind parameter\n", kExitError;
  auto res = http_call(f, "GET", "/v1/config/" + http::percent_encode(kind));
  if (!res.ok()) return std::cerr << "Error listing config entries for kind \"" << kind << "\": " << res.error().message() << "\n", kExitError;
  auto j = nlohmann::json::parse(res->body, nullptr, false);
  if (!j.is_array()) return std::cerr << "Error listing config entries: the agent answered something else than a JSON array\n", kExitError;
  for (const auto& e : j)
    if (e.is_object() && e.contains("Name") && e["Name"].is_string()) std::cout << e["Name"].get<std::string>() << "\n";
  return kExitOk;
}

int config_delete(const ClientFlags& f, const EntryOptions& o) {
  if (int rc = require_kind_and_name(o); rc != kExitOk) return rc;
  if (o.cas && o.modify_index == 0) return std::cerr << "Must specify a -modify-index greater than 0 with -cas\n", kExitError;
  if (!o.cas && o.modify_index != 0) return std::cerr << "Cannot specify -modify-index without -cas\n", kExitError;
  std::string target = entry_target(o.kind, o.name);
  if (o.cas) target += "?cas=" + std::to_string(o.modify_index);
  auto res = http_call(f, "DELETE", target);
  std::string what = o.kind + "/" + o.name;
  if (!res.ok()) return std::cerr << "Error deleting config entry " << what << ": " << res.error().message() << "\n", kExitError;
  if (o.cas && res->body.find("true") == std::string::npos)
    return std::cerr << "Config entry not deleted: " << what << "\n", kExitError;
  std::cout << "Config entry deleted: " << what << "\n";
  return kExitOk;
}

}  // namespace

void add_config_command(CLI::App& app, int* exit_code) {
  auto* config = app.add_subcommand("config", "Interact with Consul's centralized configurations");
  config->require_subcommand(1);

  auto* write = config->add_subcommand("write", "Create or update a centralized config entry");
  auto wf = add_client_flags(write);
  auto wo = std::make_shared<WriteOptions>();
  write->add_flag("--cas", wo->cas, "Check-and-set: write only if -modify-index is the entry's ModifyIndex (0: only if absent)");
  write->add_option("--modify-index", wo->modify_index, "ModifyIndex for -cas");
  write->add_option("file", wo->file, "FILE (JSON) or - for stdin");
  write->callback([=] { *exit_code = config_write(*wf, *wo); });

  auto* read = config->add_subcommand("read", "Read a centralized config entry");
  auto rf = add_client_flags(read);
  auto ro = std::make_shared<EntryOptions>();
  read->add_option("--kind", ro->kind, "The kind of config entry to read");
  read->add_option("--name", ro->name, "The name of config entry to read");
  read->callback([=] { *exit_code = config_read(*rf, *ro); });

  auto* list = config->add_subcommand("list", "List centralized config entries of a given kind");
  auto lf = add_client_flags(list);
  auto kind = std::make_shared<std::string>();
  list->add_option("--kind", *kind, "The kind of configurations to list");
  list->callback([=] { *exit_code = config_list(*lf, *kind); });

  auto* del = config->add_subcommand("delete", "Delete a centralized config entry");
  auto df = add_client_flags(del);
  auto dopt = std::make_shared<EntryOptions>();
  del->add_option("--kind", dopt->kind, "The kind of configuration to delete");
  del->add_option("--name", dopt->name, "The name of configuration to delete");
  del->add_flag("--cas", dopt->cas, "Check-and-set: delete only if -modify-index is the entry's ModifyIndex");
  del->add_option("--modify-index", dopt->modify_index, "ModifyIndex for -cas");
  del->callback([=] { *exit_code = config_delete(*df, *dopt); });
}

}  // namespace cairn::cli
