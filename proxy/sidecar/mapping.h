// The sidecar's view of the agent's HTTP API, as pure functions: Consul JSON
// in, proxy/ values out. No I/O, no clock; every error is
// errc::invalid_argument naming the field ("Proxy.Config.bind_port: ...").
//
//   agent services  GET /v1/agent/services          -> proxy_ids_for()
//   registration    GET /v1/agent/service/<id>      -> parse_registration()
//                                                   -> proxy_config_of()
//   endpoints       GET /v1/health/connect/<svc>    -> endpoints_of()
//   roots           GET /v1/agent/connect/ca/roots  -> trust_bundle_of()
//   leaf            GET /v1/agent/connect/ca/leaf/  -> leaf_of()
//   intentions      GET /v1/connect/intentions/match?by=destination
//                                                   -> intention_index_of()
//
// Thread-safety: pure functions over values.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "api/connect_proxy.h"
#include "api/intentions.h"
#include "api/types.h"
#include "core/result.h"
#include "proxy/config.h"
#include "proxy/proxy.h"
#include "proxy/tls.h"

namespace cairn::proxy::sidecar {

// A connect-proxy registration as /v1/agent/service/<id> shows it; Proxy
// is api/connect_proxy.h's typed form.
struct Registration {
  std::string kind;
  std::string id;
  std::string service;
  std::string address;
  int port = 0;
  std::string content_hash;  // "ContentHash" (for ?hash= blocking)
  api::ConnectProxy proxy;   // DestinationServiceID defaults to the name
  friend bool operator==(const Registration&, const Registration&) = default;
};

// Decodes /v1/agent/service/<id> (Proxy through api::parse_connect_proxy:
// Consul's names and their snake_case forms); Kind must be connect-proxy and
// Proxy.DestinationServiceName set.
Result<Registration> parse_registration(std::string_view json);

// The IDs of the connect-proxy services in /v1/agent/services whose
// Proxy.DestinationServiceID is `service_id`.
Result<std::vector<std::string>> proxy_ids_for(std::string_view agent_services_json, std::string_view service_id);

// The ProxyConfig of a registration: its listeners from Port/Address and
// Proxy.Local*, upstreams, and the Proxy.Config keys this proxy understands
// (proxy/README.md "Sidecar process"). `trust_domain` comes from the roots.
// Unknown Config keys are not errors: their names are appended to `ignored`
// ("Proxy.Config.protocol", "Proxy.Upstreams[0].Config.foo") for a debug log.
// The result has passed ProxyConfig::validate().
Result<ProxyConfig> proxy_config_of(const Registration& reg, std::string_view trust_domain,
                                    std::vector<std::string>* ignored = nullptr);

// /v1/health/connect/<svc> rows -> instances: Service.Address, else
// Node.Address; Service.Port. All are healthy (the query asks ?passing).
std::vector<Endpoint> endpoints_of(const std::vector<api::HealthServiceEntry>& rows);

// Every root's RootCert, active first; and the leaf's PEMs.
Result<TrustBundle> trust_bundle_of(const api::CARoots& roots);
Result<LeafCertificate> leaf_of(const api::IssuedCert& cert);

// /v1/connect/intentions/match's {"<name>": [...]} -> an index holding those
// intentions (the destination's exact and wildcard ones).
Result<std::shared_ptr<const api::IntentionIndex>> intention_index_of(std::string_view match_json,
                                                                      std::string_view name);

// /v1/agent/connect/authorize's request body {Target, ClientCertURI}.
std::string authorize_body(std::string_view target, std::string_view client_cert_uri);
// /v1/agent/connect/authorize's answer: {"Authorized": bool, "Reason": ...}.
Result<bool> authorized_of(std::string_view json);

// A SPIFFE ID for a source no intention names (a service name no
// registration can have), for asking /v1/agent/connect/authorize the
// decision that applies when no exact source matches: the ACL default
// policy, or a wildcard-source intention — which applies to every source,
// so the default could never decide anyway.
std::string unmatched_source_uri(std::string_view trust_domain, std::string_view datacenter);

}  // namespace cairn::proxy::sidecar
