// Agent configuration: every field, its default (in defaults()), how files
// and flags combine, and validation that names the field, the bad value and
// the allowed range.
//
// Sources, later ones winning: built-in defaults → -dev defaults → JSON files
// (each -config-file, then each -config-dir's *.json in lexical order, in the
// order given) → command-line flags. Objects merge key by key, arrays
// concatenate (as Consul's retry_join does), scalars replace. Field names are
// Consul's snake_case. Unknown fields are errors naming the file and the field.
//
// Only fields that Cairn implements are accepted; fields that later work adds
// become valid when their feature lands.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/result.h"

namespace cairn::agent {

struct Config {
  std::string datacenter;        // "dc1"
  std::string node_name;         // the host name
  std::string node_id;           // empty: generated and kept in data_dir/node-id
  std::string data_dir;          // required unless dev
  std::vector<std::string> client_addr;  // "127.0.0.1": where HTTP (and later DNS) listen
  std::map<std::string, std::string> node_meta;
  int http_port = 8500;          // 0 picks a free port; -1 disables

  // Gossip (LAN pool).
  std::string bind_addr;         // "0.0.0.0" (dev: "127.0.0.1"): where gossip listens
  std::string advertise_addr;    // empty: bind_addr, or 127.0.0.1 when bind_addr is 0.0.0.0
  int serf_lan_port = 8301;      // 0 picks a free port
  std::vector<std::string> start_join;  // joined once at start; failure is fatal
  std::vector<std::string> retry_join;  // retried every retry_interval until one answers
  Duration retry_interval = std::chrono::seconds(30);
  int retry_max = 0;             // 0: retry forever
  std::string encrypt;           // base64 gossip key (cairn keygen)
  bool encrypt_verify_incoming = true;  // false: also accept plaintext (transitional)
  bool encrypt_verify_outgoing = true;  // false: send plaintext even with a key (transitional)
  bool leave_on_terminate = true;       // leave the pool on SIGTERM (clients, as Consul)
  std::string log_level;         // "info"
  bool log_json = false;
  bool dev = false;

  struct Limits {
    int http_max_conns_per_client = 200;
    Duration http_read_timeout = std::chrono::seconds(30);
    Duration http_idle_timeout = std::chrono::seconds(90);
    int64_t http_max_body_bytes = 32 << 20;
    int64_t http_max_header_bytes = 1 << 20;
    Duration shutdown_grace = std::chrono::seconds(5);  // in-flight requests may finish
  } limits;
};

// The built-in defaults; dev applies `-dev`'s (temporary data dir chosen later).
Config defaults(bool dev);

// One layer of configuration: a JSON object, and where it came from.
struct Source {
  std::string name;   // file path, or "command line"
  std::string json;   // a JSON object
};

// Reads a -config-file or every *.json of a -config-dir (lexical order).
// Errors name the path.
Result<std::vector<Source>> read_sources(const std::string& path);

// Applies the sources over defaults(dev) and validates the result.
Result<Config> load(bool dev, const std::vector<Source>& sources);

// Checks ranges and formats; the message names the field, value and range.
Status validate(const Config& config);

}  // namespace cairn::agent
