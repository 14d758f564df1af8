// The proxy pair over real sockets on 127.0.0.1, in one process:
//   client -> web's upstream listener (outbound) -> mTLS -> api's public
//   listener (inbound) -> backend (a TCP echo server or an HTTP responder)
// Certificates are made in memory (test/proxy/mesh_certs.h). Waits are
// bounded polls; nothing asserts timings.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <gtest/gtest.h>
#include <list>
#include <thread>

#include "core/io/metrics.h"
#include "proxy/proxy.h"
#include "test/proxy/mesh_certs.h"
#include "test/proxy/sockets.h"
#include "test/support/poll.h"

namespace cairn::proxy {
namespace {

using namespace test::sockets;

using namespace std::chrono_literals;
using test::MeshCert;
using test::MeshCerts;

// A TLS client straight at a public listener, with or without a certificate.
// True when it got an echo back (i.e. the proxy let it through).
bool tls_client_gets_echo(uint16_t port, const std::string& roots_pem, const MeshCert* cert) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  BIO* b = BIO_new_mem_buf(roots_pem.data(), static_cast<int>(roots_pem.size()));
  while (X509* x = PEM_read_bio_X509(b, nullptr, nullptr, nullptr)) {
    X509_STORE_add_cert(store, x);
    X509_free(x);
  }
  BIO_free(b);
  ERR_clear_error();
  if (cert) {
    BIO* cb = BIO_new_mem_buf(cert->cert_pem.data(), static_cast<int>(cert->cert_pem.size()));
    X509* x = PEM_read_bio_X509(cb, nullptr, nullptr, nullptr);
    BIO_free(cb);
    BIO* kb = BIO_new_mem_buf(cert->key_pem.data(), static_cast<int>(cert->key_pem.size()));
    EVP_PKEY* k = PEM_read_bio_PrivateKey(kb, nullptr, nullptr, nullptr);
    BIO_free(kb);
    SSL_CTX_use_certificate(ctx, x);
    SSL_CTX_use_PrivateKey(ctx, k);
    X509_free(x);
    EVP_PKEY_free(k);
  }
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  int fd = connect_to(port);
  SSL* ssl = SSL_new(ctx);
  SSL_set_fd(ssl, fd);
  bool echoed = false;
  if (SSL_connect(ssl) == 1 && SSL_write(ssl, "ping", 4) == 4) {
    char buf[8];
    int n = SSL_read(ssl, buf, sizeof buf);
    echoed = n == 4 && std::string(buf, 4) == "ping";
  }
  ERR_clear_error();
  SSL_free(ssl);
  ::close(fd);
  SSL_CTX_free(ctx);
  return echoed;
}

// ---- the fixture: io threads, CA, the api proxy (inbound) and the web proxy (outbound) ----

class ProxyPair : public ::testing::Test {
 protected:
  void SetUp() override {
    ca_ = MeshCerts::ca("Mesh Root");
    web_leaf_ = MeshCerts::leaf(ca_, MeshCerts::spiffe("web"));
    api_leaf_ = MeshCerts::leaf(ca_, MeshCerts::spiffe("api"));
    for (int i = 0; i < 2; ++i) threads_.emplace_back([this] { io_.run(); });
  }
  void TearDown() override {
    proxies_.clear();
    work_.reset();
    io_.stop();
    for (auto& t : threads_) t.join();
  }

  Proxy& make_proxy(ProxyConfig c, std::shared_ptr<Authorizer> authz, const MeshCert& leaf) {
    proxies_.push_back(std::make_unique<Proxy>(io_, std::move(c), std::move(authz)));
    auto& p = *proxies_.back();
    EXPECT_TRUE(p.set_leaf({leaf.cert_pem, leaf.key_pem}).ok());
    EXPECT_TRUE(p.set_trust_bundle({ca_.cert_pem}).ok());
    auto s = p.start();
    EXPECT_TRUE(s.ok()) << s.error().detail();
    return p;
  }

  // api's sidecar in front of `backend`, allowing `allowed` (default deny).
  Proxy& api_proxy(uint16_t backend_port, std::vector<StaticAuthorizer::Rule> rules = {{"web", true}},
                   std::function<void(ProxyConfig&)> tweak = {}) {
    ProxyConfig c;
    c.service = "api";
    c.local_service_port = backend_port;
    c.trust_domain = MeshCerts::kTrustDomain;
    if (tweak) tweak(c);
    api_authz_ = std::make_shared<StaticAuthorizer>(std::move(rules), false);
    return make_proxy(c, api_authz_, api_leaf_);
  }

