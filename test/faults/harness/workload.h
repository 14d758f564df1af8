// The workloads the harness runs against the cluster's HTTP API while faults
// happen, and what they record for the checkers:
// - KV: one client per agent doing ?consistent gets, puts, CASes (a get,
//   then ?cas=<its ModifyIndex>) and deletes on a few keys, every value
//   unique; plus puts of fresh keys for the durability check.
// - Locks: one client per client agent taking session locks (?acquire with
//   a LockDelay session), proving the hold with ?consistent reads, releasing.
// - Catalog: one client per client agent registering and deregistering
//   services on its agent; at the end the catalog must match the agents.
//
// Outcomes: a definite answer is `ok`; a refused connection means nothing
// was sent (the op is dropped); a timeout, a dropped connection or a 5xx on
// a write is `info`; a 4xx on a write means it was refused (dropped, counted).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "test/faults/checker/kv_history.h"
#include "test/faults/checker/locks.h"
#include "test/faults/harness/cluster.h"

namespace cairn::faults {

struct WorkloadOptions {
  uint64_t seed = 1;
  int keys = 8;
  int locks = 2;
  std::chrono::milliseconds op_timeout{8000};
  std::chrono::milliseconds lock_delay{1000};
  std::chrono::milliseconds think_min{20}, think_max{80};  // pause between a client's ops
  // The KV clients' read mode: "consistent" (the claim under test), or
  // "default"/"stale" to see the checker catch what those modes allow.
  std::string reads = "consistent";
};

// Monotonic nanoseconds since the run started (the histories' time base).
class RunClock {
 public:
  RunClock() : start_(std::chrono::steady_clock::now()) {}
  int64_t now() const {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start_).count();
  }

 private:
  std::chrono::steady_clock::time_point start_;
};

struct WorkloadResults {
  std::vector<KvOp> kv;
  std::vector<LockHold> holds;
  std::map<std::string, int64_t> counts;  // "kv.put.ok", "kv.cas.info", "lock.acquired", ...
  std::set<std::string> durable_acked;    // keys whose put was acknowledged
  std::set<std::string> durable_unknown;  // keys whose put outcome is unknown
};

class Workload {
 public:
  Workload(Cluster& cluster, const RunClock& clock, WorkloadOptions options);
  ~Workload();
  void start();
  void stop();  // joins the clients
  // After stop(), with the cluster healed: one ?consistent read of every KV
  // key appended to the history (retried until answered or `timeout`).
  void final_reads(std::chrono::seconds timeout);
  WorkloadResults results();

  // The end-of-run checks; each returns the problems found, one line each.
  std::vector<std::string> check_durability(std::chrono::seconds timeout);
  std::vector<std::string> check_catalog(std::chrono::seconds timeout);

  static std::string kv_prefix() { return "faults/kv/"; }

 private:
  void kv_client(int process, int agent);
  void lock_client(int process, int agent);
  void catalog_client(int agent);
  void count(const std::string& what, int64_t n = 1);
  void record(KvOp op);
  void think(uint64_t& rng);
  // One op's answer: status 0 = not sent; -1 = outcome unknown.
  struct Answer {
    int status = 0;
    std::string body;
  };
  Answer call(int agent, const std::string& method, const std::string& target, const std::string& body = {});

  Cluster& cluster_;
  const RunClock& clock_;
  WorkloadOptions options_;
  std::atomic<bool> stop_{false};
  std::vector<std::thread> threads_;
  std::mutex mu_;
  WorkloadResults results_;
  std::map<int, std::set<std::string>> registered_;  // agent -> service ids acknowledged registered
};

}  // namespace cairn::faults
