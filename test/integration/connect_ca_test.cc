// The Connect CA against real `cairn agent` processes on 127.0.0.1: a dev
// agent's roots and leaves checked with `openssl verify`, bad configuration
// refused naming the field; three servers and a client agent — identical
// roots on every server (?stale), a client's leaf that verifies, and a
// rotation through PUT /v1/connect/ca/configuration after which old and new
// leaves both verify.
#include <gtest/gtest.h>

#include <deque>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "api/io/http_client.h"
#include "core/io/x509.h"
#include "test/support/process.h"

namespace cairn::test {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
namespace x509 = io::x509;

struct Agent {
  std::unique_ptr<Process> process;
  std::string http;
};

class ConnectCaTest : public ::testing::Test {
 protected:
  Agent& start(const std::string& name, std::vector<std::string> extra) {
    std::vector<std::string> args{cairn_binary(), "agent", "-node", name, "-bind", "127.0.0.1",
                                  "-serf-lan-port", "0", "-http-port", "0", "-server-port", "0", "-dns-port", "-1"};
    args.insert(args.end(), extra.begin(), extra.end());
    agents_.push_back(Agent{std::make_unique<Process>(args, dir_.file(name + ".log")), {}});
    Agent& a = agents_.back();
    a.http = a.process->wait_for_log("Started HTTP server on (\\S+) ", 20s).value_or("");
    EXPECT_FALSE(a.http.empty()) << a.process->log();
    return a;
  }
  Agent& dev() { return start("dev", {"-dev"}); }
  Agent& server(const std::string& name, const std::string& join) {
    std::string cfg = dir_.file("fast.json");
    std::ofstream(cfg) << R"({"performance": {"raft_multiplier": 1}})";
    std::vector<std::string> extra{"-server", "-bootstrap-expect", "3", "-config-file", cfg, "-data-dir", dir_.file(name)};
    if (!join.empty()) extra.insert(extra.end(), {"-retry-join", join, "-retry-interval", "200ms"});
    return start(name, extra);
  }
  Agent& client(const std::string& name, const std::string& join) {
    return start(name, {"-data-dir", dir_.file(name), "-retry-join", join, "-retry-interval", "200ms"});
  }
  std::string gossip_of(const Agent& a) { return a.process->wait_for_log("gossip=(\\S+)", 10s).value_or(""); }

  Result<api::HttpResult> http(const Agent& a, const std::string& method, const std::string& target,
                               const std::string& body = {}) {
    api::HttpClient c(*api::HttpAddress::parse(a.http));
    return c.request(method, target, body, 30s);
  }
  json get_json(const Agent& a, const std::string& target) {
    auto r = http(a, "GET", target);
    if (!r.ok() || r->status != 200) return json();
    return json::parse(r->body, nullptr, false);
  }
  template <typename F>
  bool eventually(F fn, Duration timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (fn()) return true;
      std::this_thread::sleep_for(200ms);
    }
    return fn();
  }
  std::string write(const std::string& name, const std::string& text) {
    std::string path = dir_.file(name);
    std::ofstream(path) << text;
    return path;
  }
  // `openssl verify`; its output when it fails.
  RunResult openssl_verify(const std::string& ca_file, const std::string& leaf_file, const std::string& untrusted = {}) {
    std::vector<std::string> args{"/usr/bin/openssl", "verify", "-CAfile", ca_file};
    if (!untrusted.empty()) args.insert(args.end(), {"-untrusted", untrusted});
    args.push_back(leaf_file);
    return run(args, dir_);
  }
  static std::string first_cert(const std::string& pem) { return x509::split_certs(pem)->front(); }

  TempDir dir_;
  std::deque<Agent> agents_;
};

