// server/ca: the built-in CA's roots, leaves, rotation and limits, checked
// with OpenSSL (core/io/x509 verify_chain).
#include "server/ca/ca.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "core/io/x509.h"

namespace cairn::server::ca {
namespace {

namespace x509 = io::x509;

constexpr WallTime kNow{std::chrono::seconds(1'800'000'000)};
constexpr auto kHour = std::chrono::hours(1);
const std::string kCluster = "11111111-2222-4333-8444-555555555555";
const std::string kTrustDomain = kCluster + ".consul";

WallTime at(Duration d) { return WallTime{kNow.since_unix_epoch + d}; }

struct Ca {
  api::CAConfiguration config;
  api::CARoots roots;
  std::map<std::string, std::string> keys;
};

// Applies a CA write the way the state store does (roots replaced, keys merged).
void apply(Ca& ca, const state::CaWrite& w, uint64_t index) {
  ca.config = w.config;
  ca.config.raft = {ca.config.raft.create_index ? ca.config.raft.create_index : index, index};
  ca.config.config.private_key.clear();
  ca.config.config.root_cert.clear();
  if (!w.roots) return;
  ca.roots.roots = *w.roots;
  ca.roots.trust_domain = trust_domain_of(w.config.cluster_id);
  for (const auto& r : ca.roots.roots)
    if (r.active) ca.roots.active_root_id = r.id;
  for (const auto& [id, k] : w.keys) ca.keys[id] = k;
}

const api::CARoot& active(const Ca& ca) {
  for (const auto& r : ca.roots.roots)
    if (r.active) return r;
  ADD_FAILURE() << "no active root";
  return ca.roots.roots.front();
}

Ca initial(api::CAProviderConfig config = {}) {
  SeededRng rng(7);
  auto w = plan_initial(config, kCluster, kNow, rng);
  EXPECT_TRUE(w.ok()) << w.error().message();
  Ca ca;
  apply(ca, *w, 5);
  return ca;
}

std::string csr_for(const std::string& uri, std::string* key_out = nullptr, std::vector<std::string> more_uris = {}) {
  auto key = x509::generate_key("ec", 256);
  auto csr = x509::make_csr(*key, {"web", uri, {}});
  EXPECT_TRUE(csr.ok());
  if (key_out) *key_out = *key;
  (void)more_uris;
  return *csr;
}

Result<api::IssuedCert> sign(const Ca& ca, const std::string& csr, WallTime now = kNow) {
  const api::CARoot& root = active(ca);
  auto issuer = x509::Issuer::load(root.root_cert, ca.keys.at(root.id));
  EXPECT_TRUE(issuer.ok()) << issuer.error().message();
  SignInput in{root, *issuer, ca.roots.trust_domain, "dc1", ca.config.config.leaf_cert_ttl};
  return sign_leaf(in, csr, now);
}

std::vector<std::string> root_certs(const Ca& ca) {
  std::vector<std::string> out;
  for (const auto& r : ca.roots.roots) out.push_back(r.root_cert);
  return out;
}

// The leaf and the intermediates that follow it in CertPEM.
std::pair<std::string, std::vector<std::string>> split_leaf(const api::IssuedCert& c) {
  auto all = x509::split_certs(c.cert_pem);
  EXPECT_TRUE(all.ok());
  std::vector<std::string> rest(all->begin() + 1, all->end());
  return {all->front(), rest};
}

TEST(ConnectCa, InitialRootIsAnEcP256SelfSignedCaForTheTrustDomain) {
  Ca ca = initial();
  ASSERT_EQ(ca.roots.roots.size(), 1u);
  const api::CARoot& r = ca.roots.roots[0];
  EXPECT_TRUE(r.active);
  EXPECT_EQ(r.private_key_type, "ec");
  EXPECT_EQ(r.private_key_bits, 256);
  EXPECT_EQ(ca.roots.trust_domain, kTrustDomain);
  auto info = x509::read_cert(r.root_cert);
  ASSERT_TRUE(info.ok());
  EXPECT_TRUE(info->is_ca);
  EXPECT_EQ(info->uris, std::vector<std::string>{"spiffe://" + kTrustDomain});
  EXPECT_EQ(info->subject_cn.rfind("pri-", 0), 0u);
  EXPECT_NE(info->subject_cn.find(".consul.ca.11111111.consul"), std::string::npos);
  EXPECT_EQ(r.signing_key_id, info->subject_key_id);
  EXPECT_EQ(r.id, *x509::fingerprint(r.root_cert));
  // Ten years by default.
  EXPECT_EQ(info->not_after.since_unix_epoch - info->not_before.since_unix_epoch, 87600 * kHour);
  EXPECT_EQ(r.not_after, x509::rfc3339(info->not_after));
  EXPECT_TRUE(x509::verify_chain(r.root_cert, {}, {r.root_cert}, kNow).ok());
  // The key is in the write's keys, nowhere in the root.
  ASSERT_EQ(ca.keys.size(), 1u);
  EXPECT_TRUE(*x509::key_matches_cert(ca.keys.at(r.id), r.root_cert));
  EXPECT_EQ(r.root_cert.find("PRIVATE KEY"), std::string::npos);
}

TEST(ConnectCa, RsaAndP384RootsAreSelectable) {
  api::CAProviderConfig rsa;
  rsa.private_key_type = "rsa";
  rsa.private_key_bits = 2048;
  Ca a = initial(rsa);
  EXPECT_EQ(x509::read_cert(active(a).root_cert)->key_type, "rsa");
  EXPECT_EQ(active(a).private_key_bits, 2048);
  api::CAProviderConfig p384;
  p384.private_key_bits = 384;
  Ca b = initial(p384);
  EXPECT_EQ(x509::read_cert(active(b).root_cert)->key_bits, 384);
}

TEST(ConnectCa, LeafCarriesTheSpiffeIdDnsSanAndConsulsValidity) {
  Ca ca = initial();
  std::string key;
  std::string uri = service_uri(kTrustDomain, "dc1", "web");
  auto cert = sign(ca, csr_for(uri, &key));
  ASSERT_TRUE(cert.ok()) << cert.error().message();
  EXPECT_EQ(cert->service, "web");
  EXPECT_EQ(cert->service_uri, uri);
  auto info = x509::read_cert(cert->cert_pem);
  ASSERT_TRUE(info.ok());
  EXPECT_FALSE(info->is_ca);
  EXPECT_EQ(info->uris, std::vector<std::string>{uri});
  EXPECT_EQ(info->dns, std::vector<std::string>{"web.svc.default.11111111.consul"});
  EXPECT_EQ(info->subject_cn, "web.svc.default.11111111.consul");
  EXPECT_EQ(info->not_before.since_unix_epoch, kNow.since_unix_epoch - std::chrono::minutes(1));
  EXPECT_EQ(info->not_after.since_unix_epoch, kNow.since_unix_epoch + 72 * kHour);
  EXPECT_EQ(cert->valid_before, x509::rfc3339(info->not_after));
  EXPECT_EQ(cert->serial_number, info->serial);
  EXPECT_EQ(info->authority_key_id, active(ca).signing_key_id);
  EXPECT_TRUE(*x509::key_matches_cert(key, cert->cert_pem));
  EXPECT_TRUE(cert->private_key_pem.empty());  // the agent holds the key; the server never sees it
  // Verifies against the root; expires after its TTL.
  EXPECT_TRUE(x509::verify_chain(cert->cert_pem, {}, root_certs(ca), kNow).ok());
  EXPECT_FALSE(x509::verify_chain(cert->cert_pem, {}, root_certs(ca), at(73 * kHour)).ok());
}

// Serials come from OpenSSL's CSPRNG, not from the plan's Rng nor from a
// counter: 127 bits (16 bytes, top bit clear so DER keeps them positive),
// unique, unrelated to each other, and the same seed gives different ones.
TEST(ConnectCa, SerialsAreRandomPositiveAndUnique) {
  Ca ca = initial();
  std::string csr = csr_for(service_uri(kTrustDomain, "dc1", "web"));
  std::set<std::string> serials;
  std::vector<std::string> raw;
  constexpr int kLeaves = 200;
  for (int i = 0; i < kLeaves; ++i) {
    auto cert = sign(ca, csr);  // same CSR, same time: only the serial may differ
    ASSERT_TRUE(cert.ok()) << cert.error().message();
    auto info = x509::read_cert(cert->cert_pem);
    ASSERT_TRUE(info.ok());
    EXPECT_EQ(cert->serial_number, info->serial);
    serials.insert(info->serial);
    raw.push_back(info->serial_raw);
  }
  EXPECT_EQ(serials.size(), static_cast<size_t>(kLeaves));
  // At least 64 random bits: at most 16 bytes, and across 200 serials the
  // leading byte (top bit forced clear) takes many values, as do the bits
  // beyond 64 — a 64-bit value or a counter would leave those bytes fixed.
  std::set<unsigned char> first_bytes, ninth_bytes;
  size_t longest = 0;
  for (const auto& r : raw) {
    ASSERT_EQ(r.size(), 16u);  // never a leading zero byte
    longest = std::max(longest, r.size());
    first_bytes.insert(static_cast<unsigned char>(r[0]));
    EXPECT_GT(static_cast<unsigned char>(r[0]), 0);
    EXPECT_LT(static_cast<unsigned char>(r[0]), 0x80);  // positive
    ninth_bytes.insert(static_cast<unsigned char>(r[8]));
  }
  EXPECT_EQ(longest, 16u);
  EXPECT_GT(first_bytes.size(), 50u);
  EXPECT_GT(ninth_bytes.size(), 50u);
  // Not sequential: consecutive serials differ in more than their last byte.
  for (size_t i = 1; i < raw.size(); ++i) EXPECT_NE(raw[i].substr(0, 8), raw[i - 1].substr(0, 8)) << i;

  // Roots and cross-signed roots too: two plans from the same seed at the
  // same time get different root serials.
  SeededRng a(42), b(42);
  auto w1 = plan_initial({}, kCluster, kNow, a);
  auto w2 = plan_initial({}, kCluster, kNow, b);
  ASSERT_TRUE(w1.ok() && w2.ok());
  auto s1 = x509::read_cert(w1->roots->front().root_cert)->serial;
  auto s2 = x509::read_cert(w2->roots->front().root_cert)->serial;
  EXPECT_NE(s1, s2);
  EXPECT_EQ(x509::read_cert(w1->roots->front().root_cert)->serial_raw.size(), 16u);
  EXPECT_GT(w1->roots->front().serial_number, 0u);
}

TEST(ConnectCa, RandomSerialRefusesTooFewBytes) {
  EXPECT_FALSE(x509::random_serial(7).ok());
  EXPECT_FALSE(x509::random_serial(21).ok());
  auto s = x509::random_serial(8);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->size(), 8u);
  EXPECT_LT(static_cast<unsigned char>((*s)[0]), 0x80);
}

// The active root's key is parsed once per root, not per leaf, and a
// rotation replaces it: leaves after the rotation are signed by the new key.
TEST(ConnectCa, IssuerCacheParsesTheActiveRootOncePerRoot) {
  Ca ca = initial();
  IssuerCache cache;
  std::string web = service_uri(kTrustDomain, "dc1", "web");
  auto sign_cached = [&](WallTime now) -> Result<api::IssuedCert> {
    const api::CARoot& root = active(ca);
    CAIRN_TRY(auto issuer, cache.get(root, ca.keys.at(root.id)));
    SignInput in{root, std::move(issuer), ca.roots.trust_domain, "dc1", ca.config.config.leaf_cert_ttl};
    return sign_leaf(in, csr_for(web), now);
  };
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(sign_cached(kNow).ok());
  EXPECT_EQ(cache.loads(), 1u);
  auto first = cache.get(active(ca), ca.keys.at(active(ca).id));
  auto again = cache.get(active(ca), ca.keys.at(active(ca).id));
  EXPECT_EQ(first->get(), again->get());

  api::CARoot old_root = active(ca);
  api::CAConfiguration want = ca.config;
  want.config.private_key_type = "rsa";
  want.config.private_key_bits = 2048;
  SeededRng rng(8);
  auto w = plan_config_set(ca.config, ca.roots, ca.keys.at(old_root.id), want, kNow, rng);
  ASSERT_TRUE(w.ok()) << w.error().message();
  apply(ca, *w, 12);
  auto after = sign_cached(at(kHour));
  ASSERT_TRUE(after.ok()) << after.error().message();
  EXPECT_EQ(cache.loads(), 2u);
  auto [leaf, intermediates] = split_leaf(*after);
  EXPECT_EQ(x509::read_cert(leaf)->authority_key_id, active(ca).signing_key_id);
  EXPECT_TRUE(x509::verify_chain(leaf, {}, {active(ca).root_cert}, at(kHour)).ok());
  EXPECT_FALSE(x509::verify_chain(leaf, {}, {old_root.root_cert}, at(kHour)).ok());

  // A key that is not the root's is refused, naming it.
  auto other = x509::generate_key("ec", 256);
  auto wrong = cache.get(active(ca), *other);
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().message().rfind("PrivateKey", 0), 0u) << wrong.error().message();
}

TEST(ConnectCa, CsrsForAnotherTrustDomainOrDatacenterOrShapeAreRefusedNamingTheUri) {
  Ca ca = initial();
  struct Case {
    std::string uri;
    std::string says;
  };
  for (const Case& c : std::vector<Case>{
           {"spiffe://99999999-2222-4333-8444-555555555555.consul/ns/default/dc/dc1/svc/web", "different trust domain"},
           {service_uri(kTrustDomain, "dc2", "web"), "different datacenter"},
           {"spiffe://" + kTrustDomain + "/ns/other/dc/dc1/svc/web", "namespace"},
           {"spiffe://" + kTrustDomain + "/agent/client/dc/dc1/id/abc", "not a service"},
           {"https://example.com/web", "not a SPIFFE ID"},
       }) {
    auto r = sign(ca, csr_for(c.uri));
    ASSERT_FALSE(r.ok()) << c.uri;
    EXPECT_TRUE(r.error().is(errc::invalid_argument));
    EXPECT_NE(r.error().message().find(c.uri), std::string::npos) << r.error().message();
    EXPECT_NE(r.error().message().find(c.says), std::string::npos) << r.error().message();
  }
  auto no_uri = sign(ca, csr_for(""));
  ASSERT_FALSE(no_uri.ok());
  EXPECT_NE(no_uri.error().message().find("exactly one URI SAN"), std::string::npos);
  auto garbage = sign(ca, "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n");
  ASSERT_FALSE(garbage.ok());
  EXPECT_NE(garbage.error().message().find("CSR"), std::string::npos);
}

TEST(ConnectCa, ConfigurationRulesNameTheField) {
  struct Case {
    std::function<void(api::CAConfiguration&)> change;
    std::string field;
  };
  for (const Case& c : std::vector<Case>{
           {[](auto& x) { x.provider = "vault"; }, "Provider"},
           {[](auto& x) { x.config.private_key_type = "dsa"; }, "PrivateKeyType"},
           {[](auto& x) { x.config.private_key_bits = 1024; }, "PrivateKeyBits"},
           {[](auto& x) { x.config.private_key_type = "rsa"; }, "PrivateKeyBits"},  // 256 bits of rsa
           {[](auto& x) { x.config.leaf_cert_ttl = std::chrono::minutes(30); }, "LeafCertTTL"},
           {[](auto& x) { x.config.root_cert_ttl = std::chrono::minutes(30); }, "RootCertTTL"},
           {[](auto& x) { x.config.intermediate_cert_ttl = 100 * kHour; }, "IntermediateCertTTL"},
           {[](auto& x) { x.config.csr_max_per_second = -1; }, "CSRMaxPerSecond"},
           {[](auto& x) { x.config.private_key = "not pem"; }, "PrivateKey"},
           {[](auto& x) { x.config.root_cert = "-----BEGIN CERTIFICATE-----\n"; }, "RootCert"},
       }) {
    api::CAConfiguration config;
    c.change(config);
    Status st = validate_config(config);
    ASSERT_FALSE(st.ok()) << c.field;
    EXPECT_TRUE(st.error().is(errc::invalid_argument));
    EXPECT_EQ(st.error().message().rfind(c.field, 0), 0u) << st.error().message();
  }
  EXPECT_TRUE(validate_config(api::CAConfiguration{}).ok());
}

TEST(ConnectCa, ChangingOnlyTtlsKeepsTheRoot) {
  Ca ca = initial();
  api::CAConfiguration want = ca.config;
  want.config.leaf_cert_ttl = 24 * kHour;
  SeededRng rng(3);
  auto w = plan_config_set(ca.config, ca.roots, ca.keys.at(active(ca).id), want, kNow, rng);
  ASSERT_TRUE(w.ok()) << w.error().message();
  EXPECT_FALSE(w->roots.has_value());
  EXPECT_TRUE(w->keys.empty());
  EXPECT_TRUE(w->cas);
  EXPECT_EQ(w->cas_index, ca.config.raft.modify_index);
  EXPECT_EQ(w->config.config.leaf_cert_ttl, 24 * kHour);
  EXPECT_EQ(w->config.cluster_id, kCluster);
}

TEST(ConnectCa, RotationCrossSignsSoOldAndNewLeavesBothVerify) {
  Ca ca = initial();
  std::string web = service_uri(kTrustDomain, "dc1", "web");
  auto before = sign(ca, csr_for(web));
  ASSERT_TRUE(before.ok());
  api::CARoot old_root = active(ca);
  std::vector<std::string> roots_before = root_certs(ca);

  api::CAConfiguration want = ca.config;
  want.config.private_key_type = "rsa";
  want.config.private_key_bits = 2048;
  SeededRng rng(4);
  auto w = plan_config_set(ca.config, ca.roots, ca.keys.at(old_root.id), want, at(kHour), rng);
  ASSERT_TRUE(w.ok()) << w.error().message();
  ASSERT_TRUE(w->roots.has_value());
  apply(ca, *w, 9);

  ASSERT_EQ(ca.roots.roots.size(), 2u);
  EXPECT_FALSE(ca.roots.roots[0].active);
  EXPECT_EQ(ca.roots.roots[0].id, old_root.id);
  const api::CARoot& next = active(ca);
  EXPECT_NE(next.id, old_root.id);
  EXPECT_EQ(next.private_key_type, "rsa");
  EXPECT_EQ(ca.roots.active_root_id, next.id);
  ASSERT_EQ(next.intermediate_certs.size(), 1u);
  auto cross = x509::read_cert(next.intermediate_certs[0]);
  EXPECT_EQ(cross->subject_key_id, next.signing_key_id);
  EXPECT_EQ(cross->authority_key_id, old_root.signing_key_id);
  EXPECT_EQ(w->keys.count(next.id), 1u);
  EXPECT_EQ(w->keys.count(old_root.id), 0u);

  // A leaf signed before the rotation verifies against the roots list after it.
  EXPECT_TRUE(x509::verify_chain(before->cert_pem, {}, root_certs(ca), at(2 * kHour)).ok());
  // A leaf signed after: against the new root, and against only the old
  // root through the cross-signed certificate that follows it in CertPEM.
  auto after = sign(ca, csr_for(web), at(2 * kHour));
  ASSERT_TRUE(after.ok()) << after.error().message();
  auto [leaf, intermediates] = split_leaf(*after);
  ASSERT_EQ(intermediates.size(), 1u);
  EXPECT_EQ(x509::read_cert(leaf)->authority_key_id, next.signing_key_id);
  EXPECT_TRUE(x509::verify_chain(leaf, {}, {next.root_cert}, at(2 * kHour)).ok());
  EXPECT_TRUE(x509::verify_chain(leaf, intermediates, roots_before, at(2 * kHour)).ok());
  EXPECT_FALSE(x509::verify_chain(leaf, {}, roots_before, at(2 * kHour)).ok());
}

TEST(ConnectCa, ForceWithoutCrossSigningRotatesWithoutIntermediate) {
  Ca ca = initial();
  api::CAConfiguration want = ca.config;
  want.force_without_cross_signing = true;
  SeededRng rng(5);
  auto w = plan_config_set(ca.config, ca.roots, ca.keys.at(active(ca).id), want, kNow, rng);
  ASSERT_TRUE(w.ok());
  apply(ca, *w, 10);
  ASSERT_EQ(ca.roots.roots.size(), 2u);
  EXPECT_TRUE(active(ca).intermediate_certs.empty());
}

TEST(ConnectCa, SuppliedPrivateKeyAndRootCertBecomeTheActiveRoot) {
  Ca ca = initial();
  // An operator's root, made elsewhere.
  Ca other = initial();
  api::CAConfiguration want = ca.config;
  want.config.private_key = other.keys.at(active(other).id);
  want.config.root_cert = active(other).root_cert;
  SeededRng rng(6);
  auto w = plan_config_set(ca.config, ca.roots, ca.keys.at(active(ca).id), want, kNow, rng);
  ASSERT_TRUE(w.ok()) << w.error().message();
  apply(ca, *w, 11);
  EXPECT_EQ(active(ca).root_cert, active(other).root_cert);
  EXPECT_TRUE(ca.config.config.private_key.empty());
  EXPECT_TRUE(ca.config.config.root_cert.empty());

  // A RootCert that the PrivateKey did not sign is refused, naming it.
  Ca third = initial();
  want.config.root_cert = active(third).root_cert;
  auto bad = plan_config_set(ca.config, ca.roots, ca.keys.at(active(ca).id), want, kNow, rng);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message().rfind("RootCert", 0), 0u);
}

TEST(ConnectCa, RateLimiterRefusesBeyondTheRateAndRefills) {
  SignLimiter l;
  l.configure(2, 0);
  Instant t0{std::chrono::seconds(100)};
  EXPECT_TRUE(l.acquire(t0).ok());
  EXPECT_TRUE(l.acquire(t0).ok());
  auto refused = l.acquire(t0);
  ASSERT_FALSE(refused.ok());
  EXPECT_TRUE(refused.error().is(errc::resource_exhausted));
  EXPECT_EQ(refused.error().message(), "rate limit reached, try again later");
  EXPECT_TRUE(l.acquire(t0 + std::chrono::milliseconds(500)).ok());
  EXPECT_FALSE(l.acquire(t0 + std::chrono::milliseconds(500)).ok());
  l.configure(0, 0);  // no limit
  for (int i = 0; i < 100; ++i) EXPECT_TRUE(l.acquire(t0).ok());
}

TEST(ConnectCa, ConcurrencyLimitCountsSigningsInFlight) {
  SignLimiter l;
  l.configure(50, 1);
  Instant t0{};
  {
    auto first = l.acquire(t0);
    ASSERT_TRUE(first.ok());
    EXPECT_TRUE(l.acquire(t0).error().is(errc::resource_exhausted));
  }
  EXPECT_TRUE(l.acquire(t0).ok());
}

}  // namespace
}  // namespace cairn::server::ca
