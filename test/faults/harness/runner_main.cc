// cairn_faults: one randomized fault-injection run against a real cluster
// (test/faults/README.md). Prints the seed, the fault schedule as it
// happens, the counts and every check's verdict; on failure the minimal
// anomalous history. Exit 0: every check passed; 1: an anomaly (a safety
// check failed); 2: the run could not be judged (setup failed, the cluster
// did not recover, or the checker ran out of time: "unknown" is never a pass).
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "test/faults/checker/linearizability.h"
#include "test/faults/checker/locks.h"
#include "test/faults/harness/child.h"
#include "test/faults/harness/cluster.h"
#include "test/faults/harness/network.h"
#include "test/faults/harness/relay_network.h"
#include "test/faults/harness/schedule.h"
#include "test/faults/harness/workload.h"

namespace cairn::faults {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

std::atomic<int> g_signal{0};
void on_signal(int sig) { g_signal = sig; }

struct Args {
  double minutes = 1;
  uint64_t seed = 0;
  bool seed_given = false;
  int servers = 3;
  int clients = 2;
  std::string cairn;
  bool keep = false;  // keep the work dir (logs) even when the run passed
  bool sweep_only = false;
  bool no_netns = false;  // force the 127.0.0.x relay
  int check_seconds = 120;
  std::string reads = "consistent";
  double overlap = 0.25;  // the chance that a second fault overlaps each fault
};

void usage() {
  std::cerr << "usage: cairn_faults [--minutes M] [--seed S] [--servers 3|5] [--clients N] [--cairn PATH]\n"
               "                    [--keep] [--no-netns] [--check-seconds N] [--reads consistent|default|stale]\n"
               "                    [--overlap P] [--sweep]\n";
}

bool parse(int argc, char** argv, Args* a) {
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    auto value = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    try {
      if (k == "--minutes") a->minutes = std::stod(value());
      else if (k == "--seed") a->seed = std::stoull(value()), a->seed_given = true;
      else if (k == "--servers") a->servers = std::stoi(value());
      else if (k == "--clients") a->clients = std::stoi(value());
      else if (k == "--cairn") a->cairn = value();
      else if (k == "--check-seconds") a->check_seconds = std::stoi(value());
      else if (k == "--reads") a->reads = value();
      else if (k == "--overlap") a->overlap = std::stod(value());
      else if (k == "--keep") a->keep = true;
      else if (k == "--no-netns") a->no_netns = true;
      else if (k == "--sweep") a->sweep_only = true;
      else {
        std::cerr << "unknown argument " << k << "\n";
        return false;
      }
    } catch (const std::exception&) {
      std::cerr << "bad value for " << k << "\n";
      return false;
    }
  }
  if (a->servers != 3 && a->servers != 5) {
    std::cerr << "--servers: must be 3 or 5\n";
    return false;
  }
  if (a->reads != "consistent" && a->reads != "default" && a->reads != "stale") {
    std::cerr << "--reads: must be consistent, default or stale\n";
    return false;
  }
  if (!(a->overlap >= 0 && a->overlap <= 1)) {
    std::cerr << "--overlap: must be a probability in [0, 1]\n";
    return false;
  }
  if (a->clients < 1 || a->clients > 8) {
    std::cerr << "--clients: must be 1..8\n";
    return false;
  }
  if (a->minutes <= 0 || a->minutes > 24 * 60) {
    std::cerr << "--minutes: must be in (0, 1440]\n";
    return false;
  }
  if (a->cairn.empty()) {
    const char* env = std::getenv("CAIRN_BIN");
    a->cairn = env ? env : "";
  }
  if (a->cairn.empty() && !a->sweep_only) {
    std::cerr << "--cairn: the cairn binary is required (or CAIRN_BIN)\n";
    return false;
  }
  return true;
}

class Log {
 public:
  explicit Log(const RunClock& c) : clock_(c) {}
  void operator()(const std::string& line) const {
    std::printf("[%8.3f] %s\n", static_cast<double>(clock_.now()) / 1e9, line.c_str());
    std::fflush(stdout);
  }

 private:
  const RunClock& clock_;
};

// Sleeps until the run clock reaches `ms`; false when a signal arrived.
bool sleep_until(const RunClock& clock, int64_t ms) {
  while (clock.now() / 1000000 < ms) {
    if (g_signal) return false;
    std::this_thread::sleep_for(50ms);
  }
  return !g_signal;
}

