// The probes' shared plumbing (guard, TLS contexts, process table, address
// parsing, connect) and the TCP and UDP probes.
#include <signal.h>
#include <sys/wait.h>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/url/parse.hpp>

#include "agent/checks/probe.h"
#include "core/duration.h"

namespace cairn::agent::checks {

namespace asio = boost::asio;
using asio::ip::tcp;
using asio::ip::udp;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

ProbeGuard::Registration::Registration(ProbeGuard& guard, std::function<void()> action)
    : guard_(guard), id_(guard.next_++) {
  if (guard_.fired_) {
    action();  // fired before this I/O began: cancel it at once
  } else {
    guard_.actions_.emplace(id_, std::move(action));
  }
}

ProbeGuard::Registration::~Registration() { guard_.actions_.erase(id_); }

void ProbeGuard::fire(bool timed_out) {
  if (fired_) return;
  fired_ = true;
  timed_out_ = timed_out;
  auto actions = std::move(actions_);
  actions_.clear();
  for (auto& [id, action] : actions) action();
}

asio::ssl::context& TlsContexts::get(bool skip_verify, bool h2) {
  int key = (skip_verify ? 1 : 0) | (h2 ? 2 : 0);
  auto& slot = contexts_[key];
  if (!slot) {
    slot = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
    if (skip_verify) {
      slot->set_verify_mode(asio::ssl::verify_none);
    } else {
      boost::system::error_code ec;
      slot->set_default_verify_paths(ec);  // no CA store: every verification fails, as it should
      slot->set_verify_mode(asio::ssl::verify_peer);
    }
    if (h2) {
      static const unsigned char kAlpn[] = {2, 'h', '2'};
      SSL_CTX_set_alpn_protos(slot->native_handle(), kAlpn, sizeof kAlpn);
    }
  }
  return *slot;
}

void ProcessTable::add(int pgid) {
  std::lock_guard lock(mu_);
  groups_.insert(pgid);
}

void ProcessTable::remove(int pgid) {
  std::lock_guard lock(mu_);
  groups_.erase(pgid);
}

void ProcessTable::kill_all() {
  std::set<int> groups;
  {
    std::lock_guard lock(mu_);
    groups.swap(groups_);
  }
  for (int pgid : groups) {
    ::kill(-pgid, SIGKILL);
    int status = 0;
    ::waitpid(pgid, &status, 0);  // the leader's pid is the group id
  }
}

Result<HostPort> split_host_port(const std::string& text, const std::string& field) {
  HostPort hp;
  std::string rest;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return Error(errc::invalid_argument, field + ": \"" + text + "\" is not host:port");
    }
    hp.host = text.substr(1, close - 1);
    rest = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string::npos || text.find(':') != colon) {
      return Error(errc::invalid_argument, field + ": \"" + text + "\" is not host:port");
    }
    hp.host = text.substr(0, colon);
    rest = text.substr(colon + 1);
  }
  bool numeric = !rest.empty() && rest.size() <= 5 && rest.find_first_not_of("0123456789") == std::string::npos;
  if (hp.host.empty() || !numeric || std::stoi(rest) == 0 || std::stoi(rest) > 65535) {
    return Error(errc::invalid_argument, field + ": \"" + text + "\" is not host:port");
  }
  hp.port = rest;
  return hp;
}

Status validate_target(const std::string& kind, const api::HealthCheckDefinition& d) {
  auto check_host_port = [](const std::string& text, const std::string& field) -> Status {
    auto hp = split_host_port(text, field);
    if (!hp.ok()) return hp.error();
    return ok_status();
  };
  if (kind == "tcp") return check_host_port(d.tcp, "TCP");
  if (kind == "udp") return check_host_port(d.udp, "UDP");
  if (kind == "h2ping") return check_host_port(d.h2ping, "H2PING");
  if (kind == "grpc") return check_host_port(d.grpc.substr(0, d.grpc.find('/')), "GRPC");
  if (kind == "http") {
    auto url = boost::urls::parse_uri(d.http);
    if (!url || (url->scheme() != "http" && url->scheme() != "https") || url->host().empty()) {
      return Error(errc::invalid_argument, "HTTP: \"" + d.http + "\" is not an http:// or https:// URL");
    }
    // What goes on the wire must not break the request apart (RFC 9110 §5.6.2 tokens).
    auto is_token = [](const std::string& t) {
      return !t.empty() && t.find_first_not_of("!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") ==
                               std::string::npos;
    };
    if (!d.method.empty() && !is_token(d.method)) {
      return Error(errc::invalid_argument, "Method: \"" + d.method + "\" is not an HTTP method");
    }
    for (const auto& [name, values] : d.header) {
      if (!is_token(name)) return Error(errc::invalid_argument, "Header: \"" + name + "\" is not a header name");
      for (const auto& v : values) {
        if (v.find_first_of(std::string("\r\n\0", 3)) != std::string::npos) {
          return Error(errc::invalid_argument, "Header: the value of \"" + name + "\" holds a line break or NUL");
        }
      }
    }
  }
  return ok_status();
}

