#include "proxy/spiffe.h"

#include <vector>

namespace cairn::proxy {

namespace {

Error bad(std::string_view uri, std::string_view why) {
  return Error(errc::invalid_argument, "spiffe id \"" + std::string(uri) + "\": " + std::string(why));
}

bool valid_segment(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c == '/' || c == '?' || c == '#' || static_cast<unsigned char>(c) < 0x21) return false;
  }
  return true;
}

}  // namespace

std::string SpiffeId::uri() const {
  std::string out = "spiffe://" + trust_domain;
  if (!partition.empty()) out += "/ap/" + partition;
  return out + "/ns/" + ns + "/dc/" + datacenter + "/svc/" + service;
}

Result<SpiffeId> parse_spiffe_id(std::string_view uri) {
  constexpr std::string_view kScheme = "spiffe://";
  if (uri.size() < kScheme.size() || uri.substr(0, kScheme.size()) != kScheme) return bad(uri, "not a spiffe:// URI");
  std::string_view rest = uri.substr(kScheme.size());
  std::vector<std::string_view> parts;
  while (true) {
    size_t slash = rest.find('/');
    parts.push_back(rest.substr(0, slash));
    if (slash == std::string_view::npos) break;
    rest = rest.substr(slash + 1);
  }
  for (auto p : parts) {
    if (!valid_segment(p)) return bad(uri, "empty or invalid path segment");
  }
  SpiffeId id;
  id.trust_domain = std::string(parts[0]);
  size_t i = 1;
  if (parts.size() == 9 && parts[1] == "ap") {
    id.partition = std::string(parts[2]);
    i = 3;
  }
  if (parts.size() - i != 6 || parts[i] != "ns" || parts[i + 2] != "dc" || parts[i + 4] != "svc")
    return bad(uri, "want spiffe://<trust-domain>/ns/<ns>/dc/<dc>/svc/<service>");
  id.ns = std::string(parts[i + 1]);
  id.datacenter = std::string(parts[i + 3]);
  id.service = std::string(parts[i + 5]);
  return id;
}

}  // namespace cairn::proxy
