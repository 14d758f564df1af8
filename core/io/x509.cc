#include "core/io/x509.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <ctime>
#include <memory>

namespace cairn::io::x509 {
namespace {

template <auto Free>
struct Deleter {
  template <typename T>
  void operator()(T* p) const {
    Free(p);
  }
};
using Bio = std::unique_ptr<BIO, Deleter<BIO_free>>;
using Key = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY_free>>;
using Cert = std::unique_ptr<X509, Deleter<X509_free>>;
using Req = std::unique_ptr<X509_REQ, Deleter<X509_REQ_free>>;
using KeyCtx = std::unique_ptr<EVP_PKEY_CTX, Deleter<EVP_PKEY_CTX_free>>;
using Names = std::unique_ptr<GENERAL_NAMES, Deleter<GENERAL_NAMES_free>>;
using Exts = std::unique_ptr<STACK_OF(X509_EXTENSION), Deleter<+[](STACK_OF(X509_EXTENSION) * s) {
                                                          sk_X509_EXTENSION_pop_free(s, X509_EXTENSION_free);
                                                        }>>;
using Store = std::unique_ptr<X509_STORE, Deleter<X509_STORE_free>>;
using StoreCtx = std::unique_ptr<X509_STORE_CTX, Deleter<X509_STORE_CTX_free>>;
using CertStack = std::unique_ptr<STACK_OF(X509), Deleter<+[](STACK_OF(X509) * s) { sk_X509_pop_free(s, X509_free); }>>;

// The last OpenSSL error as text (and the queue cleared).
std::string ssl_reason() {
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

Error bad(std::string what) { return Error(errc::invalid_argument, std::move(what)); }

Bio mem(std::string_view pem) { return Bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()))); }

std::string drain(BIO* b) {
  char* data = nullptr;
  long n = BIO_get_mem_data(b, &data);
  return std::string(data, static_cast<size_t>(n));
}

Result<Key> load_private(std::string_view pem) {
  Bio b = mem(pem);
  Key k(PEM_read_bio_PrivateKey(b.get(), nullptr, nullptr, nullptr));
  if (!k) return bad("PrivateKey: not a PEM private key (" + ssl_reason() + ")");
  return k;
}

Result<Key> load_public(std::string_view pem) {
  Bio b = mem(pem);
  Key k(PEM_read_bio_PUBKEY(b.get(), nullptr, nullptr, nullptr));
  if (!k) return bad("public key: not a PEM public key (" + ssl_reason() + ")");
  return k;
}

Result<Cert> load_cert(std::string_view pem) {
  Bio b = mem(pem);
  Cert c(PEM_read_bio_X509(b.get(), nullptr, nullptr, nullptr));
  if (!c) return bad("certificate: not a PEM certificate (" + ssl_reason() + ")");
  return c;
}

std::string public_pem_of(EVP_PKEY* k) {
  Bio out(BIO_new(BIO_s_mem()));
  PEM_write_bio_PUBKEY(out.get(), k);
  return drain(out.get());
}

std::string key_type_of(EVP_PKEY* k) { return EVP_PKEY_get_base_id(k) == EVP_PKEY_RSA ? "rsa" : "ec"; }

// SHA-384 for P-384 keys (as Go's x509 picks), SHA-256 otherwise.
const EVP_MD* digest_for(EVP_PKEY* k) {
  if (EVP_PKEY_get_base_id(k) == EVP_PKEY_EC && EVP_PKEY_get_bits(k) > 256) return EVP_sha384();
  return EVP_sha256();
}

void collect_names(const GENERAL_NAMES* names, std::vector<std::string>& uris, std::vector<std::string>& dns) {
  if (!names) return;
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* n = sk_GENERAL_NAME_value(names, i);
    if (n->type == GEN_URI) {
      const ASN1_IA5STRING* s = n->d.uniformResourceIdentifier;
      uris.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)), ASN1_STRING_length(s));
    } else if (n->type == GEN_DNS) {
      const ASN1_IA5STRING* s = n->d.dNSName;
      dns.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)), ASN1_STRING_length(s));
    }
  }
}

