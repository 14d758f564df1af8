#include "core/error.h"

namespace cairn {
namespace {

class CoreCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "cairn"; }
  std::string message(int code) const override {
    switch (static_cast<errc>(code)) {
      case errc::ok: return "ok";
      case errc::invalid_argument: return "invalid argument";
      case errc::not_found: return "not found";
      case errc::already_exists: return "already exists";
      case errc::out_of_range: return "out of range";
      case errc::parse_error: return "parse error";
      case errc::too_large: return "too large";
      case errc::io_error: return "I/O error";
      case errc::timeout: return "timed out";
      case errc::cancelled: return "cancelled";
      case errc::unavailable: return "unavailable";
      case errc::conflict: return "conflict";
      case errc::permission_denied: return "permission denied";
      case errc::internal: return "internal error";
      case errc::resource_exhausted: return "rate limit reached, try again later";
    }
    return "unknown error " + std::to_string(code);
  }
};

}  // namespace

const std::error_category& core_category() noexcept {
  static const CoreCategory category;
  return category;
}

std::string Error::message() const {
  if (!detail_.empty()) return detail_;
  return code_.message();
}

}  // namespace cairn
