// The fault-injecting relay (harness/relay.h) with real sockets on loopback:
// who sent is told by source address, answers come back through the relay,
// a blocked link drops datagrams and stalls a stream without losing it, and
// traffic from no node's address is refused. Label integration (sockets,
// waits with deadlines; no timing is asserted).
#include <gtest/gtest.h>

#include <boost/asio.hpp>
#include <chrono>
#include <random>
#include <thread>

#include "test/faults/harness/relay.h"

namespace cairn::faults {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using udp = asio::ip::udp;
using namespace std::chrono_literals;

// A block of 127.x.x.x and a port of our own (the relay binds fixed ports).
struct Addresses {
  int block;
  uint16_t port;
  Addresses() {
    std::random_device rd;
    block = 64 + static_cast<int>(rd() % 186);
    port = static_cast<uint16_t>(20000 + rd() % 20000);
  }
  std::string real(int i) const { return "127." + std::to_string(block) + ".0." + std::to_string(10 + i); }
  std::string relay(int i) const { return "127." + std::to_string(block) + ".1." + std::to_string(10 + i); }
  asio::ip::address ip(const std::string& s) const { return asio::ip::make_address(s); }
};

// A datagram within `timeout` (the socket is non-blocking-polled), or none.
std::optional<std::pair<std::string, udp::endpoint>> receive(udp::socket& s, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  char buf[2048];
  s.non_blocking(true);
  while (std::chrono::steady_clock::now() < deadline) {
    udp::endpoint from;
    boost::system::error_code ec;
    size_t n = s.receive_from(asio::buffer(buf), from, 0, ec);
    if (!ec) return std::make_pair(std::string(buf, n), from);
    std::this_thread::sleep_for(5ms);
  }
  return std::nullopt;
}

// Reads exactly n bytes within `timeout`, or what came.
std::string read_n(tcp::socket& s, size_t n, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string out;
  char buf[4096];
  s.non_blocking(true);
  while (out.size() < n && std::chrono::steady_clock::now() < deadline) {
    boost::system::error_code ec;
    size_t got = s.read_some(asio::buffer(buf, std::min(sizeof buf, n - out.size())), ec);
    if (!ec) out.append(buf, got);
    else if (ec != asio::error::would_block) break;
    else std::this_thread::sleep_for(5ms);
  }
  return out;
}

TEST(Relay, DatagramsPassBothWaysAndABlockDropsOneWay) {
  Addresses a;
  Relay relay({{a.real(0), a.relay(0)}, {a.real(1), a.relay(1)}}, {}, {a.port}, 1);
  asio::io_context io;
  udp::socket n0(io, udp::endpoint(a.ip(a.real(0)), a.port)), n1(io, udp::endpoint(a.ip(a.real(1)), a.port));

  n0.send_to(asio::buffer(std::string("ping")), udp::endpoint(a.ip(a.relay(1)), a.port));
  auto got = receive(n1, 5000ms);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->first, "ping");
  // It comes from node 0's relay address: the answer goes back through the relay.
  EXPECT_EQ(got->second, udp::endpoint(a.ip(a.relay(0)), a.port));
  n1.send_to(asio::buffer(std::string("ack")), got->second);
  auto back = receive(n0, 5000ms);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->first, "ack");
  EXPECT_EQ(back->second, udp::endpoint(a.ip(a.relay(1)), a.port));

  relay.block(0, 1);
  n0.send_to(asio::buffer(std::string("lost")), udp::endpoint(a.ip(a.relay(1)), a.port));
  n1.send_to(asio::buffer(std::string("still")), udp::endpoint(a.ip(a.relay(0)), a.port));
  auto still = receive(n0, 5000ms);  // the other way is open
  ASSERT_TRUE(still.has_value());
  EXPECT_EQ(still->first, "still");
  relay.heal_cuts();
  n0.send_to(asio::buffer(std::string("healed")), udp::endpoint(a.ip(a.relay(1)), a.port));
  auto healed = receive(n1, 5000ms);
  ASSERT_TRUE(healed.has_value());
  EXPECT_EQ(healed->first, "healed");  // "lost" was dropped, not held back
  RelayCounters c = relay.counters();
  EXPECT_EQ(c.datagrams, 4u);
  EXPECT_EQ(c.datagrams_dropped, 1u);
  EXPECT_EQ(c.unknown_sources, 0u);
}

