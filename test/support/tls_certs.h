// Test certificates for port-8300 TLS, made at test time with the openssl
// CLI in a fresh temp dir (removed by the destructor): a CA, server certs
// for server.dc1.cairn and server.dc1.consul, a client cert, a cert signed
// by another CA, and a server cert with the wrong name (server.dc2.cairn).
// Every leaf is usable as server and client certificate (both extended key
// usages), as Consul's server certificates are. EC P-256 keys: fast to make.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace cairn::test {

class TlsCerts {
 public:
  struct Pair {
    std::string cert, key;
  };

  TlsCerts() {
    namespace fs = std::filesystem;
    std::string tmpl = (fs::temp_directory_path() / "cairn-tls-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) return;
    dir_ = tmpl;
    ok_ = make_ca("ca", "Cairn Test CA") && make_ca("other-ca", "Another CA") &&
          leaf("ca", "server", "server.dc1.cairn", server) && leaf("ca", "server-consul", "server.dc1.consul", server_consul) &&
          leaf("ca", "client", "client.dc1.cairn", client) && leaf("other-ca", "other", "server.dc1.cairn", other_ca) &&
          leaf("ca", "wrong-name", "server.dc2.cairn", wrong_name);
    ca = path("ca.pem");
    other_ca_file = path("other-ca.pem");
  }
  ~TlsCerts() {
    std::error_code ec;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
  }
  TlsCerts(const TlsCerts&) = delete;
  TlsCerts& operator=(const TlsCerts&) = delete;

  bool ok() const { return ok_; }
  const std::string& dir() const { return dir_; }
  std::string path(const std::string& name) const { return dir_ + "/" + name; }

  std::string ca;             // signs server, server_consul, client, wrong_name
  std::string other_ca_file;  // signs other_ca
  Pair server;                // server.dc1.cairn
  Pair server_consul;         // server.dc1.consul
  Pair client;                // client.dc1.cairn
  Pair other_ca;              // server.dc1.cairn, signed by another CA
  Pair wrong_name;            // server.dc2.cairn

 private:
  bool run(const std::string& cmd) { return std::system((cmd + " >/dev/null 2>&1").c_str()) == 0; }

  bool make_ca(const std::string& name, const std::string& cn) {
    return run("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 -keyout " +
               path(name + ".key") + " -out " + path(name + ".pem") + " -subj '/CN=" + cn + "'");
  }

  bool leaf(const std::string& ca_name, const std::string& name, const std::string& dns, Pair& out) {
    out = {path(name + ".pem"), path(name + ".key")};
    {
      std::ofstream ext(path(name + ".ext"));
      ext << "subjectAltName=DNS:" << dns << ",DNS:localhost,IP:127.0.0.1\n"
          << "extendedKeyUsage=serverAuth,clientAuth\nbasicConstraints=CA:FALSE\n";
    }
    return run("openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout " + out.key + " -out " +
               path(name + ".csr") + " -subj '/CN=" + dns + "'") &&
           run("openssl x509 -req -days 30 -in " + path(name + ".csr") + " -CA " + path(ca_name + ".pem") +
               " -CAkey " + path(ca_name + ".key") + " -CAcreateserial -out " + out.cert + " -extfile " +
               path(name + ".ext"));
  }

  std::string dir_;
  bool ok_ = false;
};

}  // namespace cairn::test
