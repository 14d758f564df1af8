// Blocking sockets for the proxy's tests on 127.0.0.1 (test code: a thread
// per connection, 10 s receive timeouts so a hung read fails a test instead
// of hanging it): connect, send, receive, a listener on an ephemeral port,
// and Backend — an echo or HTTP server.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <list>
#include <string>
#include <thread>
#include <vector>

namespace cairn::test::sockets {

inline int connect_to(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  timeval tv{10, 0};  // a hung read fails the test instead of hanging it
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

inline bool send_all(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    ssize_t n = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

// Reads exactly n bytes; fewer when the peer closes or 10 s pass.
inline std::string recv_n(int fd, size_t n) {
  std::string out(n, '\0');
  size_t got = 0;
  while (got < n) {
    ssize_t r = ::recv(fd, out.data() + got, n - got, 0);
    if (r <= 0) break;
    got += static_cast<size_t>(r);
  }
  out.resize(got);
  return out;
}

// True when the peer closes (EOF or reset) within 10 s.
inline bool closed_by_peer(int fd) {
  char c;
  for (;;) {
    ssize_t r = ::recv(fd, &c, 1, 0);
    if (r == 0) return true;
    if (r < 0) return errno == ECONNRESET || errno == EPIPE;
  }
}

// A listening socket on an ephemeral port.
inline int listen_on(uint16_t& port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  ::listen(fd, 64);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  port = ntohs(a.sin_port);
  return fd;
}

// A backend: echo (every byte back) or HTTP (200 "hello from <name>" per
// request), a thread per connection (test code).
class Backend {
 public:
  enum Kind { echo, http };
  Backend(Kind kind, std::string name) : kind_(kind), name_(std::move(name)) {
    fd_ = listen_on(port_);
    accept_thread_ = std::thread([this] { accept_loop(); });
  }
  ~Backend() {
    stopping_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    accept_thread_.join();
    for (auto& t : conns_) t.join();
  }
  uint16_t port() const { return port_; }
  int accepted() const { return accepted_; }

 private:
  void accept_loop() {
    for (;;) {
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      if (stopping_) {
        ::close(c);
        return;
      }
      ++accepted_;
      conns_.emplace_back([this, c] { kind_ == echo ? serve_echo(c) : serve_http(c); });
    }
  }
  static void serve_echo(int c) {
    std::vector<char> buf(64 * 1024);
    for (;;) {
      ssize_t n = ::recv(c, buf.data(), buf.size(), 0);
      if (n <= 0) break;
      if (!send_all(c, std::string(buf.data(), static_cast<size_t>(n)))) break;
    }
    ::close(c);
  }
  void serve_http(int c) {
    std::string in;
    char buf[4096];
    for (;;) {
      ssize_t n = ::recv(c, buf, sizeof buf, 0);
      if (n <= 0) break;
      in.append(buf, static_cast<size_t>(n));
      size_t end;
      while ((end = in.find("\r\n\r\n")) != std::string::npos) {
        in.erase(0, end + 4);
        std::string body = "hello from " + name_;
        send_all(c, "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
      }
    }
    ::close(c);
  }

  Kind kind_;
  std::string name_;
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> accepted_{0};
  std::thread accept_thread_;
  std::list<std::thread> conns_;
};

// A port that was free a moment ago (for registrations that must name
// their port before the process that binds it starts).
inline uint16_t free_port() {
  uint16_t port = 0;
  int fd = listen_on(port);
  ::close(fd);
  return port;
}

}  // namespace cairn::test::sockets
