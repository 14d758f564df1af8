// cairn keygen: a new 32-byte gossip encryption key, base64.
#include <iostream>

#include "cli/command.h"
#include "gossip/io/keyring.h"

namespace cairn::cli {

void add_keygen_command(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("keygen", "Generate a new gossip encryption key");
  cmd->callback([exit_code] {
    auto key = gossip::generate_key();
    if (!key.ok()) {
      std::cerr << "Error generating a key: " << key.error().message() << "\n";
      *exit_code = kExitError;
      return;
    }
    std::cout << *key << "\n";
    *exit_code = kExitOk;
  });
}

}  // namespace cairn::cli
