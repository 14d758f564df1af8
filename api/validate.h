// Consul's pre-apply rules for catalog writes (catalog_endpoint.go Register /
// Deregister, servicePreApply, checkPreApply), as pure functions. The RPC
// endpoint runs them before proposing; the state store runs them again so a
// command in the log can never break the store's invariants.
//
// Thread-safety: pure functions.
#pragma once

#include "api/types.h"
#include "core/result.h"

namespace cairn::api {

// Fills Consul's defaults and rejects what Consul rejects, with its messages:
// - "Must provide node"; "Must provide address if SkipNodeUpdate is not set";
//   a node ID, when given, must be a UUID ("Bad node ID: ...");
// - a Service without ID takes its name as ID; "Must provide service name
//   (Service.Service) with ID (Service.ID)"; ports must be 0..65535;
//   Weights default to {1, 1} when both are 0;
// - Check is folded into Checks; a check's Node defaults to the request's
//   ("Check node \"x\" does not match node \"y\"" otherwise); CheckID
//   defaults to Name ("Must provide CheckID or Name" when both are empty);
//   Status defaults to critical and must be passing/warning/critical;
//   Type is derived from the Definition when empty.
Status prepare_register(RegisterRequest& req);

// "Must provide node".
Status prepare_deregister(const DeregisterRequest& req);

// Consul's CheckType.Type(): "ttl", "http", "tcp", "udp", "grpc", "h2ping",
// "docker", "script", "alias" or "".
std::string check_type_of(const HealthCheckDefinition& d);

// Consul's CheckType.Validate(): a check runs in exactly one way, and the
// polled kinds need an Interval ("Interval must be > 0 for Script, HTTP,
// H2PING, or TCP checks"); a negative TTL or timeout is refused.
Status validate_check_definition(const CheckDefinition& c);

// The catalog form of an agent's check on `node` (CheckDefinition.HealthCheck):
// CheckID defaults to the name, Status to critical, Type from the definition.
HealthCheck to_health_check(const CheckDefinition& c, const std::string& node);

// The checks of a service definition as the agent registers them: IDs
// default to "service:<id>" (":<n>" appended, from 1, when there are
// several), names to "Service '<name>' check", ServiceID to the service.
// The service's ID must be set (it defaults to its name).
std::vector<HealthCheck> service_definition_checks(const ServiceDefinition& d, const std::string& node);

// A coordinate update (/v1/coordinate/update): a node name, and a
// coordinate of kCoordinateDimensions finite numbers with a finite error,
// adjustment and height ("Coord.Vec: expected 8 dimensions, got 3").
inline constexpr size_t kCoordinateDimensions = 8;
Status validate_coordinate(const CoordinateEntry& e);

}  // namespace cairn::api
