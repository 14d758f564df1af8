// cairn event -name NAME [-node RE] [-service RE] [-tag RE] [PAYLOAD]
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/client.h"
#include "cli/command.h"
#include "core/http/url.h"

namespace cairn::cli {

void add_event_command(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("event", "Fire a user event through the gossip pool");
  auto flags = add_client_flags(cmd);
  auto name = std::make_shared<std::string>();
  auto node = std::make_shared<std::string>();
  auto service = std::make_shared<std::string>();
  auto tag = std::make_shared<std::string>();
  auto payload = std::make_shared<std::string>();
  cmd->add_option("--name", *name, "Event name")->required();
  cmd->add_option("--node", *node, "Only nodes whose name matches this regular expression");
  cmd->add_option("--service", *service, "Only nodes running a service matching this regular expression");
  cmd->add_option("--tag", *tag, "Only service instances with a tag matching this regular expression");
  cmd->add_option("payload", *payload, "Event payload");
  cmd->callback([=] {
    *exit_code = kExitError;
    auto client = flags->client();
    if (!client.ok()) return void(std::cerr << "Error firing event: " << client.error().message() << "\n");
    std::string target = "/v1/event/fire/" + http::percent_encode(*name);
    std::string sep = "?";
    for (auto [k, v] : {std::pair{"node", node}, {"service", service}, {"tag", tag}}) {
      if (v->empty()) continue;
      target += sep + k + "=" + http::percent_encode(*v);
      sep = "&";
    }
    auto res = client->request("PUT", target, *payload);
    if (!res.ok()) return void(std::cerr << "Error firing event: " << res.error().message() << "\n");
    if (res->status != 200) return void(std::cerr << "Error firing event: " << res->body);
    auto j = nlohmann::json::parse(res->body, nullptr, false);
    std::cout << "Event ID: " << (j.is_object() ? j.value("ID", "") : "") << "\n";
    *exit_code = kExitOk;
  });
}

}  // namespace cairn::cli
