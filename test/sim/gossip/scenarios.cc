#include "test/sim/gossip/scenarios.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>

#include "test/sim/gossip/cluster.h"

namespace cairn::gossip::sim {

using namespace std::chrono_literals;

namespace {

double secs(Duration d) { return std::chrono::duration<double>(d).count(); }

class Runner {
 public:
  explicit Runner(const ScenarioOptions& o)
      : o_(o), config_(preset(o.preset)), rng_(o.seed ^ 0x5eed), cluster_(o.members, o.seed, config_, net(o)) {
    report_.options = o;
  }

  Report run() {
    auto wall_start = std::chrono::steady_clock::now();
    const std::string& s = o_.scenario;
    if (join_all() && measure_steady_state()) {
      if (s == "full") {
        measure_vivaldi();
        crash_some() && stall_bursts() && user_events() && query() && graceful_leave();
      } else if (s == "crash") {
        crash_some();
      } else if (s == "stalls") {
        stall_bursts();
      } else if (s == "partition") {
        partition_heals();
      } else if (s == "leave") {
        graceful_leave();
      } else if (s == "events") {
        user_events();
      } else if (s == "query") {
        query();
      } else if (s == "restart") {
        restart();
      } else if (s != "converge") {
        fail("unknown scenario '" + s + "'");
      }
    }
    report_.false_positives = cluster_.observations().false_failures;
    if (report_.ok && report_.false_positives > 0)
      fail(std::to_string(report_.false_positives) + " false failure declarations");
    report_.sim_s = secs(cluster_.now().since_epoch);
    report_.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
    return report_;
  }

 private:
  static Config preset(const std::string& name) {
    if (name == "wan") return Config::wan();
    if (name == "local") return Config::local();
    return Config::lan();
  }

  static NetworkConfig net(const ScenarioOptions& o) {
    NetworkConfig n;
    n.loss = o.loss;
    return n;
  }

  bool fail(std::string why) {
    if (report_.ok) {
      report_.ok = false;
      report_.failure = std::move(why);
    }
    return false;
  }

  void note(const char* what) {
    if (o_.verbose)
      std::fprintf(stderr, "[%8.3fs] %s\n", secs(cluster_.now().since_epoch), what);
  }

  uint32_t random_up() {
    for (;;) {
      auto i = static_cast<uint32_t>(rng_.uniform(cluster_.size()));
      if (cluster_.up(i)) return i;
    }
  }

  // Members start 10 ms apart, each joining through a random member already
  // up (join through any member).
  bool join_all() {
    Instant t0 = cluster_.now();
    cluster_.start(0, 0);
    for (uint32_t i = 1; i < cluster_.size(); ++i) {
      cluster_.run_for(10ms);
      cluster_.start(i, static_cast<uint32_t>(rng_.uniform(i)));
    }
    note("all started");
    if (o_.preset != "lan" && o_.preset != "wan" && o_.preset != "local")
      return fail("unknown preset '" + o_.preset + "'");
    if (!cluster_.run_until_true([&] { return cluster_.converged(); }, 300s))
      return fail("no convergence within 300s of joins");
    report_.convergence_s = secs(cluster_.now() - t0);
    note("converged");
    return true;
  }

  // Bytes sent per member per second over 30 s, once the join traffic
  // (re-gossip, follow-up push-pulls) has settled for a minute.
  bool measure_steady_state() {
    cluster_.run_for(60s);
    uint64_t b0 = cluster_.observations().bytes_sent;
    constexpr auto kWindow = 30s;
    cluster_.run_for(kWindow);
    uint64_t b1 = cluster_.observations().bytes_sent;
    report_.bytes_per_member_per_s = static_cast<double>(b1 - b0) / static_cast<double>(cluster_.size()) / secs(kWindow);
    if (!cluster_.converged()) return fail("lost convergence in steady state");
    return true;
  }

  void measure_vivaldi() {
    std::vector<double> errs;
    for (int k = 0; k < 2000; ++k) {
      uint32_t a = random_up(), b = random_up();
      if (a == b) continue;
      double est = secs(estimate_rtt(cluster_.member(a).coordinate(), cluster_.member(b).coordinate()));
      double truth = secs(cluster_.true_rtt(a, b));
      errs.push_back(std::abs(est - truth) / truth);
    }
    std::nth_element(errs.begin(), errs.begin() + errs.size() / 2, errs.end());
    report_.vivaldi_error = errs[errs.size() / 2];
  }

