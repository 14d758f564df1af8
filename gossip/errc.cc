#include "gossip/errc.h"

#include <string>

namespace cairn::gossip {
namespace {

class GossipCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "gossip"; }
  std::string message(int code) const override {
    switch (static_cast<errc>(code)) {
      case errc::ok: return "ok";
      case errc::bad_version: return "unsupported packet version";
      case errc::truncated: return "truncated packet";
      case errc::too_large: return "packet or field too large";
      case errc::unknown_message: return "unknown message kind";
      case errc::malformed: return "malformed message";
      case errc::invalid_config: return "invalid gossip config";
      case errc::tags_too_large: return "tags too large";
      case errc::not_member: return "not a member";
      case errc::left: return "node has left";
      case errc::query_expired: return "query expired or already answered";
    }
    return "unknown gossip error " + std::to_string(code);
  }
};

}  // namespace

const std::error_category& gossip_category() noexcept {
  static const GossipCategory category;
  return category;
}

}  // namespace cairn::gossip
