#include "server/rpc/listener.h"

#include <atomic>
#include <mutex>
#include <set>

#include "api/rpc_codec.h"
#include "core/io/stream.h"
#include "core/io/tls.h"
#include "core/log.h"
#include "server/rpc/rpc_server.h"

namespace cairn::server::rpc {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using cairn::io::arm;
using cairn::io::Stream;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

struct RpcListener::Impl : std::enable_shared_from_this<RpcListener::Impl> {
  Impl(asio::io_context& io_, RpcListenerOptions o)
      : io(io_), acceptor_strand(asio::make_strand(io_)), acceptor(acceptor_strand), options(std::move(o)) {}

  asio::io_context& io;
  asio::strand<asio::io_context::executor_type> acceptor_strand;
  tcp::acceptor acceptor;
  const RpcListenerOptions options;
  std::shared_ptr<CounterBox> counters = std::make_shared<CounterBox>();
  std::shared_ptr<RpcServer> server;  // set by start()
  RaftTaker raft;
  uint16_t port = 0;
  std::atomic<bool> started{false};
  std::atomic<bool> stopped{false};

  asio::awaitable<void> accept_loop();
  asio::awaitable<void> sniff(std::shared_ptr<Stream> sock);
  // Logs `what` at warn the first time this kind of refusal happens for the
  // peer's IP.
  void warn_once(const std::string& ip, const std::string& kind, const std::string& what);

  std::mutex warned_mu;
  std::set<std::pair<std::string, std::string>> warned;  // (peer IP, kind) already warned about (bounded)
};

Result<std::unique_ptr<RpcListener>> RpcListener::create(asio::io_context& io, RpcListenerOptions options) {
  if (options.max_frame_bytes == 0) return Error(errc::invalid_argument, "rpc: max_frame_bytes must be above 0");
  if (options.max_in_flight == 0) return Error(errc::invalid_argument, "rpc: max_in_flight must be above 0");
  if (options.tls && options.tls->require_tls() && !options.tls->can_serve_tls())
    return Error(errc::invalid_argument, "tls.verify_incoming: a server needs tls.cert_file and tls.key_file");
  CAIRN_TRY(auto ep, api::rpc::io::parse_endpoint(options.listen, "rpc listen address"));
  auto impl = std::make_shared<Impl>(io, std::move(options));
  boost::system::error_code ec;
  impl->acceptor.open(ep.protocol(), ec);
  if (!ec) impl->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) impl->acceptor.bind(ep, ec);
  if (!ec) impl->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return Error(errc::io_error, "rpc: cannot listen on " + impl->options.listen + ": " + ec.message());
  impl->port = impl->acceptor.local_endpoint().port();
  return std::unique_ptr<RpcListener>(new RpcListener(std::move(impl)));
}

RpcListener::~RpcListener() { stop(); }

void RpcListener::start(api::rpc::Handler& handler, RaftTaker raft) {
  if (impl_->started.exchange(true)) return;
  impl_->server = std::make_shared<RpcServer>(handler, impl_->options, impl_->counters);
  impl_->raft = std::move(raft);
  asio::co_spawn(impl_->acceptor_strand, impl_->accept_loop(), asio::detached);
}

uint16_t RpcListener::port() const { return impl_->port; }

RpcListenerCounters RpcListener::counters() const { return impl_->counters->get(); }

void RpcListener::stop(Duration grace) {
  if (impl_->stopped.exchange(true)) return;
  asio::post(impl_->acceptor_strand, [impl = impl_] {
    boost::system::error_code ec;
    impl->acceptor.close(ec);
  });
  if (impl_->server) impl_->server->stop(impl_->io, grace);
}

