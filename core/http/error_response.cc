#include "core/http/error_response.h"

namespace cairn::http {

int status_for(const Error& error) {
  if (error.code().category() != core_category()) return 500;
  switch (static_cast<errc>(error.code().value())) {
    case errc::invalid_argument:
    case errc::parse_error:
    case errc::out_of_range:
      return 400;
    case errc::permission_denied:
      return 403;
    case errc::not_found:
      return 404;
    case errc::already_exists:
    case errc::conflict:
      return 409;
    case errc::too_large:
      return 413;
    case errc::resource_exhausted:
      return 429;
    case errc::unavailable:  // "No cluster leader" and friends: Consul answers 500
    case errc::timeout:
    case errc::cancelled:
    case errc::io_error:
    case errc::internal:
    case errc::ok:
      return 500;
  }
  return 500;
}

Response error_response(const Error& error) { return Response::error(status_for(error), error.message()); }

}  // namespace cairn::http
