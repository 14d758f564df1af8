#include "core/io/http_request.h"

namespace cairn::http {

Result<Request> to_request(boost::beast::http::request<boost::beast::http::string_body>&& raw, std::string remote) {
  Request req;
  req.method_text = std::string(raw.method_string());
  req.method = parse_method(req.method_text);
  req.target = std::string(raw.target());
  req.remote_address = std::move(remote);
  std::string_view target = req.target;
  if (target.empty() || target[0] != '/') return Error(errc::invalid_argument, "Invalid URL path: " + req.target);
  auto qpos = target.find('?');
  auto path = percent_decode(target.substr(0, qpos));
  if (!path.ok()) return Error(errc::invalid_argument, "Invalid URL path: " + path.error().message());
  if (qpos != std::string_view::npos) {
    auto query = Query::parse(target.substr(qpos + 1));
    if (!query.ok()) return Error(errc::invalid_argument, "Invalid query: " + query.error().message());
    req.query = std::move(query).value();
  }
  req.path = std::move(path).value();
  for (const auto& field : raw) req.headers.add(std::string(field.name_string()), std::string(field.value()));
  req.body = std::move(raw.body());
  return req;
}

}  // namespace cairn::http
