// GET /v1/agent/version, /v1/agent/host, /v1/agent/metrics and
// /v1/agent/monitor: what the agent can tell about itself and its host, its
// metrics (Consul's JSON or Prometheus text) and its log as a stream.
#include <sys/statvfs.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "agent/http/endpoints.h"
#include "agent/http/json_reply.h"
#include "agent/log_monitor.h"
#include "core/io/metrics.h"
#include "core/version.h"

namespace cairn::agent::http {
namespace {

// "key: value" lines of a /proc file (meminfo, cpuinfo blocks, os-release).
std::map<std::string, std::string> key_values(std::istream& in, char sep) {
  std::map<std::string, std::string> out;
  for (std::string line; std::getline(in, line);) {
    auto at = line.find(sep);
    if (at == std::string::npos) continue;
    auto trim = [](std::string s) {
      size_t b = s.find_first_not_of(" \t\""), e = s.find_last_not_of(" \t\"");
      return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
    };
    out[trim(line.substr(0, at))] = trim(line.substr(at + 1));
  }
  return out;
}

uint64_t kib(const std::map<std::string, std::string>& m, const std::string& key) {
  auto it = m.find(key);
  return it == m.end() ? 0 : std::strtoull(it->second.c_str(), nullptr, 10) * 1024;
}

double percent(uint64_t part, uint64_t whole) { return whole ? 100.0 * static_cast<double>(part) / static_cast<double>(whole) : 0; }

// In gopsutil's shapes, which Consul's /v1/agent/host returns.
nlohmann::json host_document(const Config& config, std::vector<std::string>& errors) {
  nlohmann::json memory = nlohmann::json::object();
  if (std::ifstream in("/proc/meminfo"); in) {
    auto m = key_values(in, ':');
    uint64_t total = kib(m, "MemTotal"), available = kib(m, "MemAvailable"), free = kib(m, "MemFree");
    memory = {{"total", total},         {"available", available},
              {"used", total - available}, {"usedPercent", percent(total - available, total)},
              {"free", free},           {"buffers", kib(m, "Buffers")},
              {"cached", kib(m, "Cached")}, {"swapTotal", kib(m, "SwapTotal")},
              {"swapFree", kib(m, "SwapFree")}};
  } else {
    errors.push_back("memory: cannot read /proc/meminfo");
  }

  nlohmann::json cpus = nlohmann::json::array();
  if (std::ifstream in("/proc/cpuinfo"); in) {
    std::string text((std::istreambuf_iterator<char>(in)), {});
    std::istringstream blocks(text);
    std::string block, line;
    auto flush = [&] {
      if (block.empty()) return;
      std::istringstream b(block);
      auto m = key_values(b, ':');
      block.clear();
      nlohmann::json flags = nlohmann::json::array();
      std::istringstream f(m["flags"]);
      for (std::string flag; f >> flag;) flags.push_back(flag);
      cpus.push_back({{"cpu", std::atoi(m["processor"].c_str())},
                      {"vendorId", m["vendor_id"]},
                      {"family", m["cpu family"]},
                      {"model", m["model"]},
                      {"stepping", std::atoi(m["stepping"].c_str())},
                      {"physicalId", m["physical id"]},
                      {"coreId", m["core id"]},
                      {"cores", 1},
                      {"modelName", m["model name"]},
                      {"mhz", std::atof(m["cpu MHz"].c_str())},
                      {"cacheSize", std::atoi(m["cache size"].c_str())},
                      {"flags", flags},
                      {"microcode", m["microcode"]}});
    };
    while (std::getline(blocks, line)) {
      if (line.empty()) {
        flush();
      } else {
        block += line + "\n";
      }
    }
    flush();
  } else {
    errors.push_back("cpu: cannot read /proc/cpuinfo");
  }

  struct utsname u {};
  ::uname(&u);
  double uptime = 0;
  if (std::ifstream in("/proc/uptime"); in) in >> uptime;
  std::map<std::string, std::string> os;
  if (std::ifstream in("/etc/os-release"); in) os = key_values(in, '=');
  uint64_t procs = 0;
  if (std::ifstream in("/proc/loadavg"); in) {
    std::string a, b, c, running;
    in >> a >> b >> c >> running;
    if (auto slash = running.find('/'); slash != std::string::npos) procs = std::strtoull(running.c_str() + slash + 1, nullptr, 10);
  }
  auto now_s = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  std::string host_id;
  if (std::ifstream in("/etc/machine-id"); in) std::getline(in, host_id);
  nlohmann::json host = {{"hostname", u.nodename},
                         {"uptime", static_cast<uint64_t>(uptime)},
                         {"bootTime", static_cast<uint64_t>(now_s - static_cast<int64_t>(uptime))},
                         {"procs", procs},
                         {"os", "linux"},
                         {"platform", os["ID"]},
                         {"platformFamily", os["ID_LIKE"].empty() ? os["ID"] : os["ID_LIKE"]},
                         {"platformVersion", os["VERSION_ID"]},
                         {"kernelVersion", u.release},
                         {"kernelArch", u.machine},
                         {"virtualizationSystem", ""},
                         {"virtualizationRole", ""},
                         {"hostId", host_id}};

  nlohmann::json disk = nlohmann::json::object();
  struct statvfs fs {};
  if (::statvfs(config.data_dir.c_str(), &fs) == 0) {
    uint64_t total = fs.f_blocks * fs.f_frsize, free = fs.f_bavail * fs.f_frsize,
             used = (fs.f_blocks - fs.f_bfree) * fs.f_frsize;
    disk = {{"path", config.data_dir},
            {"fstype", ""},
            {"total", total},
            {"free", free},
            {"used", used},
            {"usedPercent", percent(used, used + free)},
            {"inodesTotal", static_cast<uint64_t>(fs.f_files)},
            {"inodesUsed", static_cast<uint64_t>(fs.f_files - fs.f_ffree)},
            {"inodesFree", static_cast<uint64_t>(fs.f_ffree)},
            {"inodesUsedPercent", percent(fs.f_files - fs.f_ffree, fs.f_files)}};
  } else {
    errors.push_back("disk: cannot stat the data dir " + config.data_dir);
  }
  return {{"Memory", memory}, {"CPU", cpus}, {"Host", host}, {"Disk", disk}};
}

}  // namespace

void register_agent_info(Router& router, EndpointContext& ctx) {
  router.add_sync(Method::get, "/v1/agent/version", [](Request& req) {
    return json_reply(req, {{"SHA", revision()}, {"BuildDate", ""}, {"HumanVersion", version()}, {"FIPS", ""}});
  });

  router.add_sync(Method::get, "/v1/agent/host", [&config = ctx.config](Request& req) {
    auto start = std::chrono::steady_clock::now();
    std::vector<std::string> errors;
    auto doc = host_document(config, errors);
    doc["CollectionTime"] =
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start).count();
    doc["Errors"] = errors.empty() ? nlohmann::json(nullptr) : nlohmann::json(errors);
    return json_reply(req, doc);
  });

