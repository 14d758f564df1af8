// bench/kv/kvclient: the two loads of bench/kv/run.sh that wrk cannot make.
//
//   kvclient watch cairn|etcd HOST:PORT KEY N [PID...]
//     Holds N watches on KEY, each on its own connection (cairn: a blocking
//     GET /v1/kv/KEY?index=<current>&wait=60s; etcd: a POST /v3/watch stream
//     through the JSON gateway), then writes KEY once on another connection
//     and times, for every watcher, the first byte of its answer against the
//     moment the write's response was read (p50_ms…) and against the moment
//     the write was sent (sent_p50_ms…). Prints one RESULT line (ms).
//     Connections come from 127.1.x.y, 100 per source address, so a server's
//     per-client connection cap (Consul's default 200) is not what is measured.
//     PIDs: processes whose VmRSS is printed while the watches are held.
//   kvclient register HOST:PORT COUNT CONNS
//     PUT /v1/catalog/register for instances 0..COUNT-1 of service "web"
//     (ID web-<i>, node node-<i/100>), CONNS keep-alive connections each
//     sending its next request when the previous one is answered.
//
// Plain POSIX sockets + epoll, one thread for the event loop (plus one for the
// write in watch mode). Bench tool only: built by run.sh with g++ directly.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "kvclient: %s: %s\n", what.c_str(), std::strerror(errno));
  std::exit(1);
}

sockaddr_in parse_addr(const std::string& hp) {
  auto colon = hp.rfind(':');
  if (colon == std::string::npos) {
    std::fprintf(stderr, "kvclient: address %s is not HOST:PORT\n", hp.c_str());
    std::exit(2);
  }
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(std::atoi(hp.substr(colon + 1).c_str())));
  if (inet_pton(AF_INET, hp.substr(0, colon).c_str(), &a.sin_addr) != 1) {
    std::fprintf(stderr, "kvclient: bad IPv4 address in %s\n", hp.c_str());
    std::exit(2);
  }
  return a;
}

// A blocking connection from source address `src` (0: any).
int dial(const sockaddr_in& to, uint32_t src) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) die("socket");
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (src != 0) {
    sockaddr_in s{};
    s.sin_family = AF_INET;
    s.sin_addr.s_addr = htonl(src);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&s), sizeof s) != 0) die("bind");
  }
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&to), sizeof to) != 0) die("connect");
  return fd;
}

void send_all(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    ssize_t n = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      die("send");
    }
    off += static_cast<size_t>(n);
  }
}

// One HTTP/1.1 response read incrementally: done once headers and a
// Content-Length body are in (chunked streams never finish here).
struct Response {
  std::string buf;
  int status = 0;
  size_t body_at = 0, length = 0;
  bool headers = false;

  bool feed(const char* p, size_t n) {
    buf.append(p, n);
    if (!headers) {
      auto end = buf.find("\r\n\r\n");
      if (end == std::string::npos) return false;
      headers = true;
      body_at = end + 4;
      status = std::atoi(buf.c_str() + 9);
      std::string h = buf.substr(0, end);
      std::transform(h.begin(), h.end(), h.begin(), [](unsigned char c) { return std::tolower(c); });
      auto cl = h.find("\r\ncontent-length:");
      length = cl == std::string::npos ? SIZE_MAX : std::strtoull(h.c_str() + cl + 17, nullptr, 10);
    }
    return length != SIZE_MAX && buf.size() >= body_at + length;
  }
  std::string header(const std::string& name) const {
    std::string h = buf.substr(0, body_at);
    std::string lower = h;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
    auto at = lower.find("\r\n" + name + ":");
    if (at == std::string::npos) return "";
    auto v = h.find_first_not_of(" \t", at + name.size() + 3);
    return h.substr(v, h.find("\r\n", v) - v);
  }
};

// Sends `req` on a fresh connection and reads the whole response.
Response round_trip(const sockaddr_in& to, const std::string& req) {
  int fd = dial(to, 0);
  send_all(fd, req);
  Response r;
  char b[65536];
  for (;;) {
    ssize_t n = ::recv(fd, b, sizeof b, 0);
    if (n <= 0) die("reading a response");
    if (r.feed(b, static_cast<size_t>(n))) break;
  }
  ::close(fd);
  return r;
}

std::string b64(const std::string& s) {
  static const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string o;
  for (size_t i = 0; i < s.size(); i += 3) {
    uint32_t n = static_cast<uint8_t>(s[i]) << 16;
    if (i + 1 < s.size()) n |= static_cast<uint8_t>(s[i + 1]) << 8;
    if (i + 2 < s.size()) n |= static_cast<uint8_t>(s[i + 2]);
    o += t[(n >> 18) & 63];
    o += t[(n >> 12) & 63];
    o += i + 1 < s.size() ? t[(n >> 6) & 63] : '=';
    o += i + 2 < s.size() ? t[n & 63] : '=';
  }
  return o;
}

