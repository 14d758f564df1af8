#include "server/rpc/listener.h"

#include <atomic>

#include "api/rpc_codec.h"
#include "core/log.h"
#include "server/rpc/rpc_server.h"

namespace cairn::server::rpc {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using api::rpc::io::arm;
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
  std::function<void(int)> raft;
  uint16_t port = 0;
  std::atomic<bool> started{false};
  std::atomic<bool> stopped{false};

  asio::awaitable<void> accept_loop();
  asio::awaitable<void> sniff(std::shared_ptr<tcp::socket> sock);
};

Result<std::unique_ptr<RpcListener>> RpcListener::create(asio::io_context& io, RpcListenerOptions options) {
  if (options.max_frame_bytes == 0) return Error(errc::invalid_argument, "rpc: max_frame_bytes must be above 0");
  if (options.max_in_flight == 0) return Error(errc::invalid_argument, "rpc: max_in_flight must be above 0");
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

void RpcListener::start(api::rpc::Handler& handler, std::function<void(int fd)> raft) {
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
    auto sock = std::make_shared<tcp::socket>(std::move(socket));
    asio::co_spawn(sock->get_executor(), sniff(sock), asio::detached);
  }
}

// Reads the protocol byte and hands the connection to its protocol.
asio::awaitable<void> RpcListener::Impl::sniff(std::shared_ptr<tcp::socket> sock) {
  auto self = shared_from_this();
  asio::steady_timer deadline(sock->get_executor());
  arm(deadline, sock, options.first_byte_timeout);
  uint8_t byte = 0;
  auto [ec, n] = co_await asio::async_read(*sock, asio::buffer(&byte, 1), kTuple);
  deadline.cancel();
  boost::system::error_code ignored;
  if (ec || stopped) {
    if (ec) counters->bump(&RpcListenerCounters::no_protocol_byte);
    sock->close(ignored);
    co_return;
  }
  if (byte == api::rpc::kProtocolRpc) {
    counters->bump(&RpcListenerCounters::rpc_connections);
    sock->set_option(tcp::no_delay(true), ignored);
    server->serve(std::move(sock));
  } else if (byte == api::rpc::kProtocolRaft && raft) {
    counters->bump(&RpcListenerCounters::raft_connections);
    int fd = sock->release(ignored);
    if (ignored) {
      sock->close(ignored);
      co_return;
    }
    raft(fd);
  } else {
    counters->bump(&RpcListenerCounters::unknown_protocol);
    log::warn("rpc", "connection with unknown protocol byte 0x{:02x}; closing", byte);
    sock->close(ignored);
  }
}

}  // namespace cairn::server::rpc
