// cairn services register FILE | deregister FILE | deregister -id ID: the
// local agent's services, as Consul's `consul services`. FILE is JSON: an
// object with "service" (one definition) or "services" (a list), or a bare
// service definition. Each definition is sent as it is to
// PUT /v1/agent/service/register; deregistration uses the definition's ID
// (its name when it has none).
#include <fstream>
#include <iostream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "api/json.h"
#include "cli/command.h"
#include "cli/commands/http_call.h"
#include "core/http/url.h"

namespace cairn::cli {
namespace {

struct FileService {
  std::string id;    // ID, or the name
  std::string body;  // the definition's JSON text
};

// The key of `j` that equals `name` ignoring case (Go's JSON decoding), or "".
std::string member_named(const nlohmann::json& j, std::string_view name) {
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& k = it.key();
    if (k.size() == name.size() &&
        std::equal(k.begin(), k.end(), name.begin(), [](char a, char b) { return std::tolower(a) == std::tolower(b); }))
      return k;
  }
  return {};
}

Result<std::vector<FileService>> read_services(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Error(errc::io_error, "Error reading " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  auto j = nlohmann::json::parse(ss.str(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Error(errc::parse_error, path + ": not a JSON object");
  std::vector<nlohmann::json> defs;
  if (auto one = member_named(j, "service"); !one.empty()) {
    defs.push_back(j[one]);
  } else if (auto many = member_named(j, "services"); !many.empty()) {
    if (!j[many].is_array()) return Error(errc::parse_error, path + ": services: expected a list");
    for (const auto& d : j[many]) defs.push_back(d);
  } else {
    defs.push_back(j);
  }
  std::vector<FileService> out;
  for (const auto& d : defs) {
    std::string body = d.dump();
    auto def = api::decode_service_definition(body);
    if (!def.ok()) return Error(errc::parse_error, path + ": " + def.error().message());
    std::string id = def->service.id.empty() ? def->service.service : def->service.id;
    if (id.empty()) return Error(errc::parse_error, path + ": Missing service name");
    out.push_back({std::move(id), std::move(body)});
  }
  return out;
}

// Runs `action` for each service, stopping at the first error (printed).
template <typename Fn>
int for_each_service(const std::vector<FileService>& services, const char* verb, Fn action) {
  for (const auto& s : services) {
    auto r = action(s);
    if (!r.ok()) {
      std::cerr << "Error " << verb << " service \"" << s.id << "\": " << r.error().message() << "\n";
      return kExitError;
    }
  }
  return kExitOk;
}

}  // namespace

void add_services_command(CLI::App& app, int* exit_code) {
  auto* services = app.add_subcommand("services", "Interact with the local agent's services");
  services->require_subcommand(1);

  auto* reg = services->add_subcommand("register", "Register services from a JSON definition file");
  auto reg_flags = add_client_flags(reg);
  auto reg_file = std::make_shared<std::string>();
  reg->add_option("file", *reg_file, "Service definition file")->required();
  reg->callback([reg_flags, reg_file, exit_code] {
    auto defs = read_services(*reg_file);
    if (!defs.ok()) {
      std::cerr << "Error: " << defs.error().message() << "\n";
      *exit_code = kExitError;
      return;
    }
    *exit_code = for_each_service(*defs, "registering", [&](const FileService& s) -> Status {
      CAIRN_TRY(auto r, http_call(*reg_flags, "PUT", "/v1/agent/service/register", s.body));
      (void)r;
      std::cout << "Registered service: " << s.id << "\n";
      return {};
    });
  });

  auto* dereg = services->add_subcommand("deregister", "Deregister services by ID or from a definition file");
  auto dereg_flags = add_client_flags(dereg);
  auto dereg_file = std::make_shared<std::string>();
  auto dereg_id = std::make_shared<std::string>();
  dereg->add_option("file", *dereg_file, "Service definition file");
  dereg->add_option("--id", *dereg_id, "The ID of the service to deregister");
  dereg->callback([dereg_flags, dereg_file, dereg_id, exit_code] {
    if (dereg_file->empty() == dereg_id->empty()) {
      std::cerr << "Error: give either a file or -id\n";
      *exit_code = kExitError;
      return;
    }
    std::vector<FileService> targets;
    if (!dereg_id->empty()) {
      targets.push_back({*dereg_id, {}});
    } else {
      auto defs = read_services(*dereg_file);
      if (!defs.ok()) {
        std::cerr << "Error: " << defs.error().message() << "\n";
        *exit_code = kExitError;
        return;
      }
      targets = std::move(defs).value();
    }
    *exit_code = for_each_service(targets, "deregistering", [&](const FileService& s) -> Status {
      CAIRN_TRY(auto r, http_call(*dereg_flags, "PUT", "/v1/agent/service/deregister/" + http::percent_encode(s.id)));
      (void)r;
      std::cout << "Deregistered service: " << s.id << "\n";
      return {};
    });
  });
}

}  // namespace cairn::cli
