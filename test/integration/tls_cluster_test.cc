// Real `cairn agent` processes on 127.0.0.1 with TLS on port 8300
// (verify_incoming, verify_outgoing, verify_server_hostname): three servers
// and a client agent form a cluster and serve KV through the client; a client
// whose certificate another CA signed, and a plaintext client, get nothing
// from the servers. Certificates are made at test time
// (test/support/tls_certs.h).
#include <gtest/gtest.h>

#include <deque>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "test/support/poll.h"
#include "test/support/process.h"
#include "test/support/tls_certs.h"

namespace cairn::test {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

struct Node {
  std::unique_ptr<Process> process;
  std::string name, gossip, http, rpc;
};

Result<api::HttpResult> http(const Node& n, const std::string& method, const std::string& target,
                             const std::string& body = {}, Duration timeout = 10s) {
  return agent_http(n.http, method, target, body, timeout);
}

class TlsClusterTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(certs_.ok()) << "openssl could not make the test certificates"; }

  // A config file with the TLS settings (Consul's top-level names).
  std::string tls_config(const std::string& name, const std::string& ca, const TlsCerts::Pair& pair) {
    json j = {{"ca_file", ca},
              {"cert_file", pair.cert},
              {"key_file", pair.key},
              {"verify_incoming", true},
              {"verify_outgoing", true},
              {"verify_server_hostname", true},
              {"ports", {{"dns", -1}}},
              {"performance", {{"raft_multiplier", 1}}}};
    std::string path = dir_.file(name + "-tls.json");
    std::ofstream(path) << j.dump();
    return path;
  }

  Node& launch(const std::string& name, std::vector<std::string> extra) {
    std::vector<std::string> args = {cairn_binary(), "agent", "-node", name, "-data-dir", dir_.file(name),
                                     "-bind", "127.0.0.1", "-serf-lan-port", "0", "-http-port", "0",
                                     "-server-port", "0"};
    args.insert(args.end(), extra.begin(), extra.end());
    Node n;
    n.name = name;
    n.process = std::make_unique<Process>(args, dir_.file(name + ".log"));
    auto g = n.process->wait_for_log("gossip=(\\S+)", 20s);
    EXPECT_TRUE(g.has_value()) << name << ":\n" << n.process->log();
    n.gossip = g.value_or("");
    n.http = n.process->wait_for_log("Started HTTP server on (\\S+) ", 5s).value_or("");
    n.rpc = n.process->wait_for_log("RPC and Raft on (\\S+)", 1s).value_or("");
    nodes_.push_back(std::move(n));
    return nodes_.back();
  }

  Node& server(const std::string& name, const std::string& join) {
    std::vector<std::string> extra = {"-server", "-bootstrap-expect", "3", "-config-file",
                                      tls_config(name, certs_.ca, certs_.server)};
    if (!join.empty()) extra.insert(extra.end(), {"-retry-join", join, "-retry-interval", "200ms"});
    return launch(name, extra);
  }

  static std::string leader_of(const Node& n) {
    auto r = http(n, "GET", "/v1/status/leader", "", 2s);
    if (!r.ok() || r->status != 200) return "";
    auto j = json::parse(r->body, nullptr, false);
    return j.is_string() ? j.get<std::string>() : "";
  }

  bool servers_agree_on_a_leader() {
    std::set<std::string> seen;
    for (auto& n : nodes_)
      if (!n.rpc.empty()) seen.insert(leader_of(n));
    return seen.size() == 1 && !seen.begin()->empty();
  }

  std::string all_logs() {
    std::string out;
    for (auto& n : nodes_) out += "---- " + n.name + "\n" + n.process->log();
    return out;
  }

  TlsCerts certs_;
  TempDir dir_;
  std::deque<Node> nodes_;
};

TEST_F(TlsClusterTest, ClusterFormsOverMutualTlsAndClientsWithoutTheRightCertificateAreRefused) {
  Node& s1 = server("s1", "");
  ASSERT_FALSE(s1.rpc.empty()) << s1.process->log();
  EXPECT_NE(s1.process->log().find("TLS required"), std::string::npos) << s1.process->log();
  server("s2", s1.gossip);
  server("s3", s1.gossip);
  ASSERT_TRUE(eventually([&] { return servers_agree_on_a_leader(); }, 30s)) << all_logs();

  // A client agent with a certificate from the cluster's CA: KV through it.
  Node& good = launch("c1", {"-join", s1.gossip, "-config-file", tls_config("c1", certs_.ca, certs_.client)});
  bool put = eventually(
      [&] {
        auto r = http(good, "PUT", "/v1/kv/tls/key", "over-tls", 5s);
        return r.ok() && r->status == 200 && r->body == "true";
      },
      20s, 200ms);
  ASSERT_TRUE(put) << all_logs();
  auto got = http(good, "GET", "/v1/kv/tls/key?raw");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->status, 200);
  EXPECT_EQ(got->body, "over-tls");

  // Through each server: the two followers forward the write to the leader
  // over TLS (RpcClient::to with the server's certificate).
  for (auto& n : nodes_) {
    if (n.rpc.empty()) continue;
    auto r = http(n, "PUT", "/v1/kv/tls/via-" + n.name, n.name, 10s);
    ASSERT_TRUE(r.ok()) << n.name;
    EXPECT_EQ(r->status, 200) << n.name << ": " << r->body;
    EXPECT_EQ(r->body, "true") << n.name;
  }

  // A client whose certificate another CA signed: it sees the servers by
  // gossip, but every server refuses its handshake.
  Node& stranger =
      launch("c2", {"-join", s1.gossip, "-config-file", tls_config("c2", certs_.ca, certs_.other_ca)});
  // (With TLS 1.3 the client's side of the handshake completes before the
  // server checks its certificate: the server's log says why.)
  bool tried = eventually(
      [&] {
        (void)http(stranger, "GET", "/v1/catalog/nodes", "", 5s);
        return all_logs().find("TLS handshake failed") != std::string::npos;
      },
      20s, 200ms);
  EXPECT_TRUE(tried) << all_logs();
  auto refused = http(stranger, "PUT", "/v1/kv/tls/stranger", "x", 10s);
  ASSERT_TRUE(refused.ok());
  EXPECT_EQ(refused->status, 500) << refused->body;
  EXPECT_TRUE(refused->body.find("No known Consul servers") != std::string::npos ||
              refused->body.find("rpc error") != std::string::npos)
      << refused->body;

  // A plaintext client: refused too, and the servers say why.
  std::string plain_config = dir_.file("c3.json");
  std::ofstream(plain_config) << R"({"ports": {"dns": -1}})";
  Node& plain = launch("c3", {"-join", s1.gossip, "-config-file", plain_config});
  auto plain_put = eventually(
      [&] {
        auto r = http(plain, "PUT", "/v1/kv/tls/plain", "x", 5s);
        return r.ok() && r->status == 500;
      },
      20s, 200ms);
  EXPECT_TRUE(plain_put);
  EXPECT_TRUE(eventually([&] { return all_logs().find("plaintext connection refused") != std::string::npos; }, 10s));

  // Neither write reached the store.
  auto missing = http(good, "GET", "/v1/kv/tls/?keys");
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(missing->status, 200);
  EXPECT_EQ(json::parse(missing->body), json::array({"tls/key", "tls/via-s1", "tls/via-s2", "tls/via-s3"}));
}

}  // namespace
}  // namespace cairn::test
