// X.509 for Connect: keys, CSRs and certificates as PEM text, what the
// server's CA (server/ca), the agent's leaf cache (agent/connect) and the
// sidecar proxy share. Light header: OpenSSL stays in x509.cc (the one
// OpenSSL type named here is forward-declared, for spiffe_uri_of).
//
// Keys are PKCS#8 PEM ("-----BEGIN PRIVATE KEY-----"): EC P-256/P-384 or RSA
// 2048/4096, Consul's choices. Certificates and CSRs are PEM. Identifiers
// (serials, key ids) are lowercase hex with colons, as Consul prints them
// ("3c:9a:..."). Times are WallTime (whole seconds in certificates).
//
// Errors: invalid_argument with a detail naming what did not parse or
// verify ("CSR: signature does not verify", "PEM: no certificate").
//
// Thread-safety: pure functions over their arguments (OpenSSL 3 is
// thread-safe for these calls).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/result.h"

struct x509_st;      // OpenSSL's X509
struct evp_pkey_st;  // OpenSSL's EVP_PKEY

namespace cairn::io::x509 {

// "ec" 256|384 or "rsa" 2048|4096; invalid_argument naming the field
// ("PrivateKeyBits: ec keys are 256 or 384 bits, got 512") otherwise.
Status check_key_spec(std::string_view type, int bits);

// A new private key as PKCS#8 PEM.
Result<std::string> generate_key(std::string_view type, int bits);

struct KeyInfo {
  std::string type;  // "ec" or "rsa"
  int bits = 0;
  std::string public_pem;  // SubjectPublicKeyInfo PEM
};
Result<KeyInfo> read_key(std::string_view key_pem);

// A CSR for `uri` (the one URI SAN) and `dns` SANs, signed by the key.
struct CsrRequest {
  std::string common_name;
  std::string uri;
  std::vector<std::string> dns;
};
Result<std::string> make_csr(std::string_view key_pem, const CsrRequest& req);

struct CsrInfo {
  std::string common_name;
  std::vector<std::string> uris;
  std::vector<std::string> dns;
  std::string public_pem;
  // The same public key, parsed: sign_cert(t, CsrInfo, Issuer) uses it
  // without decoding public_pem again.
  std::shared_ptr<evp_pkey_st> public_key;
};
// Parses a CSR and checks its self-signature (invalid_argument when it does
// not verify).
Result<CsrInfo> read_csr(std::string_view csr_pem);

// What sign_cert puts in a certificate.
struct CertTemplate {
  std::string common_name;
  std::vector<std::string> uris;
  std::vector<std::string> dns;
  std::string serial;  // raw big-endian bytes (at most 20, positive)
  WallTime not_before;
  WallTime not_after;
  bool is_ca = false;  // CA:true, keyCertSign+cRLSign; else a TLS leaf (server+client auth)
};
// Issues a certificate for `subject_public_pem`, signed by `issuer_key_pem`.
// An empty issuer_cert_pem makes it self-signed (issuer = subject, AKID =
// SKID). SHA-256 for EC P-256 and RSA, SHA-384 for P-384.
Result<std::string> sign_cert(const CertTemplate& t, std::string_view subject_public_pem,
                              std::string_view issuer_cert_pem, std::string_view issuer_key_pem);

// A CA's certificate and private key, parsed once. OpenSSL 3 decodes PEM
// keys through its provider decoders, which cost most of a leaf signing,
// so the CA keeps its active root's Issuer between leaves (server/ca
// IssuerCache). Immutable after load; one Issuer may sign on many threads at once (OpenSSL 3 allows
// concurrent use of an EVP_PKEY and X509 that nobody modifies).
class Issuer {
 public:
  // invalid_argument naming the PEM that did not parse, or the key that
  // does not belong to the certificate.
  static Result<std::shared_ptr<const Issuer>> load(std::string_view cert_pem, std::string_view key_pem);
  ~Issuer();
  Issuer(const Issuer&) = delete;
  Issuer& operator=(const Issuer&) = delete;

  struct Parsed;  // OpenSSL's objects (x509.cc)

 private:
  explicit Issuer(std::unique_ptr<Parsed> p);
  friend Result<std::string> sign_cert(const CertTemplate&, std::string_view, const Issuer&);
  friend Result<std::string> sign_cert(const CertTemplate&, const CsrInfo&, const Issuer&);
  std::unique_ptr<Parsed> parsed_;
};
// sign_cert with the issuer already parsed, for a PEM public key or for
// the key of a CSR that read_csr parsed.
Result<std::string> sign_cert(const CertTemplate& t, std::string_view subject_public_pem, const Issuer& issuer);
Result<std::string> sign_cert(const CertTemplate& t, const CsrInfo& csr, const Issuer& issuer);

// A certificate serial number: `bytes` (8..20) from OpenSSL's CSPRNG
// (RAND_bytes), the first byte 1..127 so that it is positive in DER and
// keeps its length (16 bytes: about 127 random bits). RFC 5280 4.1.2.2 and the CA/Browser Forum's 64 bits of entropy;
// sequential or predictable serials let an attacker prepare a colliding
// certificate (the MD5 rogue-CA attack).
Result<std::string> random_serial(size_t bytes = 16);

// Re-issues `cert_pem` (same subject, key, SANs, validity and SKID) with
// `issuer_cert_pem` as issuer, signed by its key: the cross-signed root of
// a CA rotation. `serial` as in CertTemplate.
Result<std::string> cross_sign(std::string_view cert_pem, std::string_view issuer_cert_pem,
                               std::string_view issuer_key_pem, std::string_view serial);

struct CertInfo {
  std::string serial;      // hex with colons
  std::string serial_raw;  // big-endian bytes
  std::string subject_cn;
  std::string issuer_cn;
  std::vector<std::string> uris;
  std::vector<std::string> dns;
  WallTime not_before;
  WallTime not_after;
  std::string subject_key_id;    // hex with colons ("" when absent)
  std::string authority_key_id;  // hex with colons ("" when absent)
  bool is_ca = false;
  std::string key_type;  // "ec" or "rsa"
  int key_bits = 0;
  std::string public_pem;
};
Result<CertInfo> read_cert(std::string_view cert_pem);

// The SHA-1 fingerprint of the DER certificate, hex with colons (Consul's
// CARoot ID).
Result<std::string> fingerprint(std::string_view cert_pem);

// Every certificate in a PEM bundle, in order (invalid_argument when none).
Result<std::vector<std::string>> split_certs(std::string_view pem);

// The first spiffe:// URI SAN of a certificate (not_found when it has none).
Result<std::string> spiffe_uri_of(std::string_view cert_pem);
Result<std::string> spiffe_uri_of(const x509_st* cert);

// Verifies `leaf_pem` up to one of `roots`, through `intermediates`, at
// time `at` (signatures, validity, CA constraints). invalid_argument with
// OpenSSL's reason when it does not verify.
Status verify_chain(std::string_view leaf_pem, const std::vector<std::string>& intermediates,
                    const std::vector<std::string>& roots, WallTime at);

// Whether the private key belongs to the certificate.
Result<bool> key_matches_cert(std::string_view key_pem, std::string_view cert_pem);

// Hex with colons ("0a:ff") of raw bytes.
std::string colon_hex(std::string_view bytes);

// RFC 3339 in UTC ("2026-11-24T21:57:49Z"), as Go's time.Time marshals it.
std::string rfc3339(WallTime t);
Result<WallTime> parse_rfc3339(std::string_view s);

}  // namespace cairn::io::x509
