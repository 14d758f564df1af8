#include "core/http/message.h"

#include <atomic>

#include "core/strings.h"

namespace cairn::http {

std::string_view method_name(Method m) {
  switch (m) {
    case Method::get: return "GET";
    case Method::head: return "HEAD";
    case Method::post: return "POST";
    case Method::put: return "PUT";
    case Method::del: return "DELETE";
    case Method::patch: return "PATCH";
    case Method::options: return "OPTIONS";
    case Method::other: return "OTHER";
  }
  return "OTHER";
}

Method parse_method(std::string_view t) {
  if (t == "GET") return Method::get;
  if (t == "HEAD") return Method::head;
  if (t == "POST") return Method::post;
  if (t == "PUT") return Method::put;
  if (t == "DELETE") return Method::del;
  if (t == "PATCH") return Method::patch;
  if (t == "OPTIONS") return Method::options;
  return Method::other;
}

std::optional<std::string> Headers::get(std::string_view name) const {
  for (const auto& [k, v] : items_)
    if (equal_fold(k, name)) return v;
  return std::nullopt;
}

void Headers::set(std::string name, std::string value) {
  for (auto& [k, v] : items_) {
    if (equal_fold(k, name)) {
      v = std::move(value);
      return;
    }
  }
  items_.emplace_back(std::move(name), std::move(value));
}

void Headers::add(std::string name, std::string value) { items_.emplace_back(std::move(name), std::move(value)); }

std::string_view Request::param(std::string_view name) const {
  auto it = params.find(name);
  return it == params.end() ? std::string_view{} : std::string_view(it->second);
}

namespace {
Response typed(std::string body, int status, const char* content_type) {
  Response r;
  r.status = status;
  r.headers.set("Content-Type", content_type);
  r.body = std::move(body);
  return r;
}
}  // namespace

Response Response::json(std::string body, int status) { return typed(std::move(body), status, "application/json"); }

Response Response::text(std::string body, int status) {
  return typed(std::move(body), status, "text/plain; charset=utf-8");
}

Response Response::error(int status, std::string message) {
  if (message.empty() || message.back() != '\n') message.push_back('\n');
  return text(std::move(message), status);
}

struct Responder::State {
  Sink sink;
  std::atomic<bool> done{false};
  ~State() {
    if (!done.exchange(true) && sink) sink(Response::error(500, "handler did not respond"));
  }
};

Responder::Responder(Sink sink) : state_(std::make_shared<State>()) { state_->sink = std::move(sink); }

void Responder::respond(Response response) const {
  if (state_->done.exchange(true)) return;
  state_->sink(std::move(response));
}

bool Responder::responded() const { return state_->done.load(); }

}  // namespace cairn::http
