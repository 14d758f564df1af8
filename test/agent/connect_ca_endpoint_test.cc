// The Connect CA endpoints (agent/http/connect_ca.cc) over a FakeRpc and a
// LeafCache with a manual clock: the HTTP answers a client sees — 429 when
// the leader's CSR limit refuses, 500 without Connect, the ?pem bundle, 400
// naming the field and 409 on a lost CAS for the configuration.
#include <nlohmann/json.hpp>

#include "agent/connect/leaf_cache.h"
#include "test/agent/fake_rpc.h"

namespace cairn::agent::test {
namespace {

using nlohmann::json;

const std::string kTrustDomain = "11111111-2222-4333-8444-555555555555.consul";

api::CARoots roots_with(std::vector<std::string> certs) {
  api::CARoots roots;
  roots.trust_domain = kTrustDomain;
  for (size_t i = 0; i < certs.size(); ++i) {
    api::CARoot r;
    r.id = "root-" + std::to_string(i);
    r.root_cert = certs[i];
    r.active = i + 1 == certs.size();
    if (r.active) roots.active_root_id = r.id;
    roots.roots.push_back(r);
  }
  return roots;
}

class ConnectCaEndpoint : public ::testing::Test {
 protected:
  ConnectCaEndpoint() { http::register_connect_ca(e.router, e.ctx); }
  ~ConnectCaEndpoint() override {
    if (e.ctx.leaf_cache) e.ctx.leaf_cache->stop();
  }
  // A leaf cache whose background roots query is answered at once.
  void with_leaf_cache() {
    e.rpc->answer<ConnectCARoots>(roots_with({"-----BEGIN CERTIFICATE-----\nMA==\n-----END CERTIFICATE-----\n"}),
                                  QueryMeta{3});
    e.ctx.leaf_cache = connect::LeafCache::make(e.rpc, clock, scheduler, {});
  }
  std::string line(const Response& r) {
    return !r.body.empty() && r.body.back() == '\n' ? r.body.substr(0, r.body.size() - 1) : r.body;
  }

  ManualClock clock;
  ManualScheduler scheduler{clock};
  RpcEndpoints e;
};

TEST_F(ConnectCaEndpoint, LeafRefusedByTheCsrRateLimitIs429) {
  with_leaf_cache();
  e.rpc->fail_write(Error(errc::resource_exhausted, "rate limit reached, try again later"));
  auto r = e.get("/v1/agent/connect/ca/leaf/web");
  ASSERT_TRUE(r) << "no answer";
  EXPECT_EQ(r->status, 429) << r->body;
  EXPECT_EQ(line(*r), "rate limit reached, try again later");
  // The agent sent one CSR, for the service's SPIFFE ID, and no private key.
  ASSERT_EQ(e.rpc->writes.size(), 1u);
  const std::string& csr = e.rpc->last_write<ConnectCASign>().csr;
  EXPECT_NE(csr.find("BEGIN CERTIFICATE REQUEST"), std::string::npos);
  EXPECT_EQ(csr.find("PRIVATE KEY"), std::string::npos);
}

TEST_F(ConnectCaEndpoint, LeafWithoutConnectIs500) {
  auto r = e.get("/v1/agent/connect/ca/leaf/web");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
  EXPECT_EQ(line(*r), "Connect must be enabled in order to use this endpoint");
  EXPECT_TRUE(e.rpc->writes.empty());
}

TEST_F(ConnectCaEndpoint, RootsAsPemBundleListEveryRootInOrder) {
  e.rpc->answer<ConnectCARoots>(roots_with({"old-root\n", "new-root"}), QueryMeta{9});
  auto r = e.get("/v1/connect/ca/roots?pem=true");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "old-root\nnew-root\n");
  EXPECT_EQ(header(*r, "Content-Type"), "application/pem-certificate-chain");

  e.rpc->answer<ConnectCARoots>(roots_with({"old-root\n", "new-root"}), QueryMeta{9});
  r = e.get("/v1/connect/ca/roots?index=5");
  ASSERT_TRUE(r);
  auto j = json::parse(r->body);
  EXPECT_EQ(j["ActiveRootID"], "root-1");
  EXPECT_EQ(j["Roots"].size(), 2u);
  EXPECT_EQ(header(*r, "X-Consul-Index"), "9");
  EXPECT_EQ(e.rpc->queries.back().options.min_index, 5u);  // blocking
}

TEST_F(ConnectCaEndpoint, ConfigurationPutNamesTheBadFieldOrAnswers409WhenItLoses) {
  auto r = e.put("/v1/connect/ca/configuration", R"({"Provider":)");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_NE(r->body.find("Request decode failed"), std::string::npos) << r->body;
  r = e.put("/v1/connect/ca/configuration", R"({"Provider":"consul","Config":{"LeafCertTTL":true}})");
  EXPECT_EQ(r->status, 400);
  EXPECT_NE(r->body.find("LeafCertTTL"), std::string::npos) << r->body;
  EXPECT_TRUE(e.rpc->writes.empty());

  e.rpc->answer_write<ConnectCAConfigSet>(false);
  r = e.put("/v1/connect/ca/configuration", R"({"Provider":"consul","Config":{"LeafCertTTL":"24h"}})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 409);
  ASSERT_EQ(e.rpc->writes.size(), 1u);
  EXPECT_EQ(e.rpc->last_write<ConnectCAConfigSet>().config.config.leaf_cert_ttl, std::chrono::hours(24));

  e.rpc->fail_write(Error(errc::invalid_argument, "LeafCertTTL: must be at least 1h, got 30m0s"));
  r = e.put("/v1/connect/ca/configuration", R"({"Provider":"consul","Config":{"LeafCertTTL":"30m"}})");
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(line(*r), "LeafCertTTL: must be at least 1h, got 30m0s");
}

}  // namespace
}  // namespace cairn::agent::test