  router.add_sync(Method::get, "/v1/agent/metrics", [](Request& req) {
    auto format = req.query.get("format");
    auto snap = metrics::snapshot();
    if (format && *format == "prometheus") {
      auto r = Response::text(metrics::to_prometheus(snap));
      r.headers.set("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
      return r;
    }
    if (format && !format->empty()) return Response::error(400, "format: unknown value \"" + *format + "\" (allowed: prometheus)");
    if (!req.query.has("pretty")) return Response::json(metrics::to_json(snap));
    return json_reply(req, nlohmann::json::parse(metrics::to_json(snap)));
  });

  router.add_sync(Method::get, "/v1/agent/monitor", [monitor = ctx.monitor](Request& req) {
    if (!monitor) return Response::error(500, "log monitoring is not available");
    log::Level level = log::Level::info;
    if (auto text = req.query.get("loglevel"); text && !text->empty()) {
      auto parsed = log::parse_level(*text);
      if (!parsed.ok() || *parsed == log::Level::off) return Response::error(400, "Unknown log level: " + *text);
      level = *parsed;
    }
    Response r;
    r.headers.set("Content-Type", "text/plain; charset=utf-8");
    r.stream = monitor->subscribe(level, req.query.has("logjson"));
    return r;
  });
}

}  // namespace cairn::agent::http