std::string http_request(const std::string& method, const std::string& path, const std::string& body,
                         bool json) {
  std::string r = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  if (json) r += "Content-Type: application/json\r\n";
  if (!body.empty() || method != "GET") r += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  return r + "\r\n" + body;
}

std::string vm_rss(const std::string& pid) {
  std::ifstream f("/proc/" + pid + "/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmRSS:", 0) == 0) return line.substr(6);
  return "?";
}

double ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

double pct(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p / 100.0 * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

int watch(const std::string& system, const std::string& addr, const std::string& key, int n,
          const std::vector<std::string>& pids) {
  const bool etcd = system == "etcd";
  const sockaddr_in to = parse_addr(addr);
  const std::string value(256, 'w');
  const std::string put = etcd ? http_request("POST", "/v3/kv/put",
                                              "{\"key\":\"" + b64(key) + "\",\"value\":\"" + b64(value) + "\"}", true)
                               : http_request("PUT", "/v1/kv/" + key, value, false);
  Response first = round_trip(to, put);
  if (first.status != 200) {
    std::fprintf(stderr, "kvclient: the first write of %s answered HTTP %d\n", key.c_str(), first.status);
    return 1;
  }
  std::string req;
  if (etcd) {
    req = http_request("POST", "/v3/watch", "{\"create_request\":{\"key\":\"" + b64(key) + "\"}}", true);
  } else {
    Response g = round_trip(to, http_request("GET", "/v1/kv/" + key, "", false));
    std::string index = g.header("x-consul-index");
    if (g.status != 200 || index.empty()) {
      std::fprintf(stderr, "kvclient: GET /v1/kv/%s answered HTTP %d without X-Consul-Index\n", key.c_str(),
                   g.status);
      return 1;
    }
    req = http_request("GET", "/v1/kv/" + key + "?index=" + index + "&wait=60s", "", false);
  }

  int ep = epoll_create1(0);
  if (ep < 0) die("epoll_create1");
  struct Watcher {
    int fd = -1;
    std::string seen;          // etcd: bytes before the "created" message ended
    bool created = false;      // etcd: the watch is registered
    bool answered = false;     // first byte after the write
    Clock::time_point at{};
  };
  std::vector<Watcher> ws(static_cast<size_t>(n));
  const auto t_connect = Clock::now();
  for (int i = 0; i < n; ++i) {
    uint32_t src = (127u << 24) | (1u << 16) | static_cast<uint32_t>(i / 100 + 1);
    int fd = dial(to, src);
    send_all(fd, req);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u32 = static_cast<uint32_t>(i);
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) die("epoll_ctl");
    ws[static_cast<size_t>(i)].fd = fd;
  }
  const double connect_ms = ms(Clock::now() - t_connect);

  // Phase 1: held. etcd says "created" on each stream; cairn says nothing,
  // so give it a moment and count early answers (there should be none).
  Clock::time_point t_write_sent{}, t_write_done{};
  std::vector<epoll_event> evs(1024);
  char buf[16384];
  int created = 0, early = 0, answered = 0, closed = 0;
  auto drain = [&](Watcher& w) -> bool {  // false: the peer closed
    for (;;) {
      ssize_t r = ::recv(w.fd, buf, sizeof buf, 0);
      if (r > 0) {
        if (etcd && !w.created) {
          w.seen.append(buf, static_cast<size_t>(r));
          if (w.seen.find("\"created\":true") != std::string::npos) {
            w.created = true;
            ++created;
          }
        }
        continue;
      }
      if (r == 0) return false;
      return errno == EAGAIN || errno == EWOULDBLOCK;
    }
  };
  const auto settle_until = Clock::now() + std::chrono::seconds(etcd ? 120 : 2);
  while (Clock::now() < settle_until && (!etcd || created < n)) {
    int k = epoll_wait(ep, evs.data(), static_cast<int>(evs.size()), 100);
    for (int j = 0; j < k; ++j) {
      Watcher& w = ws[evs[static_cast<size_t>(j)].data.u32];
      if (!etcd) ++early;
      if (!drain(w)) {
        ++closed;
        epoll_ctl(ep, EPOLL_CTL_DEL, w.fd, nullptr);
      }
    }
  }
  if (etcd && created < n) {
    std::fprintf(stderr, "kvclient: only %d of %d etcd watches were created\n", created, n);
    return 1;
  }
  std::string rss;
  for (const auto& p : pids) {
    std::string v = vm_rss(p);
    rss += (rss.empty() ? "" : ",") + v.substr(std::min(v.find_first_not_of(" \t"), v.size()));
  }

  // Phase 2: one write, from another thread, while this one timestamps.
  std::thread writer([&] {
    t_write_sent = Clock::now();
    Response r = round_trip(to, put);
    t_write_done = Clock::now();
    if (r.status != 200) std::fprintf(stderr, "kvclient: the timed write answered HTTP %d\n", r.status);
  });
  const auto give_up = Clock::now() + std::chrono::seconds(70);
  while (answered + closed + early < n && Clock::now() < give_up) {
    int k = epoll_wait(ep, evs.data(), static_cast<int>(evs.size()), 100);
    const auto now = Clock::now();
    for (int j = 0; j < k; ++j) {
      Watcher& w = ws[evs[static_cast<size_t>(j)].data.u32];
      if (!w.answered) {
        w.answered = true;
        w.at = now;
        ++answered;
      }
      if (!drain(w)) {
        epoll_ctl(ep, EPOLL_CTL_DEL, w.fd, nullptr);
      }
    }
  }
  writer.join();
  std::vector<double> from_done, from_sent;
  for (auto& w : ws) {
    if (!w.answered) continue;
    from_done.push_back(ms(w.at - t_write_done));
    from_sent.push_back(ms(w.at - t_write_sent));
  }
  // Negative "from the response" times: the watcher heard of the write
  // before the writer had its answer.
  std::printf(
      "RESULT system=%s watchers=%d answered=%d early=%d closed_before=%d connect_ms=%.0f write_ms=%.2f "
      "p50_ms=%.2f p99_ms=%.2f max_ms=%.2f min_ms=%.2f sent_p50_ms=%.2f sent_p99_ms=%.2f sent_max_ms=%.2f "
      "rss_held=%s\n",
      system.c_str(), n, answered, early, closed, connect_ms, ms(t_write_done - t_write_sent), pct(from_done, 50),
      pct(from_done, 99), pct(from_done, 100), pct(from_done, 0), pct(from_sent, 50), pct(from_sent, 99),
      pct(from_sent, 100), rss.c_str());
  for (auto& w : ws) ::close(w.fd);
  return answered == n ? 0 : 1;
}