  // web's sidecar with an upstream "api" over `endpoints`.
  Proxy& web_proxy(std::vector<Endpoint> endpoints, BalancePolicy policy = BalancePolicy::round_robin,
                   std::function<void(ProxyConfig&)> tweak = {}) {
    ProxyConfig c;
    c.service = "web";
    UpstreamConfig u;
    u.destination_name = "api";
    u.datacenter = "dc1";
    u.policy = policy;
    u.connect_timeout = 2s;
    c.upstreams.push_back(u);
    if (tweak) tweak(c);
    auto& p = make_proxy(c, std::make_shared<StaticAuthorizer>(std::vector<StaticAuthorizer::Rule>{}, false),
                         web_leaf_);
    EXPECT_TRUE(p.set_endpoints("api", std::move(endpoints)).ok());
    return p;
  }

  static Endpoint at(uint16_t port, bool healthy = true) { return {"127.0.0.1", port, healthy}; }

  static bool echo_round_trip(int fd, const std::string& msg) { return send_all(fd, msg) && recv_n(fd, msg.size()) == msg; }

  boost::asio::io_context io_{2};
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_{io_.get_executor()};
  std::vector<std::thread> threads_;
  MeshCert ca_, web_leaf_, api_leaf_;
  std::shared_ptr<StaticAuthorizer> api_authz_;
  std::vector<std::unique_ptr<Proxy>> proxies_;
};

TEST_F(ProxyPair, TcpTrafficFlowsThroughTheUpstreamListenerWhenAllowed) {
  Backend echo(Backend::echo, "api");
  auto& api = api_proxy(echo.port());
  auto& web = web_proxy({at(api.inbound_port())});
  int fd = connect_to(web.upstream_port("api"));
  ASSERT_GE(fd, 0);
  EXPECT_TRUE(echo_round_trip(fd, "hello through the mesh"));
  std::string big(1 << 20, 'x');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + i % 26);
  std::thread writer([&] { send_all(fd, big); });
  EXPECT_TRUE(recv_n(fd, big.size()) == big);
  writer.join();
  ::close(fd);
  EXPECT_TRUE(test::eventually([&] { return api.stats().inbound.active == 0; }, 10s));
  auto s = api.stats().inbound;
  EXPECT_EQ(s.connections, 1u);
  EXPECT_EQ(s.bytes_in, big.size() + 22);
  EXPECT_EQ(s.bytes_out, big.size() + 22);
  EXPECT_EQ(web.stats().outbound.bytes_in, big.size() + 22);
}

TEST_F(ProxyPair, HttpTrafficFlowsThroughThePair) {
  Backend http(Backend::http, "api");
  auto& api = api_proxy(http.port());
  auto& web = web_proxy({at(api.inbound_port())});
  int fd = connect_to(web.upstream_port("api"));
  std::string want = "HTTP/1.1 200 OK\r\nContent-Length: 14\r\n\r\nhello from api";
  for (int i = 0; i < 3; ++i) {  // keep-alive: three requests on one connection
    ASSERT_TRUE(send_all(fd, "GET / HTTP/1.1\r\nHost: api\r\n\r\n"));
    EXPECT_EQ(recv_n(fd, want.size()), want);
  }
  ::close(fd);
}

TEST_F(ProxyPair, HalfCloseCarriesTheRestOfTheAnswer) {
  Backend echo(Backend::echo, "api");
  auto& api = api_proxy(echo.port());
  auto& web = web_proxy({at(api.inbound_port())});
  int fd = connect_to(web.upstream_port("api"));
  ASSERT_TRUE(send_all(fd, "last words"));
  ::shutdown(fd, SHUT_WR);  // through close_notify on the mTLS leg to the backend
  EXPECT_EQ(recv_n(fd, 10), "last words");
  EXPECT_TRUE(closed_by_peer(fd));
  ::close(fd);
}