std::string failure_text(const ProbeContext& pc, const boost::system::error_code& ec) {
  if (pc.guard->timed_out()) return "timed out after " + format_duration(pc.timeout);
  return ec.message();
}

asio::awaitable<boost::system::error_code> connect_tcp(ProbeContext& pc, tcp::socket& socket, const std::string& host,
                                                       const std::string& port) {
  ProbeGuard::Registration stop_connect(*pc.guard, [&] {
    boost::system::error_code ignored;
    socket.close(ignored);
  });
  boost::system::error_code cec;
  boost::system::error_code not_ip;
  auto ip = asio::ip::make_address(host, not_ip);
  if (!not_ip) {
    // An address needs no resolver (whose async form runs on a helper thread).
    std::tie(cec) = co_await socket.async_connect(tcp::endpoint(ip, static_cast<unsigned short>(std::stoi(port))), kTuple);
  } else {
    tcp::resolver resolver(pc.ex);
    ProbeGuard::Registration stop_resolve(*pc.guard, [&] { resolver.cancel(); });
    auto [rec, endpoints] = co_await resolver.async_resolve(host, port, kTuple);
    if (rec) co_return rec;
    tcp::endpoint ep;
    std::tie(cec, ep) = co_await asio::async_connect(socket, endpoints, kTuple);
  }
  if (!cec && pc.guard->fired()) co_return asio::error::operation_aborted;
  co_return cec;
}

asio::awaitable<Outcome> probe_tcp(ProbeContext& pc, const api::HealthCheckDefinition& d) {
  auto hp = split_host_port(d.tcp, "TCP");
  if (!hp.ok()) co_return Outcome{std::string(api::kHealthCritical), hp.error().detail()};
  tcp::socket socket(pc.ex);
  auto ec = co_await connect_tcp(pc, socket, hp->host, hp->port);
  if (ec) co_return Outcome{std::string(api::kHealthCritical), "TCP connect " + d.tcp + ": " + failure_text(pc, ec)};
  co_return Outcome{std::string(api::kHealthPassing), "TCP connect " + d.tcp + ": Success"};
}

// Consul's CheckUDP: send a datagram on a connected socket and wait for
// anything back. An ICMP port-unreachable surfaces as ECONNREFUSED on the
// receive (critical); silence until the deadline is passing, since most UDP
// services do not answer a stray "\n".
asio::awaitable<Outcome> probe_udp(ProbeContext& pc, const api::HealthCheckDefinition& d) {
  auto hp = split_host_port(d.udp, "UDP");
  if (!hp.ok()) co_return Outcome{std::string(api::kHealthCritical), hp.error().detail()};
  auto fail = [&](const boost::system::error_code& ec) {
    return Outcome{std::string(api::kHealthCritical), "UDP connect " + d.udp + ": " + failure_text(pc, ec)};
  };
  udp::resolver resolver(pc.ex);
  udp::socket socket(pc.ex);
  ProbeGuard::Registration stop(*pc.guard, [&] {
    resolver.cancel();
    boost::system::error_code ignored;
    socket.close(ignored);
  });
  auto [rec, endpoints] = co_await resolver.async_resolve(hp->host, hp->port, kTuple);
  if (rec) co_return fail(rec);
  auto [cec, ep] = co_await asio::async_connect(socket, endpoints, kTuple);
  if (cec) co_return fail(cec);
  auto [sec, sent] = co_await socket.async_send(asio::buffer("\n", 1), kTuple);
  if (sec) co_return fail(sec);
  char byte = 0;
  auto [ec, n] = co_await socket.async_receive(asio::buffer(&byte, 1), kTuple);
  if (ec && !pc.guard->timed_out()) co_return fail(ec);
  co_return Outcome{std::string(api::kHealthPassing), "UDP connect " + d.udp + ": Success"};
}

}  // namespace cairn::agent::checks
