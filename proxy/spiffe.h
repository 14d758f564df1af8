// SPIFFE IDs of Connect services, as Consul's Connect CA writes them in the
// URI SAN of a leaf certificate (consul/connect/uri_service.go):
//   spiffe://<trust-domain>/ns/<namespace>/dc/<datacenter>/svc/<service>
// Consul Enterprise adds /ap/<partition> before /ns; it is accepted and kept.
//
// Pure; no OpenSSL. The certificate side (reading the URI SAN) is in
// proxy/tls.cc. Duplication note: the Connect CA helper is adding
// `spiffe_uri_of` to core/io/x509.h; when it lands, the URI extraction
// should move there and this parser stays the one place that splits IDs.
#pragma once

#include <string>
#include <string_view>

#include "core/result.h"

namespace cairn::proxy {

struct SpiffeId {
  std::string trust_domain;  // e.g. "11111111-2222-3333-4444-555555555555.consul"
  std::string partition;     // "" unless the ID has /ap/<partition>
  std::string ns = "default";
  std::string datacenter;
  std::string service;

  // spiffe://<td>[/ap/<ap>]/ns/<ns>/dc/<dc>/svc/<svc>
  std::string uri() const;
  bool operator==(const SpiffeId&) const = default;
};

// Parses a service SPIFFE ID; errors say what is wrong ("spiffe id: ...").
Result<SpiffeId> parse_spiffe_id(std::string_view uri);

}  // namespace cairn::proxy