TEST_F(ProxyPair, ADenyRefusesTheConnection) {
  Backend echo(Backend::echo, "api");
  auto& api = api_proxy(echo.port(), {{"web", false}});
  auto& web = web_proxy({at(api.inbound_port())});
  int fd = connect_to(web.upstream_port("api"));
  send_all(fd, "let me in");
  EXPECT_TRUE(closed_by_peer(fd));
  ::close(fd);
  EXPECT_TRUE(test::eventually([&] { return api.stats().inbound.authz_denials == 1; }, 10s));
  EXPECT_EQ(echo.accepted(), 0);
}

TEST_F(ProxyPair, NoMatchingRuleUnderDefaultDenyRefuses) {
  Backend echo(Backend::echo, "api");
  auto& api = api_proxy(echo.port(), {{"billing", true}});
  auto& web = web_proxy({at(api.inbound_port())});
  int fd = connect_to(web.upstream_port("api"));
  send_all(fd, "x");
  EXPECT_TRUE(closed_by_peer(fd));
  ::close(fd);
  EXPECT_EQ(echo.accepted(), 0);
}

TEST_F(ProxyPair, RevokingAnAllowClosesExistingConnectionsAndRefusesNewOnes) {
  Backend echo(Backend::echo, "api");
  auto& api = api_proxy(echo.port());
  auto& web = web_proxy({at(api.inbound_port())});
  int a = connect_to(web.upstream_port("api"));
  int b = connect_to(web.upstream_port("api"));
  ASSERT_TRUE(echo_round_trip(a, "one"));
  ASSERT_TRUE(echo_round_trip(b, "two"));
  api_authz_->set_rules({{"web", false}}, false);
  EXPECT_TRUE(closed_by_peer(a));  // closed by the proxy, with no further byte sent
  EXPECT_TRUE(closed_by_peer(b));
  EXPECT_EQ(api.stats().inbound.authz_denials, 2u);
  int c = connect_to(web.upstream_port("api"));
  send_all(c, "three");
  EXPECT_TRUE(closed_by_peer(c));
  for (int fd : {a, b, c}) ::close(fd);
  EXPECT_EQ(echo.accepted(), 2);
  // And allowing again lets new connections through.
  api_authz_->set_rules({{"web", true}}, false);
  int d = connect_to(web.upstream_port("api"));
  EXPECT_TRUE(echo_round_trip(d, "four"));
  ::close(d);
}

TEST_F(ProxyPair, ResumedConnectionsAreStillAuthorizedEachTime) {
  Backend echo(Backend::echo, "api");
  auto& api = api_proxy(echo.port());
  auto& web = web_proxy({at(api.inbound_port())});
  for (int i = 0; i < 2; ++i) {
    int fd = connect_to(web.upstream_port("api"));
    EXPECT_TRUE(echo_round_trip(fd, "hello " + std::to_string(i)));
    ::close(fd);
  }
  EXPECT_EQ(web.stats().outbound.resumed, 1u);  // the second one, from the first one's ticket
  EXPECT_EQ(api.stats().inbound.resumed, 1u);
  ASSERT_TRUE(test::eventually([&] { return api.stats().inbound.active == 0; }, 10s));  // no revocation to count
  api_authz_->set_rules({{"web", false}}, false);
  int fd = connect_to(web.upstream_port("api"));
  send_all(fd, "denied even when resumed");
  EXPECT_TRUE(closed_by_peer(fd));
  ::close(fd);
  EXPECT_EQ(web.stats().outbound.resumed, 2u);
  EXPECT_EQ(api.stats().inbound.authz_denials, 1u);
  // New certificates: new contexts, old tickets refused, a full handshake.
  api_authz_->set_rules({{"web", true}}, false);
  auto web2 = MeshCerts::leaf(ca_, MeshCerts::spiffe("web"));
  ASSERT_TRUE(web.set_leaf({web2.cert_pem, web2.key_pem}).ok());
  fd = connect_to(web.upstream_port("api"));
  EXPECT_TRUE(echo_round_trip(fd, "fresh"));
  ::close(fd);
  EXPECT_EQ(web.stats().outbound.resumed, 2u);
}

