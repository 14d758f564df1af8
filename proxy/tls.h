// The proxy's certificates and the TLS contexts made from them.
//
// LeafCertificate is this service's identity (the Connect CA's leaf: a PEM
// certificate with its SPIFFE URI SAN, intermediates after it, and the PEM
// private key); TrustBundle is the mesh's roots (PEM, one or more). Next
// session the agent side fetches them from /v1/agent/connect/ca/leaf/<svc>
// and /v1/agent/connect/ca/roots and hands them to Proxy::set_leaf /
// Proxy::set_trust_bundle on every change.
//
// TlsContexts: immutable once made; a new leaf or bundle makes a new one and
// only new handshakes use it (an established connection keeps its SSL
// object, which holds a reference to its own SSL_CTX). Both sides run TLS 1.3
// only, verify the peer's chain against the bundle (expiry included) and
// require a certificate from the client.
//
// Light header: no OpenSSL; the contexts are reached through Impl from
// proxy/*.cc only.
#pragma once

#include <memory>
#include <string>

#include "core/result.h"
#include "proxy/spiffe.h"

namespace cairn::proxy {

struct LeafCertificate {
  std::string cert_pem;  // leaf first, then any intermediates
  std::string key_pem;
};

struct TrustBundle {
  std::string roots_pem;  // one or more PEM certificates
};

class TlsContexts {
 public:
  // Errors name what is wrong ("leaf.cert_pem: ...", "trust_bundle: ...").
  static Result<std::shared_ptr<const TlsContexts>> make(const LeafCertificate& leaf, const TrustBundle& roots);
  ~TlsContexts();
  TlsContexts(const TlsContexts&) = delete;
  TlsContexts& operator=(const TlsContexts&) = delete;

  // The SPIFFE ID in our own leaf (for logs and checks).
  const SpiffeId& identity() const;

  struct Impl;
  Impl& impl() const { return *impl_; }

 private:
  explicit TlsContexts(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The spiffe:// URI SAN of a PEM certificate ("" and an error when it has none).
Result<std::string> spiffe_uri_of_pem(const std::string& cert_pem);

}  // namespace cairn::proxy