TEST_F(ConnectCaTest, DevAgentIssuesLeavesThatOpensslVerifiesAgainstItsRoots) {
  Agent& a = dev();
  json roots;
  ASSERT_TRUE(eventually([&] {
    roots = get_json(a, "/v1/connect/ca/roots");
    return roots.is_object() && roots["Roots"].is_array() && roots["Roots"].size() == 1;
  }, 30s)) << a.process->log();
  std::string td = roots["TrustDomain"];
  EXPECT_EQ(td.size(), 36u + 7u);  // <uuid>.consul
  EXPECT_EQ(roots["ActiveRootID"], roots["Roots"][0]["ID"]);
  EXPECT_EQ(roots["Roots"][0]["PrivateKeyType"], "ec");
  EXPECT_EQ(roots["Roots"][0]["PrivateKeyBits"], 256);
  auto r = http(a, "GET", "/v1/connect/ca/roots");
  EXPECT_FALSE(r->header("X-Consul-Index").empty());
  EXPECT_EQ(r->body.find("PRIVATE KEY"), std::string::npos);

  auto leaf = http(a, "GET", "/v1/agent/connect/ca/leaf/web");
  ASSERT_TRUE(leaf.ok());
  ASSERT_EQ(leaf->status, 200) << leaf->body;
  json cert = json::parse(leaf->body);
  EXPECT_EQ(cert["Service"], "web");
  EXPECT_EQ(cert["ServiceURI"], "spiffe://" + td + "/ns/default/dc/dc1/svc/web");
  std::string cert_pem = cert["CertPEM"];
  EXPECT_EQ(*x509::spiffe_uri_of(cert_pem), cert["ServiceURI"]);
  EXPECT_TRUE(*x509::key_matches_cert(cert["PrivateKeyPEM"].get<std::string>(), cert_pem));
  std::string root_file = write("root.pem", roots["Roots"][0]["RootCert"].get<std::string>());
  std::string leaf_file = write("leaf.pem", first_cert(cert_pem));
  RunResult v = openssl_verify(root_file, leaf_file);
  EXPECT_EQ(v.status, 0) << v.output;
  EXPECT_NE(v.output.find(": OK"), std::string::npos) << v.output;

  // A blocking read at the leaf's index answers the same leaf when ?wait ends.
  std::string index = leaf->header("X-Consul-Index");
  ASSERT_FALSE(index.empty());
  auto again = http(a, "GET", "/v1/agent/connect/ca/leaf/web?index=" + index + "&wait=1s");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->status, 200);
  EXPECT_EQ(json::parse(again->body)["SerialNumber"], cert["SerialNumber"]);
  auto agent_roots = get_json(a, "/v1/agent/connect/ca/roots");
  EXPECT_EQ(agent_roots["ActiveRootID"], roots["ActiveRootID"]);

  // The configuration: defaults, no private key; bad input names the field.
  json config = get_json(a, "/v1/connect/ca/configuration");
  EXPECT_EQ(config["Provider"], "consul");
  EXPECT_EQ(config["Config"]["LeafCertTTL"], "72h0m0s");
  EXPECT_EQ(config["Config"]["PrivateKey"], "");
  EXPECT_EQ(config["ClusterID"].get<std::string>() + ".consul", td);
  struct Bad {
    std::string body;
    std::string field;
  };
  for (const Bad& b : std::vector<Bad>{{R"({"Provider":"vault"})", "Provider"},
                                       {R"({"Provider":"consul","Config":{"LeafCertTTL":"30m"}})", "LeafCertTTL"},
                                       {R"({"Provider":"consul","Config":{"PrivateKeyType":"rsa","PrivateKeyBits":1000}})",
                                        "PrivateKeyBits"},
                                       {R"({"Provider":"consul","Config":{"PrivateKeyType":"dsa"}})", "PrivateKeyType"},
                                       {R"({"Provider":"consul","Config":{"PrivateKey":"not a key"}})", "PrivateKey"},
                                       {R"({"Provider":"consul","Config":{"LeafCertTTL":true}})", "LeafCertTTL"},
                                       {R"({"Provider":)", "Request decode failed"}}) {
    auto put = http(a, "PUT", "/v1/connect/ca/configuration", b.body);
    ASSERT_TRUE(put.ok());
    EXPECT_EQ(put->status, 400) << b.body << " -> " << put->body;
    EXPECT_NE(put->body.find(b.field), std::string::npos) << put->body;
  }
}

