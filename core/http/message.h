// The HTTP request/response model that handlers see. It is independent of
// Boost.Beast so that handlers, the router and their tests never include it;
// core/io/http_server.cc converts between the two.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/http/url.h"

namespace cairn::http {

enum class Method { get, head, post, put, del, patch, options, other };

std::string_view method_name(Method m);
Method parse_method(std::string_view text);

// Header fields in arrival order; names compare case-insensitively.
class Headers {
 public:
  std::optional<std::string> get(std::string_view name) const;
  void set(std::string name, std::string value);  // replaces
  void add(std::string name, std::string value);  // appends
  const std::vector<std::pair<std::string, std::string>>& items() const { return items_; }

 private:
  std::vector<std::pair<std::string, std::string>> items_;
};

struct Request {
  Method method = Method::get;
  std::string method_text;     // as sent (for "method FOO not allowed")
  std::string target;          // raw request target, escapes intact
  std::string path;            // percent-decoded path, used for routing
  Query query;
  Headers headers;
  std::string body;
  std::string remote_address;  // "ip" of the peer
  std::map<std::string, std::string, std::less<>> params;  // filled by the router

  // A route parameter ("" when the route has none of that name).
  std::string_view param(std::string_view name) const;
};

// A response body sent as it is produced, with chunked transfer encoding
// (/v1/agent/monitor). The server asks for one piece at a time and writes it
// before it asks again; the connection closes after the last piece.
class BodyStream {
 public:
  using Deliver = std::function<void(std::optional<std::string> piece)>;
  virtual ~BodyStream() = default;
  // Calls `deliver` once, now or later and from any thread, with the next
  // piece of the body, or with nullopt when the body is complete.
  virtual void next(Deliver deliver) = 0;
  // The client went away or the server is stopping: no more next() calls;
  // a pending `deliver` may still be called and is ignored.
  virtual void cancel() = 0;
};

struct Response {
  int status = 200;
  Headers headers;
  std::string body;
  // When set, `body` is ignored and the body comes from the stream.
  std::shared_ptr<BodyStream> stream;

  // body is JSON text; sets Content-Type: application/json.
  static Response json(std::string body, int status = 200);
  static Response text(std::string body, int status = 200);
  // A plain-text error, one line, as Consul answers.
  static Response error(int status, std::string message);
};

// Hands a handler's response back to the connection, now or later (long
// polls). Copies share one response slot: the first respond() wins, later ones
// are ignored. If every copy is dropped without a response the connection gets
// "500 handler did not respond" — a handler bug never hangs a client.
//
// Thread-safety: respond() may be called from any thread; the sink given by
// the server posts to the connection's strand.
class Responder {
 public:
  using Sink = std::function<void(Response)>;
  explicit Responder(Sink sink);

  void respond(Response response) const;
  bool responded() const;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace cairn::http
