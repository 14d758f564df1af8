// core/io/x509: keys, CSRs, certificates and chains, checked with OpenSSL.
#include "core/io/x509.h"

#include <gtest/gtest.h>

#include <set>

namespace cairn::io::x509 {
namespace {

constexpr WallTime kNow{std::chrono::seconds(1'800'000'000)};
constexpr auto kHour = std::chrono::hours(1);

std::string serial(uint8_t n) { return std::string(1, static_cast<char>(n)) + "serial"; }

struct Root {
  std::string key;
  std::string cert;
};

Root make_root(const std::string& cn, const std::string& type = "ec", int bits = 256, uint8_t sn = 1) {
  auto key = generate_key(type, bits);
  EXPECT_TRUE(key.ok()) << key.error().message();
  auto info = read_key(*key);
  CertTemplate t;
  t.common_name = cn;
  t.uris = {"spiffe://11111111-2222-4333-8444-555555555555.consul"};
  t.serial = serial(sn);
  t.not_before = WallTime{kNow.since_unix_epoch - kHour};
  t.not_after = WallTime{kNow.since_unix_epoch + 87600 * kHour};
  t.is_ca = true;
  auto cert = sign_cert(t, info->public_pem, "", *key);
  EXPECT_TRUE(cert.ok()) << cert.error().message();
  return {*key, *cert};
}

std::string make_leaf(const Root& root, const std::string& uri, std::string* key_out = nullptr) {
  auto key = generate_key("ec", 256);
  auto csr = make_csr(*key, {"web", uri, {"web.svc.default.11111111.consul"}});
  EXPECT_TRUE(csr.ok()) << csr.error().message();
  auto parsed = read_csr(*csr);
  EXPECT_TRUE(parsed.ok()) << parsed.error().message();
  CertTemplate t;
  t.common_name = "web";
  t.uris = parsed->uris;
  t.dns = parsed->dns;
  t.serial = serial(9);
  t.not_before = WallTime{kNow.since_unix_epoch - std::chrono::minutes(1)};
  t.not_after = WallTime{kNow.since_unix_epoch + 72 * kHour};
  auto cert = sign_cert(t, parsed->public_pem, root.cert, root.key);
  EXPECT_TRUE(cert.ok()) << cert.error().message();
  if (key_out) *key_out = *key;
  return *cert;
}

TEST(X509, KeySpecsAreConsulsAndErrorsNameTheField) {
  EXPECT_TRUE(check_key_spec("ec", 256).ok());
  EXPECT_TRUE(check_key_spec("ec", 384).ok());
  EXPECT_TRUE(check_key_spec("rsa", 2048).ok());
  EXPECT_TRUE(check_key_spec("rsa", 4096).ok());
  auto bits = check_key_spec("ec", 512);
  ASSERT_FALSE(bits.ok());
  EXPECT_NE(bits.error().message().find("PrivateKeyBits"), std::string::npos);
  auto type = check_key_spec("dsa", 2048);
  ASSERT_FALSE(type.ok());
  EXPECT_NE(type.error().message().find("PrivateKeyType"), std::string::npos);
}

TEST(X509, GeneratedKeysHaveTheAskedTypeAndSize) {
  for (auto [type, bits] : {std::pair<std::string, int>{"ec", 256}, {"ec", 384}, {"rsa", 2048}}) {
    auto key = generate_key(type, bits);
    ASSERT_TRUE(key.ok()) << key.error().message();
    EXPECT_NE(key->find("BEGIN PRIVATE KEY"), std::string::npos);
    auto info = read_key(*key);
    ASSERT_TRUE(info.ok());
    EXPECT_EQ(info->type, type);
    EXPECT_EQ(info->bits, bits);
  }
}

TEST(X509, MalformedPemIsAClearError) {
  auto k = read_key("not a key");
  ASSERT_FALSE(k.ok());
  EXPECT_TRUE(k.error().is(errc::invalid_argument));
  EXPECT_NE(k.error().message().find("PrivateKey"), std::string::npos);
  EXPECT_FALSE(read_cert("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n").ok());
  EXPECT_FALSE(read_csr("garbage").ok());
  EXPECT_FALSE(split_certs("nothing here").ok());
}

TEST(X509, SelfSignedRootCarriesCaConstraintsSanAndMatchingKeyIds) {
  Root root = make_root("pri-abc.consul.ca.11111111.consul");
  auto info = read_cert(root.cert);
  ASSERT_TRUE(info.ok()) << info.error().message();
  EXPECT_TRUE(info->is_ca);
  EXPECT_EQ(info->subject_cn, "pri-abc.consul.ca.11111111.consul");
  EXPECT_EQ(info->issuer_cn, info->subject_cn);
  ASSERT_EQ(info->uris.size(), 1u);
  EXPECT_EQ(info->uris[0], "spiffe://11111111-2222-4333-8444-555555555555.consul");
  EXPECT_FALSE(info->subject_key_id.empty());
  EXPECT_EQ(info->subject_key_id, info->authority_key_id);
  EXPECT_EQ(info->key_type, "ec");
  EXPECT_EQ(info->key_bits, 256);
  EXPECT_EQ(info->not_before.since_unix_epoch, kNow.since_unix_epoch - kHour);
  EXPECT_TRUE(verify_chain(root.cert, {}, {root.cert}, kNow).ok());
  EXPECT_TRUE(*key_matches_cert(root.key, root.cert));
}

TEST(X509, CsrCarriesUriAndDnsSansAndItsSignatureIsChecked) {
  auto key = generate_key("ec", 256);
  auto csr = make_csr(*key, {"web", "spiffe://td.consul/ns/default/dc/dc1/svc/web", {"web.example"}});
  ASSERT_TRUE(csr.ok());
  auto info = read_csr(*csr);
  ASSERT_TRUE(info.ok()) << info.error().message();
  EXPECT_EQ(info->uris, std::vector<std::string>{"spiffe://td.consul/ns/default/dc/dc1/svc/web"});
  EXPECT_EQ(info->dns, std::vector<std::string>{"web.example"});
  EXPECT_EQ(info->common_name, "web");

  // Flip a byte of the base64 body inside the signature: it no longer verifies.
  std::string broken = *csr;
  size_t end = broken.find("-----END");
  ASSERT_NE(end, std::string::npos);
  size_t at = end - 10;
  broken[at] = broken[at] == 'A' ? 'B' : 'A';
  auto r = read_csr(broken);
  EXPECT_FALSE(r.ok());
}

TEST(X509, LeafVerifiesAgainstItsRootOnlyInsideItsValidity) {
  Root root = make_root("root-a");
  Root other = make_root("root-b");
  std::string key;
  std::string leaf = make_leaf(root, "spiffe://td.consul/ns/default/dc/dc1/svc/web", &key);
  EXPECT_TRUE(verify_chain(leaf, {}, {root.cert}, kNow).ok());
  EXPECT_FALSE(verify_chain(leaf, {}, {other.cert}, kNow).ok());
  EXPECT_FALSE(verify_chain(leaf, {}, {root.cert}, WallTime{kNow.since_unix_epoch + 73 * kHour}).ok());
  EXPECT_FALSE(verify_chain(leaf, {}, {root.cert}, WallTime{kNow.since_unix_epoch - 2 * kHour}).ok());
  auto info = read_cert(leaf);
  ASSERT_TRUE(info.ok());
  EXPECT_FALSE(info->is_ca);
  EXPECT_EQ(info->authority_key_id, read_cert(root.cert)->subject_key_id);
  EXPECT_EQ(info->dns, std::vector<std::string>{"web.svc.default.11111111.consul"});
  EXPECT_EQ(*spiffe_uri_of(leaf), "spiffe://td.consul/ns/default/dc/dc1/svc/web");
  EXPECT_TRUE(*key_matches_cert(key, leaf));
  EXPECT_FALSE(*key_matches_cert(root.key, leaf));
}

TEST(X509, CrossSignedRootLinksANewRootsLeavesToTheOldRoot) {
  Root old_root = make_root("pri-old", "ec", 256, 1);
  Root new_root = make_root("pri-new", "rsa", 2048, 2);
  std::string leaf = make_leaf(new_root, "spiffe://td.consul/ns/default/dc/dc1/svc/api");
  auto cross = cross_sign(new_root.cert, old_root.cert, old_root.key, serial(3));
  ASSERT_TRUE(cross.ok()) << cross.error().message();
  auto info = read_cert(*cross);
  EXPECT_EQ(info->subject_cn, "pri-new");
  EXPECT_EQ(info->issuer_cn, "pri-old");
  EXPECT_EQ(info->subject_key_id, read_cert(new_root.cert)->subject_key_id);
  EXPECT_EQ(info->authority_key_id, read_cert(old_root.cert)->subject_key_id);
  // Trusting only the old root, the new root's leaf verifies through the cross-signed cert.
  EXPECT_FALSE(verify_chain(leaf, {}, {old_root.cert}, kNow).ok());
  EXPECT_TRUE(verify_chain(leaf, {*cross}, {old_root.cert}, kNow).ok());
}

// The parsed Issuer signs the same certificate the PEM path does, and
// refuses a key that is not the certificate's.
TEST(X509, ParsedIssuerSignsLikeThePemPathAndChecksItsKey) {
  Root root = make_root("root-a");
  Root other = make_root("root-b");
  auto issuer = Issuer::load(root.cert, root.key);
  ASSERT_TRUE(issuer.ok()) << issuer.error().message();
  auto key = generate_key("ec", 256);
  auto csr = read_csr(*make_csr(*key, {"web", "spiffe://td.consul/ns/default/dc/dc1/svc/web", {}}));
  ASSERT_TRUE(csr.ok());
  CertTemplate t;
  t.common_name = "web";
  t.uris = csr->uris;
  t.serial = serial(7);
  t.not_before = kNow;
  t.not_after = WallTime{kNow.since_unix_epoch + kHour};
  auto leaf = sign_cert(t, csr->public_pem, **issuer);
  ASSERT_TRUE(leaf.ok()) << leaf.error().message();
  EXPECT_TRUE(verify_chain(*leaf, {}, {root.cert}, kNow).ok());
  EXPECT_FALSE(verify_chain(*leaf, {}, {other.cert}, kNow).ok());
  auto info = read_cert(*leaf);
  EXPECT_EQ(info->issuer_cn, "root-a");
  EXPECT_EQ(info->authority_key_id, read_cert(root.cert)->subject_key_id);
  EXPECT_TRUE(*key_matches_cert(*key, *leaf));

  auto mismatched = Issuer::load(root.cert, other.key);
  ASSERT_FALSE(mismatched.ok());
  EXPECT_TRUE(mismatched.error().is(errc::invalid_argument));
  EXPECT_EQ(mismatched.error().message().rfind("PrivateKey", 0), 0u) << mismatched.error().message();
  EXPECT_FALSE(Issuer::load("not pem", root.key).ok());
  EXPECT_FALSE(Issuer::load(root.cert, "not pem").ok());
}

TEST(X509, RandomSerialsArePositiveAndNeverRepeat) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    auto s = random_serial();
    ASSERT_TRUE(s.ok());
    ASSERT_EQ(s->size(), 16u);
    EXPECT_LT(static_cast<unsigned char>((*s)[0]), 0x80);
    EXPECT_GT(static_cast<unsigned char>((*s)[0]), 0);
    seen.insert(*s);
  }
  EXPECT_EQ(seen.size(), 1000u);
  EXPECT_FALSE(random_serial(4).ok());  // fewer than 64 bits
}

TEST(X509, SplitCertsKeepsEachCertificate) {
  Root a = make_root("a");
  Root b = make_root("b");
  auto all = split_certs(a.cert + b.cert);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ(read_cert((*all)[1])->subject_cn, "b");
}

TEST(X509, Rfc3339RoundTrips) {
  WallTime t{std::chrono::seconds(1'764'021'469)};
  EXPECT_EQ(rfc3339(t), "2025-11-24T21:57:49Z");
  EXPECT_EQ(parse_rfc3339("2025-11-24T21:57:49Z")->since_unix_epoch, t.since_unix_epoch);
  EXPECT_FALSE(parse_rfc3339("yesterday").ok());
}

}  // namespace
}  // namespace cairn::io::x509
