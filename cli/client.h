// Flags every client command shares, as Consul's CLI has them:
//   -http-addr   (env CAIRN_HTTP_ADDR, then CONSUL_HTTP_ADDR; default 127.0.0.1:8500)
//   -token       (env CAIRN_HTTP_TOKEN, then CONSUL_HTTP_TOKEN)
//   -datacenter  (sent as ?dc= where the endpoint takes it)
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <string>

#include "api/io/http_client.h"

namespace cairn::cli {

struct ClientFlags {
  std::string http_addr;
  std::string token;
  std::string datacenter;

  // The client for these flags, or an error naming the bad address.
  Result<api::HttpClient> client() const;
};

std::shared_ptr<ClientFlags> add_client_flags(CLI::App* cmd);

}  // namespace cairn::cli
