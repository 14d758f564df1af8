// Beast request → the handler model (core/http/message.h). Shared by the
// server and the request-parser fuzz target; only io code includes it.
#pragma once

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "core/http/message.h"
#include "core/result.h"

namespace cairn::http {

// Decodes the path (percent escapes) and parses the query. An error carries
// the one-line reason for the 400 answer.
Result<Request> to_request(boost::beast::http::request<boost::beast::http::string_body>&& raw, std::string remote);

}  // namespace cairn::http
