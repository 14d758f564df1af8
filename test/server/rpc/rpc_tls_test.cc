// TLS on port 8300 (0x04, then the handshake; core/io/tls.h), certificates
// made at test time by test/support/tls_certs.h, over the fixture in
// rpc_fixture.h; and TlsConfig's settings errors.
#include "test/server/rpc/rpc_fixture.h"

namespace cairn::server::rpc {
namespace {


class RpcTlsTest : public RpcTest {
 protected:
  void SetUp() override { ASSERT_TRUE(certs_.ok()) << "openssl could not make the test certificates"; }
  // A server's settings: its cert, the CA, verify_incoming as asked.
  std::shared_ptr<const io::TlsConfig> server_tls(const test::TlsCerts::Pair& pair, bool verify_incoming = true) {
    io::TlsSettings s;
    s.ca_file = certs_.ca;
    s.cert_file = pair.cert;
    s.key_file = pair.key;
    s.verify_incoming = verify_incoming;
    s.verify_outgoing = true;
    return load(s);
  }
  // A client's: verify_outgoing against `ca`, presenting `pair` when given.
  std::shared_ptr<const io::TlsConfig> client_tls(const std::string& ca, const test::TlsCerts::Pair* pair,
                                                  bool check_name = true) {
    io::TlsSettings s;
    s.ca_file = ca;
    if (pair) {
      s.cert_file = pair->cert;
      s.key_file = pair->key;
    }
    s.verify_outgoing = true;
    s.verify_server_hostname = check_name;
    return load(s);
  }
  static std::shared_ptr<const io::TlsConfig> load(const io::TlsSettings& s) {
    auto c = io::TlsConfig::load(s);
    EXPECT_TRUE(c.ok()) << c.error().message();
    return c.ok() ? *c : nullptr;
  }
  RpcListener& listen_tls(FakeHandler& h, std::shared_ptr<const io::TlsConfig> tls, RpcListener::RaftTaker raft = {}) {
    RpcListenerOptions o;
    o.tls = std::move(tls);
    return listen(h, o, std::move(raft));
  }
  api::RpcClient& client_with(const RpcListener& l, std::shared_ptr<const io::TlsConfig> tls) {
    api::RpcClientOptions o;
    o.tls = std::move(tls);
    return client({addr(l)}, o);
  }

