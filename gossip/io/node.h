// GossipNode: the gossip shell. Owns a Membership (the pure core) on one
// strand and drives it: a ticker, a UDP receive loop and a TCP accept loop on
// one port (default 8301), encryption with the Keyring, and delivery of the
// core's Ready (packets out; member, user-event and query events to the
// agent).
//
// Wire format: a datagram is one (optionally encrypted) core packet; a stream
// is one framed message per TCP connection: a 4-byte big-endian length, then
// the (optionally encrypted) core packet. Bad packets (truncated, unknown
// version, wrong key, oversized) are dropped and counted; they never crash.
//
// Thread-safety: every public method may be called from any thread; they post
// to the strand. members() reads a snapshot kept under a mutex.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/result.h"
#include "gossip/config.h"
#include "gossip/io/keyring.h"
#include "gossip/membership.h"

namespace boost::asio {
class io_context;
}

namespace cairn::gossip {

struct NodeOptions {
  std::string name;
  std::string bind_addr = "0.0.0.0";
  uint16_t port = 8301;            // 0 picks a free port (UDP and TCP share it)
  std::string advertise_addr;      // empty: bind_addr, or 127.0.0.1 when binding 0.0.0.0
  Tags tags;
  Config config = Config::lan();
  Keyring keyring;
  std::string keyring_path;        // where keyring changes persist; empty: not persisted
  // Transitional: with a key set, still accept plaintext packets (and send
  // encrypted). Consul's encrypt_verify_incoming = false.
  bool accept_plaintext = false;
  // Transitional: with a key set, still send plaintext. Consul's
  // encrypt_verify_outgoing = false.
  bool send_plaintext = false;
  Duration leave_timeout = std::chrono::seconds(5);
};

struct NodeCounters {
  uint64_t bad_packets = 0;        // undecryptable, undecodable, oversized
  uint64_t packets_received = 0;
  uint64_t packets_sent = 0;
  uint64_t stream_failures = 0;    // TCP sends that failed
};

class GossipNode {
 public:
  struct Handlers {
    std::function<void(const MemberEvent&)> on_member;
    std::function<void(const UserEvent&)> on_user_event;
    // A query that matched us; answer with respond() (internal queries such
    // as keyring operations are answered by the node itself).
    std::function<void(const QueryRequest&)> on_query;
  };

  static Result<std::shared_ptr<GossipNode>> start(boost::asio::io_context& io, NodeOptions options, Handlers handlers);
  ~GossipNode();

  uint16_t port() const;
  const std::string& advertise() const;  // "ip:port" others reach us at

  // Joins through any of addrs ("ip" or "ip:port"); done gets how many of
  // them answered, or an error when none did within the stream timeout.
  void join(std::vector<std::string> addrs, std::function<void(Result<int>)> done);
  // Broadcasts our leave and waits until it propagated (or leave_timeout).
  void leave(std::function<void()> done);
  // Declares a failed member left on its behalf (Consul force-leave); a live
  // member refutes it. Error when no such member.
  void force_leave(std::string name, std::function<void(Status)> done);
  void user_event(std::string name, std::string payload, std::function<void(Status)> done);
  void set_tags(Tags tags);

  // Keyring operations run cluster-wide as gossip queries; done gets the
  // per-node results (node name → error text, empty for success) once every
  // live member answered or the query timed out.
  enum class KeyOp { install, use, remove, list };
  struct KeyOpResult {
    int num_nodes = 0;                                   // live members asked
    std::map<std::string, std::string> errors;           // node → message
    std::map<std::string, int> keys;                     // list: key → nodes holding it
    std::map<std::string, std::string> primary_keys;     // list: node → its primary key
  };
  void key_operation(KeyOp op, std::string key, std::function<void(KeyOpResult)> done);

  std::vector<MemberInfo> members() const;
  // Our own Vivaldi coordinate (what the agent sends to the servers for
  // /v1/coordinate and ?near), as of the last packet or tick.
  Coordinate coordinate() const;
  NodeCounters counters() const;
  Stats core_stats() const;

  void stop();

 private:
  struct Impl;
  explicit GossipNode(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<Impl> impl_;
};

}  // namespace cairn::gossip
