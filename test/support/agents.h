// A fixture for integration tests over real `cairn agent` processes on
// 127.0.0.1: dev agents and 3-server clusters on ephemeral ports, their HTTP
// API, and `cairn <command>` run against one of them. Processes stop (by
// PID) when the fixture goes away, also when the test fails.
#pragma once

#include <gtest/gtest.h>

#include <deque>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "api/io/http_client.h"
#include "test/support/process.h"

namespace cairn::test {

struct AgentProcess {
  std::unique_ptr<Process> process;
  std::string http;  // "127.0.0.1:port"
};

class AgentsFixture : public ::testing::Test {
 protected:
  // `cairn agent` named `name` with `extra` flags (HTTP, gossip and server
  // ports ephemeral, DNS off unless dns_port_flag_ says); waits for its HTTP server.
  AgentProcess& start(const std::string& name, std::vector<std::string> extra) {
    std::vector<std::string> args{cairn_binary(), "agent", "-node", name, "-bind", "127.0.0.1",
                                  "-serf-lan-port", "0", "-http-port", "0", "-server-port", "0", "-dns-port", dns_port_flag_};
    args.insert(args.end(), extra.begin(), extra.end());
    agents_.push_back(AgentProcess{std::make_unique<Process>(args, dir_.file(name + ".log")), {}});
    AgentProcess& a = agents_.back();
    a.http = a.process->wait_for_log("Started HTTP server on (\\S+) ", std::chrono::seconds(20)).value_or("");
    EXPECT_FALSE(a.http.empty()) << a.process->log();
    return a;
  }
  // One of three servers (-bootstrap-expect 3) with server_config_, joining
  // `join` (a gossip address) unless empty.
  AgentProcess& server(const std::string& name, const std::string& join) {
    std::string cfg = dir_.file("server.json");
    std::ofstream(cfg) << server_config_;
    std::vector<std::string> extra{"-server", "-bootstrap-expect", "3", "-config-file", cfg, "-data-dir", dir_.file(name)};
    if (!join.empty()) extra.insert(extra.end(), {"-retry-join", join, "-retry-interval", "200ms"});
    return start(name, extra);
  }
  std::string gossip_of(const AgentProcess& a) {
    return a.process->wait_for_log("gossip=(\\S+)", std::chrono::seconds(10)).value_or("");
  }

  static Result<api::HttpResult> http(const AgentProcess& a, const std::string& method, const std::string& target,
                                      const std::string& body = {}) {
    api::HttpClient c(*api::HttpAddress::parse(a.http));
    return c.request(method, target, body, std::chrono::seconds(30));
  }
  // Polls until the agent's servers have a leader.
  bool wait_for_leader(const AgentProcess& a) {
    for (int i = 0; i < 300; ++i) {
      auto r = http(a, "GET", "/v1/status/leader");
      if (r.ok() && r->status == 200 && r->body.size() > 2) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }
  // `cairn <command> <args...> -http-addr ADDR [positional]`.
  RunResult cairn(const AgentProcess& via, const std::string& command, std::vector<std::string> args,
                  std::vector<std::string> positional = {}) {
    args.insert(args.begin(), {cairn_binary(), command});
    args.insert(args.end(), {"-http-addr", via.http});
    args.insert(args.end(), positional.begin(), positional.end());
    return run(args, dir_);
  }
  std::string write_file(const std::string& name, const std::string& text) {
    std::string path = dir_.file(name);
    std::ofstream(path) << text;
    return path;
  }

  std::string server_config_ = R"({"performance": {"raft_multiplier": 1}})";
  std::string dns_port_flag_ = "-1";  // "0": DNS on an ephemeral port
  TempDir dir_;
  std::deque<AgentProcess> agents_;
};

}  // namespace cairn::test
