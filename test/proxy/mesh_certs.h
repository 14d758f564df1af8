// Test-time Connect certificates made in memory with OpenSSL: CAs and leaves
// whose URI SAN is a service SPIFFE ID, as Consul's Connect CA issues them
// (EC P-256, SHA-256), with any validity window (an expired leaf too).
#pragma once

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <stdexcept>
#include <string>

namespace cairn::test {

struct MeshCert {
  std::string cert_pem, key_pem;
};

class MeshCerts {
 public:
  static constexpr const char* kTrustDomain = "11111111-2222-3333-4444-555555555555.consul";

  static std::string spiffe(const std::string& service, const std::string& td = kTrustDomain,
                            const std::string& dc = "dc1") {
    return "spiffe://" + td + "/ns/default/dc/" + dc + "/svc/" + service;
  }

  // A self-signed root. `td` names it in a spiffe://<td> URI SAN, as Consul's roots.
  static MeshCert ca(const std::string& cn, const std::string& td = kTrustDomain) {
    EVP_PKEY* key = EVP_EC_gen("P-256");
    X509* x = base(key, cn, -3600, 30 * 86400);
    X509_set_issuer_name(x, X509_get_subject_name(x));
    add_ext(x, x, NID_basic_constraints, "critical,CA:TRUE");
    add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign,digitalSignature");
    add_ext(x, x, NID_subject_alt_name, ("URI:spiffe://" + td).c_str());
    X509_sign(x, key, EVP_sha256());
    return finish(x, key);
  }

  // A leaf for `uri` signed by `issuer`, valid from now+not_before_s to
  // now+not_after_s (seconds; both negative: expired).
  static MeshCert leaf(const MeshCert& issuer, const std::string& uri, long not_before_s = -3600,
                       long not_after_s = 3 * 86400) {
    X509* ca = read_cert(issuer.cert_pem);
    EVP_PKEY* ca_key = read_key(issuer.key_pem);
    EVP_PKEY* key = EVP_EC_gen("P-256");
    X509* x = base(key, uri.substr(uri.rfind('/') + 1), not_before_s, not_after_s);
    X509_set_issuer_name(x, X509_get_subject_name(ca));
    add_ext(x, ca, NID_basic_constraints, "critical,CA:FALSE");
    add_ext(x, ca, NID_key_usage, "critical,digitalSignature,keyEncipherment,keyAgreement");
    add_ext(x, ca, NID_ext_key_usage, "serverAuth,clientAuth");
    add_ext(x, ca, NID_subject_alt_name, ("URI:" + uri).c_str());
    X509_sign(x, ca_key, EVP_sha256());
    X509_free(ca);
    EVP_PKEY_free(ca_key);
    return finish(x, key);
  }

 private:
  static X509* base(EVP_PKEY* key, const std::string& cn, long not_before_s, long not_after_s) {
    if (!key) throw std::runtime_error("EVP_EC_gen failed");
    static long serial = 1000;
    X509* x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), ++serial);
    X509_gmtime_adj(X509_getm_notBefore(x), not_before_s);
    X509_gmtime_adj(X509_getm_notAfter(x), not_after_s);
    X509_set_pubkey(x, key);
    X509_NAME* name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1,
                               0);
    return x;
  }
  static void add_ext(X509* x, X509* issuer, int nid, const char* value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, x, nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    if (!ext) throw std::runtime_error("bad extension");
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
  }
  static MeshCert finish(X509* x, EVP_PKEY* key) {
    MeshCert out;
    BIO* b = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(b, x);
    out.cert_pem = drain(b);
    PEM_write_bio_PrivateKey(b, key, nullptr, nullptr, 0, nullptr, nullptr);
    out.key_pem = drain(b);
    BIO_free(b);
    X509_free(x);
    EVP_PKEY_free(key);
    return out;
  }
  static std::string drain(BIO* b) {
    char* data = nullptr;
    long n = BIO_get_mem_data(b, &data);
    std::string s(data, static_cast<size_t>(n));
    (void)BIO_reset(b);
    return s;
  }
  static X509* read_cert(const std::string& pem) {
    BIO* b = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
    X509* x = PEM_read_bio_X509(b, nullptr, nullptr, nullptr);
    BIO_free(b);
    return x;
  }
  static EVP_PKEY* read_key(const std::string& pem) {
    BIO* b = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
    EVP_PKEY* k = PEM_read_bio_PrivateKey(b, nullptr, nullptr, nullptr);
    BIO_free(b);
    return k;
  }
};

}  // namespace cairn::test
