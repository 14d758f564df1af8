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

#include "api/types.h"
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
  bool leave_on_terminate = true;       // leave the pool on SIGTERM; servers default to false, as Consul
  std::string log_level;         // "info"
  bool log_json = false;
  bool dev = false;

  // Server mode (-server; -dev implies server + bootstrap).
  bool server = false;
  int bootstrap_expect = 0;      // bootstrap Raft once this many servers are in gossip; 0: off
  bool bootstrap = false;        // bootstrap a one-server cluster at once (-dev); excludes bootstrap_expect
  int server_port = 8300;        // ports.server: RPC and Raft, multiplexed; 0 picks a free port
  // performance.raft_multiplier (Consul's name and range 1..10) scales Raft's
  // timing: a tick is 10 ms × multiplier, heartbeats go every 5 ticks and an
  // election timeout is 50 to 100 ticks — 0.5–1 s at 1 (quiet networks, fast
  // failover; -dev uses it) and 2.5–5 s at the default 5, as Consul's default
  // is tuned for slow machines.
  int raft_multiplier = 5;
  // Servers only: a server that FAILED (not left) is removed from the Raft
  // configuration after this long (left servers are removed at once).
  Duration dead_server_removal_after = std::chrono::hours(72);
  // autopilot.server_stabilization_time (Consul's name and default): a server
  // joins Raft as a non-voter and is promoted once healthy this long.
  Duration autopilot_server_stabilization_time = std::chrono::seconds(10);
  Duration tombstone_ttl = std::chrono::minutes(15);  // KV tombstones are reaped after this
  // raft_snapshot_threshold (Consul's name and default): the Raft log is
  // compacted into a snapshot (a RocksDB checkpoint) every this many entries.
  int raft_snapshot_threshold = 16384;
  // raft_snapshot_interval (Consul's name and default): ...and no more often
  // than this.
  Duration raft_snapshot_interval = std::chrono::seconds(30);

  // Local services and checks from config files ("service"/"services",
  // "check"/"checks"; snake_case or Go names), decoded by api/json.
  std::vector<api::ServiceDefinition> services;
  std::vector<api::CheckDefinition> checks;
  bool enable_script_checks = false;        // script checks from the API and config files
  bool enable_local_script_checks = false;  // script checks from config files only
  int64_t check_output_max_size = 4096;     // bytes of check output kept

  // DNS interface (agent/dns).
  int dns_port = 8600;                      // ports.dns; 0 picks a free port; -1 disables
  std::string domain = "cairn.";            // answered, and ...
  std::string alt_domain = "consul.";       // ... also answered ("" turns it off)
  std::vector<std::string> recursors;       // "ip" or "ip:port": other names are forwarded here
  struct Dns {
    bool allow_stale = true;
    Duration max_stale = std::chrono::hours(87600);
    Duration node_ttl{0};
    std::map<std::string, Duration> service_ttl;  // service name or "prefix*" or "*"
    int udp_answer_limit = 3;
    int a_record_limit = 0;                 // 0: no limit
    bool enable_truncate = false;
    bool only_passing = false;
    bool use_cache = true;                  // Consul's default is false: docs/compatibility.md
    Duration cache_max_age{0};
    bool enable_additional_node_meta_txt = true;
    Duration recursor_timeout = std::chrono::seconds(2);
    uint32_t soa_refresh = 3600, soa_retry = 600, soa_expire = 86400, soa_min_ttl = 0;
  } dns_config;

  // TLS on the server port (RPC and Raft). Consul's names, at the top level
  // or under tls.defaults (verify_server_hostname also under tls.internal_rpc).
  struct Tls {
    std::string ca_file;
    std::string cert_file;
    std::string key_file;
    bool verify_incoming = false;         // servers require and check a client certificate
    bool verify_outgoing = false;         // connections to servers use TLS and check the server's certificate
    bool verify_server_hostname = false;  // ... and that it names server.<datacenter>.<domain>
  } tls;

  // Connect (Consul's connect.* block). The CA settings are the built-in
  // CA's initial configuration: the leader uses them when the cluster has
  // no CA yet; later changes go through PUT /v1/connect/ca/configuration.
  struct Connect {
    bool enabled = true;
    std::string ca_provider = "consul";     // the only provider
    std::string private_key_type = "ec";    // ca_config.private_key_type: "ec" or "rsa"
    int private_key_bits = 256;             // ec: 256 or 384; rsa: 2048 or 4096
    Duration leaf_cert_ttl = std::chrono::hours(72);
    Duration root_cert_ttl = std::chrono::hours(87600);
    int csr_max_per_second = 50;            // 0: no rate limit
    int csr_max_concurrent = 0;             // 0: no limit (used when csr_max_per_second is 0)
  } connect;
  // acl.default_policy: "allow" or "deny". There are no ACLs yet; it decides
  // what Connect does when no intention matches (DESIGN.md "Security defaults").
  std::string acl_default_policy = "allow";
  int sidecar_min_port = 21000;             // ports.sidecar_min_port
  int sidecar_max_port = 21255;             // ports.sidecar_max_port

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