  // Crash 1% of members (at least one); every other member must declare each
  // of them failed.
  bool crash_some() {
    std::vector<uint32_t> victims;
    std::size_t count = std::max<std::size_t>(1, cluster_.size() / 100);
    while (victims.size() < count) {
      uint32_t v = random_up();
      if (std::find(victims.begin(), victims.end(), v) == victims.end()) victims.push_back(v);
    }
    Instant t0 = cluster_.now();
    for (uint32_t v : victims) cluster_.crash(v);
    note("crashed");
    bool detected = cluster_.run_until_true(
        [&] {
          for (uint32_t v : victims)
            if (!cluster_.all_see(v, MemberState::dead)) return false;
          return true;
        },
        180s);
    if (!detected) return fail("crashed members not declared failed by everyone within 180s");
    double last = 0, first = 1e9;
    for (uint32_t v : victims)
      for (Instant t : cluster_.observations().failed_at[v]) {
        last = std::max(last, secs(t - t0));
        first = std::min(first, secs(t - t0));
      }
    report_.detection_s = last;
    report_.detection_first_s = first;
    note("crashes detected");
    return true;
  }

  // CPU starvation: a fraction of members stall for 0.2-5 s bursts, about
  // one burst every 5 s each, for 60 s. Nobody may be declared failed.
  bool stall_bursts() {
    std::size_t stallers = std::max<std::size_t>(1, static_cast<std::size_t>(o_.stall_fraction * cluster_.size()));
    std::vector<uint32_t> who;
    while (who.size() < stallers) {
      uint32_t v = random_up();
      if (std::find(who.begin(), who.end(), v) == who.end()) who.push_back(v);
    }
    Instant end = cluster_.now() + 60s;
    while (cluster_.now() < end) {
      for (uint32_t v : who)
        if (rng_.unit() < 0.02) cluster_.stall(v, std::chrono::milliseconds(rng_.between(200, 5000)));
      cluster_.run_for(100ms);
    }
    note("stall bursts over");
    if (!cluster_.run_until_true([&] { return cluster_.converged(); }, 60s))
      return fail("no convergence after stall bursts");
    return true;
  }

  bool partition_heals() {
    std::vector<uint32_t> groups(cluster_.size());
    for (uint32_t i = 0; i < groups.size(); ++i) groups[i] = i % 2;
    cluster_.expect_failures(true);
    cluster_.set_partition(groups);
    note("partitioned");
    // Each side declares the other failed…
    bool split = cluster_.run_until_true(
        [&] {
          for (uint32_t i = 0; i < cluster_.size(); ++i)
            if (cluster_.member(i).num_live() != (cluster_.size() + 1 - i % 2) / 2) return false;
          return true;
        },
        180s);
    if (!split) return fail("partition sides did not declare each other failed within 180s");
    note("sides split");
    cluster_.set_partition(std::vector<uint32_t>(cluster_.size(), 0));
    Instant healed = cluster_.now();
    if (!cluster_.run_until_true([&] { return cluster_.converged(); }, 300s))
      return fail("partition did not heal within 300s");
    report_.heal_s = secs(cluster_.now() - healed);
    note("healed");
    cluster_.expect_failures(false);
    cluster_.run_for(30s);
    if (!cluster_.converged()) return fail("lost convergence after healing");
    return true;
  }

  // A member that crashed comes back as a new process (incarnation 1)
  // after it was declared failed, and another before anyone noticed: both
  // must refute the stale state about them and be seen alive everywhere.
  bool restart() {
    uint32_t late = random_up();
    uint32_t before = cluster_.member(late).incarnation();
    cluster_.crash(late);
    if (!cluster_.run_until_true([&] { return cluster_.all_see(late, MemberState::dead); }, 120s))
      return fail(cluster_.name(late) + " not declared failed");
    uint32_t via = random_up();
    cluster_.restart(late, via);
    if (!cluster_.run_until_true([&] { return cluster_.converged(); }, 120s))
      return fail("no convergence after " + cluster_.name(late) + " restarted");
    if (cluster_.member(late).incarnation() <= before)
      return fail(cluster_.name(late) + " rejoined without outranking its old incarnation");
    note("late restart rejoined");

    uint32_t quick = random_up();
    cluster_.crash(quick);
    cluster_.run_for(2s);
    cluster_.restart(quick, random_up());
    cluster_.run_for(60s);
    if (!cluster_.converged()) return fail("no convergence after a quick restart of " + cluster_.name(quick));
    if (!cluster_.observations().failed_at[quick].empty())
      return fail(cluster_.name(quick) + " restarted within 2s but was declared failed");
    note("quick restart rejoined");
    return true;
  }

  bool graceful_leave() {
    uint32_t v = random_up();
    Instant t0 = cluster_.now();
    cluster_.leave(v);
    bool left = cluster_.run_until_true([&] { return cluster_.all_see(v, MemberState::left); }, 60s, 5ms);
    if (!left) return fail(cluster_.name(v) + " not seen as left by everyone within 60s");
    report_.leave_s = secs(cluster_.now() - t0);
    cluster_.run_for(30s);  // it is gone now; nobody may turn it into "failed"
    if (!cluster_.all_see(v, MemberState::left)) return fail(cluster_.name(v) + " left, later shown otherwise");
    if (!cluster_.observations().failed_at[v].empty()) return fail(cluster_.name(v) + " left but was declared failed");
    note("leave seen");
    return true;
  }