// Whether a small tmpfs can be mounted (root, and mounts allowed here).
bool tmpfs_available(const std::string& work, std::string* why) {
  std::string probe = work + "/tmpfs-probe";
  fs::create_directories(probe);
  bool ok = run_ok({"mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", probe}, why);
  if (ok) run_command({"umount", probe});
  fs::remove(probe);
  return ok;
}

std::string last_log_line(const std::string& path) {
  std::string text = read_file(path);
  while (!text.empty() && text.back() == '\n') text.pop_back();
  return text.substr(text.rfind('\n') + 1);
}

int run(const Args& args) {
  RunClock clock;
  Log log(clock);
  for (const auto& r : Network::sweep_stale_runs()) log("swept stale leftover " + r);
  if (args.sweep_only) return 0;

  std::printf("cairn_faults seed=%llu minutes=%g servers=%d clients=%d reads=%s overlap=%g\n",
              static_cast<unsigned long long>(args.seed), args.minutes, args.servers, args.clients, args.reads.c_str(),
              args.overlap);
  std::printf("replay: test/faults/run --minutes %g --seed %llu --servers %d --clients %d --overlap %g%s\n",
              args.minutes, static_cast<unsigned long long>(args.seed), args.servers, args.clients, args.overlap,
              args.reads == "consistent" ? "" : (" --reads " + args.reads).c_str());

  std::string why;
  bool netns = !args.no_netns && Network::available(&why);
  if (args.no_netns) why = "--no-netns";
  std::string tag = Network::new_tag();
  std::string work = "/tmp/cairn-faults-" + tag;
  fs::create_directories(work);
  std::unique_ptr<NetFaults> net;
  RelayNetwork* relay = nullptr;
  if (netns) {
    try {
      net = std::make_unique<Network>(tag, args.servers + args.clients);
    } catch (const std::exception& e) {
      netns = false;
      why = e.what();
    }
  }
  if (!netns) {
    // Registered anyway (where we may: not as another user than root), so
    // the sweeper can clean the work dir after a crash.
    std::error_code ec;
    fs::create_directories(Network::run_dir(), ec);
    if (!ec) std::ofstream(Network::run_dir() + "/" + tag) << ::getpid() << "\n";
    try {
      auto r = std::make_unique<RelayNetwork>(tag, args.servers + args.clients, args.seed);
      relay = r.get();
      net = std::move(r);
    } catch (const std::exception& e) {
      log("setup failed: no namespaces (" + why + ") and no relay: " + e.what());
      fs::remove(Network::run_dir() + "/" + tag, ec);
      return 2;
    }
  }
  log("run tag " + tag + ", work dir " + work + ", mode " + net->describe() +
      (netns ? "" : " (no namespaces: " + why + ")"));

  ScheduleOptions so;
  so.seed = args.seed;
  so.total_ms = static_cast<int64_t>(args.minutes * 60000);
  so.servers = args.servers;
  so.clients = args.clients;
  so.network = true;  // namespaces or the relay
  so.overlap = args.overlap;
  so.disk_server = static_cast<int>(args.seed % static_cast<uint64_t>(args.servers));
  std::string disk_why;
  so.disk = tmpfs_available(work, &disk_why);
  std::string netem_why;
  so.netem = !netns || Network::netem_available(&netem_why);  // the relay does netem's delay and loss
  std::vector<PlannedFault> plan = plan_faults(so);
  std::vector<std::string> skipped;
  if (!so.disk) skipped.push_back("SKIPPED disk-full: cannot mount a tmpfs (" + disk_why + ")");
  if (netns && !so.netem)
    skipped.push_back("REPLACED netem loss/delay by a tbf congested link (rate limit, queueing delay, tail drop): "
                      "tc netem does not work here (" + netem_why + ")");
  if (!netns) {
    skipped.push_back("RELAYED partitions and loss/delay: node-to-node traffic (gossip, RPC, Raft) passes the "
                      "127.0.0.x relay, which drops, stalls and delays it per link; HTTP goes direct");
  }
  skipped.push_back("SKIPPED clock offsets: safety does not depend on wall time (docs/reliability.md)");

  ClusterOptions co;
  co.servers = args.servers;
  co.clients = args.clients;
  co.cairn = args.cairn;
  co.work_dir = work;
  co.network = net.get();
  co.tmpfs_server = so.disk ? so.disk_server : -1;
  auto cluster = std::make_unique<Cluster>(co);
  std::vector<std::string> names;
  for (int i = 0; i < cluster->size(); ++i) names.push_back(cluster->name(i));
  std::printf("fault schedule (%zu faults):\n", plan.size());
  for (const auto& f : plan) std::printf("  %s\n", f.describe(names).c_str());
  for (const auto& s : skipped) std::printf("%s\n", s.c_str());
  std::fflush(stdout);

  int verdict = 0;
  std::vector<std::string> failures, liveness;
  // Behaviour worth knowing that the run does not fail on (docs/reliability.md says why).
  std::vector<std::string> findings;
  std::string err;
  if (!cluster->start_all(&err)) {
    log("setup failed: " + err);
    return 2;
  }
  if (cluster->wait_leader(90s) < 0) {
    log("setup failed: no leader within 90 s");
    return 2;
  }
  log("cluster up; leader " + names[cluster->leader()]);

  WorkloadOptions wo;
  wo.seed = args.seed;
  wo.reads = args.reads;
  Workload workload(*cluster, clock, wo);
  workload.start();

  std::map<std::string, int> injected;
  int64_t base_ms = clock.now() / 1000000;
  // Nodes a kill, pause or disk-full holds now: another node fault on one of
  // them is skipped, and a disk-full server that stops is not a crash.
  std::set<int> held;
  int disk_held = -1;
  auto check_crashes = [&] {
    for (int i = 0; i < cluster->size(); ++i) {
      if (i == disk_held) continue;  // judged when the disk-full heals
      if (auto st = cluster->unexpected_exit(i)) {
        std::string line = "node " + names[i] + " exited on its own with status " + std::to_string(*st) +
                           " (log " + cluster->log_path(i) + ")";
        log(line);
        failures.push_back("crash: " + line);
        std::string e;
        if (!cluster->start(i, &e)) log("restart failed: " + e);
      }
    }
  };
  // The faults as resolved when they started (live[i] for plan[i]).
  std::vector<PlannedFault> live(plan.size());
  std::vector<bool> on(plan.size(), false);
  std::vector<bool> disk_filled(plan.size(), false);
  auto inject = [&](size_t i) {
    const PlannedFault& f = plan[i];
    PlannedFault& l = live[i] = f;
    if (f.kind == FaultKind::kill_leader || f.kind == FaultKind::pause_leader || f.kind == FaultKind::partition_leader) {
      int leader = cluster->leader();
      if (leader < 0) {
        log("no agreed leader now; " + std::string(fault_name(f.kind)) + " targets s0");
        leader = 0;
      }
      if (f.kind == FaultKind::partition_leader) {
        l.side_a = {leader};
        for (int n = 0; n < cluster->size(); ++n)
          if (n != leader) l.side_b.push_back(n);
      } else {
        l.node = leader;
      }
    }
    auto cls = fault_class(f.kind);
    if ((cls == FaultClass::node || cls == FaultClass::disk) && held.count(l.node)) {
      log("skipped (" + names[l.node] + " is held by another fault): " + l.describe(names));
      ++injected["skipped-node-busy"];
      return;
    }
    log("fault: " + l.describe(names));
    ++injected[fault_name(f.kind)];
    if (f.overlapping) ++injected["overlapping"];
    on[i] = true;
    switch (f.kind) {
      case FaultKind::kill:
      case FaultKind::kill_leader:
        cluster->kill9(l.node);
        break;
      case FaultKind::pause:
      case FaultKind::pause_leader:
        cluster->pause(l.node);
        break;
      case FaultKind::partition_random:
      case FaultKind::partition_leader:
      case FaultKind::partition_bridge:
        net->partition(l.side_a, l.side_b);
        break;
      case FaultKind::partition_oneway:
        net->partition_oneway(l.side_a, l.side_b);
        break;
      case FaultKind::netem:
        for (int n : l.netem_nodes) net->shape(n, l.netem_spec);
        break;
      case FaultKind::disk_full:
        disk_filled[i] = cluster->fill_disk(&err);
        disk_held = l.node;
        break;
    }
    if (cls == FaultClass::node || cls == FaultClass::disk) held.insert(l.node);
  };
  auto heal = [&](size_t i) {
    if (!on[i]) return;
    on[i] = false;
    const PlannedFault& l = live[i];
    switch (l.kind) {
      case FaultKind::kill:
      case FaultKind::kill_leader:
        if (!cluster->start(l.node, &err)) failures.push_back("restart of " + names[l.node] + " failed: " + err);
        break;
      case FaultKind::pause:
      case FaultKind::pause_leader:
        cluster->resume(l.node);
        break;
      case FaultKind::disk_full:
        if (disk_filled[i]) cluster->free_disk();
        disk_held = -1;
        if (cluster->storage_failed(l.node)) {
          // It stopped applying the Raft log on the write error and stays so
          // until restarted (server/state: "the caller must stop applying").
          std::string line = "disk-full at t=" + std::to_string(l.start_ms / 1000) + "s: " + names[l.node] +
                             " stopped applying the Raft log and stays failed after space is freed; restarted";
          log(line);
          findings.push_back(line);
          cluster->kill9(l.node);
          if (!cluster->start(l.node, &err)) failures.push_back("restart after disk-full failed: " + err);
        } else if (!cluster->running(l.node)) {
          // Stopping on a full disk is allowed (nothing half-written); it must come back.
          auto st = cluster->unexpected_exit(l.node);
          std::string last = last_log_line(cluster->log_path(l.node));
          // Exit 1 is the server's answer to a storage failure (it stops so a
          // supervisor restarts it); a signal (134: SIGABRT) is RocksDB
          // aborting, docs/reliability.md finding 4.
          std::string how = !st ? "?" : *st > 128 ? std::to_string(*st) + " (killed by signal " +
                                                        std::to_string(*st - 128) + ": an abort, not a clean exit)"
                                                  : std::to_string(*st);
          log(names[l.node] + " stopped on the full disk (status " + how + ", last log line: " + last +
              "); restarting it");
          findings.push_back("disk-full at t=" + std::to_string(l.start_ms / 1000) + "s: " + names[l.node] +
                             " exited with status " + how + ": " + last);
          if (!cluster->start(l.node, &err)) failures.push_back("restart after disk-full failed: " + err);
        }
        break;
      case FaultKind::netem:
        net->heal_shapes();
        break;
      default:
        net->heal_cuts();
        break;
    }
    if (fault_class(l.kind) == FaultClass::node || fault_class(l.kind) == FaultClass::disk) held.erase(l.node);
    log("healed " + std::string(fault_name(l.kind)) + (l.overlapping ? " [overlapping]" : ""));
  };
  // Every start and heal in time order (a heal before a start at the same ms).
  struct Event {
    int64_t ms;
    bool start;
    size_t i;
  };
  std::vector<Event> events;
  for (size_t i = 0; i < plan.size(); ++i) {
    events.push_back({plan[i].start_ms, true, i});
    events.push_back({plan[i].end_ms(), false, i});
  }
  std::stable_sort(events.begin(), events.end(),
                   [](const Event& a, const Event& b) { return a.ms != b.ms ? a.ms < b.ms : !a.start && b.start; });
  for (const auto& e : events) {
    if (!sleep_until(clock, base_ms + e.ms)) break;
    if (e.start) {
      check_crashes();
      inject(e.i);
    } else {
      heal(e.i);
    }
  }
  // Interrupted: heal what is still on.
  for (size_t i = 0; i < plan.size(); ++i) heal(i);
  if (!g_signal) sleep_until(clock, base_ms + so.total_ms);
  check_crashes();
  workload.stop();
  if (g_signal) {
    log("interrupted by signal " + std::to_string(g_signal.load()) + "; cleaning up");
    return 2;
  }

  // Everything healed: the cluster must recover, then the checks run.
  if (net) net->heal();
  for (int i = 0; i < cluster->size(); ++i) {
    if (cluster->paused(i)) cluster->resume(i);
    if (!cluster->running(i) && !cluster->start(i, &err)) failures.push_back("final restart failed: " + err);
  }
  for (int i = 0; i < cluster->servers(); ++i) {
    if (cluster->storage_failed(i)) {
      findings.push_back(names[i] + " was failed (stopped applying the Raft log) at the end; restarted");
      cluster->kill9(i);
      if (!cluster->start(i, &err)) failures.push_back("final restart failed: " + err);
    }
  }
  int leader = cluster->wait_leader(120s);
  if (leader < 0) {
    liveness.push_back("no leader within 120 s after healing every fault");
  } else {
    log("recovered; leader " + names[leader]);
  }
  workload.final_reads(60s);
  std::vector<std::string> durability = workload.check_durability(60s);
  std::vector<std::string> catalog = workload.check_catalog(90s);
  bool catalog_judged = true;
  if (leader < 0) {
    // Without an agreed leader the catalog (read through the agents) and the
    // durable list may be unreadable: that is the liveness failure above, not
    // a safety one. A write found missing in a list that was read still counts.
    for (auto& p : catalog) liveness.push_back("not judged without a leader: " + p);
    catalog_judged = catalog.empty();
    catalog.clear();
    std::erase_if(durability, [&](const std::string& p) {
      if (p.find("could not list") == std::string::npos) return false;
      liveness.push_back("not judged without a leader: " + p);
      return true;
    });
  }
  WorkloadResults res = workload.results();

  // Linearizability, bounded by --check-seconds.
  auto check_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(args.check_seconds);
  CheckOptions opts;
  opts.max_steps = UINT64_MAX;
  opts.out_of_time = [&] { return std::chrono::steady_clock::now() > check_deadline || g_signal; };
  CheckReport kv = check_kv(res.kv, opts);
  auto locks = check_locks(res.holds, std::chrono::nanoseconds(wo.lock_delay).count(),
                           std::chrono::nanoseconds(250ms).count());

  std::printf("\n==== results (seed %llu) ====\n", static_cast<unsigned long long>(args.seed));
  std::printf("faults injected:");
  for (const auto& [k, n] : injected) std::printf(" %s=%d", k.c_str(), n);
  std::printf("\ncounts:");
  for (const auto& [k, n] : res.counts) std::printf(" %s=%lld", k.c_str(), static_cast<long long>(n));
  std::printf("\nlock holds: %zu\n", res.holds.size());
  for (const auto& s : skipped) std::printf("%s\n", s.c_str());
  if (relay) {
    RelayCounters rc = relay->counters();
    std::printf("relay: %llu datagrams forwarded, %llu dropped, %llu connections, %llu from unknown sources\n",
                static_cast<unsigned long long>(rc.datagrams), static_cast<unsigned long long>(rc.datagrams_dropped),
                static_cast<unsigned long long>(rc.connections), static_cast<unsigned long long>(rc.unknown_sources));
    // A cairn that does not dial from its -bind address cannot be told apart (core/io/source_addr.h).
    if (rc.unknown_sources > 0)
      std::printf("WARNING the relay dropped traffic from addresses that are no node's: is this cairn binding its "
                  "outgoing sockets to -bind?\n");
  }
  std::printf("%s", kv.summary().c_str());
  std::printf("locks: %s\n", locks.empty() ? "safe" : "VIOLATED");
  for (const auto& v : locks) std::printf("  %s\n", v.what.c_str());
  std::printf("durability: %s\n", durability.empty() ? "ok" : "FAILED");
  for (const auto& p : durability) std::printf("  %s\n", p.c_str());
  std::printf("catalog convergence: %s\n", !catalog_judged ? "not judged (no leader)" : catalog.empty() ? "ok" : "FAILED");
  for (const auto& p : catalog) std::printf("  %s\n", p.c_str());
  for (const auto& p : findings) std::printf("FINDING %s\n", p.c_str());
  for (const auto& p : failures) std::printf("FAILED %s\n", p.c_str());
  for (const auto& p : liveness) std::printf("LIVENESS %s\n", p.c_str());

  bool anomaly = kv.verdict == Verdict::not_linearizable || !locks.empty() || !durability.empty() ||
                 !catalog.empty() || !failures.empty();
  if (anomaly) verdict = 1;
  else if (kv.verdict == Verdict::unknown || !liveness.empty()) verdict = 2;
  std::printf("verdict: %s (seed %llu)\n",
              verdict == 0 ? "PASS" : verdict == 1 ? "ANOMALY" : "UNKNOWN (not a pass)",
              static_cast<unsigned long long>(args.seed));
  if (verdict == 0 && !args.keep) {
    cluster.reset();
    fs::remove_all(work);
  } else {
    std::printf("logs kept in %s\n", work.c_str());
    cluster.reset();
  }
  net.reset();
  std::error_code ec;
  if (!netns) fs::remove(Network::run_dir() + "/" + tag, ec);
  return verdict;
}

}  // namespace
}  // namespace cairn::faults

int main(int argc, char** argv) {
  using namespace cairn::faults;
  Args args;
  if (!parse(argc, argv, &args)) {
    usage();
    return 2;
  }
  if (!args.seed_given) args.seed = std::random_device{}();
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
  return run(args);
}
