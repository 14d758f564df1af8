#include "test/faults/harness/relay_network.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <functional>
#include <stdexcept>

namespace cairn::faults {
namespace {

// The nodes' own ports: HTTP, RPC/Raft, gossip (TCP and UDP).
constexpr uint16_t kHttp = 8500, kRpc = 8300, kGossip = 8301;

// Whether ip:port can be bound now (TCP, or UDP).
bool bindable(const std::string& ip, uint16_t port, bool udp) {
  int fd = ::socket(AF_INET, udp ? SOCK_DGRAM : SOCK_STREAM, 0);
  if (fd < 0) return false;
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  bool ok = ::inet_pton(AF_INET, ip.c_str(), &a.sin_addr) == 1 &&
            ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

std::string address(int block, int half, int node) {
  return "127." + std::to_string(block) + "." + std::to_string(half) + "." + std::to_string(10 + node);
}

}  // namespace

RelayNetwork::RelayNetwork(const std::string& tag, int nodes, uint64_t seed) : nodes_(nodes) {
  // 127.64.x.x–127.249.x.x: clear of 127.0.0.1 and of the 127.0.x.x other tests use.
  int b = 64 + static_cast<int>(std::hash<std::string>{}(tag) % 186);
  std::string last_error = "no free 127.B.x.x block";
  for (int tries = 0; tries < 186; ++tries, b = 64 + (b - 64 + 1) % 186) {
    bool free = true;
    for (int i = 0; i < nodes && free; ++i) {
      for (uint16_t p : {kHttp, kRpc, kGossip}) free = free && bindable(address(b, 0, i), p, false);
      free = free && bindable(address(b, 0, i), kGossip, true);
    }
    if (!free) continue;
    std::vector<Relay::Node> rn;
    for (int i = 0; i < nodes; ++i) rn.push_back({address(b, 0, i), address(b, 1, i)});
    try {
      relay_ = std::make_unique<Relay>(std::move(rn), std::vector<uint16_t>{kRpc, kGossip},
                                       std::vector<uint16_t>{kGossip}, seed);
      block_ = b;
      return;
    } catch (const std::exception& e) {
      last_error = e.what();
    }
  }
  throw std::runtime_error(last_error);
}

std::string RelayNetwork::bind_ip(int node) const { return address(block_, 0, node); }
std::string RelayNetwork::advertise_ip(int node) const { return address(block_, 1, node); }

std::string RelayNetwork::describe() const {
  return "127.0.0.x relay (nodes on " + address(block_, 0, 0) + "+, advertising the relay's " +
         address(block_, 1, 0) + "+)";
}

void RelayNetwork::shape(int node, const std::string& qdisc) {
  std::string error;
  auto s = parse_netem(qdisc, &error);
  if (!s) throw std::runtime_error(error);
  relay_->shape(node, *s);
}

}  // namespace cairn::faults
