// The fault-injecting relay, for hosts without network namespaces (no root,
// or `ip netns add` fails) or with --no-netns: every node binds its own
// loopback address (127.B.0.10+i) and advertises a relay address
// (127.B.1.10+i), where this relay listens on the same ports (TCP and UDP
// 8301, TCP 8300) and forwards to the node. Peers only ever learn relay
// addresses, so every node-to-node packet and connection passes here.
//
// The relay tells the sender by source address: a node bound to a specific
// address sends its datagrams from its gossip socket and dials its TCP
// connections from that address (core/io/source_addr.h). What it forwards
// to node k it sends from the sender's own relay address, so k's answers
// come back through the relay too. Traffic from an address that is no
// node's is dropped and counted (unknown_sources).
//
// Faults (LinkRules, directed): a blocked link drops datagrams and stalls
// TCP streams (and new connections) until healed, as a blackhole route does
// to TCP segments; a shaped sender's datagrams are delayed and lost, its
// streams' bytes delayed (a loss is a retransmission's delay).
//
// Thread-safety: one I/O thread of its own; the public methods may be called
// from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "test/faults/harness/link_rules.h"

namespace cairn::faults {

struct RelayCounters {
  uint64_t datagrams = 0;          // forwarded
  uint64_t datagrams_dropped = 0;  // by a blocked link or loss
  uint64_t connections = 0;        // accepted from a known node
  uint64_t unknown_sources = 0;    // datagrams and connections from no node's address
};

class Relay {
 public:
  struct Node {
    std::string real_ip;   // where the node binds
    std::string relay_ip;  // where the relay listens for it (what it advertises)
  };
  // Binds every node's relay address at tcp_ports and udp_ports; throws
  // std::runtime_error naming the address when one cannot be bound.
  Relay(std::vector<Node> nodes, std::vector<uint16_t> tcp_ports, std::vector<uint16_t> udp_ports, uint64_t seed);
  ~Relay();  // stops the thread, closes every socket
  Relay(const Relay&) = delete;
  Relay& operator=(const Relay&) = delete;

  void block(int from, int to);
  void shape(int node, LinkShape s);
  void heal_cuts();
  void heal_shapes();
  RelayCounters counters() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cairn::faults
