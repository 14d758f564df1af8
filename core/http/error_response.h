// Maps an Error to the HTTP answer Consul gives for it: plain text, one line,
// with the status clients switch on (python-consul: 400 BadRequest, 403
// ACLPermissionDenied, 404 NotFound, 5xx ConsulException).
#pragma once

#include "core/error.h"
#include "core/http/message.h"

namespace cairn::http {

int status_for(const Error& error);
Response error_response(const Error& error);

}  // namespace cairn::http
