// cairn agent: runs an agent (and, with -server or -dev, a server, which runs
// in cairn-server and is wired to the agent by cli/server_inprocess.cc: see
// cli/server_loader.h). Flags use Consul's names
// so runbooks carry over; a flag appears here when its feature works.
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>

#include "agent/agent.h"
#include "agent/config/config.h"
#include "cli/command.h"
#include "cli/server_loader.h"
#include "core/io/runtime.h"
#include "core/log.h"

namespace cairn::cli {
namespace {

struct AgentFlags {
  bool dev = false;
  std::string node, datacenter, data_dir, client, log_level;
  std::optional<int> http_port;
  std::optional<int> dns_port;
  bool log_json = false;
  std::vector<std::string> node_meta;
  std::string bind, advertise, encrypt;
  std::optional<int> serf_lan_port;
  std::vector<std::string> join, retry_join;
  std::optional<std::string> retry_interval;
  std::optional<int> retry_max;
  bool server = false, bootstrap = false;
  std::optional<int> bootstrap_expect, server_port;
};

// Flags become the last configuration source, so they override files and are
// validated (and named in errors) by the same code.
Result<agent::Source> flags_source(const AgentFlags& f, const CLI::App& cmd) {
  nlohmann::json j = nlohmann::json::object();
  if (!f.node.empty()) j["node_name"] = f.node;
  if (!f.datacenter.empty()) j["datacenter"] = f.datacenter;
  if (!f.data_dir.empty()) j["data_dir"] = f.data_dir;
  if (!f.client.empty()) j["client_addr"] = f.client;
  if (!f.log_level.empty()) j["log_level"] = f.log_level;
  if (cmd.count("--log-json") > 0) j["log_json"] = f.log_json;
  if (f.http_port) j["ports"]["http"] = *f.http_port;
  if (f.dns_port) j["ports"]["dns"] = *f.dns_port;
  if (f.serf_lan_port) j["ports"]["serf_lan"] = *f.serf_lan_port;
  if (!f.bind.empty()) j["bind_addr"] = f.bind;
  if (!f.advertise.empty()) j["advertise_addr"] = f.advertise;
  if (!f.encrypt.empty()) j["encrypt"] = f.encrypt;
  if (!f.join.empty()) j["start_join"] = f.join;
  if (!f.retry_join.empty()) j["retry_join"] = f.retry_join;
  if (f.retry_interval) j["retry_interval"] = *f.retry_interval;
  if (f.retry_max) j["retry_max"] = *f.retry_max;
  if (f.server) j["server"] = true;
  if (f.bootstrap) j["bootstrap"] = true;
  if (f.bootstrap_expect) j["bootstrap_expect"] = *f.bootstrap_expect;
  if (f.server_port) j["ports"]["server"] = *f.server_port;
  for (const auto& kv : f.node_meta) {
    auto colon = kv.find(':');
    if (colon == std::string::npos)
      return Error(errc::invalid_argument, "-node-meta: expected key:value, got \"" + kv + "\"");
    j["node_meta"][kv.substr(0, colon)] = kv.substr(colon + 1);
  }
  return agent::Source{"command line", j.dump()};
}

// Every -config-file / -config-dir source, in order.
Result<std::vector<agent::Source>> read_config_sources(const std::vector<std::string>& config_paths) {
  std::vector<agent::Source> sources;
  for (const auto& p : config_paths) {
    CAIRN_TRY(auto read, agent::read_sources(p));
    for (auto& s : read) sources.push_back(std::move(s));
  }
  return sources;
}

int run_agent(const AgentFlags& flags, const std::vector<std::string>& config_paths, const CLI::App& cmd) {
  auto read = read_config_sources(config_paths);
  if (!read.ok()) {
    std::cerr << "==> " << read.error().message() << "\n";
    return kExitError;
  }
  std::vector<agent::Source> sources = std::move(read).value();
  auto cli_source = flags_source(flags, cmd);
  if (!cli_source.ok()) {
    std::cerr << "==> " << cli_source.error().message() << "\n";
    return kExitError;
  }
  sources.push_back(std::move(cli_source).value());
  auto config = agent::load(flags.dev, sources);
  if (!config.ok()) {
    std::cerr << "==> " << config.error().message() << "\n";
    return kExitError;
  }
  // Server mode runs in cairn-server (cli/server_loader.h): `cairn` execs it
  // here, before anything is created, and comes back only if that failed.
  if (config->server) {
    if (auto st = run_in_server_binary(); !st.ok()) {
      std::cerr << "==> " << st.error().message() << "\n";
      return kExitError;
    }
  }
  log::configure(*log::parse_level(config->log_level), config->log_json);
  if (config->dev) log::info("agent", "running in -dev mode: data is kept in a temporary directory and removed at exit");

  Runtime runtime;
  agent::Agent agent(std::move(config).value());
  std::unique_ptr<AgentServer> server_node;
  if (agent.config().server) {
    auto started = start_agent_server(runtime, agent);
    if (!started.ok()) {
      std::cerr << "==> " << started.error().message() << "\n";
      return kExitError;
    }
    server_node = std::move(started).value();
  }
  std::once_flag stopping;
  auto graceful_shutdown = [&](bool leave) {
    std::call_once(stopping, [&] {
      runtime.exit_after(agent.config().limits.shutdown_grace + std::chrono::seconds(10));
      agent.shutdown(leave, [&] {
        if (server_node) server_node->stop();
        log::info("agent", "shutdown complete");
        runtime.stop();
      });
    });
  };
  int exit_code = kExitOk;
  agent.set_shutdown_request([&](agent::ShutdownReason why) {
    switch (why) {
      case agent::ShutdownReason::leave:
        log::info("agent", "graceful leave requested over the HTTP API");
        return graceful_shutdown(true);
      case agent::ShutdownReason::signal:
        return graceful_shutdown(agent.config().leave_on_terminate);
      case agent::ShutdownReason::fatal:
        exit_code = kExitError;
        return graceful_shutdown(false);
    }
  });
  // Reload (PUT /v1/agent/reload, SIGHUP): the same files and flags, read again.
  agent.set_reload([&flags, &config_paths, flag_source = sources.back()]() -> Result<agent::Config> {
    CAIRN_TRY(auto fresh, read_config_sources(config_paths));
    fresh.push_back(flag_source);
    return agent::load(flags.dev, fresh);
  });
  if (auto st = agent.start(runtime); !st.ok()) {
    std::cerr << "==> " << st.error().message() << "\n";
    return kExitError;
  }
  // A failed server (storage failure) never applies the log again: exit
  // non-zero, as Consul panics, so that a supervisor restarts it.
  if (server_node)
    server_node->follow(agent, [&] {
      log::error("agent", "the server failed; shutting down so that it can be restarted");
      exit_code = kExitError;
      graceful_shutdown(false);
    });
  runtime.on_shutdown_signal([&] { graceful_shutdown(agent.config().leave_on_terminate); });
  runtime.on_reload_signal([&agent] {
    agent.reload([](Status st) {
      if (!st.ok()) log::error("agent", "reload failed: {}", st.error().message());
    });
  });
  // CAIRN_IO_THREADS caps the io threads (default: one per core), e.g. to
  // compare with a one-worker peer in bench/.
  unsigned threads = 0;
  if (const char* t = std::getenv("CAIRN_IO_THREADS")) threads = static_cast<unsigned>(std::strtoul(t, nullptr, 10));
  runtime.run(threads);
  return exit_code;
}

// Consul loads -config-file and -config-dir sources in the order they appear
// on the command line; CLI11 keeps order per option only, so read argv.
std::vector<std::string> config_paths_in_order(const std::vector<std::string>& args) {
  std::vector<std::string> out;
  for (size_t i = 0; i < args.size(); ++i) {
    for (std::string name : {"--config-file", "--config-dir"}) {
      if (args[i] == name && i + 1 < args.size()) {
        out.push_back(args[++i]);
      } else if (args[i].rfind(name + "=", 0) == 0) {
        out.push_back(args[i].substr(name.size() + 1));
      }
    }
  }
  return out;
}

}  // namespace

void add_agent_command(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("agent", "Run a Cairn agent");
  auto flags = std::make_shared<AgentFlags>();
  auto config_files = std::make_shared<std::vector<std::string>>();  // read again in order below
  auto config_dirs = std::make_shared<std::vector<std::string>>();
  cmd->add_flag("--dev", flags->dev, "Development mode: a one-process cluster with a temporary data dir");
  cmd->add_option("--node", flags->node, "Name of this node (default: the host name)");
  cmd->add_option("--datacenter", flags->datacenter, "Datacenter of this agent (default: dc1)");
  cmd->add_option("--data-dir", flags->data_dir, "Where the agent keeps its state");
  cmd->add_option("--client", flags->client, "Addresses the HTTP API binds to, space-separated (default: 127.0.0.1)");
  cmd->add_option("--http-port", flags->http_port, "HTTP API port (default 8500; 0 picks a free port; -1 disables)");
  cmd->add_option("--dns-port", flags->dns_port, "DNS port, UDP and TCP (default 8600; 0 picks a free port; -1 disables)");
  cmd->add_option("--config-file", *config_files, "A JSON configuration file (repeatable)");
  cmd->add_option("--config-dir", *config_dirs, "A directory of *.json configuration files (repeatable)");
  cmd->add_option("--log-level", flags->log_level, "trace, debug, info, warn or error");
  cmd->add_flag("--log-json", flags->log_json, "Log JSON lines");
  cmd->add_option("--node-meta", flags->node_meta, "key:value metadata for this node (repeatable)");
  cmd->add_option("--bind", flags->bind, "Address gossip binds to (default 0.0.0.0; -dev: 127.0.0.1)");
  cmd->add_option("--advertise", flags->advertise, "Address other agents reach this one at");
  cmd->add_option("--serf-lan-port", flags->serf_lan_port, "LAN gossip port, UDP and TCP (default 8301; 0 picks a free port)");
  cmd->add_option("--join", flags->join, "Address of an agent to join at start; failure is fatal (repeatable)");
  cmd->add_option("--retry-join", flags->retry_join, "Address of an agent to join, retried until it answers (repeatable)");
  cmd->add_option("--retry-interval", flags->retry_interval, "Time between -retry-join attempts (default 30s)");
  cmd->add_option("--retry-max", flags->retry_max, "Give up -retry-join after this many attempts (default 0: never)");
  cmd->add_option("--encrypt", flags->encrypt, "Gossip encryption key, base64 (cairn keygen)");
  cmd->add_flag("--server", flags->server, "Run a server: keep the replicated catalog, KV and sessions");
  cmd->add_flag("--bootstrap", flags->bootstrap, "Bootstrap a one-server cluster at once (servers only)");
  cmd->add_option("--bootstrap-expect", flags->bootstrap_expect,
                  "Bootstrap Raft once this many servers have joined (servers only)");
  cmd->add_option("--server-port", flags->server_port, "Server RPC and Raft port (default 8300; 0 picks a free port)");
  cmd->callback([cmd, flags, config_files, config_dirs, exit_code] {
    *exit_code = run_agent(*flags, config_paths_in_order(command_line()), *cmd);
  });
}

}  // namespace cairn::cli
