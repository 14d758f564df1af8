// H2PING and gRPC probes (HTTP/2 through libnghttp2).
#include <boost/asio.hpp>

#include "agent/checks/probe.h"

namespace cairn::agent::checks {

namespace asio = boost::asio;

asio::awaitable<Outcome> probe_h2ping(ProbeContext&, const api::HealthCheckDefinition&) {
  co_return Outcome{std::string(api::kHealthCritical), "H2PING checks are not implemented yet"};
}

asio::awaitable<Outcome> probe_grpc(ProbeContext&, const api::HealthCheckDefinition&) {
  co_return Outcome{std::string(api::kHealthCritical), "gRPC checks are not implemented yet"};
}

}  // namespace cairn::agent::checks
