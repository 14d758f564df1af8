// The HTTP and HTTPS probe (Consul's CheckHTTP): one request per run, no
// keep-alive; redirects followed only on the same scheme, host and port (at
// most 10), never to another host; 2xx passing, 429 warning, else critical.
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>

#include "agent/checks/probe_stream.h"

namespace cairn::agent::checks {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace urls = boost::urls;
using asio::ip::tcp;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

namespace {

constexpr int kMaxRedirects = 10;

struct Response {
  unsigned code = 0;
  std::string reason;
  std::string body;
  std::string location;
};

struct Target {
  bool tls = false;
  std::string host;       // without brackets, for resolving and SNI
  std::string port;       // explicit or the scheme's default
  std::string authority;  // Host header
  std::string path;       // origin-form target
};

Result<Target> target_of(const urls::url_view& u) {
  Target t;
  if (u.scheme() == "https") {
    t.tls = true;
  } else if (u.scheme() != "http") {
    return Error(errc::invalid_argument, "HTTP: scheme must be http or https");
  }
  t.host = u.host_address();
  if (t.host.empty()) return Error(errc::invalid_argument, "HTTP: URL has no host");
  t.port = u.has_port() ? std::string(u.port()) : (t.tls ? "443" : "80");
  t.authority = u.encoded_host_and_port();
  t.path = u.encoded_target().empty() ? "/" : std::string(u.encoded_target());
  if (t.path.front() != '/') t.path = "/" + t.path;
  return t;
}

template <typename Stream>
asio::awaitable<boost::system::error_code> exchange(ProbeContext& pc, Stream& stream, const http::request<http::string_body>& req,
                                                   Response& out) {
  auto [wec, wn] = co_await http::async_write(stream, req, kTuple);
  if (wec) co_return wec;
  beast::flat_buffer buffer;
  http::response_parser<http::buffer_body> parser;
  parser.body_limit(boost::none);
  if (req.method() == http::verb::head) parser.skip(true);
  auto [hec, hn] = co_await http::async_read_header(stream, buffer, parser, kTuple);
  if (hec) co_return hec;
  const auto& head = parser.get();
  out.code = head.result_int();
  out.reason = std::string(head.reason());
  if (auto it = head.find(http::field::location); it != head.end()) out.location = std::string(it->value());
  const size_t max = static_cast<size_t>(pc.output_max_size > 0 ? pc.output_max_size : 4096);
  char chunk[4096];
  // Only the first output_max_size bytes matter: stop reading there.
  while (!parser.is_done() && out.body.size() < max) {
    parser.get().body().data = chunk;
    parser.get().body().size = sizeof chunk;
    auto [rec, rn] = co_await http::async_read(stream, buffer, parser, kTuple);
    if (rec == http::error::need_buffer) rec = {};
    size_t got = sizeof chunk - parser.get().body().size;
    out.body.append(chunk, std::min(got, max - out.body.size()));
    if (rec == http::error::end_of_stream || rec == http::error::partial_message) break;
    if (rec) co_return rec;
  }
  co_return boost::system::error_code{};
}

asio::awaitable<boost::system::error_code> fetch(ProbeContext& pc, const api::HealthCheckDefinition& d, const Target& t,
                                                http::request<http::string_body>& req, Response& out) {
  Endpoint ep{t.host, t.port, t.tls, d.tls_skip_verify, d.tls_server_name, false};
  co_return co_await with_connection(pc, ep, [&](auto& stream) { return exchange(pc, stream, req, out); });
}

bool is_redirect(unsigned code) { return code == 301 || code == 302 || code == 303 || code == 307 || code == 308; }

}  // namespace

asio::awaitable<Outcome> probe_http(ProbeContext& pc, const api::HealthCheckDefinition& d) {
  std::string method = d.method.empty() ? "GET" : d.method;
  const std::string prefix = "HTTP " + method + " " + d.http + ": ";
  auto critical = [&](const std::string& text) { return Outcome{std::string(api::kHealthCritical), prefix + text}; };
  auto parsed = urls::parse_uri(d.http);
  if (!parsed) co_return critical("invalid URL");
  urls::url current(*parsed);
  std::string body = d.body;
  Response r;
  for (int hops = 0;; ++hops) {
    auto t = target_of(current);
    if (!t.ok()) co_return critical(t.error().detail());
    http::request<http::string_body> req;
    req.method_string(method);
    req.target(t->path);
    req.version(11);
    req.set(http::field::host, t->authority);
    req.set(http::field::user_agent, "Consul Health Check");
    req.set(http::field::accept, "text/plain, text/*, */*");
    for (const auto& [name, values] : d.header) {
      req.erase(name);  // the definition's headers replace the defaults
      for (const auto& v : values) req.insert(name, v);
    }
    req.set(http::field::connection, "close");
    if (!body.empty()) req.body() = body;
    req.prepare_payload();
    r = Response{};
    auto ec = co_await fetch(pc, d, *t, req, r);
    if (ec) co_return critical(failure_text(pc, ec));
    if (d.disable_redirects || !is_redirect(r.code) || r.location.empty()) break;
    auto ref = urls::parse_uri_reference(r.location);
    if (!ref) break;
    urls::url next;
    if (!urls::resolve(current, *ref, next)) break;
    auto nt = target_of(next);
    // Never to another host (DESIGN.md "Security defaults"): the redirect
    // itself is the answer then.
    if (!nt.ok() || nt->tls != t->tls || nt->host != t->host || nt->port != t->port) break;
    if (hops + 1 >= kMaxRedirects) co_return critical("stopped after 10 redirects");
    if (r.code == 303 || ((r.code == 301 || r.code == 302) && method == "POST")) {
      method = "GET";
      body.clear();
    }
    current = next;
  }
  std::string status = (r.code >= 200 && r.code < 300) ? std::string(api::kHealthPassing)
                       : r.code == 429                 ? std::string(api::kHealthWarning)
                                                       : std::string(api::kHealthCritical);
  co_return Outcome{status, prefix + std::to_string(r.code) + " " + r.reason + " Output: " + r.body};
}

}  // namespace cairn::agent::checks
