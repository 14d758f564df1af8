// A tiny blocking HTTP/1.1 client over a real socket, for tests that need to
// send exactly the bytes they mean (malformed requests, slow clients).
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <string>

namespace cairn::test {

class RawConnection {
 public:
  RawConnection(const std::string& ip, uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    ::inet_pton(AF_INET, ip.c_str(), &addr.sin_addr);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  ~RawConnection() {
    if (fd_ >= 0) ::close(fd_);
  }
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool connected() const { return fd_ >= 0; }

  bool send(const std::string& data) {
    size_t off = 0;
    while (off < data.size()) {
      ssize_t n = ::send(fd_, data.data() + off, data.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return false;
      off += static_cast<size_t>(n);
    }
    return true;
  }

  // Reads one response: headers, then Content-Length bytes of body. Returns
  // what arrived before `timeout` or EOF.
  std::string read_response(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      auto end = buf_.find("\r\n\r\n");
      if (end != std::string::npos) {
        size_t need = end + 4 + content_length(buf_.substr(0, end));
        if (buf_.size() >= need) {
          std::string out = buf_.substr(0, need);
          buf_.erase(0, need);
          return out;
        }
      }
      if (!fill(deadline)) {
        std::string out = std::move(buf_);
        buf_.clear();
        return out;
      }
    }
  }

  // Everything received so far once it contains `needle` (streamed bodies),
  // or whatever came before `timeout` passed or the peer closed.
  std::string read_until(const std::string& needle, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (buf_.find(needle) == std::string::npos && fill(deadline)) {
    }
    return buf_;
  }

  // True when the peer closed the connection before `timeout`.
  bool wait_closed(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (!fill(deadline)) return eof_;
    }
    return eof_;
  }

 private:
  static size_t content_length(const std::string& headers) {
    std::string lower;
    for (char c : headers) lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    auto p = lower.find("content-length:");
    if (p == std::string::npos) return 0;
    return std::stoul(lower.substr(p + 15));
  }
  bool fill(std::chrono::steady_clock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
    char tmp[65536];
    ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
    if (n <= 0) {
      eof_ = true;
      return false;
    }
    buf_.append(tmp, static_cast<size_t>(n));
    return true;
  }

  int fd_ = -1;
  std::string buf_;
  bool eof_ = false;
};

// Connects to 127.0.0.1:port, writes `bytes` and reports whether the server
// then closed the connection (tests of malformed input on raw TCP servers).
inline bool sends_and_gets_closed(uint16_t port, const std::string& bytes,
                                  std::chrono::milliseconds timeout = std::chrono::seconds(15)) {
  RawConnection c("127.0.0.1", port);
  return c.connected() && c.send(bytes) && c.wait_closed(timeout);
}

inline int status_of(const std::string& response) {
  if (response.size() < 12 || response.compare(0, 5, "HTTP/") != 0) return 0;
  return std::stoi(response.substr(9, 3));
}

inline std::string body_of(const std::string& response) {
  auto p = response.find("\r\n\r\n");
  return p == std::string::npos ? std::string() : response.substr(p + 4);
}

}  // namespace cairn::test
