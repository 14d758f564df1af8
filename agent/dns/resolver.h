// The DNS resolver: a request's bytes in, a response's bytes out (or "drop",
// or "forward to the recursors"), answered from catalog data read through a
// cache::Reader. No sockets: agent/dns/server.h does the I/O, and the fuzz
// target and unit tests call resolve() directly.
//
// Names (consul-api.md §6, case-insensitive, under `domain` and `alt_domain`;
// answers use the domain that was asked):
//   [<tag>.]<svc>.service[.<dc>]          A, AAAA, SRV, TXT, ANY
//   _<svc>._<tag|tcp>[.service][.<dc>]    RFC 2782 (_tcp: no tag filter)
//   <node>.node[.<dc>]                    A/AAAA (CNAME for a hostname), TXT of node meta
//   <8 or 32 hex>.addr[.<dc>]             A/AAAA
//   <name>.query[.<dc>]                   the prepared query executed (A, AAAA, SRV as services)
//   <svc>.connect / .ingress / .virtual   NXDOMAIN: part of the Connect work
//   the apex                              SOA, NS (the "consul" service's server nodes)
//   <ip>.in-addr.arpa / ip6.arpa          PTR to a node with that address (primary domain)
// Another datacenter's label answers NXDOMAIN (one datacenter for now).
// Everything else goes to the recursors, or REFUSED when there are none.
//
// Thread-safety: resolve() may be called from many threads at once; `done`
// runs once, inside resolve() or on the Reader's thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "agent/cache/cache.h"
#include "agent/config/config.h"
#include "agent/dns/message.h"
#include "core/clock.h"

namespace cairn::agent::dns {

enum class Transport { udp, tcp };

struct Reply {
  enum class Action { send, drop, forward } action = Action::send;
  std::vector<uint8_t> bytes;  // for send
};

constexpr size_t kMaxUdpSize = 65507;  // the largest UDP payload over IPv4
constexpr size_t kMaxTcpSize = 65535;  // the 2-byte length prefix's limit

class Resolver {
 public:
  Resolver(const Config& config, std::shared_ptr<cache::Reader> reader, const Clock& clock, uint64_t seed);

  void resolve(std::span<const uint8_t> request, Transport transport, std::function<void(Reply)> done);

  // SERVFAIL with RA for a request no recursor answered (the request parsed
  // before it was forwarded).
  std::vector<uint8_t> recursion_failed(std::span<const uint8_t> request) const;

  // The TTL for a service: dns_config.service_ttl by exact name, then the
  // longest matching "prefix*", then "*", else 0.
  uint32_t service_ttl(std::string_view service) const;

  struct Context;
  // One answer and the additional records that go with it: trimming to the
  // size limit removes whole units from the end.
  struct Unit {
    std::vector<Record> answer;
    std::vector<Record> additional;
  };

 private:
  void answer_service(std::shared_ptr<Context> c, std::string service, std::string tag, bool connect = false);
  void answer_node(std::shared_ptr<Context> c, std::string node);
  void answer_query(std::shared_ptr<Context> c, std::string name);  // <name>.query (prepared queries)
  // The records of instances (already filtered and ordered) with `ttl`.
  void answer_instances(const std::shared_ptr<Context>& c, const std::vector<const api::HealthServiceEntry*>& instances,
                        uint32_t ttl);
  void answer_apex(std::shared_ptr<Context> c);
  void answer_ptr(std::shared_ptr<Context> c, std::string ip);
  // Sends the units that fit; no units: NODATA (or `rcode`) with the SOA.
  void finish(Context& c, std::vector<Unit> units, Rcode rcode = Rcode::noerror);
  Record soa(const Context& c) const;
  uint64_t random();

  Config config_;
  std::vector<std::string> domains_;  // lower case, no final dot
  std::vector<std::vector<std::string>> domain_labels_;
  std::string dc_;                     // the datacenter, lower case
  std::shared_ptr<cache::Reader> reader_;
  const Clock& clock_;
  std::atomic<uint64_t> rng_;
};

}  // namespace cairn::agent::dns
