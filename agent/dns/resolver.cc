#include "agent/dns/resolver.h"

#include <arpa/inet.h>

#include <algorithm>
#include <optional>

#include "core/duration.h"

namespace cairn::agent::dns {

using api::rpc::value_of;

namespace {

std::string strip_dot(std::string s) {
  while (!s.empty() && s.back() == '.') s.pop_back();
  return lower(s);
}

std::optional<std::array<uint8_t, 4>> parse_v4(const std::string& s) {
  std::array<uint8_t, 4> a{};
  if (inet_pton(AF_INET, s.c_str(), a.data()) != 1) return std::nullopt;
  return a;
}
std::optional<std::array<uint8_t, 16>> parse_v6(const std::string& s) {
  std::array<uint8_t, 16> a{};
  if (inet_pton(AF_INET6, s.c_str(), a.data()) != 1) return std::nullopt;
  return a;
}

std::string hex(std::span<const uint8_t> bytes) {
  static const char* d = "0123456789abcdef";
  std::string out;
  for (uint8_t b : bytes) {
    out += d[b >> 4];
    out += d[b & 15];
  }
  return out;
}

std::optional<std::vector<uint8_t>> unhex(std::string_view s) {
  auto val = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  if (s.size() % 2) return std::nullopt;
  std::vector<uint8_t> out;
  for (size_t i = 0; i < s.size(); i += 2) {
    int hi = val(s[i]), lo = val(s[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<uint8_t>(hi << 4 | lo));
  }
  return out;
}

std::string join_dots(std::span<const std::string> labels) {
  std::string out;
  for (size_t i = 0; i < labels.size(); ++i) {
    if (i) out += '.';
    out += labels[i];
  }
  return out;
}

// RFC 1464 as Consul writes node meta: "key=value", or the bare value for
// keys prefixed "rfc1035-".
std::vector<Record> meta_txt(const std::string& name, const api::StringMap& meta, uint32_t ttl) {
  std::vector<Record> out;
  for (const auto& [k, v] : meta) {
    std::string text = k.rfind("rfc1035-", 0) == 0 ? v : k + "=" + v;
    out.push_back(Record{name, type::TXT, kClassIN, ttl, Txt{std::move(text)}});
  }
  return out;
}

bool is_kind(const std::string& l) {
  return l == "service" || l == "node" || l == "addr" || l == "query" || l == "connect" || l == "ingress" ||
         l == "virtual";
}

// The worst status among an instance's checks (node checks included).
enum class Health { passing, warning, critical };
Health health_of(const api::HealthServiceEntry& e) {
  Health h = Health::passing;
  for (const auto& c : e.checks) {
    if (c.status == "critical") return Health::critical;
    if (c.status == "warning") h = Health::warning;
  }
  return h;
}

}  // namespace

struct Resolver::Context {
  Message request;
  Transport transport = Transport::udp;
  std::function<void(Reply)> done;
  std::string domain;  // the domain asked, lower case
  std::string qname;   // as asked
  uint16_t qtype = 0;
};

Resolver::Resolver(const Config& config, std::shared_ptr<cache::Reader> reader, const Clock& clock, uint64_t seed)
    : config_(config), reader_(std::move(reader)), clock_(clock), rng_(seed) {
  domains_.push_back(strip_dot(config.domain));
  if (!config.alt_domain.empty()) domains_.push_back(strip_dot(config.alt_domain));
  for (const auto& d : domains_) domain_labels_.push_back(split_labels(d));
  dc_ = lower(config.datacenter);
}

uint64_t Resolver::random() {
  // splitmix64 over an atomic counter: lock-free, reproducible for one thread.
  uint64_t z = rng_.fetch_add(0x9E3779B97F4A7C15ull, std::memory_order_relaxed) + 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

uint32_t Resolver::service_ttl(std::string_view service) const {
  const auto& m = config_.dns_config.service_ttl;
  auto secs = [](Duration d) { return static_cast<uint32_t>(std::chrono::duration_cast<std::chrono::seconds>(d).count()); };
  if (auto it = m.find(std::string(service)); it != m.end()) return secs(it->second);
  const Duration* best = nullptr;
  size_t best_len = 0;
  for (const auto& [k, v] : m) {
    if (k.size() < 2 || k.back() != '*') continue;
    std::string_view prefix(k.data(), k.size() - 1);
    if (service.substr(0, prefix.size()) == prefix && (!best || prefix.size() > best_len)) {
      best = &v;
      best_len = prefix.size();
    }
  }
  if (best) return secs(*best);
  if (auto it = m.find("*"); it != m.end()) return secs(it->second);
  return 0;
}

void Resolver::resolve(std::span<const uint8_t> request, Transport transport, std::function<void(Reply)> done) {
  auto parsed = parse(request);
  if (auto* pe = std::get_if<ParseError>(&parsed)) {
    // Never answer a response (no reflection loops) nor a header we cannot read.
    if (!pe->header_readable || pe->header.qr) return done({Reply::Action::drop, {}});
    Header h = pe->header;
    h.qr = true;
    h.aa = h.tc = h.ra = false;
    h.rcode = Rcode::formerr;
    return done({Reply::Action::send, encode_header_only(h)});
  }
  auto c = std::make_shared<Context>();
  c->request = std::move(std::get<Message>(parsed));
  c->transport = transport;
  c->done = std::move(done);
  const Header& h = c->request.header;
  if (h.qr) return c->done({Reply::Action::drop, {}});
  if (h.opcode != 0) return finish(*c, {}, Rcode::notimp);
  if (c->request.questions.size() != 1) return finish(*c, {}, Rcode::formerr);
  const Question& q = c->request.questions[0];
  c->qname = q.name;
  c->qtype = q.qtype;
  if (q.qclass != kClassIN && q.qclass != kClassANY) return finish(*c, {}, Rcode::refused);

  std::vector<std::string> labels = split_labels(lower(q.name));
  for (size_t i = 0; i < domains_.size(); ++i) {
    const auto& dl = domain_labels_[i];
    if (labels.size() < dl.size() || !std::equal(dl.begin(), dl.end(), labels.end() - static_cast<std::ptrdiff_t>(dl.size())))
      continue;
    c->domain = domains_[i];
    labels.resize(labels.size() - dl.size());
    break;
  }
  if (c->domain.empty()) {
    // Reverse lookups of our nodes' addresses; anything else to the recursors.
    auto ends_with = [&](std::initializer_list<const char*> suffix) {
      if (labels.size() < suffix.size()) return false;
      size_t i = labels.size() - suffix.size();
      for (const char* s : suffix)
        if (labels[i++] != s) return false;
      return true;
    };
    if (q.qtype == type::PTR || q.qtype == type::ANY) {
      if (ends_with({"in-addr", "arpa"}) && labels.size() == 6) {
        std::string ip = labels[3] + "." + labels[2] + "." + labels[1] + "." + labels[0];
        if (parse_v4(ip)) return answer_ptr(c, ip);
      } else if (ends_with({"ip6", "arpa"}) && labels.size() == 34) {
        std::string nibbles;
        for (size_t i = 32; i-- > 0;) nibbles += labels[i];
        if (auto b = unhex(nibbles); b && nibbles.size() == 32) {
          char text[INET6_ADDRSTRLEN];
          if (inet_ntop(AF_INET6, b->data(), text, sizeof text)) return answer_ptr(c, text);
        }
      }
    }
    if (!config_.recursors.empty()) return c->done({Reply::Action::forward, {}});
    return finish(*c, {}, Rcode::refused);
  }
  if (q.qtype == type::AXFR || q.qtype == type::IXFR) return finish(*c, {}, Rcode::notimp);
  if (labels.empty()) return answer_apex(c);

  // <...>.<kind>[.<dc>], or RFC 2782 _svc._tag[.<dc>] without ".service".
  size_t n = labels.size();
  std::string kind, dc = dc_;
  std::vector<std::string> body;
  if (is_kind(labels[n - 1])) {
    kind = labels[n - 1];
    body.assign(labels.begin(), labels.end() - 1);
  } else if (n >= 2 && is_kind(labels[n - 2])) {
    kind = labels[n - 2];
    dc = labels[n - 1];
    body.assign(labels.begin(), labels.end() - 2);
  } else if ((n == 2 || n == 3) && labels[0].starts_with('_') && labels[1].starts_with('_')) {
    kind = "service";
    if (n == 3) dc = labels[2];
    body.assign(labels.begin(), labels.begin() + 2);
  } else {
    return finish(*c, {}, Rcode::nxdomain);
  }
  if (dc != dc_ || body.empty()) return finish(*c, {}, Rcode::nxdomain);

  if (kind == "service") {
    if (body.size() == 2 && body[0].size() > 1 && body[1].size() > 1 && body[0][0] == '_' && body[1][0] == '_') {
      std::string tag = body[1].substr(1);
      return answer_service(c, body[0].substr(1), tag == "tcp" ? "" : tag);
    }
    std::string svc = body.back();
    body.pop_back();
    return answer_service(c, svc, join_dots(body));
  }
  if (kind == "node") return answer_node(c, join_dots(body));
  if (kind == "addr" && body.size() == 1) {
    auto bytes = unhex(body[0]);
    uint32_t ttl = static_cast<uint32_t>(std::chrono::duration_cast<std::chrono::seconds>(config_.dns_config.node_ttl).count());
    std::vector<Unit> units;
    if (bytes && bytes->size() == 4) {
      std::array<uint8_t, 4> a{};
      std::copy(bytes->begin(), bytes->end(), a.begin());
      if (q.qtype == type::A || q.qtype == type::ANY) units.push_back({{Record{q.name, type::A, kClassIN, ttl, a}}, {}});
    } else if (bytes && bytes->size() == 16) {
      std::array<uint8_t, 16> a{};
      std::copy(bytes->begin(), bytes->end(), a.begin());
      if (q.qtype == type::AAAA || q.qtype == type::ANY)
        units.push_back({{Record{q.name, type::AAAA, kClassIN, ttl, a}}, {}});
    } else {
      return finish(*c, {}, Rcode::nxdomain);
    }
    return finish(*c, std::move(units));
  }
  if (kind == "query") {  // <name>.query, or RFC 2782 _<name>._<proto>.query
    if (body.size() == 2 && body[0].size() > 1 && body[0][0] == '_' && body[1].size() > 1 && body[1][0] == '_')
      return answer_query(c, body[0].substr(1));
    return answer_query(c, join_dots(body));
  }
  // <service>.connect: the proxies (and Connect-native instances) in front of it.
  if (kind == "connect") return answer_service(c, join_dots(body), "", true);
  // .ingress, .virtual: not yet.
  return finish(*c, {}, Rcode::nxdomain);
}

void Resolver::answer_service(std::shared_ptr<Context> c, std::string service, std::string tag, bool connect) {
  api::rpc::HealthService q;
  q.service = service;
  q.connect = connect;
  if (!tag.empty()) q.tags.push_back(tag);
  reader_->get(std::move(q), [this, c, service](Result<cache::Value> r) {
    if (!r.ok()) return finish(*c, {}, Rcode::servfail);
    const auto& all = value_of<api::rpc::HealthService>(**r);
    std::vector<std::pair<const api::HealthServiceEntry*, Health>> live;
    live.reserve(all.size());
    for (const auto& e : all) {
      Health h = health_of(e);
      if (h == Health::critical || (h == Health::warning && config_.dns_config.only_passing)) continue;
      live.emplace_back(&e, h);
    }
    if (live.empty()) return finish(*c, {}, Rcode::nxdomain);
    for (size_t i = live.size(); i > 1; --i) std::swap(live[i - 1], live[random() % i]);
    std::vector<const api::HealthServiceEntry*> ordered;
    for (const auto& [e, h] : live) ordered.push_back(e);
    answer_instances(c, ordered, service_ttl(service));
  });
}

void Resolver::answer_instances(const std::shared_ptr<Context>& c,
                                const std::vector<const api::HealthServiceEntry*>& instances, uint32_t ttl) {
  const std::string suffix = "." + dc_ + "." + c->domain;
  const uint16_t qt = c->qtype;
  std::vector<Unit> units;
  std::vector<std::string> seen;  // addresses already answered (A/AAAA dedup)
  for (const api::HealthServiceEntry* e : instances) {
    Health h = health_of(*e);
    const std::string& addr = e->service.address.empty() ? e->node.address : e->service.address;
    auto v4 = parse_v4(addr);
    auto v6 = v4 ? std::nullopt : parse_v6(addr);
    auto address_records = [&](const std::string& name) {
      std::vector<Record> out;
      if (v4) out.push_back(Record{name, type::A, kClassIN, ttl, *v4});
      else if (v6) out.push_back(Record{name, type::AAAA, kClassIN, ttl, *v6});
      return out;
    };
    if (qt == type::SRV) {
      Unit u;
      Srv srv;
      srv.priority = 1;
      srv.weight = static_cast<uint16_t>(std::clamp(h == Health::warning ? e->service.weights.warning
                                                                         : e->service.weights.passing,
                                                    0, 65535));
      srv.port = static_cast<uint16_t>(e->service.port);
      if (!e->service.address.empty()) {
        // The instance's own address: <hex>.addr.<dc>.<domain>, or its hostname.
        if (v4) srv.target = hex(*v4) + ".addr" + suffix;
        else if (v6) srv.target = hex(*v6) + ".addr" + suffix;
        else srv.target = e->service.address;
        if (v4 || v6) u.additional = address_records(srv.target);
      } else {
        srv.target = join_labels(std::span<const std::string>(&e->node.node, 1)) + ".node" + suffix;
        u.additional = address_records(srv.target);
        if (config_.dns_config.enable_additional_node_meta_txt) {
          auto txt = meta_txt(srv.target, e->node.meta, ttl);
          u.additional.insert(u.additional.end(), txt.begin(), txt.end());
        }
      }
      u.answer.push_back(Record{c->qname, type::SRV, kClassIN, ttl, std::move(srv)});
      units.push_back(std::move(u));
    } else if (qt == type::A || qt == type::AAAA || qt == type::ANY) {
      if (std::find(seen.begin(), seen.end(), addr) != seen.end()) continue;
      seen.push_back(addr);
      if (!v4 && !v6) {
        if (!addr.empty()) units.push_back({{Record{c->qname, type::CNAME, kClassIN, ttl, NameData{addr}}}, {}});
      } else if ((v4 && qt != type::AAAA) || (v6 && qt != type::A)) {
        units.push_back({address_records(c->qname), {}});
      }
    } else if (qt == type::TXT) {
      auto txt = meta_txt(c->qname, e->node.meta, ttl);
      if (!txt.empty()) units.push_back({std::move(txt), {}});
    }
  }
  finish(*c, std::move(units));
}

// <name>.query: the prepared query executed on the servers (its own health
// filter, shuffle and Near sort, "_agent" being this agent), answered in
// the order given, with the query's DNS.TTL else the service's TTL.
void Resolver::answer_query(std::shared_ptr<Context> c, std::string name) {
  api::rpc::PreparedQueryExecute x;
  x.id_or_name = std::move(name);
  x.agent_node = config_.node_name;
  reader_->get(std::move(x), [this, c](Result<cache::Value> r) {
    if (!r.ok()) return finish(*c, {}, r.error().is(errc::not_found) ? Rcode::nxdomain : Rcode::servfail);
    const auto& result = value_of<api::rpc::PreparedQueryExecute>(**r);
    if (result.nodes.empty()) return finish(*c, {}, Rcode::nxdomain);
    uint32_t ttl = service_ttl(result.service);
    if (auto d = parse_duration(result.dns.ttl); d.ok() && d->count() >= 0)
      ttl = static_cast<uint32_t>(std::chrono::duration_cast<std::chrono::seconds>(*d).count());
    std::vector<const api::HealthServiceEntry*> ordered;
    for (const auto& e : result.nodes) ordered.push_back(&e);
    answer_instances(c, ordered, ttl);
  });
}

void Resolver::answer_node(std::shared_ptr<Context> c, std::string node) {
  reader_->get(api::rpc::CatalogNodeServices{node}, [this, c](Result<cache::Value> r) {
    if (!r.ok()) return finish(*c, {}, Rcode::servfail);
    const auto& ns = value_of<api::rpc::CatalogNodeServices>(**r);
    if (!ns) return finish(*c, {}, Rcode::nxdomain);
    uint32_t ttl = static_cast<uint32_t>(std::chrono::duration_cast<std::chrono::seconds>(config_.dns_config.node_ttl).count());
    const std::string& addr = ns->node.address;
    const uint16_t qt = c->qtype;
    std::vector<Unit> units;
    if (qt == type::A || qt == type::AAAA || qt == type::ANY) {
      if (auto v4 = parse_v4(addr)) {
        if (qt != type::AAAA) units.push_back({{Record{c->qname, type::A, kClassIN, ttl, *v4}}, {}});
      } else if (auto v6 = parse_v6(addr)) {
        if (qt != type::A) units.push_back({{Record{c->qname, type::AAAA, kClassIN, ttl, *v6}}, {}});
      } else if (!addr.empty()) {
        units.push_back({{Record{c->qname, type::CNAME, kClassIN, ttl, NameData{addr}}}, {}});
      }
    }
    if (qt == type::TXT || qt == type::ANY) {
      for (auto& rec : meta_txt(c->qname, ns->node.meta, ttl)) units.push_back({{std::move(rec)}, {}});
    }
    finish(*c, std::move(units));
  });
}

void Resolver::answer_apex(std::shared_ptr<Context> c) {
  const uint16_t qt = c->qtype;
  if (qt != type::NS && qt != type::SOA && qt != type::ANY) return finish(*c, {}, Rcode::noerror);
  // NS: up to three servers (the nodes of the "consul" service), with glue.
  reader_->get(api::rpc::HealthService{"consul", {}, false}, [this, c, qt](Result<cache::Value> r) {
    std::vector<Unit> units;
    if (qt == type::SOA || qt == type::ANY) units.push_back({{soa(*c)}, {}});
    if (qt == type::NS || qt == type::ANY) {
      uint32_t ttl = static_cast<uint32_t>(std::chrono::duration_cast<std::chrono::seconds>(config_.dns_config.node_ttl).count());
      std::vector<const api::HealthServiceEntry*> servers;
      if (r.ok())
        for (const auto& e : value_of<api::rpc::HealthService>(**r))
          if (health_of(e) != Health::critical) servers.push_back(&e);
      for (size_t i = servers.size(); i > 1; --i) std::swap(servers[i - 1], servers[random() % i]);
      if (servers.size() > 3) servers.resize(3);
      for (const auto* e : servers) {
        std::string ns = join_labels(std::span<const std::string>(&e->node.node, 1)) + ".node." +
                         dc_ + "." + c->domain;
        Unit u;
        u.answer.push_back(Record{c->qname, type::NS, kClassIN, ttl, NameData{ns}});
        if (auto v4 = parse_v4(e->node.address)) u.additional.push_back(Record{ns, type::A, kClassIN, ttl, *v4});
        else if (auto v6 = parse_v6(e->node.address)) u.additional.push_back(Record{ns, type::AAAA, kClassIN, ttl, *v6});
        units.push_back(std::move(u));
      }
      if (servers.empty()) units.push_back({{Record{c->qname, type::NS, kClassIN, ttl, NameData{"ns." + c->domain}}}, {}});
    }
    finish(*c, std::move(units));
  });
}

void Resolver::answer_ptr(std::shared_ptr<Context> c, std::string ip) {
  reader_->get(api::rpc::CatalogNodes{}, [this, c, ip](Result<cache::Value> r) {
    if (!r.ok()) return finish(*c, {}, Rcode::servfail);
    std::vector<Unit> units;
    for (const auto& n : value_of<api::rpc::CatalogNodes>(**r)) {
      if (n.address != ip) continue;
      // PTR answers always name the primary domain.
      std::string target = join_labels(std::span<const std::string>(&n.node, 1)) + ".node." +
                           dc_ + "." + domains_[0];
      units.push_back({{Record{c->qname, type::PTR, kClassIN, 0, NameData{target}}}, {}});
    }
    if (units.empty()) {
      if (!config_.recursors.empty()) return c->done({Reply::Action::forward, {}});
      c->domain = domains_[0];
      return finish(*c, {}, Rcode::nxdomain);
    }
    finish(*c, std::move(units));
  });
}

Record Resolver::soa(const Context& c) const {
  const auto& d = config_.dns_config;
  Soa s;
  s.mname = "ns." + c.domain;
  s.rname = "hostmaster." + c.domain;
  s.serial = static_cast<uint32_t>(
      std::chrono::duration_cast<std::chrono::seconds>(clock_.wall_now().since_unix_epoch).count());
  s.refresh = d.soa_refresh;
  s.retry = d.soa_retry;
  s.expire = d.soa_expire;
  s.minimum = d.soa_min_ttl;
  return Record{c.domain, type::SOA, kClassIN, d.soa_min_ttl, std::move(s)};
}

void Resolver::finish(Context& c, std::vector<Unit> units, Rcode rcode) {
  const Message& req = c.request;
  Message resp;
  resp.header.id = req.header.id;
  resp.header.qr = true;
  resp.header.opcode = req.header.opcode;
  resp.header.aa = !c.domain.empty();
  resp.header.rd = req.header.rd;
  resp.header.ra = !config_.recursors.empty();
  resp.header.rcode = rcode;
  if (rcode != Rcode::formerr) resp.questions = req.questions;

  size_t max_size = kMaxTcpSize;
  size_t max_units = units.size();
  if (c.transport == Transport::udp) {
    if (req.edns) {
      max_size = std::clamp<size_t>(req.edns->udp_size, 512, kMaxUdpSize);
    } else {
      max_size = 512;
      if (config_.dns_config.udp_answer_limit > 0)
        max_units = std::min<size_t>(max_units, static_cast<size_t>(config_.dns_config.udp_answer_limit));
    }
  }
  if (req.edns) resp.edns = Edns{static_cast<uint16_t>(std::min<size_t>(max_size, 65535)), 0, false};
  if (config_.dns_config.a_record_limit > 0 &&
      (c.qtype == type::A || c.qtype == type::AAAA || c.qtype == type::ANY))
    max_units = std::min<size_t>(max_units, static_cast<size_t>(config_.dns_config.a_record_limit));
  if (units.empty() && !c.domain.empty() && (rcode == Rcode::noerror || rcode == Rcode::nxdomain))
    resp.authority.push_back(soa(c));

  auto build = [&](size_t k) {
    resp.answers.clear();
    resp.additional.clear();
    for (size_t i = 0; i < k; ++i) {
      resp.answers.insert(resp.answers.end(), units[i].answer.begin(), units[i].answer.end());
      resp.additional.insert(resp.additional.end(), units[i].additional.begin(), units[i].additional.end());
    }
    return encode(resp);
  };
  auto bytes = build(max_units);
  size_t kept = max_units;
  if (bytes.size() > max_size && max_units > 0) {
    // The largest prefix of units that fits (RFC 1035 §4.2.1 over UDP).
    size_t lo = 0, hi = max_units - 1;
    while (lo < hi) {
      size_t mid = (lo + hi + 1) / 2;
      if (build(mid).size() <= max_size) lo = mid;
      else hi = mid - 1;
    }
    kept = lo;
    bytes = build(kept);
  }
  if (kept < units.size() && config_.dns_config.enable_truncate && c.transport == Transport::udp) {
    bytes[2] |= 0x02;  // TC
  }
  c.done({Reply::Action::send, std::move(bytes)});
}

std::vector<uint8_t> Resolver::recursion_failed(std::span<const uint8_t> request) const {
  auto parsed = parse(request);
  if (!std::holds_alternative<Message>(parsed)) return {};
  Message m = std::move(std::get<Message>(parsed));
  m.answers.clear();
  m.authority.clear();
  m.additional.clear();
  m.header.qr = true;
  m.header.ra = true;
  m.header.aa = false;
  m.header.rcode = Rcode::servfail;
  return encode(m);
}

}  // namespace cairn::agent::dns
