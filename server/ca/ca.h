// The built-in Connect CA (Consul's "consul" provider, agent/connect/ca/
// provider_consul.go and the CA manager's leader side): what the leader
// computes before it proposes a CA write or answers a signing request. No
// state of its own besides SignLimiter: the roots, the configuration and
// the root keys live in the state store (server/state/ca.cc) and change
// only through Raft (fsm::ConnectCACommand).
//
//   - plan_initial: the first CA of a cluster (a new v4 cluster ID, trust
//     domain "<cluster-id>.consul", a self-signed root);
//   - plan_config_set: PUT /v1/connect/ca/configuration — a new key type or
//     bits, a supplied PrivateKey/RootCert, or ForceWithoutCrossSigning
//     rotate the root: the old root's key cross-signs the new one (the cross-
//     signed certificate goes in the new root's IntermediateCerts), the old
//     root stays listed, inactive, until it expires;
//   - sign_leaf: a CSR for spiffe://<td>/ns/default/dc/<dc>/svc/<service>
//     becomes a leaf signed by the active root's key;
//   - IssuerCache: the active root's certificate and key kept parsed
//     between leaves, replaced when the active root changes;
//   - SignLimiter: CSRMaxPerSecond (token bucket) or CSRMaxConcurrent.
//
// Serial numbers (roots, cross-signed roots, leaves) are 128 bits from
// OpenSSL's CSPRNG (io::x509::random_serial), never from the Rng argument,
// which only picks names (a root's CN, the cluster ID).
//
// Errors name the field (invalid_argument → HTTP 400).
// Thread-safety: the functions are pure over their arguments (but for the
// CSPRNG); IssuerCache and SignLimiter are thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "api/types.h"
#include "core/clock.h"
#include "core/io/x509.h"
#include "core/result.h"
#include "core/rng.h"
#include "server/state/store.h"

namespace cairn::server::ca {

std::string trust_domain_of(std::string_view cluster_id);  // "<cluster-id>.consul"
std::string service_uri(std::string_view trust_domain, std::string_view dc, std::string_view service);
// Consul's ServiceCN: "<service>.svc.default.<first 8 of trust domain>.consul",
// the leaf's common name and DNS SAN.
std::string service_cn(std::string_view service, std::string_view trust_domain);

// A version 4 UUID from the generator.
std::string new_uuid(Rng& rng);

// Consul's rules for a CA configuration (Provider "consul"; key type and
// bits; LeafCertTTL 1h..8760h; RootCertTTL >= 1h; IntermediateCertTTL >=
// 3×LeafCertTTL; CSR limits >= 0; a RootCert only with its PrivateKey).
Status validate_config(const api::CAConfiguration& c);

// The CA write that creates the cluster's first CA.
Result<state::CaWrite> plan_initial(const api::CAProviderConfig& config, const std::string& cluster_id, WallTime now,
                                    Rng& rng);

// The CA write for a configuration change. `roots` and `active_key` are the
// current ones (active_key: the active root's private key PEM). The write
// carries a CAS on the current configuration's ModifyIndex.
Result<state::CaWrite> plan_config_set(const api::CAConfiguration& current, const api::CARoots& roots,
                                       const std::string& active_key, api::CAConfiguration requested, WallTime now,
                                       Rng& rng);

struct SignInput {
  api::CARoot active;  // the active root (its IntermediateCerts follow the leaf in CertPEM)
  std::shared_ptr<const io::x509::Issuer> issuer;  // its certificate and key, parsed (IssuerCache)
  std::string trust_domain;
  std::string datacenter;
  Duration leaf_ttl = std::chrono::hours(72);
};
// Verifies the CSR, checks its one URI SAN and issues the leaf: that URI,
// the DNS SAN service_cn(), valid from a minute back for leaf_ttl,
// server+client auth, a random 128-bit serial.
Result<api::IssuedCert> sign_leaf(const SignInput& in, std::string_view csr_pem, WallTime now);

// The parsed Issuer of the active root, loaded from its PEMs on the first
// leaf and whenever the active root (its ID, the certificate's
// fingerprint) or its key changes: a rotation, a restored snapshot.
class IssuerCache {
 public:
  Result<std::shared_ptr<const io::x509::Issuer>> get(const api::CARoot& active, const std::string& key_pem);
  uint64_t loads() const;  // how many times it parsed PEMs (tests)

 private:
  mutable std::mutex mu_;
  std::string root_id_;
  std::string key_pem_;
  std::shared_ptr<const io::x509::Issuer> issuer_;
  uint64_t loads_ = 0;
};

// CSRMaxPerSecond as a token bucket (burst: one second's worth), or, when
// CSRMaxConcurrent > 0, at most that many signings at once (Consul: the
// concurrency limit replaces the rate limit). acquire() never waits: a
// refusal is resource_exhausted "rate limit reached, try again later".
class SignLimiter {
 public:
  class Permit {
   public:
    Permit() = default;
    explicit Permit(SignLimiter* owner) : owner_(owner) {}
    Permit(Permit&& o) noexcept : owner_(o.owner_) { o.owner_ = nullptr; }
    Permit& operator=(Permit&&) = delete;
    ~Permit();

   private:
    SignLimiter* owner_ = nullptr;
  };

  void configure(int max_per_second, int max_concurrent);
  Result<Permit> acquire(Instant now);

 private:
  std::mutex mu_;
  int per_second_ = 0;
  int max_concurrent_ = 0;
  double tokens_ = 0;
  bool started_ = false;
  Instant last_{};
  int running_ = 0;
};

}  // namespace cairn::server::ca