// A subjectAltName extension with the URIs and DNS names (null when none).
Result<X509_EXTENSION*> san_extension(const std::vector<std::string>& uris, const std::vector<std::string>& dns) {
  if (uris.empty() && dns.empty()) return static_cast<X509_EXTENSION*>(nullptr);
  Names names(GENERAL_NAMES_new());
  auto add = [&](int type, const std::string& v) -> Status {
    GENERAL_NAME* n = GENERAL_NAME_new();
    ASN1_IA5STRING* s = ASN1_IA5STRING_new();
    if (!n || !s || !ASN1_STRING_set(s, v.data(), static_cast<int>(v.size()))) {
      GENERAL_NAME_free(n);
      ASN1_IA5STRING_free(s);
      return Error(errc::internal, "x509: out of memory");
    }
    GENERAL_NAME_set0_value(n, type, s);
    sk_GENERAL_NAME_push(names.get(), n);
    return {};
  };
  for (const auto& u : uris) CAIRN_RETURN_IF_ERROR(add(GEN_URI, u));
  for (const auto& d : dns) CAIRN_RETURN_IF_ERROR(add(GEN_DNS, d));
  X509_EXTENSION* ext = X509V3_EXT_i2d(NID_subject_alt_name, 0, names.get());
  if (!ext) return Error(errc::internal, "x509: subjectAltName: " + ssl_reason());
  return ext;
}

Status add_ext(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (!ext) return Error(errc::internal, std::string("x509: extension ") + OBJ_nid2sn(nid) + ": " + ssl_reason());
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  return {};
}

Status set_time(ASN1_TIME* field, WallTime t) {
  time_t secs = static_cast<time_t>(std::chrono::duration_cast<std::chrono::seconds>(t.since_unix_epoch).count());
  if (!ASN1_TIME_set(field, secs)) return Error(errc::internal, "x509: time out of range");
  return {};
}

WallTime wall_of(const ASN1_TIME* t) {
  struct tm tm {};
  if (!ASN1_TIME_to_tm(t, &tm)) return WallTime{};
  return WallTime{std::chrono::seconds(timegm(&tm))};
}

std::string cn_of(const X509_NAME* name) {
  int i = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
  if (i < 0) return "";
  const ASN1_STRING* s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)), ASN1_STRING_length(s));
}

Status set_serial(X509* cert, std::string_view serial) {
  if (serial.empty() || serial.size() > 20) return bad("serial: 1 to 20 bytes");
  std::unique_ptr<BIGNUM, Deleter<BN_free>> bn(
      BN_bin2bn(reinterpret_cast<const unsigned char*>(serial.data()), static_cast<int>(serial.size()), nullptr));
  if (!bn || BN_is_zero(bn.get())) return bad("serial: must be positive");
  if (!BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert))) return Error(errc::internal, "x509: serial");
  return {};
}

Result<std::string> sign_and_encode(X509* cert, EVP_PKEY* issuer_key) {
  if (!X509_sign(cert, issuer_key, digest_for(issuer_key)))
    return Error(errc::internal, "x509: signing failed: " + ssl_reason());
  Bio out(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(out.get(), cert);
  return drain(out.get());
}

}  // namespace

std::string colon_hex(std::string_view bytes) {
  static const char* kDigits = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < bytes.size(); ++i) {
    if (i) out += ':';
    auto b = static_cast<unsigned char>(bytes[i]);
    out += kDigits[b >> 4];
    out += kDigits[b & 15];
  }
  return out;
}

Status check_key_spec(std::string_view type, int bits) {
  if (type == "ec") {
    if (bits == 256 || bits == 384) return {};
    return bad("PrivateKeyBits: ec keys are 256 or 384 bits, got " + std::to_string(bits));
  }
  if (type == "rsa") {
    if (bits == 2048 || bits == 4096) return {};
    return bad("PrivateKeyBits: rsa keys are 2048 or 4096 bits, got " + std::to_string(bits));
  }
  return bad("PrivateKeyType: must be \"ec\" or \"rsa\", got \"" + std::string(type) + "\"");
}

