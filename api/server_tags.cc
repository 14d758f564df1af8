#include "api/server_tags.h"

#include <charconv>

#include "core/strings.h"

namespace cairn::api {

uint64_t raft_id_of(std::string_view node_id) {
  uint64_t id = 0;
  int digits = 0;
  for (char c : node_id) {
    if (c == '-') continue;
    int v = hex_value(c);
    if (v < 0) return 0;
    id = (id << 4) | static_cast<uint64_t>(v);
    if (++digits == 16) break;
  }
  if (digits < 16) return 0;
  return id == 0 ? 1 : id;
}

std::optional<ServerInfo> parse_server(const std::string& name, const std::string& gossip_addr,
                                       const std::map<std::string, std::string>& tags) {
  auto tag = [&](const char* k) -> std::string {
    auto it = tags.find(k);
    return it == tags.end() ? std::string() : it->second;
  };
  if (tag("role") != kRoleServer) return std::nullopt;
  ServerInfo s;
  s.name = name;
  s.id = tag("id");
  s.datacenter = tag("dc");
  s.raft_id = raft_id_of(s.id);
  if (s.raft_id == 0) return std::nullopt;
  std::string port = tag("port");
  int p = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (ec != std::errc() || end != port.data() + port.size() || p <= 0 || p > 65535) return std::nullopt;
  auto colon = gossip_addr.rfind(':');
  std::string ip = colon == std::string::npos ? gossip_addr : gossip_addr.substr(0, colon);
  if (ip.empty()) return std::nullopt;
  s.rpc_addr = ip + ":" + port;
  std::string expect = tag("expect");
  if (!expect.empty()) {
    auto [e2, ec2] = std::from_chars(expect.data(), expect.data() + expect.size(), s.expect);
    if (ec2 != std::errc() || e2 != expect.data() + expect.size() || s.expect < 0) s.expect = 0;
  }
  s.bootstrap = tag("bootstrap") == "1";
  return s;
}

}  // namespace cairn::api
