// A blocking HTTP/1.1 client for the CLI (and tests): one request at a time,
// every step under one deadline. Beast stays inside http_client.cc.
//
// Thread-safety: one HttpClient per thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "core/result.h"

namespace cairn::api {

// Where an agent's HTTP API is: "127.0.0.1:8500", "http://host:port",
// "localhost" (port 8500). https:// is refused until TLS lands.
struct HttpAddress {
  std::string host;
  uint16_t port = 8500;
  static Result<HttpAddress> parse(std::string_view text);
  std::string to_string() const { return host + ":" + std::to_string(port); }
};

struct HttpResult {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string header(std::string_view name) const;  // "" when absent
};

class HttpClient {
 public:
  explicit HttpClient(HttpAddress address, std::string token = {})
      : address_(std::move(address)), token_(std::move(token)) {}

  // method "GET"/"PUT"/…; target is the path with its query string, already
  // percent-encoded. The token, when set, goes in X-Consul-Token.
  Result<HttpResult> request(const std::string& method, const std::string& target, const std::string& body = {},
                             Duration timeout = std::chrono::seconds(30)) const;
  // A GET whose body arrives over time (/v1/agent/monitor): connects and
  // reads the header within `timeout`, then hands each piece of the body to
  // `on_piece` as it arrives, with no deadline, until the server ends it or
  // on_piece returns false. A status other than 200 is returned with its
  // body read whole (on_piece is not called); after a 200 the body is empty.
  Result<HttpResult> stream(const std::string& target, const std::function<bool(std::string_view piece)>& on_piece,
                     Duration timeout = std::chrono::seconds(30)) const;

 private:
  HttpAddress address_;
  std::string token_;
};

}  // namespace cairn::api