TEST(Relay, AStreamStallsWhileBlockedAndLosesNothing) {
  Addresses a;
  Relay relay({{a.real(0), a.relay(0)}, {a.real(1), a.relay(1)}}, {a.port}, {}, 2);
  asio::io_context io;
  tcp::acceptor listener(io, tcp::endpoint(a.ip(a.real(1)), a.port));
  tcp::socket client(io);
  client.open(tcp::v4());
  client.bind(tcp::endpoint(a.ip(a.real(0)), 0));  // as cairn dials from -bind
  client.connect(tcp::endpoint(a.ip(a.relay(1)), a.port));
  tcp::socket server = listener.accept();
  EXPECT_EQ(server.remote_endpoint().address(), a.ip(a.relay(0)));  // dialled from node 0's relay address
  EXPECT_EQ(relay.counters().connections, 1u);

  asio::write(client, asio::buffer(std::string("hello")));
  EXPECT_EQ(read_n(server, 5, 5000ms), "hello");

  relay.block(1, 0);  // node 1's answers stall; node 0's requests still arrive
  asio::write(client, asio::buffer(std::string("more")));
  EXPECT_EQ(read_n(server, 4, 5000ms), "more");
  asio::write(server, asio::buffer(std::string("answer")));
  EXPECT_EQ(read_n(client, 6, 300ms), "");  // held while blocked (the short wait only shows nothing came yet)
  relay.heal_cuts();
  EXPECT_EQ(read_n(client, 6, 5000ms), "answer");  // nothing lost

  // A clean close passes on as end of stream.
  client.shutdown(tcp::socket::shutdown_send);
  char c;
  boost::system::error_code ec;
  server.non_blocking(false);
  server.read_some(asio::buffer(&c, 1), ec);
  EXPECT_EQ(ec, asio::error::eof);
}

TEST(Relay, AShapedSenderStillDeliversItsStreamInOrder) {
  Addresses a;
  Relay relay({{a.real(0), a.relay(0)}, {a.real(1), a.relay(1)}}, {a.port}, {}, 3);
  relay.shape(0, LinkShape{20, 15, 0.3});
  asio::io_context io;
  tcp::acceptor listener(io, tcp::endpoint(a.ip(a.real(1)), a.port));
  tcp::socket client(io);
  client.open(tcp::v4());
  client.bind(tcp::endpoint(a.ip(a.real(0)), 0));
  client.connect(tcp::endpoint(a.ip(a.relay(1)), a.port));
  tcp::socket server = listener.accept();
  std::string sent;
  for (int i = 0; i < 50; ++i) {
    std::string piece = "<" + std::to_string(i) + ">";
    asio::write(client, asio::buffer(piece));
    sent += piece;
    std::this_thread::sleep_for(2ms);  // separate reads, each with its own delay draw
  }
  EXPECT_EQ(read_n(server, sent.size(), 20000ms), sent);
}

TEST(Relay, TrafficFromNoNodesAddressIsRefusedAndCounted) {
  Addresses a;
  Relay relay({{a.real(0), a.relay(0)}, {a.real(1), a.relay(1)}}, {a.port}, {a.port}, 4);
  asio::io_context io;
  tcp::acceptor listener(io, tcp::endpoint(a.ip(a.real(1)), a.port));
  tcp::socket stranger(io);
  stranger.open(tcp::v4());
  stranger.bind(tcp::endpoint(a.ip("127.0.0.1"), 0));
  stranger.connect(tcp::endpoint(a.ip(a.relay(1)), a.port));
  char c;
  boost::system::error_code ec;
  stranger.read_some(asio::buffer(&c, 1), ec);  // closed by the relay
  EXPECT_TRUE(ec == asio::error::eof || ec == asio::error::connection_reset) << ec.message();
  udp::socket u(io, udp::endpoint(a.ip("127.0.0.1"), 0));
  u.send_to(asio::buffer(std::string("x")), udp::endpoint(a.ip(a.relay(1)), a.port));
  for (int i = 0; i < 500 && relay.counters().unknown_sources < 2; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(relay.counters().unknown_sources, 2u);
  EXPECT_EQ(relay.counters().connections, 0u);
}

TEST(Relay, ABusyAddressIsAClearError) {
  Addresses a;
  asio::io_context io;
  tcp::acceptor taken(io, tcp::endpoint(asio::ip::make_address(a.relay(1)), a.port));
  try {
    Relay relay({{a.real(0), a.relay(0)}, {a.real(1), a.relay(1)}}, {a.port}, {}, 5);
    FAIL() << "bound a taken address";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(a.relay(1) + ":" + std::to_string(a.port)), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace cairn::faults
