#include "agent/config/config.h"

#include <gtest/gtest.h>

namespace cairn::agent {
namespace {

using namespace std::chrono_literals;

Result<Config> load_json(std::vector<std::pair<std::string, std::string>> files, bool dev = false) {
  std::vector<Source> sources;
  for (auto& [name, text] : files) sources.push_back({name, text});
  return load(dev, sources);
}

TEST(Config, DefaultsAreConsuls) {
  auto c = load_json({}, /*dev=*/true);
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(c->datacenter, "dc1");
  EXPECT_EQ(c->http_port, 8500);
  EXPECT_EQ(c->client_addr, (std::vector<std::string>{"127.0.0.1"}));
  EXPECT_EQ(c->limits.http_max_conns_per_client, 200);
  EXPECT_FALSE(c->node_name.empty());
}

TEST(Config, LaterSourcesOverrideEarlierOnes) {
  auto c = load_json({{"a.json", R"({"datacenter": "east", "data_dir": "/d", "ports": {"http": 1}})"},
                      {"b.json", R"({"datacenter": "west"})"}});
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(c->datacenter, "west");
  EXPECT_EQ(c->http_port, 1);  // untouched by b.json
}

TEST(Config, NodeMetaMergesKeyByKey) {
  auto c = load_json({{"a.json", R"({"data_dir": "/d", "node_meta": {"rack": "r1", "zone": "z1"}})"},
                      {"b.json", R"({"node_meta": {"zone": "z2"}})"}});
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(c->node_meta.at("rack"), "r1");
  EXPECT_EQ(c->node_meta.at("zone"), "z2");
}

TEST(Config, ClientAddrIsSpaceSeparated) {
  auto c = load_json({{"a.json", R"({"data_dir": "/d", "client_addr": "127.0.0.1 ::1"})"}});
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(c->client_addr, (std::vector<std::string>{"127.0.0.1", "::1"}));
}

TEST(Config, DurationsAcceptGoStringsAndNanoseconds) {
  auto c = load_json({{"a.json", R"({"data_dir": "/d", "limits": {"http_read_timeout": "1.5s",
                                     "http_idle_timeout": 2000000000}})"}});
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(c->limits.http_read_timeout, 1500ms);
  EXPECT_EQ(c->limits.http_idle_timeout, 2s);
}

TEST(Config, DevIsAOneServerCluster) {
  auto c = load_json({}, /*dev=*/true);
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_TRUE(c->server);
  EXPECT_TRUE(c->bootstrap);
  EXPECT_EQ(c->bootstrap_expect, 0);
  EXPECT_EQ(c->raft_multiplier, 1);
}

TEST(Config, ServerFieldsHaveConsulsDefaults) {
  auto c = load_json({{"a.json", R"({"data_dir": "/d"})"}});
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_FALSE(c->server);
  EXPECT_EQ(c->server_port, 8300);
  EXPECT_EQ(c->raft_multiplier, 5);
  EXPECT_EQ(c->tombstone_ttl, 15min);
  EXPECT_EQ(c->raft_snapshot_threshold, 16384);
  EXPECT_EQ(c->raft_snapshot_interval, 30s);
  EXPECT_TRUE(c->leave_on_terminate);
}

TEST(Config, ServersDoNotLeaveOnTerminateUnlessTold) {
  auto s = load_json({{"a.json", R"({"data_dir": "/d", "server": true})"}});
  ASSERT_TRUE(s.ok()) << s.error().message();
  EXPECT_FALSE(s->leave_on_terminate);
  auto told = load_json({{"a.json", R"({"data_dir": "/d", "server": true, "leave_on_terminate": true})"}});
  ASSERT_TRUE(told.ok()) << told.error().message();
  EXPECT_TRUE(told->leave_on_terminate);
}

TEST(Config, ServerWithBootstrapExpect) {
  auto c = load_json({{"a.json", R"({"data_dir": "/d", "server": true, "bootstrap_expect": 3,
                                     "ports": {"server": 0}, "performance": {"raft_multiplier": 1}})"}});
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_TRUE(c->server);
  EXPECT_EQ(c->bootstrap_expect, 3);
  EXPECT_EQ(c->server_port, 0);
  EXPECT_EQ(c->raft_multiplier, 1);
}

TEST(Config, ServicesChecksAndDnsFromFiles) {
  auto c = load_json({{"a.json", R"({"data_dir": "/d",
      "service": {"name": "web", "port": 80, "tags": ["v1"],
                  "check": {"http": "http://127.0.0.1:80/health", "interval": "10s"}},
      "services": [{"Name": "db", "Port": 5432}],
      "checks": [{"id": "mem", "name": "Memory", "ttl": "30s"}],
      "ports": {"dns": 0}, "domain": "mesh", "recursors": ["127.0.0.1:53"],
      "dns_config": {"node_ttl": "10s", "service_ttl": {"*": "5s", "web": "30s"}, "udp_answer_limit": 5,
                     "only_passing": true, "soa": {"min_ttl": 60}}})"},
                      {"b.json", R"({"service": {"name": "cache", "port": 6379}})"}});
  ASSERT_TRUE(c.ok()) << c.error().message();
  ASSERT_EQ(c->services.size(), 3u);
  EXPECT_EQ(c->services[0].service.service, "web");
  EXPECT_EQ(c->services[0].service.tags, std::vector<std::string>{"v1"});
  ASSERT_EQ(c->services[0].checks.size(), 1u);
  EXPECT_EQ(c->services[0].checks[0].definition.http, "http://127.0.0.1:80/health");
  EXPECT_EQ(c->services[0].checks[0].definition.interval, std::chrono::seconds(10));
  EXPECT_EQ(c->services[1].service.service, "db");
  EXPECT_EQ(c->services[2].service.port, 6379);
  ASSERT_EQ(c->checks.size(), 1u);
  EXPECT_EQ(c->checks[0].definition.ttl, std::chrono::seconds(30));
  EXPECT_EQ(c->dns_port, 0);
  EXPECT_EQ(c->domain, "mesh.");
  EXPECT_EQ(c->alt_domain, "consul.");
  EXPECT_EQ(c->recursors, std::vector<std::string>{"127.0.0.1:53"});
  EXPECT_EQ(c->dns_config.node_ttl, std::chrono::seconds(10));
  EXPECT_EQ(c->dns_config.service_ttl.at("web"), std::chrono::seconds(30));
  EXPECT_EQ(c->dns_config.udp_answer_limit, 5);
  EXPECT_TRUE(c->dns_config.only_passing);
  EXPECT_EQ(c->dns_config.soa_min_ttl, 60u);
}

TEST(Config, TlsAtTheTopLevelOrUnderTlsDefaults) {
  auto top = load_json({{"a.json", R"({"data_dir": "/d", "ca_file": "/etc/hostname",
                                       "verify_server_hostname": true})"}});
  ASSERT_TRUE(top.ok()) << top.error().message();
  EXPECT_EQ(top->tls.ca_file, "/etc/hostname");
  EXPECT_TRUE(top->tls.verify_outgoing) << "verify_server_hostname implies verify_outgoing, as Consul";
  EXPECT_TRUE(top->tls.verify_server_hostname);
  EXPECT_FALSE(top->tls.verify_incoming);
  auto nested = load_json({{"a.json", R"({"data_dir": "/d", "tls": {"defaults": {"ca_file": "/etc/hostname",
      "verify_incoming": true, "verify_outgoing": true}, "internal_rpc": {"verify_server_hostname": true}}})"}});
  ASSERT_TRUE(nested.ok()) << nested.error().message();
  EXPECT_TRUE(nested->tls.verify_incoming);
  EXPECT_TRUE(nested->tls.verify_server_hostname);
}

TEST(Config, ScriptChecksInFilesNeedLocalScriptChecks) {
  const char* def = R"({"data_dir": "/d", "check": {"name": "disk", "args": ["/bin/true"], "interval": "10s"}%s})";
  char buf[512];
  std::snprintf(buf, sizeof buf, def, "");
  auto refused = load_json({{"a.json", buf}});
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message().find("script checks are disabled"), std::string::npos);
  std::snprintf(buf, sizeof buf, def, R"(, "enable_local_script_checks": true)");
  auto allowed = load_json({{"a.json", buf}});
  ASSERT_TRUE(allowed.ok()) << allowed.error().message();
  EXPECT_EQ(allowed->checks.at(0).definition.script_args, std::vector<std::string>{"/bin/true"});
}

TEST(Config, ConnectCaAclAndSidecarPorts) {
  auto d = load_json({{"a.json", R"({"data_dir": "/d"})"}});
  ASSERT_TRUE(d.ok()) << d.error().message();
  EXPECT_TRUE(d->connect.enabled);
  EXPECT_EQ(d->connect.private_key_type, "ec");
  EXPECT_EQ(d->connect.private_key_bits, 256);
  EXPECT_EQ(d->connect.leaf_cert_ttl, 72h);
  EXPECT_EQ(d->acl_default_policy, "allow");
  EXPECT_EQ(d->sidecar_min_port, 21000);
  EXPECT_EQ(d->sidecar_max_port, 21255);
  auto c = load_json({{"a.json", R"({"data_dir": "/d", "acl": {"default_policy": "deny"},
      "connect": {"enabled": true, "ca_config": {"private_key_type": "rsa", "private_key_bits": 2048,
      "leaf_cert_ttl": "24h", "csr_max_per_second": 0, "csr_max_concurrent": 4}},
      "ports": {"sidecar_min_port": 22000, "sidecar_max_port": 22010}})"}});
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(c->acl_default_policy, "deny");
  EXPECT_EQ(c->connect.private_key_type, "rsa");
  EXPECT_EQ(c->connect.private_key_bits, 2048);
  EXPECT_EQ(c->connect.leaf_cert_ttl, 24h);
  EXPECT_EQ(c->connect.csr_max_per_second, 0);
  EXPECT_EQ(c->connect.csr_max_concurrent, 4);
  EXPECT_EQ(c->sidecar_min_port, 22000);
}

struct BadCase {
  const char* json;
  const char* message;
};

class ConfigRejects : public ::testing::TestWithParam<BadCase> {};

TEST_P(ConfigRejects, WithAMessageNamingTheField) {
  auto c = load_json({{"cfg.json", GetParam().json}});
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().message(), GetParam().message);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ConfigRejects,
    ::testing::Values(
        BadCase{R"({"data_dir": "/d", "bogus": 1})", "cfg.json: bogus: unknown field"},
        BadCase{R"({"data_dir": "/d", "ports": {"grpc": 8502}})", "cfg.json: ports.grpc: unknown field"},
        BadCase{R"({"data_dir": "/d", "ports": 8500})", "cfg.json: ports: expected an object, got number"},
        BadCase{R"({"data_dir": "/d", "datacenter": 5})", "cfg.json: datacenter: expected a string, got number"},
        BadCase{R"({"data_dir": "/d", "log_json": "yes"})", "cfg.json: log_json: expected true or false, got string"},
        BadCase{R"({"data_dir": "/d", "ports": {"http": "80"}})",
                "cfg.json: ports.http: expected an integer, got string"},
        BadCase{R"({"data_dir": "/d", "limits": {"http_read_timeout": "10 s"}})",
                "cfg.json: limits.http_read_timeout: invalid duration \"10 s\""},
        BadCase{R"([1, 2])", "cfg.json: expected a JSON object at the top level"},
        BadCase{R"({"data_dir": "/d", "acl": {"default_policy": "maybe"}})",
                "acl.default_policy: invalid value \"maybe\" (allowed: \"allow\" or \"deny\")"},
        BadCase{R"({"data_dir": "/d", "connect": {"ca_config": {"private_key_bits": 2048}}})",
                "connect.ca_config.private_key_bits: invalid value 2048 (allowed: 256 or 384 for ec)"},
        BadCase{R"({"data_dir": "/d", "connect": {"ca_config": {"private_key_type": "dsa"}}})",
                "connect.ca_config.private_key_type: invalid value \"dsa\" (allowed: \"ec\" or \"rsa\")"},
        BadCase{R"({"data_dir": )", "cfg.json: invalid JSON"},
        BadCase{R"({})", "data_dir: required (set -data-dir or data_dir, or run with -dev)"},
        BadCase{R"({"data_dir": "/d", "datacenter": "dc 1"})",
                "datacenter: invalid value \"dc 1\" (allowed: letters, digits, '-' and '_')"},
        BadCase{R"({"data_dir": "/d", "ports": {"http": -2}})",
                "ports.http: invalid value -2 (allowed: -1 (disabled), 0 (any free port) to 65535)"},
        BadCase{R"({"data_dir": "/d", "client_addr": "localhost"})",
                "client_addr: invalid value \"localhost\" (allowed: IPv4 or IPv6 addresses)"},
        BadCase{R"({"data_dir": "/d", "node_id": "abc"})",
                "node_id: invalid value \"abc\" (allowed: a UUID such as 8e2f3c4a-0b1d-4c5e-9f6a-7b8c9d0e1f2a)"},
        BadCase{R"({"data_dir": "/d", "log_level": "chatty"})",
                "log_level: invalid value \"chatty\" (allowed: trace, debug, info, warn, error, off)"},
        BadCase{R"({"data_dir": "/d", "node_meta": {"consul-x": "1"}})",
                "node_meta: invalid value key \"consul-x\" (allowed: 1 to 128 letters, digits, '-' or '_', not "
                "starting with \"consul-\")"},
        BadCase{R"({"data_dir": "/d", "limits": {"http_read_timeout": "0s"}})",
                "limits.http_read_timeout: invalid value \"0s\" (allowed: more than 0s, at most 1h)"},
        BadCase{R"({"data_dir": "/d", "limits": {"http_max_body_bytes": 10}})",
                "limits.http_max_body_bytes: invalid value 10 (allowed: 1024 to 1073741824)"},
        BadCase{R"({"data_dir": "/d", "bootstrap_expect": 3})",
                "bootstrap_expect: only servers bootstrap (set server, or -server)"},
        BadCase{R"({"data_dir": "/d", "server": true, "bootstrap": true, "bootstrap_expect": 3})",
                "bootstrap_expect: cannot be used with bootstrap (pick one)"},
        BadCase{R"({"data_dir": "/d", "server": true, "bootstrap_expect": 10})",
                "bootstrap_expect: invalid value 10 (allowed: 0 (off) to 9)"},
        BadCase{R"({"data_dir": "/d", "ports": {"server": 70000}})",
                "ports.server: invalid value 70000 (allowed: 0 (any free port) to 65535)"},
        BadCase{R"({"data_dir": "/d", "raft_snapshot_threshold": 5})",
                "raft_snapshot_threshold: invalid value 5 (allowed: 128 to 10000000)"},
        BadCase{R"({"data_dir": "/d", "performance": {"raft_multiplier": 0}})",
                "performance.raft_multiplier: invalid value 0 (allowed: 1 to 10)"},
        BadCase{R"({"data_dir": "/d", "ports": {"dns": -2}})",
                "ports.dns: invalid value -2 (allowed: -1 (disabled), 0 (any free port) to 65535)"},
        BadCase{R"({"data_dir": "/d", "recursors": ["dns.example"]})",
                "recursors: invalid value \"dns.example\" (allowed: IP addresses, optionally with :port)"},
        BadCase{R"({"data_dir": "/d", "service": "web"})",
                "cfg.json: service: expected an object or a list of objects, got string"},
        BadCase{R"({"data_dir": "/d", "services": [{"name": "web", "port": "eighty"}]})",
                "cfg.json: services[0]: Request decode failed: Port: expected a number, got string"},
        BadCase{R"({"data_dir": "/d", "verify_outgoing": true})", "ca_file: required with verify_outgoing"},
        BadCase{R"({"data_dir": "/d", "tls": {"defaults": {"cert_file": "/etc/hostname"}}})",
                "key_file: required with cert_file"},
        BadCase{R"({"data_dir": "/d", "ca_file": "/nonexistent/ca.pem"})", "ca_file: /nonexistent/ca.pem: no such file"},
        BadCase{R"({"data_dir": "/d", "tls": {"internal_rpc": {"verify_server_hostname": true}}})",
                "ca_file: required with verify_outgoing"},
        BadCase{R"({"data_dir": "/d", "dns_config": {"udp_answer_limit": 0}})",
                "dns_config.udp_answer_limit: invalid value 0 (allowed: 1 to 1000)"}));

}  // namespace
}  // namespace cairn::agent
