#include "api/io/http_client.h"

#include "core/strings.h"

#include <cctype>

#include "core/io/pch.h"

namespace cairn::api {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

Result<HttpAddress> HttpAddress::parse(std::string_view text) {
  std::string_view s = text;
  if (s.rfind("https://", 0) == 0) return Error(errc::invalid_argument, "https addresses are not supported yet: " + std::string(text));
  if (s.rfind("http://", 0) == 0) s.remove_prefix(7);
  while (!s.empty() && s.back() == '/') s.remove_suffix(1);
  if (s.empty()) return Error(errc::invalid_argument, "empty HTTP address");
  HttpAddress a;
  std::string_view host = s;
  std::string_view port;
  if (s.front() == '[') {  // [::1]:8500
    auto close = s.find(']');
    if (close == std::string_view::npos) return Error(errc::invalid_argument, "invalid HTTP address \"" + std::string(text) + "\"");
    host = s.substr(1, close - 1);
    if (close + 1 < s.size()) {
      if (s[close + 1] != ':') return Error(errc::invalid_argument, "invalid HTTP address \"" + std::string(text) + "\"");
      port = s.substr(close + 2);
    }
  } else if (auto colon = s.rfind(':'); colon != std::string_view::npos && s.find(':') == colon) {
    host = s.substr(0, colon);
    port = s.substr(colon + 1);
  }
  a.host = std::string(host);
  if (!port.empty()) {
    unsigned long v = 0;
    for (char c : port) {
      if (!std::isdigit(static_cast<unsigned char>(c)) || (v = v * 10 + static_cast<unsigned long>(c - '0')) > 65535)
        return Error(errc::invalid_argument, "invalid port in HTTP address \"" + std::string(text) + "\"");
    }
    a.port = static_cast<uint16_t>(v);
  }
  if (a.host.empty()) return Error(errc::invalid_argument, "invalid HTTP address \"" + std::string(text) + "\"");
  return a;
}

std::string HttpResult::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (equal_fold(k, name)) return v;
  }
  return {};
}

Result<HttpResult> HttpClient::request(const std::string& method, const std::string& target, const std::string& body,
                                       Duration timeout) const {
  asio::io_context io;
  beast::tcp_stream stream(io);
  tcp::resolver resolver(io);
  bhttp::request<bhttp::string_body> req{bhttp::string_to_verb(method), target, 11};
  req.set(bhttp::field::host, address_.host);
  req.set(bhttp::field::user_agent, "cairn");
  if (!token_.empty()) req.set("X-Consul-Token", token_);
  req.body() = body;
  req.prepare_payload();
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(256u << 20);
  beast::flat_buffer buffer;
  beast::error_code failure;
  std::string stage = "resolving";

  // Every step runs under one deadline on a private io_context.
  resolver.async_resolve(address_.host, std::to_string(address_.port), [&](auto ec, tcp::resolver::results_type results) {
    if (ec) return void(failure = ec);
    stage = "connecting to";
    stream.expires_after(timeout);
    stream.async_connect(results, [&](auto ec2, auto) {
      if (ec2) return void(failure = ec2);
      stage = "sending to";
      bhttp::async_write(stream, req, [&](auto ec3, size_t) {
        if (ec3) return void(failure = ec3);
        stage = "reading from";
        bhttp::async_read(stream, buffer, parser, [&](auto ec4, size_t) {
          if (ec4) failure = ec4;
          stage = "done";
        });
      });
    });
  });
  io.run_for(timeout);
  if (stage != "done" && !failure) failure = beast::error::timeout;
  if (failure) {
    return Error(errc::unavailable, "error " + stage + " " + address_.to_string() + ": " + failure.message());
  }
  HttpResult out;
  auto& res = parser.get();
  out.status = static_cast<int>(res.result_int());
  for (const auto& f : res) out.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
  out.body = std::move(res.body());
  return out;
}

Result<HttpResult> HttpClient::stream(const std::string& target, const std::function<bool(std::string_view)>& on_piece,
                               Duration timeout) const {
  asio::io_context io;
  beast::tcp_stream stream(io);
  tcp::resolver resolver(io);
  beast::error_code ec;
  auto fail = [&](const char* stage) {
    return Error(errc::unavailable, std::string("error ") + stage + " " + address_.to_string() + ": " + ec.message());
  };
  auto results = resolver.resolve(address_.host, std::to_string(address_.port), ec);
  if (ec) return fail("resolving");
  stream.expires_after(timeout);
  stream.connect(results, ec);
  if (ec) return fail("connecting to");
  bhttp::request<bhttp::empty_body> req{bhttp::verb::get, target, 11};
  req.set(bhttp::field::host, address_.host);
  req.set(bhttp::field::user_agent, "cairn");
  if (!token_.empty()) req.set("X-Consul-Token", token_);
  bhttp::write(stream, req, ec);
  if (ec) return fail("sending to");
  beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::buffer_body> parser;
  parser.body_limit(boost::none);
  bhttp::read_header(stream, buffer, parser, ec);
  if (ec) return fail("reading from");
  stream.expires_never();
  HttpResult out;
  out.status = static_cast<int>(parser.get().result_int());
  for (const auto& f : parser.get()) out.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
  char chunk[8192];
  while (!parser.is_done()) {
    parser.get().body().data = chunk;
    parser.get().body().size = sizeof chunk;
    bhttp::read_some(stream, buffer, parser, ec);  // returns with what arrived, not a full buffer
    if (ec == bhttp::error::need_buffer) ec = {};
    if (ec) break;  // the agent went away: the stream is over
    size_t n = sizeof chunk - parser.get().body().size;
    if (out.status != 200) {
      out.body.append(chunk, n);
      if (out.body.size() > (1u << 20)) break;
    } else if (n > 0 && !on_piece(std::string_view(chunk, n))) {
      break;
    }
  }
  return out;
}

}  // namespace cairn::api
