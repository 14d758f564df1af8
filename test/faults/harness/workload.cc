#include "test/faults/harness/workload.h"

#include <nlohmann/json.hpp>

#include "api/io/http_client.h"
#include "core/base64.h"

namespace cairn::faults {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

uint64_t next(uint64_t& s) {  // splitmix64: each client its own seeded stream
  uint64_t z = (s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

bool is_write_refusal(int status) { return status >= 400 && status < 500; }

// A ?consistent GET of one key: its value (nullopt: not found) and ModifyIndex.
struct Read {
  bool answered = false;
  std::optional<std::string> value;
  uint64_t modify_index = 0;
  std::string session;
};

Read parse_read(int status, const std::string& body) {
  Read r;
  if (status == 404) {
    r.answered = true;
    return r;
  }
  if (status != 200) return r;
  auto j = json::parse(body, nullptr, false);
  if (!j.is_array() || j.empty() || !j[0].is_object()) return r;
  const auto& e = j[0];
  r.answered = true;
  if (e.contains("Value") && e["Value"].is_string()) {
    auto decoded = base64_decode(e["Value"].get<std::string>());
    r.value = decoded.ok() ? *decoded : std::string("<undecodable>");
  } else {
    r.value = std::string();
  }
  if (e.contains("ModifyIndex") && e["ModifyIndex"].is_number()) r.modify_index = e["ModifyIndex"].get<uint64_t>();
  if (e.contains("Session") && e["Session"].is_string()) r.session = e["Session"].get<std::string>();
  return r;
}

}  // namespace

Workload::Workload(Cluster& cluster, const RunClock& clock, WorkloadOptions options)
    : cluster_(cluster), clock_(clock), options_(options) {}

Workload::~Workload() { stop(); }

void Workload::start() {
  int process = 0;
  for (int a = 0; a < cluster_.size(); ++a) threads_.emplace_back([this, p = process++, a] { kv_client(p, a); });
  for (int a = cluster_.servers(); a < cluster_.size(); ++a) {
    threads_.emplace_back([this, p = process++, a] { lock_client(p, a); });
    threads_.emplace_back([this, a] { catalog_client(a); });
  }
}

void Workload::stop() {
  stop_ = true;
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
}

void Workload::count(const std::string& what, int64_t n) {
  std::lock_guard lock(mu_);
  results_.counts[what] += n;
}

void Workload::record(KvOp op) {
  std::lock_guard lock(mu_);
  results_.kv.push_back(std::move(op));
}

void Workload::think(uint64_t& rng) {
  auto span = static_cast<uint64_t>((options_.think_max - options_.think_min).count() + 1);
  std::this_thread::sleep_for(options_.think_min + std::chrono::milliseconds(next(rng) % span));
}

Workload::Answer Workload::call(int agent, const std::string& method, const std::string& target,
                                const std::string& body) {
  auto addr = api::HttpAddress::parse(cluster_.http_address(agent));
  if (!addr.ok()) return {};
  auto r = api::HttpClient(*addr).request(method, target, body, options_.op_timeout);
  if (r.ok()) return {r->status, r->body};
  // Nothing was sent when the connection could not be made.
  const std::string& m = r.error().message();
  if (m.rfind("error connecting to", 0) == 0 || m.rfind("error resolving", 0) == 0) return {0, m};
  return {-1, m};
}

void Workload::kv_client(int process, int agent) {
  uint64_t rng = options_.seed * 1000003 + static_cast<uint64_t>(process);
  int seq = 0;
  auto unique = [&] { return "p" + std::to_string(process) + "-" + std::to_string(++seq); };
  // A write's record from its answer; false when it is dropped (not sent or refused).
  auto finish_write = [&](KvOp& op, const Answer& a, const char* name) {
    op.complete = clock_.now();
    if (a.status == 0 || is_write_refusal(a.status)) {
      count(std::string("kv.") + name + (a.status == 0 ? ".not-sent" : ".refused"));
      return false;
    }
    if (a.status == 200 && (a.body == "true" || a.body == "false")) {
      op.cas_succeeded = a.body == "true";
      if (op.kind != KvOpKind::cas && !op.cas_succeeded) {
        count(std::string("kv.") + name + ".false");  // a plain write answered false: not applied
        return false;
      }
      count(std::string("kv.") + name + ".ok");
    } else {
      op.outcome = KvOutcome::info;
      count(std::string("kv.") + name + ".info");
    }
    record(op);
    return true;
  };
  while (!stop_) {
    think(rng);
    KvOp op;
    op.process = process;
    op.key = "k" + std::to_string(next(rng) % static_cast<uint64_t>(options_.keys));
    std::string path = "/v1/kv/" + kv_prefix() + op.key;
    uint64_t dice = next(rng) % 100;
    if (dice < 8) {  // durability: a fresh key, written once
      std::string key = "faults/durable/" + unique();
      Answer a = call(agent, "PUT", "/v1/kv/" + key, "d");
      std::lock_guard lock(mu_);
      if (a.status == 200 && a.body == "true") results_.durable_acked.insert(key);
      else if (a.status != 0 && !is_write_refusal(a.status)) results_.durable_unknown.insert(key);
      continue;
    }
    if (dice < 40 || dice >= 70) {
      // A get; for a CAS (dice >= 70, and < 92) its answer gives the index to compare with.
      op.kind = KvOpKind::get;
      op.invoke = clock_.now();
      Answer a = call(agent, "GET", path + (options_.reads == "default" ? "" : "?" + options_.reads));
      op.complete = clock_.now();
      Read r = parse_read(a.status, a.body);
      if (!r.answered) {
        count("kv.get.unanswered");
        continue;
      }
      op.value = r.value;
      count("kv.get.ok");
      record(op);
      if (dice < 70 || dice >= 92) {
        if (dice >= 92) {  // delete
          KvOp del;
          del.process = process;
          del.key = op.key;
          del.kind = KvOpKind::del;
          del.invoke = clock_.now();
          finish_write(del, call(agent, "DELETE", path), "delete");
        }
        continue;
      }
      KvOp cas;
      cas.process = process;
      cas.key = op.key;
      cas.kind = KvOpKind::cas;
      cas.expected = r.value;
      cas.value = unique();
      cas.invoke = clock_.now();
      finish_write(cas, call(agent, "PUT", path + "?cas=" + std::to_string(r.value ? r.modify_index : 0), *cas.value),
                   "cas");
      continue;
    }
    op.kind = KvOpKind::put;
    op.value = unique();
    op.invoke = clock_.now();
    finish_write(op, call(agent, "PUT", path, *op.value), "put");
  }
}

void Workload::lock_client(int process, int agent) {
  uint64_t rng = options_.seed * 7919 + static_cast<uint64_t>(process);
  std::string session;
  int seq = 0;
  while (!stop_) {
    think(rng);
    if (session.empty()) {
      json body = {{"Name", "faults-lock"},
                   {"LockDelay", std::to_string(options_.lock_delay.count()) + "ms"},
                   {"Behavior", "release"}};
      Answer a = call(agent, "PUT", "/v1/session/create", body.dump());
      auto j = json::parse(a.body, nullptr, false);
      if (a.status != 200 || !j.is_object() || !j.contains("ID")) {
        count("lock.session.failed");
        std::this_thread::sleep_for(300ms);
        continue;
      }
      session = j["ID"].get<std::string>();
      count("lock.session.created");
    }
    std::string lock = "faults/locks/l" + std::to_string(next(rng) % static_cast<uint64_t>(options_.locks));
    Answer a = call(agent, "PUT", "/v1/kv/" + lock + "?acquire=" + session, "p" + std::to_string(process) + "-" +
                                                                                  std::to_string(++seq));
    if (a.status == 200 && a.body == "false") {
      count("lock.acquire.busy");
      continue;
    }
    if (a.status != 200 || a.body != "true") {
      count(a.status >= 400 && a.status < 500 ? "lock.acquire.refused" : "lock.acquire.unknown");
      // Unknown: it may hold the lock; let the session go (which releases it) and start afresh.
      if (a.status != 0) call(agent, "PUT", "/v1/session/destroy/" + session);
      session.clear();
      continue;
    }
    LockHold hold;
    hold.process = process;
    hold.lock = lock;
    hold.session = session;
    hold.acquired = clock_.now();
    hold.last_proof = hold.acquired;
    count("lock.acquired");
    bool lost = false;
    for (int i = 0; i < 2 && !stop_ && !lost; ++i) {
      think(rng);
      int64_t invoke = clock_.now();
      Answer g = call(agent, "GET", "/v1/kv/" + lock + "?consistent");
      Read r = parse_read(g.status, g.body);
      if (!r.answered) continue;
      if (r.session == session) {
        hold.last_proof = invoke;
      } else {
        lost = true;
      }
    }
    if (lost) {
      hold.end = HoldEnd::lost;
      count("lock.lost");
    } else {
      int64_t invoke = clock_.now();
      Answer rel = call(agent, "PUT", "/v1/kv/" + lock + "?release=" + session);
      if (rel.status == 200 && rel.body == "true") {
        hold.end = HoldEnd::released;
        hold.last_proof = invoke;
        count("lock.released");
      } else if (rel.status == 200 && rel.body == "false") {
        hold.end = HoldEnd::lost;
        count("lock.lost");
      } else {
        hold.end = HoldEnd::unknown;
        count("lock.release.unknown");
      }
    }
    if (hold.end != HoldEnd::released) session.clear();  // lost or unsure: a fresh session
    std::lock_guard lk(mu_);
    results_.holds.push_back(hold);
  }
}

void Workload::catalog_client(int agent) {
  uint64_t rng = options_.seed * 104729 + static_cast<uint64_t>(agent);
  while (!stop_) {
    for (int i = 0; i < 5 && !stop_; ++i) think(rng);
    std::string id = "faults-" + cluster_.name(agent) + "-" + std::to_string(next(rng) % 4);
    bool add = next(rng) % 3 != 0;
    Answer a = add ? call(agent, "PUT", "/v1/agent/service/register",
                          json({{"ID", id}, {"Name", "faults-svc"}, {"Port", 9000}}).dump())
                   : call(agent, "PUT", "/v1/agent/service/deregister/" + id);
    count(std::string("catalog.") + (add ? "register." : "deregister.") + std::to_string(a.status));
  }
}

void Workload::final_reads(std::chrono::seconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (int k = 0; k < options_.keys; ++k) {
    std::string key = "k" + std::to_string(k);
    while (std::chrono::steady_clock::now() < deadline) {
      int agent = cluster_.size() - 1;
      KvOp op;
      op.process = 999;
      op.key = key;
      op.kind = KvOpKind::get;
      op.invoke = clock_.now();
      Answer a = call(agent, "GET", "/v1/kv/" + kv_prefix() + key + "?consistent");
      op.complete = clock_.now();
      Read r = parse_read(a.status, a.body);
      if (!r.answered) {
        std::this_thread::sleep_for(500ms);
        continue;
      }
      op.value = r.value;
      count("kv.final-read");
      record(op);
      break;
    }
  }
}

WorkloadResults Workload::results() {
  std::lock_guard lock(mu_);
  return results_;
}

std::vector<std::string> Workload::check_durability(std::chrono::seconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::set<std::string> present;
  bool listed = false;
  while (!listed && std::chrono::steady_clock::now() < deadline) {
    Answer a = call(cluster_.size() - 1, "GET", "/v1/kv/faults/durable/?keys&consistent");
    auto j = json::parse(a.body, nullptr, false);
    if (a.status == 200 && j.is_array()) {
      for (const auto& k : j)
        if (k.is_string()) present.insert(k.get<std::string>());
      listed = true;
    } else if (a.status == 404) {
      listed = true;
    } else {
      std::this_thread::sleep_for(500ms);
    }
  }
  if (!listed) return {"durability: could not list faults/durable/ within " + std::to_string(timeout.count()) + " s"};
  std::vector<std::string> problems;
  std::lock_guard lock(mu_);
  for (const auto& k : results_.durable_acked)
    if (!present.count(k)) problems.push_back("durability: acknowledged write of " + k + " is missing");
  for (const auto& k : present)
    if (!results_.durable_acked.count(k) && !results_.durable_unknown.count(k))
      problems.push_back("durability: " + k + " exists but was never written");
  results_.counts["durable.acked"] = static_cast<int64_t>(results_.durable_acked.size());
  results_.counts["durable.unknown"] = static_cast<int64_t>(results_.durable_unknown.size());
  results_.counts["durable.present"] = static_cast<int64_t>(present.size());
  return problems;
}

std::vector<std::string> Workload::check_catalog(std::chrono::seconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::vector<std::string> problems;
  while (true) {
    problems.clear();
    // Every agent is a catalog node.
    Answer nodes = call(0, "GET", "/v1/catalog/nodes?consistent");
    auto nj = json::parse(nodes.body, nullptr, false);
    std::set<std::string> catalog_nodes;
    if (nodes.status == 200 && nj.is_array())
      for (const auto& n : nj)
        if (n.is_object() && n.contains("Node")) catalog_nodes.insert(n["Node"].get<std::string>());
    for (int i = 0; i < cluster_.size(); ++i)
      if (!catalog_nodes.count(cluster_.name(i))) problems.push_back("catalog: node " + cluster_.name(i) + " missing");
    // Each client agent's own services are its catalog node's services.
    for (int i = cluster_.servers(); i < cluster_.size(); ++i) {
      Answer local = call(i, "GET", "/v1/agent/services");
      Answer cat = call(0, "GET", "/v1/catalog/node/" + cluster_.name(i) + "?consistent");
      auto lj = json::parse(local.body, nullptr, false);
      auto cj = json::parse(cat.body, nullptr, false);
      if (local.status != 200 || !lj.is_object() || cat.status != 200 || !cj.is_object()) {
        problems.push_back("catalog: could not read the services of " + cluster_.name(i));
        continue;
      }
      std::set<std::string> want, have;
      for (auto it = lj.begin(); it != lj.end(); ++it) want.insert(it.key());
      if (cj.contains("Services") && cj["Services"].is_object())
        for (auto it = cj["Services"].begin(); it != cj["Services"].end(); ++it) have.insert(it.key());
      if (want != have) {
        std::string w, h;
        for (const auto& s : want) w += " " + s;
        for (const auto& s : have) h += " " + s;
        problems.push_back("catalog: " + cluster_.name(i) + " has [" + w + " ] locally but [" + h + " ] in the catalog");
      }
    }
    if (problems.empty() || std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(1s);
  }
  return problems;
}

}  // namespace cairn::faults
