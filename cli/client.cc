#include "cli/client.h"

#include <cstdlib>

namespace cairn::cli {
namespace {

std::string env_or(std::initializer_list<const char*> names, std::string fallback) {
  for (const char* n : names) {
    if (const char* v = std::getenv(n); v != nullptr && *v != '\0') return v;
  }
  return fallback;
}

}  // namespace

Result<api::HttpClient> ClientFlags::client() const {
  CAIRN_TRY(auto address, api::HttpAddress::parse(http_addr));
  return api::HttpClient(std::move(address), token);
}

std::shared_ptr<ClientFlags> add_client_flags(CLI::App* cmd) {
  auto f = std::make_shared<ClientFlags>();
  f->http_addr = env_or({"CAIRN_HTTP_ADDR", "CONSUL_HTTP_ADDR"}, "127.0.0.1:8500");
  f->token = env_or({"CAIRN_HTTP_TOKEN", "CONSUL_HTTP_TOKEN"}, "");
  cmd->add_option("--http-addr", f->http_addr, "Address of the agent's HTTP API (env CAIRN_HTTP_ADDR)");
  cmd->add_option("--token", f->token, "ACL token (env CAIRN_HTTP_TOKEN)");
  cmd->add_option("--datacenter", f->datacenter, "Datacenter to query (default: the agent's)");
  return f;
}

}  // namespace cairn::cli
