#include "test/faults/harness/cluster.h"

#include <signal.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <thread>

#include "api/io/http_client.h"

namespace cairn::faults {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

// Waits for `pattern` in the log written since `offset`; the first capture.
std::optional<std::string> wait_for_log(Child& c, const std::string& path, size_t offset, const std::string& pattern,
                                        Duration timeout) {
  std::regex re(pattern);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    std::string text = read_file(path);
    text = offset < text.size() ? text.substr(offset) : "";
    std::smatch m;
    if (std::regex_search(text, m, re)) return m.size() > 1 ? m[1].str() : m[0].str();
    if (!c.running()) return std::nullopt;
    std::this_thread::sleep_for(50ms);
  }
  return std::nullopt;
}

}  // namespace

Cluster::Cluster(ClusterOptions options) : options_(std::move(options)) {
  for (int i = 0; i < options_.servers + options_.clients; ++i) {
    Node n;
    n.name = (is_server(i) ? "s" + std::to_string(i) : "c" + std::to_string(i - options_.servers));
    n.data_dir = options_.work_dir + "/" + n.name;
    n.http = options_.network->bind_ip(i) + ":8500";
    n.gossip = options_.network->advertise_ip(i) + ":8301";
    n.rpc = is_server(i) ? options_.network->advertise_ip(i) + ":8300" : "";
    nodes_.push_back(std::move(n));
  }
  std::ofstream(options_.work_dir + "/fast-raft.json") << R"({"performance": {"raft_multiplier": 1}})";
}

Cluster::~Cluster() {
  for (auto& n : nodes_) n.process.reset();
  if (mounted_) run_command({"umount", "-l", nodes_[options_.tmpfs_server].data_dir});
}

std::vector<std::string> Cluster::args_for(int i) {
  Node& n = nodes_[i];
  std::vector<std::string> args = options_.network->exec_in(i);
  std::string bind = options_.network->bind_ip(i);
  args.insert(args.end(), {options_.cairn, "agent", "-node", n.name, "-data-dir", n.data_dir, "-bind", bind,
                           "-advertise", options_.network->advertise_ip(i), "-client", bind, "-dns-port", "-1",
                           "-retry-interval", "500ms"});
  if (is_server(i)) {
    args.insert(args.end(), {"-server", "-bootstrap-expect", std::to_string(options_.servers), "-config-file",
                             options_.work_dir + "/fast-raft.json"});
  }
  for (int j = 0; j < options_.servers; ++j)
    if (j != i) args.insert(args.end(), {"-retry-join", nodes_[j].gossip});
  return args;
}

bool Cluster::start(int i, std::string* error) {
  Node& n = nodes_[i];
  std::error_code ec;
  fs::create_directories(n.data_dir, ec);
  if (i == options_.tmpfs_server && !mounted_) {
    std::string err;
    if (!run_ok({"mount", "-t", "tmpfs", "-o", "size=" + options_.tmpfs_size, "tmpfs", n.data_dir}, &err)) {
      *error = "cannot mount the tmpfs data dir of " + n.name + ": " + err;
      return false;
    }
    mounted_ = true;
  }
  std::string log = log_path(i);
  size_t offset = read_file(log).size();
  std::ofstream(log, std::ios::app) << "==== harness: starting " << n.name << "\n";
  offset = read_file(log).size();
  n.process = std::make_unique<Child>(args_for(i), log);
  n.paused = false;
  n.killed = false;
  auto http = wait_for_log(*n.process, log, offset, "Started HTTP server on (\\S+) ", 60s);
  if (!http) {
    *error = n.name + " did not start its HTTP server; its log: " + log;
    return false;
  }
  return true;
}

bool Cluster::start_all(std::string* error) {
  for (int i = 0; i < size(); ++i)
    if (!start(i, error)) return false;
  return true;
}

void Cluster::kill9(int i) {
  Node& n = nodes_[i];
  if (!n.process) return;
  n.killed = true;
  n.process->signal(SIGKILL);
  n.process->signal(SIGCONT);
  n.process->wait_exit(10s);
  n.paused = false;
}

void Cluster::pause(int i) {
  if (nodes_[i].process && nodes_[i].process->running()) {
    nodes_[i].process->signal(SIGSTOP);
    nodes_[i].paused = true;
  }
}

void Cluster::resume(int i) {
  if (nodes_[i].process) nodes_[i].process->signal(SIGCONT);
  nodes_[i].paused = false;
}

bool Cluster::running(int i) { return nodes_[i].process && nodes_[i].process->running(); }

std::optional<int> Cluster::unexpected_exit(int i) {
  Node& n = nodes_[i];
  if (!n.process || n.killed || n.process->running()) return std::nullopt;
  n.killed = true;  // report once
  return n.process->exit_status();
}

std::string Cluster::leader_seen_by(int i, bool* failed) {
  auto addr = api::HttpAddress::parse(nodes_[i].http);
  if (!addr.ok()) return "";
  auto r = api::HttpClient(*addr).request("GET", "/v1/status/leader", "", 2s);
  if (failed) *failed = r.ok() && r->status >= 500 && r->body.rfind("server failed", 0) == 0;
  if (!r.ok() || r->status != 200) return "";
  auto j = nlohmann::json::parse(r->body, nullptr, false);
  return j.is_string() ? j.get<std::string>() : "";
}

int Cluster::leader() {
  std::map<std::string, int> votes;
  int asked = 0;
  for (int i = 0; i < options_.servers; ++i) {
    if (!running(i) || nodes_[i].paused) continue;
    bool failed = false;
    std::string l = leader_seen_by(i, &failed);
    if (failed) continue;
    ++asked;
    if (l.empty()) return -1;
    ++votes[l];
  }
  if (asked == 0 || votes.size() != 1) return -1;
  const std::string& addr = votes.begin()->first;
  for (int i = 0; i < options_.servers; ++i) {
    if (addr == nodes_[i].rpc) return i;
  }
  return -1;
}

bool Cluster::storage_failed(int i) {
  if (!is_server(i) || !running(i) || nodes_[i].paused) return false;
  bool failed = false;
  leader_seen_by(i, &failed);
  return failed;
}

int Cluster::wait_leader(Duration timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    int l = leader();
    if (l >= 0 || std::chrono::steady_clock::now() >= deadline) return l;
    std::this_thread::sleep_for(250ms);
  }
}

bool Cluster::fill_disk(std::string* error) {
  if (!mounted_) {
    *error = "no tmpfs data dir";
    return false;
  }
  // dd stops with "No space left on device": that is the point.
  run_command({"dd", "if=/dev/zero", "of=" + nodes_[options_.tmpfs_server].data_dir + "/faults-filler", "bs=1M"});
  return true;
}

void Cluster::free_disk() {
  if (!mounted_) return;
  std::error_code ec;
  fs::remove(nodes_[options_.tmpfs_server].data_dir + "/faults-filler", ec);
}

}  // namespace cairn::faults