Result<std::string> generate_key(std::string_view type, int bits) {
  CAIRN_RETURN_IF_ERROR(check_key_spec(type, bits));
  Key key;
  if (type == "ec") {
    key.reset(EVP_EC_gen(bits == 256 ? "P-256" : "P-384"));
  } else {
    key.reset(EVP_RSA_gen(static_cast<unsigned>(bits)));
  }
  if (!key) return Error(errc::internal, "x509: key generation failed: " + ssl_reason());
  Bio out(BIO_new(BIO_s_mem()));
  if (!PEM_write_bio_PrivateKey(out.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr))
    return Error(errc::internal, "x509: key encoding failed: " + ssl_reason());
  return drain(out.get());
}

Result<KeyInfo> read_key(std::string_view key_pem) {
  CAIRN_TRY(Key k, load_private(key_pem));
  return KeyInfo{key_type_of(k.get()), EVP_PKEY_get_bits(k.get()), public_pem_of(k.get())};
}

Result<std::string> make_csr(std::string_view key_pem, const CsrRequest& r) {
  CAIRN_TRY(Key k, load_private(key_pem));
  Req req(X509_REQ_new());
  X509_REQ_set_version(req.get(), 0);
  if (!r.common_name.empty()) {
    X509_NAME* name = X509_REQ_get_subject_name(req.get());
    X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char*>(r.common_name.c_str()), -1, -1, 0);
  }
  X509_REQ_set_pubkey(req.get(), k.get());
  std::vector<std::string> uris;
  if (!r.uri.empty()) uris.push_back(r.uri);
  CAIRN_TRY(X509_EXTENSION * san, san_extension(uris, r.dns));
  if (san) {
    Exts exts(sk_X509_EXTENSION_new_null());
    sk_X509_EXTENSION_push(exts.get(), san);
    X509_REQ_add_extensions(req.get(), exts.get());
  }
  if (!X509_REQ_sign(req.get(), k.get(), digest_for(k.get())))
    return Error(errc::internal, "x509: CSR signing failed: " + ssl_reason());
  Bio out(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509_REQ(out.get(), req.get());
  return drain(out.get());
}

Result<CsrInfo> read_csr(std::string_view csr_pem) {
  Bio b = mem(csr_pem);
  Req req(PEM_read_bio_X509_REQ(b.get(), nullptr, nullptr, nullptr));
  if (!req) return bad("CSR: not a PEM certificate request (" + ssl_reason() + ")");
  EVP_PKEY* pub = X509_REQ_get0_pubkey(req.get());
  if (!pub) return bad("CSR: no public key");
  if (X509_REQ_verify(req.get(), pub) != 1) {
    ERR_clear_error();
    return bad("CSR: signature does not verify");
  }
  CsrInfo info;
  info.common_name = cn_of(X509_REQ_get_subject_name(req.get()));
  info.public_pem = public_pem_of(pub);
  if (EVP_PKEY_up_ref(pub) != 1) return Error(errc::internal, "x509: key reference");
  info.public_key = std::shared_ptr<EVP_PKEY>(pub, EVP_PKEY_free);
  Exts exts(X509_REQ_get_extensions(req.get()));
  if (exts) {
    for (int i = 0; i < sk_X509_EXTENSION_num(exts.get()); ++i) {
      X509_EXTENSION* e = sk_X509_EXTENSION_value(exts.get(), i);
      if (OBJ_obj2nid(X509_EXTENSION_get_object(e)) != NID_subject_alt_name) continue;
      Names names(static_cast<GENERAL_NAMES*>(X509V3_EXT_d2i(e)));
      collect_names(names.get(), info.uris, info.dns);
    }
  }
  return info;
}

