// Real servers on 127.0.0.1 for the check runner tests, each on its own
// io_context thread, plus the collector of the runner's reports.
#pragma once

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <chrono>
#include <cstring>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "agent/checks/runner.h"

namespace cairn::agent::checks::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

// The runner's reports, waited for with a generous deadline (never timed).
class Reports {
 public:
  void add(StatusUpdate u) {
    std::lock_guard lock(mu_);
    all_.push_back(u);
    last_[u.check_id] = std::move(u);
    cv_.notify_all();
  }
  // The first time check `id` was last reported with `status`, within 20 s.
  std::optional<StatusUpdate> wait(const std::string& id, const std::string& status,
                                   std::chrono::seconds within = std::chrono::seconds(20)) {
    std::unique_lock lock(mu_);
    bool ok = cv_.wait_for(lock, within, [&] {
      auto it = last_.find(id);
      return it != last_.end() && it->second.status == status;
    });
    if (!ok) return std::nullopt;
    return last_[id];
  }
  // How many checks were last reported with `status`, waiting up to 60 s for `n`.
  size_t wait_count(const std::string& status, size_t n) {
    std::unique_lock lock(mu_);
    auto count = [&] {
      size_t c = 0;
      for (auto& [id, u] : last_) c += u.status == status;
      return c;
    };
    cv_.wait_for(lock, std::chrono::seconds(60), [&] { return count() >= n; });
    return count();
  }
  std::vector<StatusUpdate> all(const std::string& id) {
    std::lock_guard lock(mu_);
    std::vector<StatusUpdate> out;
    for (auto& u : all_) {
      if (u.check_id == id) out.push_back(u);
    }
    return out;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<StatusUpdate> all_;
  std::map<std::string, StatusUpdate> last_;
};

// One io_context on its own thread.
class IoThread {
 public:
  IoThread() : work_(asio::make_work_guard(io_)), thread_([this] { io_.run(); }) {}
  ~IoThread() {
    io_.stop();
    thread_.join();
  }
  asio::io_context& io() { return io_; }

 private:
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::thread thread_;
};

// A port nothing listens on (bound, then closed).
inline unsigned short closed_tcp_port() {
  asio::io_context io;
  tcp::acceptor a(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  return a.local_endpoint().port();
}

// A self-signed certificate for "localhost" and 127.0.0.1, made with the
// openssl CLI in a temporary directory.
struct SelfSigned {
  std::string dir;
  std::string cert;
  std::string key;
  SelfSigned() {
    dir = std::filesystem::temp_directory_path() / ("cairn-checks-tls-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    cert = dir + "/cert.pem";
    key = dir + "/key.pem";
    std::string cmd = "openssl req -x509 -newkey rsa:2048 -nodes -keyout " + key + " -out " + cert +
                      " -days 1 -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 2>/dev/null";
    if (std::system(cmd.c_str()) != 0) cert.clear();
  }
  ~SelfSigned() { std::filesystem::remove_all(dir); }
};

// Accepts on 127.0.0.1 and hands each connection, in TLS when given a
// certificate (offering ALPN h2 when asked), to Derived::run(stream).
template <typename Derived>
class ServerBase {
 public:
  ServerBase(IoThread& io, const SelfSigned* tls, bool h2)
      : acceptor_(io.io(), tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    if (tls) {
      ctx_ = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
      ctx_->use_certificate_chain_file(tls->cert);
      ctx_->use_private_key_file(tls->key, asio::ssl::context::pem);
      if (h2) SSL_CTX_set_alpn_select_cb(ctx_->native_handle(), select_h2, nullptr);
    }
    asio::co_spawn(acceptor_.get_executor(), accept(), asio::detached);
  }
  unsigned short port() const { return acceptor_.local_endpoint().port(); }

 private:
  static int select_h2(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in, unsigned int inlen,
                       void*) {
    static const unsigned char kH2[] = {'h', '2'};
    for (unsigned int i = 0; i < inlen; i += in[i] + 1) {
      if (in[i] == 2 && i + 3 <= inlen && std::memcmp(in + i + 1, kH2, 2) == 0) {
        *out = in + i + 1;
        *outlen = 2;
        return SSL_TLSEXT_ERR_OK;
      }
    }
    return SSL_TLSEXT_ERR_NOACK;
  }
  asio::awaitable<void> accept() {
    for (;;) {
      auto [ec, socket] = co_await acceptor_.async_accept(asio::as_tuple(asio::use_awaitable));
      if (ec) co_return;
      asio::co_spawn(acceptor_.get_executor(), serve(std::move(socket)), asio::detached);
    }
  }
  asio::awaitable<void> serve(tcp::socket socket) {
    auto* self = static_cast<Derived*>(this);
    if (!ctx_) {
      co_await self->run(socket);
      co_return;
    }
    asio::ssl::stream<tcp::socket> stream(std::move(socket), *ctx_);
    auto [ec] = co_await stream.async_handshake(asio::ssl::stream_base::server, asio::as_tuple(asio::use_awaitable));
    if (!ec) co_await self->run(stream);
  }

  tcp::acceptor acceptor_;
  std::unique_ptr<asio::ssl::context> ctx_;
};

// An HTTP(S) server: /ok 200, /busy 429, /fail 500, /same 302 to /ok,
// /loop 302 to itself, /other 302 to another port's /ok, /big 200 with
// 10,000 bytes, /echo 200 with the method, User-Agent, Accept, X-Test and body.
class HttpServer : public ServerBase<HttpServer> {
 public:
  explicit HttpServer(IoThread& io, const SelfSigned* tls = nullptr) : ServerBase(io, tls, false) {}
  unsigned short other_port = 1;

  template <typename Stream>
  asio::awaitable<void> run(Stream& stream) {
    beast::flat_buffer buf;
    http::request<http::string_body> req;
    auto [ec, n] = co_await http::async_read(stream, buf, req, asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;
    auto res = answer(req);
    co_await http::async_write(stream, res, asio::as_tuple(asio::use_awaitable));
  }

 private:
  http::response<http::string_body> answer(const http::request<http::string_body>& req) {
    http::response<http::string_body> res;
    res.version(11);
    std::string target(req.target());
    auto redirect = [&](const std::string& to) {
      res.result(http::status::found);
      res.set(http::field::location, to);
    };
    if (target == "/ok") {
      res.result(http::status::ok);
      res.body() = "all good";
    } else if (target == "/busy") {
      res.result(http::status::too_many_requests);
    } else if (target == "/same") {
      redirect("/ok");
    } else if (target == "/loop") {
      redirect("/loop");
    } else if (target == "/other") {
      redirect("http://127.0.0.1:" + std::to_string(other_port) + "/ok");
    } else if (target == "/big") {
      res.result(http::status::ok);
      res.body() = std::string(10000, 'b');
    } else if (target == "/echo") {
      res.result(http::status::ok);
      res.body() = std::string(req.method_string()) + "|" + std::string(req[http::field::user_agent]) + "|" +
                   std::string(req[http::field::accept]) + "|" + std::string(req["X-Test"]) + "|" + req.body();
    } else {
      res.result(http::status::internal_server_error);
      res.body() = "broken";
    }
    res.prepare_payload();
    return res;
  }
};

// Accepts and closes connections.
class TcpListener {
 public:
  explicit TcpListener(IoThread& io) : acceptor_(io.io(), tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    acceptor_.listen(4096);
    accept();
  }
  unsigned short port() const { return acceptor_.local_endpoint().port(); }

 private:
  void accept() {
    acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket) {
      if (!ec) accept();
    });
  }
  tcp::acceptor acceptor_;
};

}  // namespace cairn::agent::checks::test
