// The Connect CA through server::Server (test/server/cluster.h): the leader
// creates the CA, signs leaves without a Raft write, rotates roots through
// ConnectCAConfigSet, enforces the CSR rate limit; no answer carries a
// private key.
#include <gtest/gtest.h>

#include "api/json.h"
#include "api/rpc_codec.h"
#include "core/io/x509.h"
#include "test/server/cluster.h"

namespace cairn::server::test {
namespace {

namespace x509 = io::x509;

ServerOptions with_connect(Cluster& c, int n, int expect = 0) {
  ServerOptions o = c.options(n);
  o.connect_enabled = true;
  if (expect == 0) {
    o.bootstrap = true;
  } else {
    o.bootstrap_expect = expect;
  }
  return o;
}

api::CARoots roots_of(Cluster& c, int on, rpc::QueryOptions o = {}) {
  auto r = c.query(on, rpc::ConnectCARoots{}, o);
  EXPECT_TRUE(r.ok()) << r.error().message();
  return r.ok() ? rpc::value_of<rpc::ConnectCARoots>(*r) : api::CARoots{};
}

// Ticks until the leader has created the CA.
api::CARoots await_ca(Cluster& c, int on) {
  for (int i = 0; i < 200; ++i) {
    api::CARoots r = roots_of(c, on, stale());
    if (!r.roots.empty()) return r;
    c.tick_all(1);
  }
  ADD_FAILURE() << "the CA was never created";
  return {};
}

std::string csr_for(const std::string& trust_domain, const std::string& service, std::string* key = nullptr) {
  auto k = x509::generate_key("ec", 256);
  std::string uri = "spiffe://" + trust_domain + "/ns/default/dc/dc1/svc/" + service;
  if (key) *key = *k;
  return *x509::make_csr(*k, {service, uri, {}});
}

std::vector<std::string> certs_of(const api::CARoots& roots) {
  std::vector<std::string> out;
  for (const auto& r : roots.roots) out.push_back(r.root_cert);
  return out;
}

bool has_private_key(const std::string& text) { return text.find("PRIVATE KEY") != std::string::npos; }

TEST(ConnectCaServer, LeaderCreatesTheCaAndSignsLeavesWithoutARaftWrite) {
  Cluster c;
  c.start(1, with_connect(c, 1));
  ASSERT_EQ(c.elect(), 1);
  api::CARoots roots = await_ca(c, 1);
  ASSERT_EQ(roots.roots.size(), 1u);
  EXPECT_EQ(roots.active_root_id, roots.roots[0].id);
  auto config = c.query(1, rpc::ConnectCAConfigGet{});
  ASSERT_TRUE(config.ok());
  const api::CAConfiguration& cfg = rpc::value_of<rpc::ConnectCAConfigGet>(*config);
  EXPECT_EQ(roots.trust_domain, cfg.cluster_id + ".consul");
  EXPECT_EQ(cfg.cluster_id.size(), 36u);
  EXPECT_EQ(cfg.cluster_id[14], '4');  // a v4 UUID
  EXPECT_EQ(cfg.config.leaf_cert_ttl, std::chrono::hours(72));

  uint64_t applied = c.at(1).counters().commands_applied;
  std::string key;
  auto signed_cert = c.write(1, rpc::ConnectCASign{csr_for(roots.trust_domain, "web", &key)});
  ASSERT_TRUE(signed_cert.ok()) << signed_cert.error().message();
  EXPECT_EQ(signed_cert->index, 0u);
  EXPECT_EQ(c.at(1).counters().commands_applied, applied);  // not a Raft write
  const api::IssuedCert& cert = rpc::value_of<rpc::ConnectCASign>(*signed_cert);
  EXPECT_EQ(cert.service, "web");
  EXPECT_TRUE(x509::verify_chain(cert.cert_pem, {}, certs_of(roots), c.clock.wall_now()).ok());
  EXPECT_TRUE(*x509::key_matches_cert(key, cert.cert_pem));

  // A CSR for another trust domain: 400 naming its URI.
  auto foreign = c.write(1, rpc::ConnectCASign{csr_for("99999999-0000-4000-8000-000000000000.consul", "web")});
  ASSERT_FALSE(foreign.ok());
  EXPECT_TRUE(foreign.error().is(errc::invalid_argument));
  EXPECT_NE(foreign.error().message().find("spiffe://99999999-0000-4000-8000-000000000000.consul/ns/default/dc/dc1/svc/web"),
            std::string::npos);
}

TEST(ConnectCaServer, NoAnswerCarriesAPrivateKey) {
  Cluster c;
  c.start(1, with_connect(c, 1));
  ASSERT_EQ(c.elect(), 1);
  api::CARoots roots = await_ca(c, 1);
  auto r = c.query(1, rpc::ConnectCARoots{});
  auto cfg = c.query(1, rpc::ConnectCAConfigGet{});
  auto sign = c.write(1, rpc::ConnectCASign{csr_for(roots.trust_domain, "web")});
  ASSERT_TRUE(r.ok() && cfg.ok() && sign.ok());
  EXPECT_FALSE(has_private_key(rpc::encode(rpc::Response{1, *r})));
  EXPECT_FALSE(has_private_key(rpc::encode(rpc::Response{2, *cfg})));
  EXPECT_FALSE(has_private_key(rpc::encode(rpc::Response{3, *sign})));
  EXPECT_FALSE(has_private_key(api::to_json(rpc::value_of<rpc::ConnectCARoots>(*r))));
  EXPECT_FALSE(has_private_key(api::to_json(rpc::value_of<rpc::ConnectCAConfigGet>(*cfg))));
  EXPECT_FALSE(has_private_key(api::to_json(rpc::value_of<rpc::ConnectCASign>(*sign))));

  // A supplied key is used and still never answered.
  api::CAConfiguration want = rpc::value_of<rpc::ConnectCAConfigGet>(*cfg);
  want.config.private_key = *x509::generate_key("ec", 384);
  want.config.private_key_bits = 384;
  ASSERT_TRUE(c.write(1, rpc::ConnectCAConfigSet{want}).ok());
  auto cfg2 = c.query(1, rpc::ConnectCAConfigGet{});
  auto r2 = c.query(1, rpc::ConnectCARoots{});
  EXPECT_FALSE(has_private_key(rpc::encode(rpc::Response{4, *cfg2})));
  EXPECT_FALSE(has_private_key(rpc::encode(rpc::Response{5, *r2})));
  EXPECT_EQ(rpc::value_of<rpc::ConnectCARoots>(*r2).roots.size(), 2u);
}

TEST(ConnectCaServer, RotationWakesBlockedRootsQueriesAndKeepsOldLeavesValid) {
  Cluster c;
  c.start(1, with_connect(c, 1));
  ASSERT_EQ(c.elect(), 1);
  api::CARoots roots = await_ca(c, 1);
  auto before = c.write(1, rpc::ConnectCASign{csr_for(roots.trust_domain, "web")});
  ASSERT_TRUE(before.ok());
  auto first = c.query(1, rpc::ConnectCARoots{});
  ASSERT_TRUE(first.ok());

  rpc::QueryOptions blocking;
  blocking.min_index = first->meta.index;
  blocking.max_wait = std::chrono::minutes(5);
  Cluster::Answer parked = c.begin_query(1, rpc::ConnectCARoots{}, blocking);
  c.tick_all(3);
  EXPECT_FALSE(*parked);  // nothing changed yet

  auto cfg = c.query(1, rpc::ConnectCAConfigGet{});
  api::CAConfiguration want = rpc::value_of<rpc::ConnectCAConfigGet>(*cfg);
  want.config.private_key_type = "rsa";
  want.config.private_key_bits = 2048;
  auto set = c.write(1, rpc::ConnectCAConfigSet{want});
  ASSERT_TRUE(set.ok()) << set.error().message();
  EXPECT_TRUE(rpc::value_of<rpc::ConnectCAConfigSet>(*set));
  c.await(*parked);
  ASSERT_TRUE(*parked && (*parked)->ok());
  const api::CARoots& after = rpc::value_of<rpc::ConnectCARoots>(***parked);
  ASSERT_EQ(after.roots.size(), 2u);
  EXPECT_GT((**parked)->meta.index, first->meta.index);
  EXPECT_NE(after.active_root_id, roots.active_root_id);
  EXPECT_EQ(after.trust_domain, roots.trust_domain);

  WallTime now = c.clock.wall_now();
  EXPECT_TRUE(x509::verify_chain(rpc::value_of<rpc::ConnectCASign>(*before).cert_pem, {}, certs_of(after), now).ok());
  auto later = c.write(1, rpc::ConnectCASign{csr_for(roots.trust_domain, "web")});
  ASSERT_TRUE(later.ok());
  auto chain = x509::split_certs(rpc::value_of<rpc::ConnectCASign>(*later).cert_pem);
  ASSERT_EQ(chain->size(), 2u);  // the leaf, then the cross-signed new root
  std::vector<std::string> intermediates(chain->begin() + 1, chain->end());
  EXPECT_TRUE(x509::verify_chain(chain->front(), intermediates, certs_of(roots), now).ok());
  // Signed by the new root's key (the leader's parsed-key cache followed
  // the rotation): it verifies against the new root alone, not the old one.
  const api::CARoot* active = nullptr;
  for (const auto& r : after.roots)
    if (r.active) active = &r;
  ASSERT_NE(active, nullptr);
  EXPECT_EQ(x509::read_cert(chain->front())->authority_key_id, active->signing_key_id);
  EXPECT_TRUE(x509::verify_chain(chain->front(), {}, {active->root_cert}, now).ok());
  EXPECT_FALSE(x509::verify_chain(chain->front(), {}, certs_of(roots), now).ok());

  // Bad input names the field.
  want.config.leaf_cert_ttl = std::chrono::minutes(10);
  auto bad = c.write(1, rpc::ConnectCAConfigSet{want});
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(bad.error().is(errc::invalid_argument));
  EXPECT_EQ(bad.error().message().rfind("LeafCertTTL", 0), 0u);
}

TEST(ConnectCaServer, CsrRateLimitAnswersResourceExhausted) {
  Cluster c;
  c.start(1, with_connect(c, 1));
  ASSERT_EQ(c.elect(), 1);
  api::CARoots roots = await_ca(c, 1);
  auto cfg = c.query(1, rpc::ConnectCAConfigGet{});
  api::CAConfiguration want = rpc::value_of<rpc::ConnectCAConfigGet>(*cfg);
  want.config.csr_max_per_second = 1;
  ASSERT_TRUE(c.write(1, rpc::ConnectCAConfigSet{want}).ok());
  std::string csr = csr_for(roots.trust_domain, "web");
  ASSERT_TRUE(c.write(1, rpc::ConnectCASign{csr}).ok());
  auto refused = c.write(1, rpc::ConnectCASign{csr});
  ASSERT_FALSE(refused.ok());
  EXPECT_TRUE(refused.error().is(errc::resource_exhausted));
  EXPECT_EQ(refused.error().message(), "rate limit reached, try again later");
  c.clock.advance(std::chrono::seconds(1));
  EXPECT_TRUE(c.write(1, rpc::ConnectCASign{csr}).ok());
}

TEST(ConnectCaServer, FollowersForwardSigningAndServeTheSameRoots) {
  Cluster c;
  std::vector<gossip::MemberInfo> view;
  for (int n = 1; n <= 3; ++n) view.push_back(member_info(n, 3));
  for (int n = 1; n <= 3; ++n) c.start(n, with_connect(c, n, 3));
  c.set_members_all(view);
  int leader = c.elect();
  ASSERT_NE(leader, 0);
  api::CARoots roots = await_ca(c, leader);
  for (int i = 0; i < 20; ++i) c.tick_all(1);
  for (int n = 1; n <= 3; ++n) EXPECT_EQ(roots_of(c, n, stale()), roots) << "server " << n;
  int follower = leader == 1 ? 2 : 1;
  auto cert = c.write(follower, rpc::ConnectCASign{csr_for(roots.trust_domain, "api")});
  ASSERT_TRUE(cert.ok()) << cert.error().message();
  EXPECT_TRUE(x509::verify_chain(rpc::value_of<rpc::ConnectCASign>(*cert).cert_pem, {}, certs_of(roots),
                                 c.clock.wall_now())
                  .ok());
}

TEST(ConnectCaServer, WithoutConnectTheCaCallsAreRefused) {
  Cluster c;
  ServerOptions o = c.options(1);
  o.bootstrap = true;
  c.start(1, o);
  ASSERT_EQ(c.elect(), 1);
  c.tick_all(5);
  EXPECT_TRUE(roots_of(c, 1).roots.empty());
  auto r = c.write(1, rpc::ConnectCASign{"csr"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(), "Connect must be enabled in order to use this endpoint");
}

}  // namespace
}  // namespace cairn::server::test
