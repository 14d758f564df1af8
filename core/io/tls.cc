#include "core/io/tls.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <fstream>

#include "core/io/stream.h"

namespace cairn::io {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;

struct TlsConfig::Impl {
  Impl() : client(ssl::context::tls_client), server(ssl::context::tls_server) {}
  TlsSettings settings;
  std::vector<std::string> names;
  bool has_cert = false;
  ssl::context client;
  ssl::context server;
};

namespace {

std::string strip_dot(std::string d) {
  while (!d.empty() && d.back() == '.') d.pop_back();
  return d;
}

Status readable(const std::string& field, const std::string& path) {
  std::ifstream f(path);
  if (!f) return Error(errc::invalid_argument, "tls." + field + ": cannot read \"" + path + "\"");
  return {};
}

// The message of the last OpenSSL error (or of `ec`).
std::string why(const boost::system::error_code& ec) {
  unsigned long e = ERR_peek_last_error();
  ERR_clear_error();
  if (e == 0) return ec.message();
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

Status setup(ssl::context& ctx, const TlsSettings& s, bool server) {
  boost::system::error_code ec;
  auto fail = [&](const std::string& field, const std::string& path) -> Status {
    return Error(errc::invalid_argument, "tls." + field + ": cannot load \"" + path + "\": " + why(ec));
  };
  SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_2_VERSION);
  ctx.set_options(ssl::context::default_workarounds | ssl::context::no_compression, ec);
  if (!s.cert_file.empty()) {
    ctx.use_certificate_chain_file(s.cert_file, ec);
    if (ec) return fail("cert_file", s.cert_file);
    ctx.use_private_key_file(s.key_file, ssl::context::pem, ec);
    if (ec) return fail("key_file", s.key_file);
    if (SSL_CTX_check_private_key(ctx.native_handle()) != 1) {
      ERR_clear_error();
      return Error(errc::invalid_argument, "tls.key_file: \"" + s.key_file + "\" does not match tls.cert_file");
    }
  }
  if (!s.ca_file.empty()) {
    ctx.load_verify_file(s.ca_file, ec);
    if (ec) return fail("ca_file", s.ca_file);
  }
  if (server) {
    // No session tickets: every connection is long-lived, and a resumed
    // session would skip the client-certificate check's fresh evidence.
    SSL_CTX_set_num_tickets(ctx.native_handle(), 0);
    SSL_CTX_set_session_cache_mode(ctx.native_handle(), SSL_SESS_CACHE_OFF);
    if (!s.ca_file.empty()) {
      STACK_OF(X509_NAME)* cas = SSL_load_client_CA_file(s.ca_file.c_str());
      if (cas) SSL_CTX_set_client_CA_list(ctx.native_handle(), cas);
      ERR_clear_error();
    }
    ctx.set_verify_mode(s.verify_incoming ? ssl::verify_peer | ssl::verify_fail_if_no_peer_cert : ssl::verify_none,
                        ec);
  } else {
    ctx.set_verify_mode(s.verify_outgoing ? ssl::verify_peer : ssl::verify_none, ec);
  }
  return {};
}

}  // namespace

Result<std::shared_ptr<const TlsConfig>> TlsConfig::load(const TlsSettings& in) {
  TlsSettings s = in;
  if (s.verify_server_hostname) s.verify_outgoing = true;  // as Consul since 1.4.4
  bool any = !s.ca_file.empty() || !s.cert_file.empty() || !s.key_file.empty() || s.verify_incoming ||
             s.verify_outgoing;
  if (!any) return std::shared_ptr<const TlsConfig>();
  if (s.cert_file.empty() != s.key_file.empty())
    return Error(errc::invalid_argument, s.cert_file.empty() ? "tls.cert_file: needed with tls.key_file"
                                                             : "tls.key_file: needed with tls.cert_file");
  if ((s.verify_incoming || s.verify_outgoing) && s.ca_file.empty())
    return Error(errc::invalid_argument, std::string("tls.ca_file: needed with ") +
                                             (s.verify_incoming ? "verify_incoming" : "verify_outgoing"));
  if (s.verify_incoming && s.cert_file.empty())
    return Error(errc::invalid_argument, "tls.cert_file: needed with verify_incoming (the server's certificate)");
  for (auto [field, path] : {std::pair<const char*, const std::string*>{"ca_file", &s.ca_file},
                             {"cert_file", &s.cert_file}, {"key_file", &s.key_file}}) {
    if (!path->empty()) CAIRN_RETURN_IF_ERROR(readable(field, *path));
  }
  auto impl = std::make_unique<Impl>();
  CAIRN_RETURN_IF_ERROR(setup(impl->client, s, false));
  CAIRN_RETURN_IF_ERROR(setup(impl->server, s, true));
  impl->has_cert = !s.cert_file.empty();
  std::string dc = s.datacenter.empty() ? "dc1" : s.datacenter;
  std::string domain = strip_dot(s.domain.empty() ? "cairn." : s.domain);
  for (std::string d : {domain, std::string("cairn"), std::string("consul")}) {
    std::string name = "server." + dc + "." + d;
    if (std::find(impl->names.begin(), impl->names.end(), name) == impl->names.end()) impl->names.push_back(name);
  }
  impl->settings = std::move(s);
  return std::shared_ptr<const TlsConfig>(new TlsConfig(std::move(impl)));
}

TlsConfig::TlsConfig(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TlsConfig::~TlsConfig() = default;

const TlsSettings& TlsConfig::settings() const { return impl_->settings; }
bool TlsConfig::dial_tls() const { return impl_->settings.verify_outgoing; }
bool TlsConfig::require_tls() const { return impl_->settings.verify_incoming; }
bool TlsConfig::can_serve_tls() const { return impl_->has_cert; }
bool TlsConfig::check_server_name() const { return impl_->settings.verify_server_hostname; }
const std::vector<std::string>& TlsConfig::server_names() const { return impl_->names; }

// ---- Stream ----

void Stream::start_tls(std::shared_ptr<const TlsConfig> config, Role role) {
  config_ = std::move(config);
  auto& impl = config_->impl();
  ssl_.emplace(socket_, role == Role::client ? impl.client : impl.server);
  if (role == Role::client) {
    SSL* s = ssl_->native_handle();
    SSL_set_tlsext_host_name(s, impl.names.front().c_str());
    if (config_->check_server_name()) {
      // Any of the names will do (X509_check_host over each; RFC 6125 rules,
      // no partial wildcards).
      SSL_set_hostflags(s, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
      SSL_set1_host(s, impl.names.front().c_str());
      for (size_t i = 1; i < impl.names.size(); ++i) SSL_add1_host(s, impl.names[i].c_str());
    }
  }
}

asio::awaitable<boost::system::error_code> Stream::handshake() {
  auto type = SSL_is_server(ssl_->native_handle()) ? ssl::stream_base::server : ssl::stream_base::client;
  auto [ec] = co_await ssl_->async_handshake(type, asio::as_tuple(asio::use_awaitable));
  co_return ec;
}

std::string Stream::verify_error() {
  if (!ssl_) return {};
  long r = SSL_get_verify_result(ssl_->native_handle());
  return r == X509_V_OK ? std::string() : X509_verify_cert_error_string(r);
}

}  // namespace cairn::io
