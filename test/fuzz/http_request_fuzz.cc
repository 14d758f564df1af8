// Fuzz target: raw bytes → Beast's request parser (with the server's limits)
// → to_request (percent-decoding, query parsing) → the router. Nothing on
// this path may crash, hang or answer outside 100–599.
#include <boost/asio/buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <cstdint>
#include <cstdlib>

#include "core/http/router.h"
#include "core/io/http_request.h"

namespace {

cairn::http::Router make_router() {
  using namespace cairn::http;
  Router r;
  auto echo = [](Request& q) {
    std::string out;
    for (const auto& [k, v] : q.params) out += k + "=" + v + ";";
    for (const auto& [k, v] : q.query.items()) out += k + ":" + v + ";";
    (void)q.query.flag("recurse");
    return Response::text(out);
  };
  r.add_sync(Method::get, "/v1/agent/self", echo);
  r.add_sync({Method::get, Method::put, Method::del}, "/v1/kv/<key...>", echo);
  r.add_sync(Method::get, "/v1/catalog/node/<node>", echo);
  r.add_sync({Method::put, Method::get}, "/v1/agent/service/deregister/<id...>", echo);
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace bhttp = boost::beast::http;
  static const cairn::http::Router router = make_router();
  bhttp::request_parser<bhttp::string_body> parser;
  parser.header_limit(8 * 1024);
  parser.body_limit(64 * 1024);
  parser.eager(true);
  boost::beast::error_code ec;
  size_t used = parser.put(boost::asio::buffer(data, size), ec);
  (void)used;
  if (ec || !parser.is_header_done()) return 0;
  if (!parser.is_done()) {
    parser.put_eof(ec);
    if (ec || !parser.is_done()) return 0;
  }
  auto req = cairn::http::to_request(parser.release(), "127.0.0.1");
  if (!req.ok()) return 0;
  int status = 0;
  router.dispatch(*req, cairn::http::Responder([&](cairn::http::Response r) { status = r.status; }));
  if (status < 100 || status > 599) std::abort();
  return 0;
}
