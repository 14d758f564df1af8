#include "agent/agent.h"

#include <fcntl.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "agent/http/endpoints.h"
#include "core/io/http_server.h"
#include "core/io/runtime.h"
#include "core/log.h"

namespace cairn::agent {

namespace fs = std::filesystem;

namespace {

std::string random_uuid() {
  unsigned char b[16];
  int fd = ::open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  bool ok = fd >= 0 && ::read(fd, b, sizeof b) == static_cast<ssize_t>(sizeof b);
  if (fd >= 0) ::close(fd);
  if (!ok) {
    std::random_device rd;
    for (auto& x : b) x = static_cast<unsigned char>(rd());
  }
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);  // version 4
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);  // RFC 4122 variant
  static const char* hex = "0123456789abcdef";
  std::string s;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) s.push_back('-');
    s.push_back(hex[b[i] >> 4]);
    s.push_back(hex[b[i] & 15]);
  }
  return s;
}

// Loads the node id kept in the data dir, or makes one and keeps it.
Result<std::string> load_or_create_node_id(const std::string& data_dir) {
  fs::path p = fs::path(data_dir) / "node-id";
  std::ifstream in(p);
  if (in) {
    std::string id;
    std::getline(in, id);
    if (id.size() == 36) return id;
    return Error(errc::parse_error, p.string() + ": not a node id");
  }
  std::string id = random_uuid();
  fs::path tmp = p;
  tmp += ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << id << "\n";
    if (!out) return Error(errc::io_error, "cannot write " + tmp.string());
  }
  std::error_code ec;
  fs::rename(tmp, p, ec);  // atomic: never a half-written id
  if (ec) return Error(errc::io_error, "cannot write " + p.string() + ": " + ec.message());
  return id;
}

}  // namespace

struct Agent::Impl {
  Config config;
  std::function<void()> shutdown_request;
  std::unique_ptr<http::EndpointContext> endpoints;
  bool remove_data_dir = false;
  http::Router router;
  std::unique_ptr<http::Server> server;
  std::vector<std::string> http_addresses;
};

Agent::Agent(Config config) : impl_(std::make_unique<Impl>()) { impl_->config = std::move(config); }

Agent::~Agent() {
  if (impl_->remove_data_dir) {
    std::error_code ec;
    fs::remove_all(impl_->config.data_dir, ec);
  }
}

void Agent::set_shutdown_request(std::function<void()> fn) { impl_->shutdown_request = std::move(fn); }

const Config& Agent::config() const { return impl_->config; }
const std::vector<std::string>& Agent::http_addresses() const { return impl_->http_addresses; }

Status Agent::start(Runtime& runtime) {
  Config& c = impl_->config;
  if (c.data_dir.empty() && c.dev) {
    std::string tmpl = (fs::temp_directory_path() / "cairn-dev-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) return Error(errc::io_error, "cannot create a temporary data dir");
    c.data_dir = tmpl;
    impl_->remove_data_dir = true;
  }
  std::error_code ec;
  fs::create_directories(c.data_dir, ec);
  if (ec) return Error(errc::io_error, "data_dir: cannot create " + c.data_dir + ": " + ec.message());
  if (c.node_id.empty()) {
    CAIRN_TRY(c.node_id, load_or_create_node_id(c.data_dir));
  }

  impl_->endpoints = std::make_unique<http::EndpointContext>(http::EndpointContext{c, impl_->shutdown_request});
  http::register_endpoints(impl_->router, *impl_->endpoints);

  if (c.http_port < 0) {
    log::info("agent", "HTTP API disabled (ports.http = -1)");
    return {};
  }
  http::ServerOptions o;
  o.max_conns_per_client = c.limits.http_max_conns_per_client;
  o.read_timeout = c.limits.http_read_timeout;
  o.idle_timeout = c.limits.http_idle_timeout;
  o.max_body_bytes = static_cast<size_t>(c.limits.http_max_body_bytes);
  o.max_header_bytes = static_cast<size_t>(c.limits.http_max_header_bytes);
  impl_->server = std::make_unique<http::Server>(runtime.io(), impl_->router, o);
  for (const auto& addr : c.client_addr) {
    CAIRN_TRY(uint16_t port, impl_->server->listen(addr, static_cast<uint16_t>(c.http_port)));
    std::string shown = addr.find(':') != std::string::npos ? "[" + addr + "]" : addr;
    impl_->http_addresses.push_back(shown + ":" + std::to_string(port));
    log::info("agent", "Started HTTP server on {}:{} (tcp)", shown, port);
  }
  impl_->server->start();
  log::info("agent", "agent started: node={} id={} datacenter={} data_dir={}", c.node_name, c.node_id, c.datacenter,
            c.data_dir);
  return {};
}

void Agent::shutdown(std::function<void()> done) {
  if (!impl_->server) {
    done();
    return;
  }
  impl_->server->shutdown(impl_->config.limits.shutdown_grace, std::move(done));
}

}  // namespace cairn::agent
