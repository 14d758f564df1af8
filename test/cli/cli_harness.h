// What the CLI tests share: an HTTP server on an ephemeral 127.0.0.1 port
// over a Router the test fills, and running `cairn` commands in-process with
// their stdout, stderr and exit code captured.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <future>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "cli/command.h"
#include "core/io/http_server.h"
#include "core/io/runtime.h"

namespace cairn::cli::test {

class HttpFixture {
 public:
  // Starts serving `router` (filled before this is called).
  void start() {
    server_ = std::make_unique<http::Server>(runtime_.io(), router, http::ServerOptions{});
    auto port = server_->listen("127.0.0.1", 0);
    ASSERT_TRUE(port.ok()) << port.error().message();
    addr = "127.0.0.1:" + std::to_string(*port);
    server_->start();
    thread_ = std::thread([this] { runtime_.run(1); });
  }
  void stop() {
    if (!thread_.joinable()) return;
    std::promise<void> drained;
    server_->shutdown(std::chrono::seconds(1), [&] { drained.set_value(); });
    drained.get_future().wait_for(std::chrono::seconds(5));
    runtime_.stop();
    thread_.join();
  }
  ~HttpFixture() { stop(); }

  http::Router router;
  std::string addr;

 private:
  Runtime runtime_;
  std::unique_ptr<http::Server> server_;
  std::thread thread_;
};

struct CliRun {
  int code = -1;
  std::string out, err;
};

// Runs `cairn <args>` with the kv, catalog and operator commands (plus
// `extra`); the -http-addr flag goes right after the first `depth` words
// (the command path).
using AddCommand = void (*)(CLI::App& app, int* exit_code);
inline CliRun run_cli(std::vector<std::string> args, size_t depth, const std::string& addr,
                      std::vector<AddCommand> extra = {}) {
  args.insert(args.begin() + static_cast<std::ptrdiff_t>(depth), "--http-addr=" + addr);
  CLI::App app{"cairn"};
  app.require_subcommand(1);
  int code = kExitOk;
  add_kv_command(app, &code);
  add_catalog_command(app, &code);
  add_operator_command(app, &code);
  for (auto add : extra) add(app, &code);
  std::ostringstream out, err;
  auto* old_out = std::cout.rdbuf(out.rdbuf());
  auto* old_err = std::cerr.rdbuf(err.rdbuf());
  std::reverse(args.begin(), args.end());  // CLI11's parse(vector) wants reverse order
  CliRun r;
  try {
    app.parse(args);
    r.code = code;
  } catch (const CLI::ParseError&) {
    r.code = kExitUsage;
  }
  std::cout.rdbuf(old_out);
  std::cerr.rdbuf(old_err);
  r.out = out.str();
  r.err = err.str();
  return r;
}

}  // namespace cairn::cli::test
