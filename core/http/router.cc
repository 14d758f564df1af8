#include "core/http/router.h"

#include <algorithm>
#include <stdexcept>

namespace cairn::http {

void Router::add(Method method, std::string_view pattern, Handler handler) {
  if (pattern.empty() || pattern[0] != '/') throw std::invalid_argument("route must start with '/': " + std::string(pattern));
  Route route;
  route.method = method;
  route.handler = std::move(handler);
  std::string_view rest = pattern.substr(1);
  while (true) {
    auto slash = rest.find('/');
    std::string_view seg = rest.substr(0, slash);
    if (route.has_tail) throw std::invalid_argument("tail parameter must be last: " + std::string(pattern));
    if (seg.size() > 2 && seg.front() == '<' && seg.back() == '>') {
      std::string_view name = seg.substr(1, seg.size() - 2);
      if (name.size() > 3 && name.substr(name.size() - 3) == "...") {
        route.segments.push_back({Segment::tail, std::string(name.substr(0, name.size() - 3))});
        route.has_tail = true;
      } else {
        route.segments.push_back({Segment::param, std::string(name)});
      }
    } else {
      route.segments.push_back({Segment::literal, std::string(seg)});
      ++route.literal_count;
    }
    if (slash == std::string_view::npos) break;
    rest = rest.substr(slash + 1);
  }
  routes_.push_back(std::move(route));
}

void Router::add(std::initializer_list<Method> methods, std::string_view pattern, Handler handler) {
  for (Method m : methods) add(m, pattern, handler);
}

void Router::add_sync(Method method, std::string_view pattern, SyncHandler handler) {
  add(method, pattern, [h = std::move(handler)](Request& req, Responder responder) { responder.respond(h(req)); });
}

void Router::add_sync(std::initializer_list<Method> methods, std::string_view pattern, SyncHandler handler) {
  for (Method m : methods) add_sync(m, pattern, handler);
}

bool Router::match_route(const Route& route, std::string_view path,
                         std::map<std::string, std::string, std::less<>>* params) {
  if (path.empty() || path[0] != '/') return false;
  std::string_view rest = path.substr(1);
  for (size_t i = 0; i < route.segments.size(); ++i) {
    const Segment& seg = route.segments[i];
    if (seg.kind == Segment::tail) {
      if (params) (*params)[seg.text] = std::string(rest);
      return true;
    }
    bool last = i + 1 == route.segments.size();
    auto slash = rest.find('/');
    std::string_view piece = rest.substr(0, slash);
    if (seg.kind == Segment::literal) {
      if (piece != seg.text) return false;
    } else {
      if (piece.empty()) return false;
      if (params) (*params)[seg.text] = std::string(piece);
    }
    if (last) return slash == std::string_view::npos;
    if (slash == std::string_view::npos) {
      // The path ended; only an (empty) tail may follow... but a tail needs the
      // separating '/', as /v1/kv/ does.
      return false;
    }
    rest = rest.substr(slash + 1);
  }
  return rest.empty();
}

Router::Match Router::match(Request& request) const {
  Match m;
  const Route* best = nullptr;
  for (const Route& route : routes_) {
    if (!match_route(route, request.path, nullptr)) continue;
    if (std::find(m.allowed.begin(), m.allowed.end(), route.method) == m.allowed.end()) m.allowed.push_back(route.method);
    if (route.method != request.method) continue;
    if (!best || route.literal_count > best->literal_count ||
        (route.literal_count == best->literal_count && best->has_tail && !route.has_tail)) {
      best = &route;
    }
  }
  if (best) {
    request.params.clear();
    match_route(*best, request.path, &request.params);
    m.handler = &best->handler;
  }
  std::sort(m.allowed.begin(), m.allowed.end());
  return m;
}

void Router::dispatch(Request& request, Responder responder) const {
  Match m = match(request);
  if (m.handler) {
    (*m.handler)(request, std::move(responder));
    return;
  }
  if (m.allowed.empty()) {
    responder.respond(Response::error(404, "Not found: " + request.path));
    return;
  }
  std::string allow;
  for (Method method : m.allowed) {
    if (!allow.empty()) allow += ", ";
    allow += method_name(method);
  }
  allow += ", OPTIONS";
  if (request.method == Method::options) {
    Response r;
    r.status = 200;
    r.headers.set("Allow", allow);
    responder.respond(std::move(r));
    return;
  }
  Response r = Response::error(405, "method " + request.method_text + " not allowed");
  r.headers.set("Allow", allow);
  responder.respond(std::move(r));
}

}  // namespace cairn::http
