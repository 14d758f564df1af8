// Fuzz target: raw bytes → the DNS resolver's whole request path (parse,
// name classification, answers from a small in-memory catalog, trimming,
// encoding), over UDP and over TCP. Nothing may crash; every answer must
// parse back, fit its transport's limit and carry the request's ID; the
// codec must also round-trip whatever parses.
#include <cstdint>
#include <cstdlib>
#include <memory>

#include "agent/dns/resolver.h"
#include "test/agent/dns/dns_test_util.h"

namespace {

using namespace cairn::agent::dns;

std::shared_ptr<test::FakeCatalog> make_catalog() {
  auto c = std::make_shared<test::FakeCatalog>();
  c->add("web", "n1", "10.0.0.1").node.meta = {{"rack", "r1"}};
  c->add("web", "n2", "2001:db8::2", {"warning"});
  c->add("web", "n3", "10.0.0.3", {"critical"});
  c->add("db", "n1", "10.0.0.1").service.address = "db.example.com";
  c->add("consul", "server1", "10.0.0.9");
  for (int i = 0; i < 40; ++i) c->add("many", "node-" + std::to_string(i), "10.1.0." + std::to_string(i));
  return c;
}

void check(const std::vector<uint8_t>& req, const Reply& r, size_t limit) {
  if (r.action != Reply::Action::send) return;
  if (r.bytes.size() < kHeaderSize || r.bytes.size() > limit) std::abort();
  if (r.bytes[0] != req[0] || r.bytes[1] != req[1]) std::abort();
  if (!std::holds_alternative<Message>(parse(r.bytes))) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static cairn::ManualClock clock;
  static auto catalog = make_catalog();
  static Resolver resolver([] {
    auto c = cairn::agent::defaults(false);
    c.datacenter = "dc1";
    c.recursors = {"127.0.0.1:53"};
    c.dns_config.enable_truncate = true;
    return c;
  }(), catalog, clock, 1);
  std::vector<uint8_t> req(data, data + size);
  resolver.resolve(req, Transport::udp, [&](Reply r) { check(req, r, kMaxUdpSize); });
  resolver.resolve(req, Transport::tcp, [&](Reply r) { check(req, r, kMaxTcpSize); });
  // Whatever parses encodes and parses again.
  auto parsed = parse(req);
  if (auto* m = std::get_if<Message>(&parsed)) {
    if (!std::holds_alternative<Message>(parse(encode(*m)))) std::abort();
  }
  return 0;
}
