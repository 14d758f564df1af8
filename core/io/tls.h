// TLS on the server port (8300): the loaded CA, certificate and key, and
// what the agent's tls settings ask for. Light header (no OpenSSL): options
// structs hold a std::shared_ptr<const TlsConfig>; the OpenSSL contexts are
// reached only through core/io/stream.h, from io .cc files.
//
// Consul's scheme, with Cairn's protocol bytes: a TLS connection to port 8300
// starts with the byte 0x04 (kProtocolTls, Consul's pool.RPCTLS), then the
// TLS handshake; inside TLS the usual protocol byte follows (0x00 RPC, 0x01
// Raft) and then the same framing as in plaintext.
//
//   verify_outgoing         dial servers with TLS and check their certificate
//                           against ca_file; the client presents cert_file
//                           when it has one (mutual TLS)
//   verify_server_hostname  also check that the server's certificate names
//                           server.<datacenter>.<domain>; implies
//                           verify_outgoing (as Consul since 1.4.4)
//   verify_incoming         a server refuses plaintext and TLS without a
//                           client certificate signed by ca_file
//
// Without verify_incoming a server that has a certificate accepts both TLS
// and plaintext (for migrations), as Consul.
//
// Server names: Cairn answers DNS for both `domain` (default "cairn.") and
// "consul.", so a certificate naming server.<dc>.cairn or
// server.<dc>.consul (or server.<dc>.<domain> for a configured domain) is
// accepted; tools that mint Consul certificates (`consul tls cert create
// -server`) therefore work unchanged.
//
// Thread-safety: a loaded TlsConfig is immutable and shared by every
// connection of a process.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/result.h"

namespace cairn::io {

struct TlsSettings {
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
  bool verify_incoming = false;
  bool verify_outgoing = false;
  bool verify_server_hostname = false;
  std::string datacenter = "dc1";
  std::string domain = "cairn.";  // the agent's `domain` setting
};

// The first byte of a TLS connection to port 8300 (Consul's pool.RPCTLS).
inline constexpr uint8_t kProtocolTls = 0x04;

class TlsConfig {
 public:
  // Reads and checks the files. Null (and no error) when the settings ask
  // for nothing: no files and no verify_* flag. Errors name the setting
  // ("tls.cert_file: ...").
  static Result<std::shared_ptr<const TlsConfig>> load(const TlsSettings& settings);
  ~TlsConfig();

  const TlsSettings& settings() const;
  bool dial_tls() const;         // outbound connections to servers use TLS
  bool require_tls() const;      // inbound: plaintext is refused (verify_incoming)
  bool can_serve_tls() const;    // a certificate and key are loaded
  bool check_server_name() const;
  // The names a server certificate may carry, most preferred first
  // ("server.dc1.cairn", "server.dc1.consul").
  const std::vector<std::string>& server_names() const;

  struct Impl;  // the OpenSSL contexts; core/io/tls.cc
  Impl& impl() const { return *impl_; }

 private:
  explicit TlsConfig(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace cairn::io