  bool user_events() {
    std::vector<std::pair<std::string, std::string>> sent;
    for (int k = 0; k < 5; ++k) {
      uint32_t from = random_up();
      sent.emplace_back("deploy", "v" + std::to_string(k) + " from " + cluster_.name(from));
      auto st = cluster_.member(from).user_event(cluster_.now(), sent.back().first, sent.back().second);
      if (!st.ok()) return fail("user_event: " + st.error().message());
      cluster_.run_for(200ms);
    }
    // Gossip delivers almost everywhere within seconds; a member that missed
    // every copy catches up at its next push-pull, so allow for that.
    auto count = [&](uint32_t i) {
      std::map<std::pair<std::string, std::string>, int> got;
      for (const auto& e : cluster_.observations().user_events[i]) ++got[e];
      return got;
    };
    auto everyone_has_all = [&] {
      for (uint32_t i = 0; i < cluster_.size(); ++i) {
        if (!cluster_.up(i)) continue;
        auto got = count(i);
        for (const auto& e : sent)
          if (got[e] == 0) return false;
      }
      return true;
    };
    Duration limit = push_pull_scale(config_.push_pull_interval, cluster_.size()) * 2 + 20s;
    cluster_.run_until_true(everyone_has_all, limit);
    cluster_.run_for(10s);  // and nothing arrives twice afterwards
    for (uint32_t i = 0; i < cluster_.size(); ++i) {
      if (!cluster_.up(i)) continue;
      auto got = count(i);
      for (const auto& e : sent)
        if (got[e] != 1)
          return fail(cluster_.name(i) + " got event '" + e.second + "' " + std::to_string(got[e]) + " times");
    }
    note("events delivered");
    return true;
  }

  bool query() {
    uint32_t origin = random_up();
    cluster_.on_query = [&](uint32_t i, const QueryRequest& q) {
      (void)cluster_.member(i).respond(cluster_.now(), q.key, "pong from " + cluster_.name(i));
    };
    QueryParams params;
    params.request_ack = true;
    params.relay_factor = 2;
    params.filter_tags = {{"role", "serv*"}};
    auto id = cluster_.member(origin).query(cluster_.now(), "ping", "", params);
    if (!id.ok()) return fail("query: " + id.error().message());
    cluster_.run_for(default_query_timeout(config_, cluster_.size()) + 1s);
    std::size_t servers = 0;
    for (uint32_t i = 0; i < cluster_.size(); i += 10) servers += cluster_.up(i);
    std::size_t responses = 0, acks = 0;
    for (const auto& r : cluster_.observations().query_responses)
      if (r.id == *id) (r.is_ack ? acks : responses) += 1;
    cluster_.on_query = nullptr;
    // Responses are datagrams, sent direct and through two relays: with loss
    // a few may still be missing.
    double need = o_.loss > 0 ? 0.95 : 1.0;
    if (static_cast<double>(responses) < need * static_cast<double>(servers) || responses > servers)
      return fail("query got " + std::to_string(responses) + " responses from " + std::to_string(servers) +
                  " servers");
    if (acks > servers) return fail("query got more acks than servers");
    note("query answered");
    return true;
  }

  ScenarioOptions o_;
  Config config_;
  SeededRng rng_;
  Cluster cluster_;
  Report report_;
};

}  // namespace

std::string Report::replay_command() const {
  std::ostringstream s;
  s << "gossip_sim --scenario " << options.scenario << " --preset " << options.preset << " --members "
    << options.members << " --seed " << options.seed << " --loss " << options.loss << " --stall-fraction "
    << options.stall_fraction;
  return s.str();
}

std::string Report::summary() const {
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "%-9s %s members=%zu seed=%llu loss=%.2f: %s convergence=%.2fs detection=%.2fs (first %.2fs) "
                "false_positives=%llu bytes/member/s=%.0f vivaldi_median_err=%.2f sim=%.0fs wall=%.2fs",
                options.scenario.c_str(), options.preset.c_str(), options.members, static_cast<unsigned long long>(options.seed),
                options.loss, ok ? "ok" : "FAILED", convergence_s, detection_s, detection_first_s,
                static_cast<unsigned long long>(false_positives), bytes_per_member_per_s, vivaldi_error, sim_s,
                wall_s);
  std::string out = buf;
  if (heal_s >= 0) {
    std::snprintf(buf, sizeof buf, " heal=%.2fs", heal_s);
    out += buf;
  }
  if (leave_s >= 0) {
    std::snprintf(buf, sizeof buf, " leave=%.3fs", leave_s);
    out += buf;
  }
  if (!ok) out += "\n  failure: " + failure + "\n  replay: " + replay_command();
  return out;
}

Report run_scenario(const ScenarioOptions& options) { return Runner(options).run(); }

}  // namespace cairn::gossip::sim