asio::awaitable<void> RpcListener::Impl::accept_loop() {
  auto self = shared_from_this();
  while (!stopped) {
    auto [ec, socket] = co_await acceptor.async_accept(asio::make_strand(io), kTuple);
    if (ec) {
      if (stopped || ec == asio::error::operation_aborted) co_return;
      log::warn("rpc", "accept failed: {}", ec.message());
      asio::steady_timer pause(acceptor_strand, std::chrono::milliseconds(50));
      co_await pause.async_wait(kTuple);
      continue;
    }
    counters->bump(&RpcListenerCounters::accepted);
    auto sock = std::make_shared<Stream>(std::move(socket));
    asio::co_spawn(sock->get_executor(), sniff(sock), asio::detached);
  }
}

void RpcListener::Impl::warn_once(const std::string& ip, const std::string& kind, const std::string& what) {
  {
    std::lock_guard lock(warned_mu);
    if (warned.size() >= 4096 || !warned.emplace(ip, kind).second) return;
  }
  log::warn("rpc", "{} from {} (logged once per peer)", what, ip);
}

// Reads the protocol byte (after the TLS handshake when the first byte is
// 0x04) and hands the connection to its protocol.
asio::awaitable<void> RpcListener::Impl::sniff(std::shared_ptr<Stream> sock) {
  auto self = shared_from_this();
  asio::steady_timer deadline(sock->get_executor());
  boost::system::error_code ignored;
  auto peer = sock->socket().remote_endpoint(ignored);
  const std::string ip = ignored ? std::string("unknown") : peer.address().to_string();
  auto read_byte = [&]() -> asio::awaitable<std::pair<boost::system::error_code, uint8_t>> {
    uint8_t byte = 0;
    auto [ec, n] = co_await asio::async_read(*sock, asio::buffer(&byte, 1), kTuple);
    co_return std::pair{ec, byte};
  };
  arm(deadline, sock, options.first_byte_timeout);
  auto [ec, byte] = co_await read_byte();
  if (!ec && !stopped && byte == cairn::io::kProtocolTls) {
    if (!options.tls || !options.tls->can_serve_tls()) {
      deadline.cancel();
      counters->bump(&RpcListenerCounters::unknown_protocol);
      warn_once(ip, "no-cert", "TLS connection refused: this server has no tls.cert_file");
      sock->close(ignored);
      co_return;
    }
    // The handshake and the inner protocol byte share handshake_timeout.
    arm(deadline, sock, options.handshake_timeout);
    sock->start_tls(options.tls, Stream::Role::server);
    ec = co_await sock->handshake();
    if (ec) {
      deadline.cancel();
      if (stopped) {
        sock->close(ignored);
        co_return;
      }
      counters->bump(&RpcListenerCounters::tls_handshake_failures);
      std::string verify = sock->verify_error();
      warn_once(ip, "handshake", "TLS handshake failed: " + (verify.empty() ? ec.message() : verify));
      sock->close(ignored);
      co_return;
    }
    counters->bump(&RpcListenerCounters::tls_connections);
    std::tie(ec, byte) = co_await read_byte();
  }
  deadline.cancel();
  if (ec || stopped) {
    if (ec) counters->bump(&RpcListenerCounters::no_protocol_byte);
    sock->close(ignored);
    co_return;
  }
  bool known = byte == api::rpc::kProtocolRpc || (byte == api::rpc::kProtocolRaft && raft);
  if (known && !sock->is_tls() && options.tls && options.tls->require_tls()) {
    counters->bump(&RpcListenerCounters::plaintext_refused);
    warn_once(ip, "plaintext", "plaintext connection refused (verify_incoming requires TLS)");
    sock->close(ignored);
    co_return;
  }
  if (byte == api::rpc::kProtocolRpc) {
    counters->bump(&RpcListenerCounters::rpc_connections);
    sock->socket().set_option(tcp::no_delay(true), ignored);
    server->serve(std::move(sock));
  } else if (byte == api::rpc::kProtocolRaft && raft) {
    counters->bump(&RpcListenerCounters::raft_connections);
    raft(std::move(sock));
  } else {
    counters->bump(&RpcListenerCounters::unknown_protocol);
    log::warn("rpc", "connection with unknown protocol byte 0x{:02x}; closing", byte);
    sock->close(ignored);
  }
}

}  // namespace cairn::server::rpc
