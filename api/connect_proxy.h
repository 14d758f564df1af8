// Connect proxies as the catalog knows them: the typed form of a
// registration's "Proxy" object (Consul's structs.ConnectProxyConfig and
// Upstream), its validation (NodeService.ValidateForAgent's connect-proxy
// rules), the connect destination a proxy or a Connect-native service stands
// for (the catalog's "connect" index), and the expansion of
// Connect.SidecarService into a second registration (Consul's
// agent/sidecar_service.go). Pure.
//
// NodeService keeps Proxy and Connect as JSON object text (api/types.h);
// these functions read that text. A registration's Proxy is rewritten into
// the canonical form (Consul's field names, whatever spelling came in) so
// that what the agent serves back is what proxies read.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/types.h"
#include "core/result.h"

namespace cairn::api {

inline constexpr std::string_view kConnectProxyKind = "connect-proxy";
inline constexpr std::string_view kSidecarSuffix = "-sidecar-proxy";

// structs.Upstream (the fields a proxy acts on; others are kept verbatim).
struct ProxyUpstream {
  std::string destination_type = "service";  // "service" or "prepared_query"
  std::string destination_name;
  std::string datacenter;
  std::string local_bind_address;  // "" : the proxy's default, 127.0.0.1
  int local_bind_port = 0;
  std::string config_json;  // the opaque Config object, "" when absent
  friend bool operator==(const ProxyUpstream&, const ProxyUpstream&) = default;
};

// structs.ConnectProxyConfig.
struct ConnectProxy {
  std::string destination_service_name;
  std::string destination_service_id;
  std::string local_service_address;
  int local_service_port = 0;
  std::string mode;
  std::string config_json;  // the opaque Config object, "" when absent
  std::vector<ProxyUpstream> upstreams;
  friend bool operator==(const ConnectProxy&, const ConnectProxy&) = default;
};

// Parses Proxy text ("" is the zero value). Consul's names and their
// snake_case forms are accepted; errors name the field ("Proxy.Upstreams[0].
// LocalBindPort: ...").
Result<ConnectProxy> parse_connect_proxy(std::string_view proxy_json);

// Rewrites `proxy_json` into the canonical form: Consul's field names, the
// typed fields first, members we do not model (MeshGateway, Expose,
// TransparentProxy, ...) kept as they came.
Result<std::string> canonical_proxy_json(std::string_view proxy_json);

// Consul's connect-proxy rules for a registration (kind connect-proxy), and
// the rules every kind shares about Connect (Native needs a port, a sidecar
// definition may not carry an ID or a nested sidecar). `require_port`: the
// catalog's rule (an agent assigns sidecar ports itself).
Status validate_connect(const NodeService& s, bool require_port);

// Connect.Native of a registration.
bool connect_native(const NodeService& s);

// The service a registration serves Connect traffic for: a connect-proxy's
// Proxy.DestinationServiceName, a Connect-native service's own name, else "".
std::string connect_destination(const NodeService& s);

// A sidecar split out of its parent's registration.
struct SidecarPlan {
  ServiceDefinition sidecar;  // ID, name, kind, proxy defaults filled; Port 0: to allocate
  std::string token;          // SidecarService.Token, or "" (use the parent's)
  bool supervised = false;    // Connect.ManagedSidecar: the agent runs `cairn connect proxy`
  bool default_checks = false;  // no checks were given: add sidecar_default_checks after the port is known
};

// When `parent`'s Connect has a SidecarService, removes it (and
// ManagedSidecar) from parent.service.connect_json and returns the sidecar's
// registration with Consul's defaults: ID <parent-id>-sidecar-proxy, name
// <parent>-sidecar-proxy, kind connect-proxy, the parent's address, tags and
// meta when it gives none, Proxy.DestinationServiceName/ID, and
// LocalServiceAddress 127.0.0.1 / LocalServicePort the parent's port.
// nullopt when there is no sidecar. Errors name the field.
Result<std::optional<SidecarPlan>> split_sidecar(ServiceDefinition& parent);

// Consul's sidecarDefaultChecks: a TCP check of the sidecar's public
// listener every 10 s ("Connect Sidecar Listening") and an alias of the
// parent ("Connect Sidecar Aliasing <parent-id>").
std::vector<CheckDefinition> sidecar_default_checks(const NodeService& sidecar, const std::string& parent_id);

// The parent ID a sidecar ID was derived from ("" when `id` has no suffix).
std::string sidecar_parent_id(std::string_view sidecar_id);

}  // namespace cairn::api