TEST_F(ConnectCaTest, ThreeServersShareRootsAndRotationKeepsOldAndNewLeavesValid) {
  Agent& s1 = server("s1", "");
  std::string join = gossip_of(s1);
  Agent& s2 = server("s2", join);
  Agent& s3 = server("s3", join);
  Agent& c1 = client("c1", join);
  std::vector<Agent*> servers{&s1, &s2, &s3};

  // Identical roots on every server, read locally (?stale).
  json roots;
  ASSERT_TRUE(eventually([&] {
    roots = get_json(s1, "/v1/connect/ca/roots?stale");
    if (!roots.is_object() || roots["Roots"].size() != 1) return false;
    for (Agent* s : servers)
      if (get_json(*s, "/v1/connect/ca/roots?stale") != roots) return false;
    return true;
  }, 60s)) << s1.process->log();

  // A client agent's leaf verifies against the roots (?pem bundle).
  json leaf;
  ASSERT_TRUE(eventually([&] {
    leaf = get_json(c1, "/v1/agent/connect/ca/leaf/api");
    return leaf.is_object() && leaf.contains("CertPEM");
  }, 60s)) << c1.process->log();
  auto pem = http(s2, "GET", "/v1/connect/ca/roots?pem=true");
  ASSERT_TRUE(pem.ok() && pem->status == 200);
  std::string old_root_file = write("old-root.pem", pem->body);
  std::string old_leaf_file = write("old-leaf.pem", first_cert(leaf["CertPEM"]));
  RunResult v1 = openssl_verify(old_root_file, old_leaf_file);
  EXPECT_EQ(v1.status, 0) << v1.output;

  // Rotate to an RSA root through a follower's HTTP API.
  json config = get_json(s3, "/v1/connect/ca/configuration");
  config["Config"]["PrivateKeyType"] = "rsa";
  config["Config"]["PrivateKeyBits"] = 2048;
  auto put = http(s3, "PUT", "/v1/connect/ca/configuration", config.dump());
  ASSERT_TRUE(put.ok());
  ASSERT_EQ(put->status, 200) << put->body;

  json after;
  ASSERT_TRUE(eventually([&] {
    after = get_json(s1, "/v1/connect/ca/roots?stale");
    return after.is_object() && after["Roots"].size() == 2;
  }, 30s));
  EXPECT_NE(after["ActiveRootID"], roots["ActiveRootID"]);
  json active;
  for (const auto& r : after["Roots"])
    if (r["Active"] == true) active = r;
  ASSERT_TRUE(active.is_object());
  EXPECT_EQ(active["PrivateKeyType"], "rsa");
  ASSERT_EQ(active["IntermediateCerts"].size(), 1u);

  // The old leaf verifies against the roots list after the rotation.
  auto bundle = http(s1, "GET", "/v1/connect/ca/roots?pem=true");
  std::string bundle_file = write("all-roots.pem", bundle->body);
  RunResult v2 = openssl_verify(bundle_file, old_leaf_file);
  EXPECT_EQ(v2.status, 0) << v2.output;

  // The client agent renews its leaf on the new root by itself.
  json renewed;
  ASSERT_TRUE(eventually([&] {
    renewed = get_json(c1, "/v1/agent/connect/ca/leaf/api");
    return renewed.is_object() && renewed["SerialNumber"] != leaf["SerialNumber"];
  }, 60s)) << c1.process->log();
  auto chain = x509::split_certs(renewed["CertPEM"].get<std::string>());
  ASSERT_TRUE(chain.ok());
  ASSERT_EQ(chain->size(), 2u);
  // The certificate after the leaf is the new active root's IntermediateCerts
  // entry (Consul's place for it): the new root cross-signed by the old one.
  EXPECT_EQ(*x509::fingerprint((*chain)[1]), *x509::fingerprint(active["IntermediateCerts"][0].get<std::string>()));
  auto cross_info = x509::read_cert((*chain)[1]);
  ASSERT_TRUE(cross_info.ok());
  EXPECT_EQ(cross_info->subject_key_id, active["SigningKeyID"]);
  EXPECT_EQ(cross_info->authority_key_id, x509::read_cert(first_cert(pem->body))->subject_key_id);
  std::string new_leaf_file = write("new-leaf.pem", chain->front());
  std::string cross_file = write("cross.pem", (*chain)[1]);
  RunResult v3 = openssl_verify(bundle_file, new_leaf_file);
  EXPECT_EQ(v3.status, 0) << v3.output;
  // Trusting only the old root, through the cross-signed intermediate.
  RunResult v4 = openssl_verify(old_root_file, new_leaf_file, cross_file);
  EXPECT_EQ(v4.status, 0) << v4.output;
  RunResult v5 = openssl_verify(old_root_file, new_leaf_file);
  EXPECT_NE(v5.status, 0) << v5.output;
}

}  // namespace
}  // namespace cairn::test
