#include "agent/local/store.h"

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "api/json.h"
#include "core/log.h"

namespace cairn::agent::local {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

// Writes `text` to `path` atomically: a temporary file, fsync, rename, then
// fsync of the directory so the rename itself is durable.
Status write_atomically(const std::string& dir, const std::string& path, const std::string& text) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Error(errc::io_error, "cannot create " + dir + ": " + ec.message());
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Error(errc::io_error, "cannot write " + tmp);
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n <= 0) {
      ::close(fd);
      return Error(errc::io_error, "cannot write " + tmp);
    }
    done += static_cast<size_t>(n);
  }
  bool synced = ::fsync(fd) == 0;
  ::close(fd);
  if (!synced) return Error(errc::io_error, "cannot fsync " + tmp);
  fs::rename(tmp, path, ec);
  if (ec) return Error(errc::io_error, "cannot rename " + tmp + ": " + ec.message());
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    (void)::fsync(dfd);
    ::close(dfd);
  }
  return {};
}

Status remove_file(const std::string& path) {
  std::error_code ec;
  fs::remove(path, ec);
  if (ec) return Error(errc::io_error, "cannot remove " + path + ": " + ec.message());
  return {};
}

// Every regular file of `dir` but temporaries, with its text.
std::vector<std::pair<std::string, std::string>> read_dir(const std::string& dir) {
  std::vector<std::pair<std::string, std::string>> out;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return out;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (!e.is_regular_file() || e.path().extension() == ".tmp") continue;
    std::ifstream in(e.path(), std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    out.emplace_back(e.path().string(), ss.str());
  }
  return out;
}

std::string member_text(const Json& j, const char* name) {
  auto it = j.find(name);
  if (it == j.end() || !it->is_object()) return {};
  return it->dump();
}

int int_member(const Json& j, const char* name) {
  auto it = j.find(name);
  return it != j.end() && it->is_number_integer() ? it->get<int>() : 0;
}

std::string string_member(const Json& j, const char* name) {
  auto it = j.find(name);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

Result<LocalService> decode_service(const std::string& text) {
  Json j = Json::parse(text, nullptr, false);
  if (!j.is_object()) return Error(errc::parse_error, "not a JSON object");
  std::string svc = member_text(j, "Service");
  if (svc.empty()) return Error(errc::parse_error, "no Service");
  CAIRN_TRY(api::NodeService s, api::decode_node_service(svc));
  if (s.id.empty() || s.service.empty()) return Error(errc::parse_error, "Service without ID or name");
  LocalService out;
  out.service = std::move(s);
  out.token = string_member(j, "Token");
  out.sidecar_of = string_member(j, "LocallyRegisteredAsSidecarOf");
  auto supervised = j.find("Supervised");
  out.supervised = supervised != j.end() && supervised->is_boolean() && supervised->get<bool>();
  return out;
}

Result<LocalCheck> decode_check(const std::string& text) {
  Json j = Json::parse(text, nullptr, false);
  if (!j.is_object()) return Error(errc::parse_error, "not a JSON object");
  std::string chk = member_text(j, "Check");
  if (chk.empty()) return Error(errc::parse_error, "no Check");
  CAIRN_TRY(api::HealthCheck c, api::decode_health_check(chk));
  if (c.check_id.empty()) return Error(errc::parse_error, "Check without CheckID");
  LocalCheck out;
  out.check = std::move(c);
  out.token = string_member(j, "Token");
  api::CheckDefinition& d = out.definition;
  d.id = out.check.check_id;
  d.name = out.check.name;
  d.status = out.check.status;
  d.notes = out.check.notes;
  d.service_id = out.check.service_id;
  d.definition = out.check.definition;
  d.failures_before_warning = int_member(j, "FailuresBeforeWarning");
  d.failures_before_critical = int_member(j, "FailuresBeforeCritical");
  d.success_before_passing = int_member(j, "SuccessBeforePassing");
  return out;
}

// Every entry of `dir` that decodes; the others are logged and skipped.
template <typename T>
void load_all(const std::string& dir, Result<T> (*decode)(const std::string&), const char* what, std::vector<T>& out) {
  for (const auto& [path, text] : read_dir(dir)) {
    auto v = decode(text);
    if (!v.ok()) {
      log::warn("local", "skipped the corrupt {} file {}: {}", what, path, v.error().message());
      continue;
    }
    out.push_back(std::move(v).value());
  }
}

}  // namespace

uint64_t fnv1a64(std::string_view text) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char ch : text) {
    h ^= ch;
    h *= 1099511628211ULL;
  }
  return h;
}

LocalStore::LocalStore(std::string data_dir)
    : services_dir_((fs::path(data_dir) / "services").string()), checks_dir_((fs::path(data_dir) / "checks").string()) {}

std::string LocalStore::file_name(const std::string& id) {
  static const char* kHex = "0123456789abcdef";
  std::string out;
  if (id.size() > 100) {
    // Too long for a file name as hex: a hash (the ID itself is in the file).
    uint64_t h = fnv1a64(id);
    out = "h";
    for (int i = 60; i >= 0; i -= 4) out += kHex[(h >> i) & 0xf];
    return out;
  }
  for (unsigned char ch : id) {
    out += kHex[ch >> 4];
    out += kHex[ch & 0xf];
  }
  return out;
}

Status LocalStore::save_service(const LocalService& s) {
  Json j = Json::object();
  j["Token"] = s.token;
  j["Service"] = Json::parse(api::to_json(s.service));
  if (!s.sidecar_of.empty()) j["LocallyRegisteredAsSidecarOf"] = s.sidecar_of;
  if (s.supervised) j["Supervised"] = true;
  return write_atomically(services_dir_, (fs::path(services_dir_) / file_name(s.service.id)).string(), j.dump());
}

Status LocalStore::remove_service(const std::string& id) {
  return remove_file((fs::path(services_dir_) / file_name(id)).string());
}

Status LocalStore::save_check(const LocalCheck& c) {
  Json j = Json::object();
  j["Token"] = c.token;
  j["Check"] = Json::parse(api::to_json(c.check));
  j["FailuresBeforeWarning"] = c.definition.failures_before_warning;
  j["FailuresBeforeCritical"] = c.definition.failures_before_critical;
  j["SuccessBeforePassing"] = c.definition.success_before_passing;
  return write_atomically(checks_dir_, (fs::path(checks_dir_) / file_name(c.check.check_id)).string(), j.dump());
}

Status LocalStore::remove_check(const std::string& id) {
  return remove_file((fs::path(checks_dir_) / file_name(id)).string());
}

LocalStore::Loaded LocalStore::load() const {
  Loaded out;
  load_all(services_dir_, decode_service, "service", out.services);
  load_all(checks_dir_, decode_check, "check", out.checks);
  return out;
}

}  // namespace cairn::agent::local