namespace {

// Issues the certificate of `t` for `pub`, signed by `issuer_key`; a null
// `issuer` makes it self-signed.
Result<std::string> sign_with(const CertTemplate& t, EVP_PKEY* pub, X509* issuer, EVP_PKEY* issuer_key) {
  Cert cert(X509_new());
  X509_set_version(cert.get(), 2);
  CAIRN_RETURN_IF_ERROR(set_serial(cert.get(), t.serial));
  CAIRN_RETURN_IF_ERROR(set_time(X509_getm_notBefore(cert.get()), t.not_before));
  CAIRN_RETURN_IF_ERROR(set_time(X509_getm_notAfter(cert.get()), t.not_after));
  X509_NAME* subject = X509_get_subject_name(cert.get());
  if (!t.common_name.empty())
    X509_NAME_add_entry_by_NID(subject, NID_commonName, MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char*>(t.common_name.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert.get(), issuer ? X509_get_subject_name(issuer) : subject);
  X509_set_pubkey(cert.get(), pub);
  X509* issuer_ref = issuer ? issuer : cert.get();
  if (t.is_ca) {
    CAIRN_RETURN_IF_ERROR(add_ext(cert.get(), issuer_ref, NID_basic_constraints, "critical,CA:TRUE"));
    CAIRN_RETURN_IF_ERROR(
        add_ext(cert.get(), issuer_ref, NID_key_usage, "critical,digitalSignature,keyCertSign,cRLSign"));
  } else {
    CAIRN_RETURN_IF_ERROR(add_ext(cert.get(), issuer_ref, NID_basic_constraints, "critical,CA:FALSE"));
    CAIRN_RETURN_IF_ERROR(
        add_ext(cert.get(), issuer_ref, NID_key_usage, "critical,digitalSignature,keyEncipherment,keyAgreement"));
    CAIRN_RETURN_IF_ERROR(add_ext(cert.get(), issuer_ref, NID_ext_key_usage, "serverAuth,clientAuth"));
  }
  CAIRN_RETURN_IF_ERROR(add_ext(cert.get(), issuer_ref, NID_subject_key_identifier, "hash"));
  CAIRN_RETURN_IF_ERROR(add_ext(cert.get(), issuer_ref, NID_authority_key_identifier, "keyid:always"));
  CAIRN_TRY(X509_EXTENSION * san, san_extension(t.uris, t.dns));
  if (san) {
    X509_add_ext(cert.get(), san, -1);
    X509_EXTENSION_free(san);
  }
  return sign_and_encode(cert.get(), issuer_key);
}

}  // namespace

Result<std::string> sign_cert(const CertTemplate& t, std::string_view subject_public_pem,
                              std::string_view issuer_cert_pem, std::string_view issuer_key_pem) {
  CAIRN_TRY(Key pub, load_public(subject_public_pem));
  CAIRN_TRY(Key issuer_key, load_private(issuer_key_pem));
  Cert issuer;
  if (!issuer_cert_pem.empty()) {
    CAIRN_TRY(issuer, load_cert(issuer_cert_pem));
  }
  return sign_with(t, pub.get(), issuer.get(), issuer_key.get());
}

struct Issuer::Parsed {
  Cert cert;
  Key key;
};

Issuer::Issuer(std::unique_ptr<Parsed> p) : parsed_(std::move(p)) {}
Issuer::~Issuer() = default;

Result<std::shared_ptr<const Issuer>> Issuer::load(std::string_view cert_pem, std::string_view key_pem) {
  auto p = std::make_unique<Parsed>();
  CAIRN_TRY(p->cert, load_cert(cert_pem));
  CAIRN_TRY(p->key, load_private(key_pem));
  if (X509_check_private_key(p->cert.get(), p->key.get()) != 1) {
    ERR_clear_error();
    return bad("PrivateKey: does not belong to the issuer's certificate");
  }
  return std::shared_ptr<const Issuer>(new Issuer(std::move(p)));
}

Result<std::string> sign_cert(const CertTemplate& t, std::string_view subject_public_pem, const Issuer& issuer) {
  CAIRN_TRY(Key pub, load_public(subject_public_pem));
  return sign_with(t, pub.get(), issuer.parsed_->cert.get(), issuer.parsed_->key.get());
}

Result<std::string> sign_cert(const CertTemplate& t, const CsrInfo& csr, const Issuer& issuer) {
  if (!csr.public_key) return sign_cert(t, csr.public_pem, issuer);
  return sign_with(t, csr.public_key.get(), issuer.parsed_->cert.get(), issuer.parsed_->key.get());
}

Result<std::string> random_serial(size_t bytes) {
  if (bytes < 8 || bytes > 20) return bad("serial: 8 to 20 bytes");
  std::string out(bytes, '\0');
  auto* data = reinterpret_cast<unsigned char*>(out.data());
  // The first byte is 1..127: positive in DER, and never a leading zero
  // that DER would drop (the serial keeps its length and its printed form).
  do {
    if (RAND_bytes(data, static_cast<int>(bytes)) != 1)
      return Error(errc::internal, "x509: no random bytes for a serial: " + ssl_reason());
    data[0] &= 0x7f;
  } while (data[0] == 0);
  return out;
}

Result<std::string> cross_sign(std::string_view cert_pem, std::string_view issuer_cert_pem,
                               std::string_view issuer_key_pem, std::string_view serial) {
  CAIRN_TRY(Cert original, load_cert(cert_pem));
  CAIRN_TRY(Cert issuer, load_cert(issuer_cert_pem));
  CAIRN_TRY(Key issuer_key, load_private(issuer_key_pem));
  Cert cert(X509_dup(original.get()));
  if (!cert) return Error(errc::internal, "x509: copy failed");
  CAIRN_RETURN_IF_ERROR(set_serial(cert.get(), serial));
  X509_set_issuer_name(cert.get(), X509_get_subject_name(issuer.get()));
  // The authority key id now names the old root.
  int at = X509_get_ext_by_NID(cert.get(), NID_authority_key_identifier, -1);
  if (at >= 0) X509_EXTENSION_free(X509_delete_ext(cert.get(), at));
  CAIRN_RETURN_IF_ERROR(add_ext(cert.get(), issuer.get(), NID_authority_key_identifier, "keyid:always"));
  return sign_and_encode(cert.get(), issuer_key.get());
}

Result<CertInfo> read_cert(std::string_view cert_pem) {
  CAIRN_TRY(Cert c, load_cert(cert_pem));
  CertInfo info;
  const ASN1_INTEGER* serial = X509_get0_serialNumber(c.get());
  std::unique_ptr<BIGNUM, Deleter<BN_free>> bn(ASN1_INTEGER_to_BN(serial, nullptr));
  std::string raw(static_cast<size_t>(BN_num_bytes(bn.get())), '\0');
  BN_bn2bin(bn.get(), reinterpret_cast<unsigned char*>(raw.data()));
  info.serial = colon_hex(raw);
  info.serial_raw = raw;
  info.subject_cn = cn_of(X509_get_subject_name(c.get()));
  info.issuer_cn = cn_of(X509_get_issuer_name(c.get()));
  Names names(static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(c.get(), NID_subject_alt_name, nullptr, nullptr)));
  collect_names(names.get(), info.uris, info.dns);
  info.not_before = wall_of(X509_get0_notBefore(c.get()));
  info.not_after = wall_of(X509_get0_notAfter(c.get()));
  if (const ASN1_OCTET_STRING* skid = X509_get0_subject_key_id(c.get()))
    info.subject_key_id =
        colon_hex(std::string_view(reinterpret_cast<const char*>(ASN1_STRING_get0_data(skid)), ASN1_STRING_length(skid)));
  if (const ASN1_OCTET_STRING* akid = X509_get0_authority_key_id(c.get()))
    info.authority_key_id =
        colon_hex(std::string_view(reinterpret_cast<const char*>(ASN1_STRING_get0_data(akid)), ASN1_STRING_length(akid)));
  info.is_ca = X509_check_ca(c.get()) > 0;
  EVP_PKEY* pub = X509_get0_pubkey(c.get());
  if (pub) {
    info.key_type = key_type_of(pub);
    info.key_bits = EVP_PKEY_get_bits(pub);
    info.public_pem = public_pem_of(pub);
  }
  return info;
}

