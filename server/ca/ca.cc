#include "server/ca/ca.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>

#include "core/duration.h"
#include "core/io/x509.h"

namespace cairn::server::ca {
namespace x509 = io::x509;
namespace {

constexpr Duration kHour = std::chrono::hours(1);

Error bad(std::string what) { return Error(errc::invalid_argument, std::move(what)); }

// A 63-bit serial from its bytes (CARoot.SerialNumber is a uint64).
uint64_t serial_u64(const std::string& bytes) {
  uint64_t v = 0;
  for (char c : bytes.substr(0, 8)) v = (v << 8) | static_cast<unsigned char>(c);
  return v;
}

// Consul's CACN: "pri-<uid>.consul.ca.<first 8 of trust domain>.consul".
std::string root_cn(const std::string& trust_domain, Rng& rng) {
  static const char* kDigits = "0123456789abcdefghijklmnopqrstuvwxyz";
  std::string uid;
  uint64_t v = rng.next_u64();
  for (int i = 0; i < 8; ++i, v /= 36) uid += kDigits[v % 36];
  return "pri-" + uid + ".consul.ca." + trust_domain.substr(0, 8) + ".consul";
}

struct NewRoot {
  api::CARoot root;
  std::string key;
};

// A root from the configuration: the supplied PrivateKey (and RootCert), or
// a new key of PrivateKeyType/Bits with a self-signed certificate.
Result<NewRoot> make_root(const api::CAProviderConfig& c, const std::string& cluster_id, WallTime now, Rng& rng) {
  std::string td = trust_domain_of(cluster_id);
  NewRoot out;
  if (!c.private_key.empty()) {
    out.key = c.private_key;
  } else {
    CAIRN_TRY(out.key, x509::generate_key(c.private_key_type, c.private_key_bits));
  }
  CAIRN_TRY(x509::KeyInfo key, x509::read_key(out.key));
  std::string cert = c.root_cert;
  if (cert.empty()) {
    x509::CertTemplate t;
    t.common_name = root_cn(td, rng);
    t.uris = {"spiffe://" + td};
    CAIRN_TRY(t.serial, x509::random_serial());
    t.not_before = now;
    t.not_after = WallTime{now.since_unix_epoch + c.root_cert_ttl};
    t.is_ca = true;
    CAIRN_TRY(cert, x509::sign_cert(t, key.public_pem, "", out.key));
  } else {
    CAIRN_TRY(bool matches, x509::key_matches_cert(out.key, cert));
    if (!matches) return bad("RootCert: does not match PrivateKey");
  }
  CAIRN_TRY(x509::CertInfo info, x509::read_cert(cert));
  if (!info.is_ca) return bad("RootCert: not a CA certificate");
  api::CARoot& r = out.root;
  CAIRN_TRY(r.id, x509::fingerprint(cert));
  r.name = "Consul CA Primary Cert";
  r.serial_number = serial_u64(info.serial_raw);
  r.signing_key_id = info.subject_key_id;
  r.not_before = x509::rfc3339(info.not_before);
  r.not_after = x509::rfc3339(info.not_after);
  r.root_cert = cert;
  r.active = true;
  r.private_key_type = key.type;
  r.private_key_bits = key.bits;
  return out;
}

}  // namespace

std::string trust_domain_of(std::string_view cluster_id) { return std::string(cluster_id) + ".consul"; }

std::string service_uri(std::string_view td, std::string_view dc, std::string_view service) {
  return "spiffe://" + std::string(td) + "/ns/default/dc/" + std::string(dc) + "/svc/" + std::string(service);
}

std::string service_cn(std::string_view service, std::string_view td) {
  return std::string(service) + ".svc.default." + std::string(td.substr(0, 8)) + ".consul";
}

std::string new_uuid(Rng& rng) {
  uint64_t hi = rng.next_u64();
  uint64_t lo = rng.next_u64();
  hi = (hi & ~uint64_t{0xf000}) | 0x4000;
  lo = (lo & ~(uint64_t{0xc} << 60)) | (uint64_t{0x8} << 60);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08" PRIx64 "-%04" PRIx64 "-%04" PRIx64 "-%04" PRIx64 "-%012" PRIx64, hi >> 32,
                (hi >> 16) & 0xffff, hi & 0xffff, lo >> 48, lo & uint64_t{0xffffffffffff});
  return buf;
}

