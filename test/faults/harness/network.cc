#include "test/faults/harness/network.h"

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <regex>
#include <sstream>
#include <stdexcept>

#include "test/faults/harness/child.h"

namespace cairn::faults {
namespace {

namespace fs = std::filesystem;

bool pid_alive(pid_t pid) { return pid > 0 && (::kill(pid, 0) == 0 || errno != ESRCH); }

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// Names of this tag's namespaces, from `ip netns list` ("name (id: 3)").
std::vector<std::string> namespaces_of(const std::string& tag) {
  std::vector<std::string> out;
  for (const auto& line : lines_of(run_command({"ip", "netns", "list"}).output)) {
    std::string name = line.substr(0, line.find(' '));
    if (name.rfind(tag + "-", 0) == 0) out.push_back(name);
  }
  return out;
}

// Links of this tag in the root namespace, from `ip -o link show` ("3: name@peer: ...").
std::vector<std::string> links_of(const std::string& tag) {
  std::vector<std::string> out;
  for (const auto& line : lines_of(run_command({"ip", "-o", "link", "show"}).output)) {
    auto colon = line.find(": ");
    if (colon == std::string::npos) continue;
    std::string name = line.substr(colon + 2);
    name = name.substr(0, name.find_first_of("@:"));
    if (name.rfind(tag, 0) == 0) out.push_back(name);
  }
  return out;
}

// Removes everything named with `tag`: processes in its namespaces (by PID),
// tmpfs mounts under its work dir, the namespaces, the links.
std::vector<std::string> remove_tagged(const std::string& tag) {
  std::vector<std::string> removed;
  for (const auto& ns : namespaces_of(tag)) {
    for (const auto& pid : lines_of(run_command({"ip", "netns", "pids", ns}).output)) {
      if (!pid.empty()) ::kill(static_cast<pid_t>(std::stol(pid)), SIGKILL);
    }
    run_command({"ip", "netns", "del", ns});
    removed.push_back("namespace " + ns);
  }
  for (const auto& link : links_of(tag)) {
    run_command({"ip", "link", "del", link});
    removed.push_back("link " + link);
  }
  return removed;
}

}  // namespace

std::string Network::new_tag() {
  std::random_device rd;
  char buf[16];
  std::snprintf(buf, sizeof buf, "cf%05x", (rd() ^ static_cast<unsigned>(::getpid())) & 0xfffffu);
  return buf;  // "cf" + 5 hex digits
}

bool Network::available(std::string* why) {
  if (::geteuid() != 0) {
    *why = "not root";
    return false;
  }
  std::string probe = "cfprobe" + std::to_string(::getpid() % 100000);
  std::string err;
  bool ok = run_ok({"ip", "netns", "add", probe}, &err);
  if (ok) {
    ok = run_ok({"ip", "netns", "exec", probe, "ip", "link", "add", "p0", "type", "veth", "peer", "name", "p1"}, &err) &&
         run_ok({"ip", "netns", "exec", probe, "ip", "link", "add", "b0", "type", "bridge"}, &err) &&
         run_ok({"ip", "netns", "exec", probe, "ip", "route", "add", "blackhole", "10.0.0.1/32"}, &err);
    run_command({"ip", "netns", "del", probe});
  }
  if (!ok) *why = err;
  return ok;
}

bool Network::netem_available(std::string* why) {
  std::string probe = "cfprobe" + std::to_string(::getpid() % 100000);
  std::string err;
  bool ok = run_ok({"ip", "netns", "add", probe}, &err);
  if (ok) {
    ok = run_ok({"ip", "netns", "exec", probe, "ip", "link", "add", "p0", "type", "veth", "peer", "name", "p1"}, &err) &&
         run_ok({"ip", "netns", "exec", probe, "tc", "qdisc", "add", "dev", "p0", "root", "netem", "delay", "1ms"}, &err);
    run_command({"ip", "netns", "del", probe});
  }
  if (!ok) *why = err;
  return ok;
}

std::vector<std::string> Network::sweep_stale_runs() {
  std::vector<std::string> removed;
  std::error_code ec;
  if (!fs::exists(run_dir(), ec)) return removed;
  static const std::regex kTag("cf[0-9a-f]{5}");
  for (const auto& entry : fs::directory_iterator(run_dir(), ec)) {
    std::string tag = entry.path().filename().string();
    if (!std::regex_match(tag, kTag)) continue;
    pid_t owner = 0;
    std::ifstream(entry.path()) >> owner;
    if (pid_alive(owner)) continue;
    for (auto& r : remove_tagged(tag)) removed.push_back(tag + ": " + r);
    // The work dir may hold a tmpfs mount (the disk-full fault).
    std::string work = "/tmp/cairn-faults-" + tag;
    for (const auto& line : lines_of(read_file("/proc/mounts"))) {
      std::istringstream f(line);
      std::string dev, point;
      f >> dev >> point;
      if (point.rfind(work + "/", 0) == 0) {
        run_command({"umount", "-l", point});
        removed.push_back(tag + ": mount " + point);
      }
    }
    fs::remove_all(work, ec);
    fs::remove(entry.path(), ec);
  }
  return removed;
}

Network::Network(std::string tag, int nodes) : tag_(std::move(tag)), nodes_(nodes) {
  std::error_code ec;
  fs::create_directories(run_dir(), ec);
  std::ofstream(run_dir() + "/" + tag_) << ::getpid() << "\n";
  // A /24 of 10.231.0.0/16 that no interface here uses yet.
  std::string addrs = run_command({"ip", "-o", "-4", "addr", "show"}).output;
  int k = static_cast<int>(std::hash<std::string>{}(tag_) % 250);
  for (int tries = 0; tries < 250; ++tries, k = (k + 1) % 250) {
    if (addrs.find("10.231." + std::to_string(k) + ".") == std::string::npos) break;
  }
  subnet_ = "10.231." + std::to_string(k) + ".";
  try {
    std::string br = tag_ + "br";
    must({"ip", "link", "add", br, "type", "bridge"});
    must({"ip", "addr", "add", subnet_ + "1/24", "dev", br});
    must({"ip", "link", "set", br, "up"});
    for (int i = 0; i < nodes_; ++i) {
      std::string host = tag_ + "h" + std::to_string(i), peer = tag_ + "n" + std::to_string(i);
      must({"ip", "netns", "add", ns(i)});
      must({"ip", "link", "add", host, "type", "veth", "peer", "name", peer});
      must({"ip", "link", "set", peer, "netns", ns(i)});
      must({"ip", "link", "set", host, "master", br});
      must({"ip", "link", "set", host, "up"});
      auto in = exec_in(i);
      auto with = [&](std::vector<std::string> cmd) {
        std::vector<std::string> full = in;
        full.insert(full.end(), cmd.begin(), cmd.end());
        must(full);
      };
      with({"ip", "link", "set", peer, "name", "eth0"});
      with({"ip", "addr", "add", ip(i) + "/24", "dev", "eth0"});
      with({"ip", "link", "set", "eth0", "up"});
      with({"ip", "link", "set", "lo", "up"});
    }
  } catch (...) {
    teardown();
    throw;
  }
}

Network::~Network() { teardown(); }

void Network::teardown() {
  remove_tagged(tag_);
  std::error_code ec;
  fs::remove(run_dir() + "/" + tag_, ec);
}

void Network::must(const std::vector<std::string>& args) {
  std::string err;
  if (!run_ok(args, &err)) throw std::runtime_error(err);
}

std::string Network::ip(int node) const { return subnet_ + std::to_string(10 + node); }
std::string Network::ns(int node) const { return tag_ + "-" + std::to_string(node); }

void Network::block(int from, int to) {
  if (from == to || cuts_.count({from, to})) return;
  cuts_.insert({from, to});
  auto cmd = exec_in(from);
  cmd.insert(cmd.end(), {"ip", "route", "add", "blackhole", ip(to) + "/32"});
  must(cmd);
}

void Network::shape(int node, const std::string& qdisc) {
  auto cmd = exec_in(node);
  cmd.insert(cmd.end(), {"tc", "qdisc", "replace", "dev", "eth0", "root"});
  std::istringstream words(qdisc);
  for (std::string w; words >> w;) cmd.push_back(w);
  must(cmd);
  shaped_.insert(node);
}

void Network::heal_cuts() {
  for (auto [from, to] : cuts_) {
    auto cmd = exec_in(from);
    cmd.insert(cmd.end(), {"ip", "route", "del", "blackhole", ip(to) + "/32"});
    run_command(cmd);
  }
  cuts_.clear();
}

void Network::heal_shapes() {
  for (int node : shaped_) {
    auto cmd = exec_in(node);
    cmd.insert(cmd.end(), {"tc", "qdisc", "del", "dev", "eth0", "root"});
    run_command(cmd);
  }
  shaped_.clear();
}

}  // namespace cairn::faults
