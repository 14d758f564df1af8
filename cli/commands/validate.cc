// cairn validate <file|dir>...: checks a configuration without starting anything.
#include <iostream>

#include "agent/config/config.h"
#include "cli/command.h"

namespace cairn::cli {

void add_validate_command(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("validate", "Validate configuration files or directories");
  auto paths = std::make_shared<std::vector<std::string>>();
  auto quiet = std::make_shared<bool>(false);
  cmd->add_option("paths", *paths, "Configuration files or directories (*.json, lexical order)")->required();
  cmd->add_flag("--quiet", *quiet, "Print nothing on success");
  cmd->callback([paths, quiet, exit_code] {
    std::vector<agent::Source> sources;
    for (const auto& p : *paths) {
      auto read = agent::read_sources(p);
      if (!read.ok()) {
        std::cerr << "Config validation failed: " << read.error().message() << "\n";
        *exit_code = kExitError;
        return;
      }
      for (auto& s : *read) sources.push_back(std::move(s));
    }
    // Validate as a real agent would run it; a missing data_dir is reported.
    auto config = agent::load(/*dev=*/false, sources);
    if (!config.ok()) {
      std::cerr << "Config validation failed: " << config.error().message() << "\n";
      *exit_code = kExitError;
      return;
    }
    if (!*quiet) std::cout << "Configuration is valid!\n";
    *exit_code = kExitOk;
  });
}

}  // namespace cairn::cli
