// cairn connect proxy: the sidecar proxy as its own process, as Consul's
// `consul connect proxy`: -sidecar-for <service-id> (the local connect-proxy
// registration in front of that service) or -proxy-id <id>; all other
// configuration comes from the agent's HTTP API, kept current by blocking
// queries (proxy/sidecar/sidecar.h). Logs go to stderr. SIGINT/SIGTERM stop
// it (exit 0); a configuration it cannot load exits 1 with a message.
#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "cli/client.h"
#include "cli/command.h"
#include "core/io/runtime.h"
#include "core/log.h"
#include "proxy/sidecar/sidecar.h"

namespace cairn::cli {
namespace {

struct ProxyOptions {
  std::string sidecar_for;
  std::string proxy_id;
  std::string log_level = "info";
};

int run_proxy(const ClientFlags& flags, const ProxyOptions& o) {
  auto level = log::parse_level(o.log_level);
  if (!level) {
    std::cerr << "-log-level: " << level.error().detail() << "\n";
    return kExitError;
  }
  log::configure(*level, false);
  if (o.sidecar_for.empty() == o.proxy_id.empty()) {
    std::cerr << "connect proxy: give exactly one of -sidecar-for or -proxy-id\n";
    return kExitError;
  }
  auto address = api::HttpAddress::parse(flags.http_addr);
  if (!address) {
    std::cerr << "-http-addr: " << address.error().detail() << "\n";
    return kExitError;
  }
  proxy::sidecar::SidecarOptions options{*address, flags.token, o.proxy_id};
  if (!o.sidecar_for.empty()) {
    auto id = proxy::sidecar::find_sidecar_for(api::HttpClient(*address, flags.token), o.sidecar_for);
    if (!id) {
      std::cerr << "connect proxy: -sidecar-for " << o.sidecar_for << ": " << id.error().detail() << "\n";
      return kExitError;
    }
    options.proxy_id = *id;
  }
  Runtime runtime;
  auto sidecar = proxy::sidecar::Sidecar::start(runtime.io(), options);
  if (!sidecar) {
    std::cerr << "connect proxy " << options.proxy_id << ": " << sidecar.error().detail() << "\n";
    return kExitError;
  }
  runtime.on_shutdown_signal([&] {
    log::info("proxy.sidecar", "stopping on signal");
    (*sidecar)->stop();
    runtime.stop();
  });
  runtime.run();
  (*sidecar)->stop();
  std::fflush(stdout);
  std::fflush(stderr);
  // Watch threads may sit in a long poll to the agent; they hold no state
  // that needs flushing, so the process ends without waiting for them.
  std::_Exit(kExitOk);
}

}  // namespace

void add_connect_command(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("connect", "Interact with Connect (the service mesh)");
  cmd->require_subcommand(1);
  auto* p = cmd->add_subcommand("proxy", "Run the sidecar proxy of a local service");
  auto flags = add_client_flags(p);
  auto o = std::make_shared<ProxyOptions>();
  p->add_option("--sidecar-for", o->sidecar_for,
                "ID of the local service whose sidecar registration (kind connect-proxy) to run");
  p->add_option("--proxy-id", o->proxy_id, "ID of the connect-proxy registration to run");
  p->add_option("--log-level", o->log_level, "trace, debug, info, warn or error");
  p->callback([=] { *exit_code = run_proxy(*flags, *o); });
}

}  // namespace cairn::cli