Result<std::string> fingerprint(std::string_view cert_pem) {
  CAIRN_TRY(Cert c, load_cert(cert_pem));
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (!X509_digest(c.get(), EVP_sha1(), md, &n)) return Error(errc::internal, "x509: digest failed");
  return colon_hex(std::string_view(reinterpret_cast<const char*>(md), n));
}

Result<std::vector<std::string>> split_certs(std::string_view pem) {
  static constexpr std::string_view kBegin = "-----BEGIN CERTIFICATE-----";
  static constexpr std::string_view kEnd = "-----END CERTIFICATE-----";
  std::vector<std::string> out;
  size_t pos = 0;
  while ((pos = pem.find(kBegin, pos)) != std::string_view::npos) {
    size_t end = pem.find(kEnd, pos);
    if (end == std::string_view::npos) return bad("PEM: unterminated certificate");
    end += kEnd.size();
    out.emplace_back(pem.substr(pos, end - pos));
    out.back() += '\n';
    pos = end;
  }
  if (out.empty()) return bad("PEM: no certificate");
  return out;
}

Result<std::string> spiffe_uri_of(const x509_st* cert) {
  if (!cert) return bad("certificate: none");
  Names names(static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
  std::vector<std::string> uris, dns;
  collect_names(names.get(), uris, dns);
  for (auto& u : uris)
    if (u.rfind("spiffe://", 0) == 0) return std::move(u);
  return Error(errc::not_found, "certificate: no spiffe:// URI SAN");
}

Result<std::string> spiffe_uri_of(std::string_view cert_pem) {
  CAIRN_TRY(Cert c, load_cert(cert_pem));
  return spiffe_uri_of(c.get());
}

Status verify_chain(std::string_view leaf_pem, const std::vector<std::string>& intermediates,
                    const std::vector<std::string>& roots, WallTime at) {
  CAIRN_TRY(Cert leaf, load_cert(leaf_pem));
  Store store(X509_STORE_new());
  for (const auto& r : roots) {
    CAIRN_TRY(Cert c, load_cert(r));
    X509_STORE_add_cert(store.get(), c.get());
  }
  CertStack chain(sk_X509_new_null());
  for (const auto& i : intermediates) {
    CAIRN_TRY(Cert c, load_cert(i));
    sk_X509_push(chain.get(), c.release());
  }
  StoreCtx ctx(X509_STORE_CTX_new());
  if (!X509_STORE_CTX_init(ctx.get(), store.get(), leaf.get(), chain.get()))
    return Error(errc::internal, "x509: verify context: " + ssl_reason());
  X509_STORE_CTX_set_time(ctx.get(), 0,
                          static_cast<time_t>(std::chrono::duration_cast<std::chrono::seconds>(at.since_unix_epoch).count()));
  if (X509_verify_cert(ctx.get()) != 1) {
    int err = X509_STORE_CTX_get_error(ctx.get());
    ERR_clear_error();
    return bad(std::string("certificate does not verify: ") + X509_verify_cert_error_string(err));
  }
  return {};
}

Result<bool> key_matches_cert(std::string_view key_pem, std::string_view cert_pem) {
  CAIRN_TRY(Key k, load_private(key_pem));
  CAIRN_TRY(Cert c, load_cert(cert_pem));
  return X509_check_private_key(c.get(), k.get()) == 1;
}

std::string rfc3339(WallTime t) {
  time_t secs = static_cast<time_t>(std::chrono::duration_cast<std::chrono::seconds>(t.since_unix_epoch).count());
  struct tm tm {};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

Result<WallTime> parse_rfc3339(std::string_view s) {
  struct tm tm {};
  std::string text(s);
  int y, mo, d, h, mi, sec;
  char z = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%c", &y, &mo, &d, &h, &mi, &sec, &z) != 7 || z != 'Z')
    return bad("time: not RFC 3339 UTC (\"2006-01-02T15:04:05Z\"): \"" + text + "\"");
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  return WallTime{std::chrono::seconds(timegm(&tm))};
}

}  // namespace cairn::io::x509
