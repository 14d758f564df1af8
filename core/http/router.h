// Routes requests by method and path.
//
// Patterns are literal segments, named parameters and at most one trailing
// tail parameter that may contain '/':
//   /v1/agent/self
//   /v1/catalog/node/<node>
//   /v1/kv/<key...>           (matches /v1/kv/ too, with key "")
// Paths are matched after percent-decoding, so /v1/kv/a%2Fb gives key "a/b".
// When several patterns match, the one with more literal segments wins, then
// the one without a tail. A path that matches only under other methods gets
// 405 with Allow; OPTIONS gets 200 with Allow; nothing matching gets 404.
//
// Thread-safety: build the table at start-up, then dispatch() from any
// thread (it only reads).
#pragma once

#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "core/http/message.h"

namespace cairn::http {

using Handler = std::function<void(Request& request, Responder responder)>;
using SyncHandler = std::function<Response(Request& request)>;

class Router {
 public:
  // Throws std::invalid_argument on a malformed pattern (a start-up bug).
  void add(Method method, std::string_view pattern, Handler handler);
  void add(std::initializer_list<Method> methods, std::string_view pattern, Handler handler);
  void add_sync(Method method, std::string_view pattern, SyncHandler handler);
  void add_sync(std::initializer_list<Method> methods, std::string_view pattern, SyncHandler handler);

  void dispatch(Request& request, Responder responder) const;

  struct Match {
    const Handler* handler = nullptr;  // null: see allowed
    std::vector<Method> allowed;       // methods whose routes match the path
  };
  // Fills request.params on a match.
  Match match(Request& request) const;

 private:
  struct Segment {
    enum Kind { literal, param, tail } kind;
    std::string text;  // literal text or parameter name
  };
  struct Route {
    Method method;
    std::vector<Segment> segments;
    int literal_count = 0;
    bool has_tail = false;
    Handler handler;
  };
  static bool match_route(const Route& route, std::string_view path,
                          std::map<std::string, std::string, std::less<>>* params);

  std::vector<Route> routes_;
};

}  // namespace cairn::http