TEST_F(ProxyPair, AnUnhealthyInstanceIsSkipped) {
  Backend echo(Backend::echo, "api");
  auto& api = api_proxy(echo.port());
  uint16_t trap_port = 0;
  int trap = listen_on(trap_port);  // would accept if dialled
  auto& web = web_proxy({at(trap_port, false), at(api.inbound_port())});
  for (int i = 0; i < 4; ++i) {
    int fd = connect_to(web.upstream_port("api"));
    EXPECT_TRUE(echo_round_trip(fd, "req" + std::to_string(i)));
    ::close(fd);
  }
  // Nothing was queued on the unhealthy instance's listener.
  int flags = fcntl(trap, F_GETFL);
  fcntl(trap, F_SETFL, flags | O_NONBLOCK);
  EXPECT_LT(::accept(trap, nullptr, nullptr), 0);
  ::close(trap);
  EXPECT_EQ(web.stats().outbound.connect_failures, 0u);
}

TEST_F(ProxyPair, ADeadInstanceIsRetriedElsewhere) {
  Backend echo(Backend::echo, "api");
  auto& api = api_proxy(echo.port());
  uint16_t dead_port = 0;
  ::close(listen_on(dead_port));  // nothing listens there now: connection refused
  for (auto policy : {BalancePolicy::round_robin, BalancePolicy::least_connections, BalancePolicy::power_of_two}) {
    auto& web = web_proxy({at(dead_port), at(api.inbound_port())}, policy);
    for (int i = 0; i < 4; ++i) {
      int fd = connect_to(web.upstream_port("api"));
      EXPECT_TRUE(echo_round_trip(fd, "req" + std::to_string(i))) << policy_name(policy);
      ::close(fd);
    }
    EXPECT_GE(web.stats().outbound.connect_failures, 1u) << policy_name(policy);
  }
}

TEST_F(ProxyPair, EndpointUpdatesApplyToNewConnections) {
  Backend echo(Backend::echo, "api");
  auto& api = api_proxy(echo.port());
  auto& web = web_proxy({});
  int fd = connect_to(web.upstream_port("api"));
  EXPECT_TRUE(closed_by_peer(fd));  // no instance yet
  ::close(fd);
  ASSERT_TRUE(web.set_endpoints("api", {at(api.inbound_port())}).ok());
  fd = connect_to(web.upstream_port("api"));
  EXPECT_TRUE(echo_round_trip(fd, "now"));
  ::close(fd);
  EXPECT_FALSE(web.set_endpoints("nope", {}).ok());
}

TEST_F(ProxyPair, APlainTcpClientIsRefused) {
  Backend echo(Backend::echo, "api");
  auto& api = api_proxy(echo.port());
  int fd = connect_to(api.inbound_port());
  send_all(fd, "GET / HTTP/1.1\r\nHost: api\r\n\r\n");
  EXPECT_TRUE(closed_by_peer(fd));
  ::close(fd);
  EXPECT_TRUE(test::eventually([&] { return api.stats().inbound.handshake_failures == 1; }, 10s));
  EXPECT_EQ(echo.accepted(), 0);
}

TEST_F(ProxyPair, ClientsWithoutAValidMeshCertificateAreRefusedInTheHandshake) {
  Backend echo(Backend::echo, "api");
  auto& api = api_proxy(echo.port());
  auto other_ca = MeshCerts::ca("Another CA");
  auto other = MeshCerts::leaf(other_ca, MeshCerts::spiffe("web"));
  auto expired = MeshCerts::leaf(ca_, MeshCerts::spiffe("web"), -7200, -3600);
  std::string roots = ca_.cert_pem;
  EXPECT_TRUE(tls_client_gets_echo(api.inbound_port(), roots, &web_leaf_));  // the control
  EXPECT_FALSE(tls_client_gets_echo(api.inbound_port(), roots, nullptr));
  EXPECT_FALSE(tls_client_gets_echo(api.inbound_port(), roots, &other));
  EXPECT_FALSE(tls_client_gets_echo(api.inbound_port(), roots, &expired));
  EXPECT_TRUE(test::eventually([&] { return api.stats().inbound.handshake_failures == 3; }, 10s));
  EXPECT_EQ(api.stats().inbound.authz_denials, 0u);
  EXPECT_EQ(echo.accepted(), 1);
}

