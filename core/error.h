// Error values shared by every component.
//
// Each component declares an `enum class errc` and a std::error_category that
// names it (see core_category() below for the pattern). An Error couples that
// code with a one-line detail that names the offending field or value, so that
// the HTTP layer can answer "400 <detail>" without guessing.
//
// Thread-safety: value types, no shared state.
#pragma once

#include <string>
#include <system_error>
#include <utility>

namespace cairn {

// Codes for failures that belong to no single component.
enum class errc {
  ok = 0,
  invalid_argument = 1,  // the caller gave a bad value; detail names it
  not_found,             // the thing asked for does not exist
  already_exists,
  out_of_range,          // a value is outside its allowed range
  parse_error,           // text or bytes that do not parse
  too_large,             // an input over its size limit
  io_error,              // the OS said no (detail carries strerror)
  timeout,
  cancelled,
  unavailable,           // try again later (no leader, shutting down…)
  conflict,              // a compare-and-set lost
  permission_denied,
  internal,              // a bug: an invariant did not hold
  resource_exhausted,    // a rate or concurrency limit refused the request (HTTP 429)
};

const std::error_category& core_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), core_category()};
}

class Error {
 public:
  Error() = default;
  Error(std::error_code code, std::string detail = {})
      : code_(code), detail_(std::move(detail)) {}
  Error(errc code, std::string detail = {})
      : code_(make_error_code(code)), detail_(std::move(detail)) {}

  const std::error_code& code() const noexcept { return code_; }
  const std::string& detail() const noexcept { return detail_; }

  // "detail" when there is one, else the category's text for the code.
  std::string message() const;

  bool is(errc e) const noexcept { return code_ == make_error_code(e); }

 private:
  std::error_code code_;
  std::string detail_;
};

}  // namespace cairn

namespace std {
template <>
struct is_error_code_enum<cairn::errc> : true_type {};
}  // namespace std