Status validate_config(const api::CAConfiguration& c) {
  if (c.provider != "consul")
    return bad("Provider: only the built-in \"consul\" provider is supported, got \"" + c.provider + "\"");
  const api::CAProviderConfig& p = c.config;
  CAIRN_RETURN_IF_ERROR(x509::check_key_spec(p.private_key_type, p.private_key_bits));
  if (p.leaf_cert_ttl < kHour) return bad("LeafCertTTL: must be at least 1h, got " + format_duration(p.leaf_cert_ttl));
  if (p.leaf_cert_ttl > 8760 * kHour)
    return bad("LeafCertTTL: must be at most 8760h, got " + format_duration(p.leaf_cert_ttl));
  if (p.root_cert_ttl < kHour) return bad("RootCertTTL: must be at least 1h, got " + format_duration(p.root_cert_ttl));
  if (p.intermediate_cert_ttl < kHour)
    return bad("IntermediateCertTTL: must be at least 1h, got " + format_duration(p.intermediate_cert_ttl));
  if (p.intermediate_cert_ttl < 3 * p.leaf_cert_ttl)
    return bad("IntermediateCertTTL: must be at least 3 times LeafCertTTL (" + format_duration(3 * p.leaf_cert_ttl) +
               "), got " + format_duration(p.intermediate_cert_ttl));
  if (p.csr_max_per_second < 0) return bad("CSRMaxPerSecond: must not be negative");
  if (p.csr_max_concurrent < 0) return bad("CSRMaxConcurrent: must not be negative");
  if (!p.root_cert.empty() && p.private_key.empty()) return bad("RootCert: needs the PrivateKey that signed it");
  if (!p.private_key.empty()) {
    auto key = x509::read_key(p.private_key);
    if (!key.ok()) return bad("PrivateKey: not a PEM private key");
  }
  if (!p.root_cert.empty()) {
    auto cert = x509::read_cert(p.root_cert);
    if (!cert.ok()) return bad("RootCert: not a PEM certificate");
  }
  return {};
}

Result<state::CaWrite> plan_initial(const api::CAProviderConfig& config, const std::string& cluster_id, WallTime now,
                                    Rng& rng) {
  state::CaWrite w;
  w.config.cluster_id = cluster_id;
  w.config.provider = "consul";
  w.config.config = config;
  CAIRN_RETURN_IF_ERROR(validate_config(w.config));
  CAIRN_TRY(NewRoot root, make_root(config, cluster_id, now, rng));
  w.keys[root.root.id] = root.key;
  w.roots = std::vector<api::CARoot>{std::move(root.root)};
  w.config.config.private_key.clear();
  w.config.config.root_cert.clear();
  w.cas = true;
  w.cas_index = 0;
  return w;
}

Result<state::CaWrite> plan_config_set(const api::CAConfiguration& current, const api::CARoots& roots,
                                       const std::string& active_key, api::CAConfiguration requested, WallTime now,
                                       Rng& rng) {
  if (current.cluster_id.empty()) return Error(errc::unavailable, "the CA is not initialized yet; try again");
  CAIRN_RETURN_IF_ERROR(validate_config(requested));
  requested.cluster_id = current.cluster_id;
  const api::CARoot* active = nullptr;
  for (const auto& r : roots.roots)
    if (r.active) active = &r;
  if (!active) return Error(errc::internal, "the CA has no active root");

  const api::CAProviderConfig& want = requested.config;
  bool supplied = !want.private_key.empty() || !want.root_cert.empty();
  bool rotate = supplied || requested.force_without_cross_signing ||
                want.private_key_type != active->private_key_type || want.private_key_bits != active->private_key_bits;
  state::CaWrite w;
  w.cas = true;
  w.cas_index = current.raft.modify_index;
  w.config = requested;
  if (!rotate) return w;

  CAIRN_TRY(NewRoot next, make_root(want, current.cluster_id, now, rng));
  if (next.root.id == active->id) return w;  // the same root supplied again: configuration only
  if (!requested.force_without_cross_signing) {
    CAIRN_TRY(std::string serial, x509::random_serial());
    CAIRN_TRY(std::string cross, x509::cross_sign(next.root.root_cert, active->root_cert, active_key, serial));
    next.root.intermediate_certs = {std::move(cross)};
  }
  std::vector<api::CARoot> list;
  for (api::CARoot r : roots.roots) {
    // An expired root verifies nothing any more: drop it.
    auto not_after = x509::parse_rfc3339(r.not_after);
    if (not_after.ok() && *not_after < now) continue;
    r.active = false;
    list.push_back(std::move(r));
  }
  w.keys[next.root.id] = next.key;
  list.push_back(std::move(next.root));
  w.roots = std::move(list);
  return w;
}