TEST_F(ProxyPair, AWrongIdentityPeerOnTheOutboundSideIsRefused) {
  Backend echo(Backend::echo, "db");
  // A sidecar with a valid mesh certificate for "db", listed as an api instance.
  ProxyConfig c;
  c.service = "db";
  c.local_service_port = echo.port();
  auto& db = make_proxy(c, std::make_shared<StaticAuthorizer>(std::vector<StaticAuthorizer::Rule>{}, true),
                        MeshCerts::leaf(ca_, MeshCerts::spiffe("db")));
  auto& web = web_proxy({at(db.inbound_port())});
  int fd = connect_to(web.upstream_port("api"));
  send_all(fd, "secret");
  EXPECT_TRUE(closed_by_peer(fd));
  ::close(fd);
  EXPECT_EQ(web.stats().outbound.identity_mismatches, 1u);
  // (db's sidecar may have finished its side of the handshake and dialled its
  // service before web hung up; what matters is that not a byte went there.)
  EXPECT_EQ(db.stats().inbound.bytes_in, 0u);
}

TEST_F(ProxyPair, ACertificateRotationMidTransferDoesNotBreakIt) {
  Backend echo(Backend::echo, "api");
  auto& api = api_proxy(echo.port());
  auto& web = web_proxy({at(api.inbound_port())});
  int fd = connect_to(web.upstream_port("api"));
  ASSERT_TRUE(echo_round_trip(fd, "start"));
  constexpr size_t kTotal = 64u << 20;
  std::atomic<size_t> sent{0};
  std::thread writer([&] {
    std::string chunk(256 * 1024, 'r');
    while (sent < kTotal && send_all(fd, chunk)) sent += chunk.size();
  });
  // Once the transfer is going, rotate: a new root (bundle holds both, as a
  // CA rotation does), then new leaves from it on both sides.
  ASSERT_TRUE(test::eventually([&] { return sent > 4u << 20; }, 20s, 1ms));
  auto new_ca = MeshCerts::ca("Mesh Root 2");
  std::string both = ca_.cert_pem + new_ca.cert_pem;
  for (auto* p : {&api, &web}) ASSERT_TRUE(p->set_trust_bundle({both}).ok());
  auto web2 = MeshCerts::leaf(new_ca, MeshCerts::spiffe("web"));
  auto api2 = MeshCerts::leaf(new_ca, MeshCerts::spiffe("api"));
  ASSERT_TRUE(web.set_leaf({web2.cert_pem, web2.key_pem}).ok());
  ASSERT_TRUE(api.set_leaf({api2.cert_pem, api2.key_pem}).ok());
  // The old connection finishes its 64 MB intact...
  size_t got = 0;
  bool intact = true;
  std::vector<char> buf(1 << 20);
  while (got < kTotal) {
    ssize_t n = ::recv(fd, buf.data(), std::min(buf.size(), kTotal - got), 0);
    if (n <= 0) break;
    for (ssize_t i = 0; i < n; ++i) intact &= buf[static_cast<size_t>(i)] == 'r';
    got += static_cast<size_t>(n);
  }
  writer.join();
  EXPECT_EQ(got, kTotal);
  EXPECT_TRUE(intact);
  ::close(fd);
  // ...and new connections handshake with the new leaves.
  int fd2 = connect_to(web.upstream_port("api"));
  EXPECT_TRUE(echo_round_trip(fd2, "after rotation"));
  ::close(fd2);
  // The old root can go once every leaf is from the new one.
  for (auto* p : {&api, &web}) ASSERT_TRUE(p->set_trust_bundle({new_ca.cert_pem}).ok());
  int fd3 = connect_to(web.upstream_port("api"));
  EXPECT_TRUE(echo_round_trip(fd3, "new root only"));
  ::close(fd3);
  EXPECT_FALSE(tls_client_gets_echo(api.inbound_port(), new_ca.cert_pem, &web_leaf_));  // old leaf now refused
}

TEST_F(ProxyPair, MaxConnectionsClosesConnectionsOverTheLimit) {
  Backend echo(Backend::echo, "api");
  auto& api = api_proxy(echo.port());
  auto& web = web_proxy({at(api.inbound_port())}, BalancePolicy::round_robin,
                        [](ProxyConfig& c) { c.max_connections = 2; });
  int a = connect_to(web.upstream_port("api"));
  int b = connect_to(web.upstream_port("api"));
  ASSERT_TRUE(echo_round_trip(a, "a"));
  ASSERT_TRUE(echo_round_trip(b, "b"));
  int c = connect_to(web.upstream_port("api"));
  EXPECT_TRUE(closed_by_peer(c));
  EXPECT_EQ(web.stats().outbound.rejected, 1u);
  ::close(c);
  ::close(a);
  EXPECT_TRUE(test::eventually([&] { return web.stats().outbound.active == 1; }, 10s));
  int d = connect_to(web.upstream_port("api"));
  EXPECT_TRUE(echo_round_trip(d, "d"));
  for (int fd : {b, d}) ::close(fd);
}