  test::TlsCerts certs_;
};

TEST_F(RpcTlsTest, MutualTlsRoundTripWithTheServerNameChecked) {
  auto& h = handlers_.emplace_back();
  auto& l = listen_tls(h, server_tls(certs_.server));
  auto& c = client_with(l, client_tls(certs_.ca, &certs_.client));
  EXPECT_EQ(value_of(get(c, "over/tls")), "over/tls");
  auto res = apply_async(c, "k").get();
  ASSERT_TRUE(res.ok()) << res.error().message();
  EXPECT_EQ(res->index, 7u);
  EXPECT_EQ(l.counters().tls_connections, 1u);
  EXPECT_EQ(l.counters().rpc_connections, 1u);
  EXPECT_EQ(c.counters().tls_handshake_failures, 0u);
}

TEST_F(RpcTlsTest, ACertificateNamingTheConsulDomainIsAccepted) {
  auto& h = handlers_.emplace_back();
  auto& l = listen_tls(h, server_tls(certs_.server_consul));
  auto& c = client_with(l, client_tls(certs_.ca, &certs_.client));
  EXPECT_EQ(value_of(get(c, "k")), "k");
}

TEST_F(RpcTlsTest, ClientRefusesAServerCertificateFromAnotherCa) {
  auto& h = handlers_.emplace_back();
  io::TlsSettings s;  // a server whose certificate another CA signed
  s.ca_file = certs_.ca;
  s.cert_file = certs_.other_ca.cert;
  s.key_file = certs_.other_ca.key;
  auto& l = listen_tls(h, load(s));
  auto& c = client_with(l, client_tls(certs_.ca, &certs_.client));
  auto res = get(c, "k");
  ASSERT_FALSE(res.ok());
  EXPECT_TRUE(res.error().is(errc::unavailable)) << res.error().message();
  EXPECT_NE(res.error().message().find("TLS handshake"), std::string::npos) << res.error().message();
  EXPECT_GE(c.counters().tls_handshake_failures, 1u);
  EXPECT_EQ(h.queries(), 0);
}

TEST_F(RpcTlsTest, ServerRefusesAClientCertificateFromAnotherCa) {
  auto& h = handlers_.emplace_back();
  auto& l = listen_tls(h, server_tls(certs_.server));
  auto& c = client_with(l, client_tls(certs_.ca, &certs_.other_ca));
  EXPECT_FALSE(get(c, "k").ok());
  EXPECT_EQ(h.queries(), 0);
  EXPECT_GE(l.counters().tls_handshake_failures, 1u);
}

TEST_F(RpcTlsTest, ServerWithVerifyIncomingRefusesAClientWithoutCertificate) {
  auto& h = handlers_.emplace_back();
  auto& l = listen_tls(h, server_tls(certs_.server));
  auto& c = client_with(l, client_tls(certs_.ca, nullptr));
  EXPECT_FALSE(get(c, "k").ok());
  EXPECT_EQ(h.queries(), 0);
}

TEST_F(RpcTlsTest, PlaintextRpcAndRaftAreRefusedWithVerifyIncoming) {
  auto& h = handlers_.emplace_back();
  int raft_taken = 0;
  auto& l = listen_tls(h, server_tls(certs_.server), [&](std::shared_ptr<io::Stream>) { ++raft_taken; });
  auto& c = client({addr(l)});
  auto res = get(c, "k");
  ASSERT_FALSE(res.ok());
  EXPECT_TRUE(res.error().is(errc::unavailable)) << res.error().message();
  EXPECT_TRUE(sends_and_gets_closed(l.port(), std::string(1, char(api::rpc::kProtocolRaft))));
  EXPECT_EQ(h.queries(), 0);
  EXPECT_EQ(raft_taken, 0);
  EXPECT_GE(l.counters().plaintext_refused, 2u);
}

TEST_F(RpcTlsTest, HostnameMismatchIsRefusedOnlyWhenTheNameIsChecked) {
  auto& h = handlers_.emplace_back();
  auto& l = listen_tls(h, server_tls(certs_.wrong_name));
  auto& checked = client_with(l, client_tls(certs_.ca, &certs_.client, true));
  auto res = get(checked, "k");
  ASSERT_FALSE(res.ok());
  EXPECT_NE(res.error().message().find("hostname mismatch"), std::string::npos) << res.error().message();
  auto& unchecked = client_with(l, client_tls(certs_.ca, &certs_.client, false));
  EXPECT_EQ(value_of(get(unchecked, "k")), "k");
}

TEST_F(RpcTlsTest, WithoutVerifyIncomingTlsAndPlaintextAreBothServed) {
  auto& h = handlers_.emplace_back();
  auto& l = listen_tls(h, server_tls(certs_.server, false));
  EXPECT_EQ(value_of(get(client_with(l, client_tls(certs_.ca, nullptr)), "tls")), "tls");
  EXPECT_EQ(value_of(get(client({addr(l)}), "plain")), "plain");
  EXPECT_EQ(l.counters().tls_connections, 1u);
  EXPECT_EQ(l.counters().rpc_connections, 2u);
  EXPECT_EQ(l.counters().plaintext_refused, 0u);
}

TEST_F(RpcTlsTest, TlsByteIsRefusedByAServerWithoutCertificate) {
  auto& h = handlers_.emplace_back();
  auto& l = listen(h);
  auto& c = client_with(l, client_tls(certs_.ca, &certs_.client));
  EXPECT_FALSE(get(c, "k").ok());
  EXPECT_EQ(l.counters().unknown_protocol, 1u);
}

TEST_F(RpcTlsTest, SilentTlsClientIsClosedAtTheHandshakeDeadline) {
  auto& h = handlers_.emplace_back();
  RpcListenerOptions o;
  o.tls = server_tls(certs_.server);
  o.handshake_timeout = 100ms;
  auto& l = listen(h, o);
  // 0x04, then nothing: the server must give up rather than wait forever.
  EXPECT_TRUE(sends_and_gets_closed(l.port(), std::string(1, char(io::kProtocolTls))));
  // The deadline closes the socket first; the failed handshake is counted
  // when its coroutine resumes, which may be just after the client saw EOF.
  for (int i = 0; i < 500 && l.counters().tls_handshake_failures == 0; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(l.counters().tls_handshake_failures, 1u);
}

TEST_F(RpcTlsTest, ManyRaftMessagesCrossTheMuxOverTlsInOrder) {
  Inbox inbox;
  raft::TcpTransportOptions to1;
  to1.id = 1;
  to1.listen_enabled = false;
  auto t1 = raft::TcpTransport::create(io_, to1);
  ASSERT_TRUE(t1.ok()) << t1.error().message();
  (*t1)->start(inbox.handlers());
  transports_.push_back(*t1);
  auto& h = handlers_.emplace_back();
  auto& l = listen_tls(h, server_tls(certs_.server),
                       [t = *t1](std::shared_ptr<io::Stream> s) { t->adopt_inbound(std::move(s)); });

  Inbox unused;
  raft::TcpTransportOptions to2;
  to2.id = 2;
  to2.peers = {{1, addr(l)}};
  to2.protocol_byte = api::rpc::kProtocolRaft;
  to2.tls = server_tls(certs_.server);  // servers dial each other with their own certificate
  auto t2 = raft::TcpTransport::create(io_, to2);
  ASSERT_TRUE(t2.ok()) << t2.error().message();
  (*t2)->start(unused.handlers());
  transports_.push_back(*t2);

  constexpr int kMessages = 2000;
  std::vector<raft::Message> out;
  for (int i = 1; i <= kMessages; ++i) {
    raft::Message m;
    m.type = raft::MessageType::app;
    m.from = 2;
    m.to = 1;
    m.term = static_cast<raft::Term>(i);
    m.entries.push_back(raft::Entry{1, static_cast<raft::Index>(i), raft::EntryType::normal, std::string(100, 'x')});
    out.push_back(std::move(m));
  }
  (*t2)->send(out);
  ASSERT_TRUE(inbox.wait(kMessages));
  {
    std::lock_guard lock(inbox.mu);
    for (int i = 0; i < kMessages; ++i) ASSERT_EQ(inbox.messages[i].term, static_cast<raft::Term>(i + 1));
  }
  EXPECT_EQ(l.counters().tls_connections, 1u);
  EXPECT_EQ(l.counters().raft_connections, 1u);
  EXPECT_EQ((*t2)->counters().tls_handshake_failures, 0u);
}

// The error TlsConfig::load gives for `s` ("" when it loads).
std::string load_error(const io::TlsSettings& s) {
  auto c = io::TlsConfig::load(s);
  return c.ok() ? std::string() : c.error().message();
}

TEST(TlsConfig, SettingsErrorsNameTheField) {
  auto off = io::TlsConfig::load(io::TlsSettings{});
  ASSERT_TRUE(off.ok());
  EXPECT_EQ(*off, nullptr);  // nothing asked for: plaintext

  io::TlsSettings s;
  s.verify_outgoing = true;
  EXPECT_NE(load_error(s).find("tls.ca_file: needed"), std::string::npos) << load_error(s);
  s.ca_file = "/nonexistent/ca.pem";
  EXPECT_NE(load_error(s).find("tls.ca_file: cannot read"), std::string::npos) << load_error(s);
  io::TlsSettings half;
  half.cert_file = "/x.pem";
  EXPECT_NE(load_error(half).find("tls.key_file"), std::string::npos) << load_error(half);
}

TEST(TlsConfig, KeyThatDoesNotMatchTheCertificateIsRefused) {
  test::TlsCerts certs;
  ASSERT_TRUE(certs.ok());
  io::TlsSettings s;
  s.ca_file = certs.ca;
  s.cert_file = certs.server.cert;
  s.key_file = certs.client.key;
  EXPECT_NE(load_error(s).find("tls.key_file"), std::string::npos) << load_error(s);
}

TEST(TlsConfig, ServerNamesCoverTheDomainAndConsulAndVerifyServerHostnameImpliesOutgoing) {
  test::TlsCerts certs;
  ASSERT_TRUE(certs.ok());
  io::TlsSettings s;
  s.ca_file = certs.ca;
  s.verify_server_hostname = true;
  s.datacenter = "east";
  s.domain = "example.";
  auto c = io::TlsConfig::load(s);
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_TRUE((*c)->dial_tls());
  EXPECT_TRUE((*c)->check_server_name());
  EXPECT_FALSE((*c)->require_tls());
  EXPECT_EQ((*c)->server_names(),
            (std::vector<std::string>{"server.east.example", "server.east.cairn", "server.east.consul"}));
}

}  // namespace
}  // namespace cairn::server::rpc