Result<api::IssuedCert> sign_leaf(const SignInput& in, std::string_view csr_pem, WallTime now) {
  if (!in.issuer) return Error(errc::internal, "the CA's active root is not loaded");
  if (csr_pem.empty()) return bad("CSR: missing");
  CAIRN_TRY(x509::CsrInfo csr, x509::read_csr(csr_pem));
  if (csr.uris.size() != 1)
    return bad("CSR: must hold exactly one URI SAN (spiffe://<trust domain>/ns/default/dc/<dc>/svc/<service>), got " +
               std::to_string(csr.uris.size()));
  const std::string& uri = csr.uris[0];
  std::string prefix = "spiffe://" + in.trust_domain + "/";
  if (uri.rfind("spiffe://", 0) != 0) return bad("CSR URI SAN \"" + uri + "\": not a SPIFFE ID");
  if (uri.rfind(prefix, 0) != 0)
    return bad("CSR URI SAN \"" + uri + "\": SPIFFE ID from a different trust domain, expected " + in.trust_domain);
  // ns/default/dc/<dc>/svc/<service>
  std::string_view rest = std::string_view(uri).substr(prefix.size());
  std::string ns_dc = "ns/default/dc/" + in.datacenter + "/svc/";
  if (rest.rfind("ns/", 0) == 0 && rest.rfind("ns/default/", 0) != 0)
    return bad("CSR URI SAN \"" + uri + "\": only namespace \"default\" exists");
  if (rest.rfind("ns/default/dc/", 0) == 0 && rest.rfind(ns_dc, 0) != 0)
    return bad("CSR URI SAN \"" + uri + "\": SPIFFE ID from a different datacenter, expected " + in.datacenter);
  if (rest.rfind(ns_dc, 0) != 0) return bad("CSR URI SAN \"" + uri + "\": not a service SPIFFE ID");
  std::string service(rest.substr(ns_dc.size()));
  if (service.empty() || service.find('/') != std::string::npos)
    return bad("CSR URI SAN \"" + uri + "\": bad service name");

  x509::CertTemplate t;
  t.common_name = service_cn(service, in.trust_domain);
  t.uris = {uri};
  t.dns = {t.common_name};
  for (const auto& d : csr.dns)
    if (std::find(t.dns.begin(), t.dns.end(), d) == t.dns.end()) t.dns.push_back(d);
  CAIRN_TRY(t.serial, x509::random_serial());
  t.not_before = WallTime{now.since_unix_epoch - std::chrono::minutes(1)};
  t.not_after = WallTime{now.since_unix_epoch + in.leaf_ttl};
  CAIRN_TRY(std::string leaf, x509::sign_cert(t, csr, *in.issuer));

  api::IssuedCert out;
  out.serial_number = x509::colon_hex(t.serial);
  out.cert_pem = leaf;
  // Consul appends the signing root's intermediates: after a rotation the
  // cross-signed root, so peers that trust only the old root verify the leaf.
  for (const auto& i : in.active.intermediate_certs) {
    out.cert_pem += i;
    if (!i.empty() && i.back() != '\n') out.cert_pem += '\n';
  }
  out.service = service;
  out.service_uri = uri;
  out.valid_after = x509::rfc3339(t.not_before);
  out.valid_before = x509::rfc3339(t.not_after);
  return out;
}

Result<std::shared_ptr<const x509::Issuer>> IssuerCache::get(const api::CARoot& active, const std::string& key_pem) {
  std::lock_guard lock(mu_);
  if (issuer_ && root_id_ == active.id && key_pem_ == key_pem) return issuer_;
  CAIRN_TRY(auto issuer, x509::Issuer::load(active.root_cert, key_pem));
  ++loads_;
  root_id_ = active.id;
  key_pem_ = key_pem;
  issuer_ = issuer;
  return issuer;
}

uint64_t IssuerCache::loads() const {
  std::lock_guard lock(mu_);
  return loads_;
}

SignLimiter::Permit::~Permit() {
  if (!owner_) return;
  std::lock_guard lock(owner_->mu_);
  --owner_->running_;
}

void SignLimiter::configure(int max_per_second, int max_concurrent) {
  std::lock_guard lock(mu_);
  if (per_second_ != max_per_second) {
    tokens_ = max_per_second;
    started_ = false;
  }
  per_second_ = max_per_second;
  max_concurrent_ = max_concurrent;
}

Result<SignLimiter::Permit> SignLimiter::acquire(Instant now) {
  std::lock_guard lock(mu_);
  Error limited(errc::resource_exhausted, "rate limit reached, try again later");
  if (max_concurrent_ > 0) {
    if (running_ >= max_concurrent_) return limited;
  } else if (per_second_ > 0) {
    if (started_) {
      double elapsed = std::chrono::duration<double>(now - last_).count();
      if (elapsed > 0) tokens_ = std::min<double>(per_second_, tokens_ + elapsed * per_second_);
    }
    started_ = true;
    last_ = now;
    if (tokens_ < 1) return limited;
    tokens_ -= 1;
  }
  ++running_;
  return Permit(this);
}

}  // namespace cairn::server::ca