TEST_F(ProxyPair, AStalledHandshakeIsClosedAtTheHandshakeTimeout) {
  Backend echo(Backend::echo, "api");
  auto& api = api_proxy(echo.port(), {{"web", true}}, [](ProxyConfig& c) { c.handshake_timeout = 200ms; });
  int fd = connect_to(api.inbound_port());  // connects, never says hello
  EXPECT_TRUE(closed_by_peer(fd));
  ::close(fd);
  EXPECT_TRUE(test::eventually([&] { return api.stats().inbound.handshake_failures == 1; }, 10s));
}

// handshake_turns = 1: handshake steps queue for the one turn and hand it on;
// a caller that never sends its hello holds no turn.
TEST_F(ProxyPair, HandshakesTakingTurnsAllComplete) {
  Backend echo(Backend::echo, "api");
  auto one_turn = [](ProxyConfig& c) { c.handshake_turns = 1; };
  auto& api = api_proxy(echo.port(), {{"web", true}}, one_turn);
  auto& web = web_proxy({at(api.inbound_port())}, BalancePolicy::round_robin, one_turn);
  int stalled = connect_to(api.inbound_port());
  ASSERT_GE(stalled, 0);
  std::vector<int> fds;
  for (int i = 0; i < 24; ++i) fds.push_back(connect_to(web.upstream_port("api")));
  for (int i = 0; i < 24; ++i) EXPECT_TRUE(echo_round_trip(fds[i], "turn " + std::to_string(i))) << i;
  for (int fd : fds) ::close(fd);
  ::close(stalled);
  EXPECT_EQ(web.stats().outbound.handshake_failures, 0u);
  EXPECT_TRUE(test::eventually([&] { return web.stats().outbound.active == 0; }, 10s));
}

TEST_F(ProxyPair, AnIdleConnectionIsClosed) {
  Backend echo(Backend::echo, "api");
  auto& api = api_proxy(echo.port(), {{"web", true}}, [](ProxyConfig& c) { c.idle_timeout = 200ms; });
  auto& web = web_proxy({at(api.inbound_port())});
  int fd = connect_to(web.upstream_port("api"));
  ASSERT_TRUE(echo_round_trip(fd, "then silence"));
  EXPECT_TRUE(closed_by_peer(fd));
  ::close(fd);
}

TEST_F(ProxyPair, CountersAreServedAsPrometheusText) {
  metrics::reset_for_test();
  Backend echo(Backend::echo, "api");
  auto& api = api_proxy(echo.port(), {{"web", true}}, [](ProxyConfig& c) { c.stats_enabled = true; });
  auto& web = web_proxy({at(api.inbound_port())});
  int fd = connect_to(web.upstream_port("api"));
  ASSERT_TRUE(echo_round_trip(fd, "12345"));
  ::close(fd);
  int plain = connect_to(api.inbound_port());
  send_all(plain, "no tls");
  closed_by_peer(plain);
  ::close(plain);
  ASSERT_NE(api.stats_port(), 0);
  std::string text;
  ASSERT_TRUE(test::eventually(
      [&] {
        auto r = test::agent_http("127.0.0.1:" + std::to_string(api.stats_port()), "GET", "/metrics");
        text = r.ok() ? r->body : "";
        return text.find(R"(cairn_proxy_handshake_failures{service="api",direction="inbound"} 1)") !=
               std::string::npos;
      },
      10s));
  EXPECT_NE(text.find("# TYPE cairn_proxy_connections counter"), std::string::npos) << text;
  EXPECT_NE(text.find(R"(cairn_proxy_connections{service="api",direction="inbound"} 2)"), std::string::npos) << text;
  EXPECT_NE(text.find(R"(cairn_proxy_bytes_in{service="api",direction="inbound"} 5)"), std::string::npos) << text;
  EXPECT_NE(text.find(R"(cairn_proxy_authz_denials{service="api",direction="inbound"} 0)"), std::string::npos);
  EXPECT_NE(text.find("cairn_proxy_connect_failures"), std::string::npos);
}

}  // namespace
}  // namespace cairn::proxy
