// cairn join ADDR...: asks the local agent to join the pool through ADDR.
#include <iostream>

#include "cli/client.h"
#include "cli/command.h"
#include "core/http/url.h"

namespace cairn::cli {

void add_join_command(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("join", "Tell the agent to join the gossip pool through other agents");
  auto flags = add_client_flags(cmd);
  auto addrs = std::make_shared<std::vector<std::string>>();
  cmd->add_option("address", *addrs, "Gossip address (ip or ip:port) of an agent already in the pool")->required();
  cmd->callback([flags, addrs, exit_code] {
    *exit_code = kExitError;
    auto client = flags->client();
    if (!client.ok()) return void(std::cerr << "Error joining the cluster: " << client.error().message() << "\n");
    int joined = 0;
    for (const auto& a : *addrs) {
      auto res = client->request("PUT", "/v1/agent/join/" + http::percent_encode(a, /*keep_slash=*/true));
      if (!res.ok()) return void(std::cerr << "Error joining the cluster: " << res.error().message() << "\n");
      if (res->status == 200) {
        ++joined;
      } else {
        std::cerr << "Error joining " << a << ": " << res->body;
      }
    }
    if (joined == 0) return;
    std::cout << "Successfully joined cluster by contacting " << joined << " nodes.\n";
    *exit_code = kExitOk;
  });
}

}  // namespace cairn::cli
