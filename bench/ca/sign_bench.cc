// Leaf signing rate of the built-in CA (bench/ca/run.sh).
//   sign_bench raw N [ec|rsa]         server::ca::sign_leaf on prepared CSRs, one thread
//   sign_bench http ADDR N CONC       GET /v1/agent/connect/ca/leaf/<new service> against an agent:
//                                     key + CSR on the agent, RPC to the leader, signing, the answer
// Prints CSRs/s and the p50/p99 latency of one signing (raw) or one request (http).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <time.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "core/io/x509.h"
#include "server/ca/ca.h"

using namespace cairn;
using Steady = std::chrono::steady_clock;

namespace {

// CPU time of this thread: what one signing costs, whatever else runs on the machine.
double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

void report(const char* what, std::vector<double>& micros, double seconds) {
  std::sort(micros.begin(), micros.end());
  auto pct = [&](double p) { return micros[std::min(micros.size() - 1, static_cast<size_t>(p * micros.size()))]; };
  std::printf("%s: %zu leaves in %.2f s = %.0f CSRs/s, p50 %.0f us, p99 %.0f us\n", what, micros.size(), seconds,
              static_cast<double>(micros.size()) / seconds, pct(0.50), pct(0.99));
}

int raw(int n, const std::string& type) {
  api::CAProviderConfig config;
  if (type == "rsa") {
    config.private_key_type = "rsa";
    config.private_key_bits = 2048;
  }
  SeededRng rng(1);
  const std::string cluster = "11111111-2222-4333-8444-555555555555";
  auto w = server::ca::plan_initial(config, cluster, WallTime{std::chrono::seconds(1'800'000'000)}, rng);
  if (!w.ok()) return std::fprintf(stderr, "%s\n", w.error().message().c_str()), 1;
  const api::CARoot& root = w->roots->front();
  // As the leader does: the active root's parsed key comes from the cache
  // (one parse for the run), looked up again for every leaf.
  server::ca::IssuerCache cache;
  server::ca::SignInput in{root, nullptr, server::ca::trust_domain_of(cluster), "dc1", std::chrono::hours(72)};
  std::vector<std::string> csrs;
  for (int i = 0; i < n; ++i) {
    auto key = io::x509::generate_key("ec", 256);
    std::string svc = "svc" + std::to_string(i);
    csrs.push_back(*io::x509::make_csr(*key, {svc, server::ca::service_uri(in.trust_domain, "dc1", svc), {}}));
  }
  std::vector<double> micros;
  auto start = Steady::now();
  double cpu0 = thread_cpu_seconds();
  for (const auto& csr : csrs) {
    auto t0 = Steady::now();
    auto issuer = cache.get(root, w->keys.at(root.id));
    if (!issuer.ok()) return std::fprintf(stderr, "%s\n", issuer.error().message().c_str()), 1;
    in.issuer = std::move(*issuer);
    auto cert = server::ca::sign_leaf(in, csr, WallTime{std::chrono::seconds(1'800'000'000)});
    if (!cert.ok()) return std::fprintf(stderr, "%s\n", cert.error().message().c_str()), 1;
    micros.push_back(std::chrono::duration<double, std::micro>(Steady::now() - t0).count());
  }
  double secs = std::chrono::duration<double>(Steady::now() - start).count();
  double cpu = thread_cpu_seconds() - cpu0;
  report(("raw sign_leaf (" + type + " root)").c_str(), micros, secs);
  std::printf("  CPU %.0f us per leaf (%.0f leaves per CPU-second)\n", cpu * 1e6 / n, n / cpu);
  return 0;
}

// One keep-alive HTTP/1.1 connection; GET only.
struct Conn {
  int fd = -1;
  std::string buf;
  explicit Conn(const std::string& addr) {
    auto colon = addr.rfind(':');
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(static_cast<uint16_t>(std::stoi(addr.substr(colon + 1))));
    inet_pton(AF_INET, addr.substr(0, colon).c_str(), &sa.sin_addr);
    fd = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) std::perror("connect"), std::exit(1);
  }
  ~Conn() { ::close(fd); }
  int get(const std::string& path) {
    std::string req = "GET " + path + " HTTP/1.1\r\nHost: bench\r\n\r\n";
    if (::send(fd, req.data(), req.size(), 0) != static_cast<ssize_t>(req.size())) return -1;
    for (;;) {
      auto end = buf.find("\r\n\r\n");
      if (end != std::string::npos) {
        auto cl = buf.find("Content-Length: ");
        size_t len = cl != std::string::npos && cl < end ? std::stoul(buf.substr(cl + 16)) : 0;
        if (buf.size() >= end + 4 + len) {
          int status = std::stoi(buf.substr(9, 3));
          buf.erase(0, end + 4 + len);
          return status;
        }
      }
      char tmp[65536];
      ssize_t n = ::recv(fd, tmp, sizeof tmp, 0);
      if (n <= 0) return -1;
      buf.append(tmp, static_cast<size_t>(n));
    }
  }
};

int http(const std::string& addr, int n, int conc) {
  std::atomic<int> next{0}, failed{0};
  std::vector<std::vector<double>> lat(static_cast<size_t>(conc));
  std::string run = std::to_string(std::chrono::system_clock::now().time_since_epoch().count() % 1000000);
  auto start = Steady::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < conc; ++t) {
    threads.emplace_back([&, t] {
      Conn c(addr);
      for (int i = next++; i < n; i = next++) {
        auto t0 = Steady::now();
        int status = c.get("/v1/agent/connect/ca/leaf/b" + run + "-" + std::to_string(i));
        if (status != 200) ++failed;
        lat[static_cast<size_t>(t)].push_back(std::chrono::duration<double, std::micro>(Steady::now() - t0).count());
      }
    });
  }
  for (auto& th : threads) th.join();
  double secs = std::chrono::duration<double>(Steady::now() - start).count();
  std::vector<double> all;
  for (auto& l : lat) all.insert(all.end(), l.begin(), l.end());
  report(("HTTP leaf endpoint, " + std::to_string(conc) + " connections").c_str(), all, secs);
  if (failed) std::printf("  %d requests failed\n", failed.load());
  return failed ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> a(argv + 1, argv + argc);
  if (a.size() >= 2 && a[0] == "raw") return raw(std::stoi(a[1]), a.size() > 2 ? a[2] : "ec");
  if (a.size() == 4 && a[0] == "http") return http(a[1], std::stoi(a[2]), std::stoi(a[3]));
  std::fprintf(stderr, "usage: sign_bench raw N [ec|rsa] | sign_bench http ADDR N CONC\n");
  return 2;
}
