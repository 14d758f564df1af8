// Integration-test helpers shared by tests that drive real agents over HTTP:
// one HTTP call to an agent, and polling a condition with a bound.
#pragma once

#include <chrono>
#include <string>
#include <thread>

#include "api/io/http_client.h"

namespace cairn::test {

// One request to the agent at `address` ("ip:port").
inline Result<api::HttpResult> agent_http(const std::string& address, const std::string& method,
                                          const std::string& target, const std::string& body = {},
                                          Duration timeout = std::chrono::seconds(10)) {
  api::HttpClient c(*api::HttpAddress::parse(address));
  return c.request(method, target, body, timeout);
}

// Polls fn until it returns true or `timeout` passes; the last answer of fn.
template <typename F>
bool eventually(F fn, Duration timeout, Duration every = std::chrono::milliseconds(100)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (fn()) return true;
    std::this_thread::sleep_for(every);
  }
  return fn();
}

}  // namespace cairn::test
