// Helpers for the DNS unit tests: query bytes, and a catalog held in memory
// behind cache::Reader (answers at once, or fails when told to).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "agent/cache/cache.h"
#include "agent/dns/message.h"
#include "api/connect_proxy.h"
#include "api/rpc.h"

namespace cairn::agent::dns::test {

inline std::vector<uint8_t> query_bytes(const std::string& name, uint16_t qtype,
                                        std::optional<uint16_t> edns_size = std::nullopt, uint16_t id = 0x4242) {
  Message q;
  q.header.id = id;
  q.header.rd = true;
  q.questions.push_back({name, qtype, kClassIN});
  if (edns_size) q.edns = Edns{*edns_size, 0, false};
  return encode(q);
}

class FakeCatalog final : public cache::Reader {
 public:
  std::vector<api::HealthServiceEntry> entries;  // every instance of every service
  std::map<std::string, api::PreparedQueryExecuteResult> prepared;  // executions by query name
  bool fail = false;
  std::vector<api::rpc::Query> asked;

  // Adds an instance on node `node` (address `node_addr`) with one check per status given.
  api::HealthServiceEntry& add(const std::string& service, const std::string& node, const std::string& node_addr,
                               std::vector<std::string> statuses = {"passing"}, int port = 8080) {
    api::HealthServiceEntry e;
    e.node.node = node;
    e.node.address = node_addr;
    e.node.datacenter = "dc1";
    e.service.service = service;
    e.service.id = service + "-" + node;
    e.service.port = port;
    int i = 0;
    for (const auto& s : statuses) {
      api::HealthCheck c;
      c.node = node;
      c.check_id = "c" + std::to_string(i++);
      c.status = s;
      e.checks.push_back(c);
    }
    entries.push_back(std::move(e));
    return entries.back();
  }

  void get(api::rpc::Query q, cache::Callback done) override {
    asked.push_back(q);
    if (fail) return done(Error(errc::unavailable, "No cluster leader"));
    using namespace api::rpc;
    QueryResponse r;
    if (auto* hs = std::get_if<HealthService>(&q)) {
      std::vector<api::HealthServiceEntry> out;
      for (const auto& e : entries) {
        // ?connect: the proxies (and native instances) serving the service.
        if ((hs->connect ? api::connect_destination(e.service) : e.service.service) != hs->service) continue;
        bool tags_ok = true;
        for (const auto& t : hs->tags)
          tags_ok = tags_ok && std::find(e.service.tags.begin(), e.service.tags.end(), t) != e.service.tags.end();
        if (tags_ok) out.push_back(e);
      }
      r.value = make_value<HealthService, QueryValue>(std::move(out));
    } else if (auto* ns = std::get_if<CatalogNodeServices>(&q)) {
      std::optional<api::NodeServices> out;
      for (const auto& e : entries) {
        if (e.node.node != ns->node) continue;
        if (!out) out.emplace().node = e.node;
        out->services.push_back(e.service);
      }
      r.value = make_value<CatalogNodeServices, QueryValue>(std::move(out));
    } else if (std::holds_alternative<CatalogNodes>(q)) {
      std::vector<api::Node> out;
      for (const auto& e : entries)
        if (std::none_of(out.begin(), out.end(), [&](const api::Node& n) { return n.node == e.node.node; }))
          out.push_back(e.node);
      r.value = make_value<CatalogNodes, QueryValue>(std::move(out));
    } else if (auto* pq = std::get_if<PreparedQueryExecute>(&q)) {
      // Prepared queries by name; an unknown one is the server's not_found.
      auto it = prepared.find(pq->id_or_name);
      if (it == prepared.end()) return done(Error(errc::not_found, std::string(api::kQueryNotFound)));
      r.value = make_value<PreparedQueryExecute, QueryValue>(it->second);
    } else {
      return done(Error(errc::invalid_argument, "unexpected query"));
    }
    done(cache::Value(std::make_shared<const QueryResponse>(std::move(r))));
  }
};

}  // namespace cairn::agent::dns::test
