// What the commands over the agent's HTTP API share (kv, catalog, operator,
// members): one request with the shared client flags, errors worded as
// Consul's Go API words them, and Consul's columnized tables.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "api/io/http_client.h"
#include "cli/client.h"

namespace cairn::cli {

// Sends one request. `target` is the path and query, already encoded; ?dc=
// is added when -datacenter is set. A status other than 200 (and 404 when
// `allow_404`) is an error reading "Unexpected response code: 500 (No
// cluster leader)".
Result<api::HttpResult> http_call(const ClientFlags& flags, const std::string& method, std::string target,
                                  const std::string& body = {}, bool allow_404 = false);

// Columns left-aligned, `gap` spaces apart, no trailing blanks: Consul's
// columnize output (gap 2), or its tabwriter with padding 6 (gap 6).
void print_table(std::ostream& out, const std::vector<std::vector<std::string>>& rows, size_t gap = 2);

}  // namespace cairn::cli