int register_instances(const std::string& addr, int count, int conns) {
  const sockaddr_in to = parse_addr(addr);
  int ep = epoll_create1(0);
  if (ep < 0) die("epoll_create1");
  struct Conn {
    int fd;
    Response r;
  };
  std::vector<Conn> cs(static_cast<size_t>(conns));
  int next = 0, done = 0, bad = 0;
  std::string first_bad;
  auto send_next = [&](Conn& c) -> bool {
    if (next >= count) return false;
    int i = next++;
    char body[256];
    std::snprintf(body, sizeof body,
                  "{\"Node\":\"node-%d\",\"Address\":\"127.1.%d.%d\",\"Service\":{\"ID\":\"web-%d\","
                  "\"Service\":\"web\",\"Port\":%d,\"Tags\":[\"bench\"]}}",
                  i / 100, (i / 25600) % 256, (i / 100) % 256, i, 20000 + i % 100);
    c.r = Response{};
    send_all(c.fd, http_request("PUT", "/v1/catalog/register", body, true));
    return true;
  };
  const auto t0 = Clock::now();
  for (int i = 0; i < conns; ++i) {
    Conn& c = cs[static_cast<size_t>(i)];
    c.fd = dial(to, 0);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u32 = static_cast<uint32_t>(i);
    if (epoll_ctl(ep, EPOLL_CTL_ADD, c.fd, &ev) != 0) die("epoll_ctl");
    send_next(c);
  }
  std::vector<epoll_event> evs(256);
  char buf[65536];
  while (done < count) {
    int k = epoll_wait(ep, evs.data(), static_cast<int>(evs.size()), 30000);
    if (k == 0) {
      std::fprintf(stderr, "kvclient: no answer for 30 s after %d registrations\n", done);
      return 1;
    }
    for (int j = 0; j < k; ++j) {
      Conn& c = cs[evs[static_cast<size_t>(j)].data.u32];
      ssize_t r = ::recv(c.fd, buf, sizeof buf, 0);
      if (r <= 0) die("a register connection closed");
      if (!c.r.feed(buf, static_cast<size_t>(r))) continue;
      ++done;
      if (c.r.status != 200 && bad++ == 0) first_bad = c.r.buf.substr(0, 200);
      send_next(c);
    }
  }
  const double secs = ms(Clock::now() - t0) / 1000;
  std::printf("RESULT registered=%d failed=%d seconds=%.1f per_second=%.0f\n", count - bad, bad, secs,
              count / secs);
  if (bad) std::fprintf(stderr, "kvclient: first failed registration: %s\n", first_bad.c_str());
  return bad ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> a(argv + 1, argv + argc);
  if (a.size() >= 5 && a[0] == "watch" && (a[1] == "cairn" || a[1] == "etcd"))
    return watch(a[1], a[2], a[3], std::atoi(a[4].c_str()), std::vector<std::string>(a.begin() + 5, a.end()));
  if (a.size() == 4 && a[0] == "register") return register_instances(a[1], std::atoi(a[2].c_str()), std::atoi(a[3].c_str()));
  std::fprintf(stderr,
               "usage: kvclient watch cairn|etcd HOST:PORT KEY N [PID...]\n"
               "       kvclient register HOST:PORT COUNT CONNS\n");
  return 2;
}
