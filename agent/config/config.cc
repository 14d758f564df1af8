#include "agent/config/config.h"

#include <arpa/inet.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>

#include "api/json.h"
#include "core/duration.h"
#include "core/log.h"

namespace cairn::agent {
namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

std::string hostname() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "localhost";
  return buf;
}

std::string type_name(const json& v) { return v.type_name(); }

Error field_error(const std::string& where, const std::string& field, const std::string& what) {
  return Error(errc::invalid_argument, where + ": " + field + ": " + what);
}

// One setter per accepted field, keyed by its dotted path.
using Setter = std::function<Status(Config&, const json&, const std::string& where, const std::string& field)>;

Setter string_field(std::string Config::*member) {
  return [member](Config& c, const json& v, const std::string& where, const std::string& field) -> Status {
    if (!v.is_string()) return field_error(where, field, "expected a string, got " + type_name(v));
    c.*member = v.get<std::string>();
    return {};
  };
}

Setter bool_field(bool Config::*member) {
  return [member](Config& c, const json& v, const std::string& where, const std::string& field) -> Status {
    if (!v.is_boolean()) return field_error(where, field, "expected true or false, got " + type_name(v));
    c.*member = v.get<bool>();
    return {};
  };
}

// Lists concatenate across sources (Consul merges retry_join this way).
Setter string_list_field(std::vector<std::string> Config::*member) {
  return [member](Config& c, const json& v, const std::string& where, const std::string& field) -> Status {
    if (!v.is_array()) return field_error(where, field, "expected a list of strings, got " + type_name(v));
    for (const auto& item : v) {
      if (!item.is_string()) return field_error(where, field, "expected a list of strings, got an item of type " + type_name(item));
      (c.*member).push_back(item.get<std::string>());
    }
    return {};
  };
}

template <typename Int>
Setter int_field(std::function<Int&(Config&)> member) {
  return [member](Config& c, const json& v, const std::string& where, const std::string& field) -> Status {
    if (!v.is_number_integer()) return field_error(where, field, "expected an integer, got " + type_name(v));
    member(c) = v.get<Int>();
    return {};
  };
}

Setter string_at(std::function<std::string&(Config&)> member) {
  return [member](Config& c, const json& v, const std::string& where, const std::string& field) -> Status {
    if (!v.is_string()) return field_error(where, field, "expected a string, got " + type_name(v));
    member(c) = v.get<std::string>();
    return {};
  };
}

Setter duration_field(std::function<Duration&(Config&)> member) {
  return [member](Config& c, const json& v, const std::string& where, const std::string& field) -> Status {
    if (v.is_number_integer()) {
      member(c) = Duration{v.get<int64_t>()};
      return {};
    }
    if (!v.is_string()) return field_error(where, field, "expected a duration such as \"10s\", got " + type_name(v));
    auto d = parse_duration(v.get<std::string>());
    if (!d.ok()) return field_error(where, field, d.error().message());
    member(c) = *d;
    return {};
  };
}

// "service"/"services" and "check"/"checks": one object or a list of them,
// decoded with the API's lenient decoder (Go or snake_case names).
template <typename T, typename Decode>
Setter definitions_field(std::vector<T> Config::*member, Decode decode) {
  return [member, decode](Config& c, const json& v, const std::string& where, const std::string& field) -> Status {
    std::vector<json> items;
    if (v.is_object()) {
      items.push_back(v);
    } else if (v.is_array()) {
      items.assign(v.begin(), v.end());
    } else {
      return field_error(where, field, "expected an object or a list of objects, got " + type_name(v));
    }
    for (size_t i = 0; i < items.size(); ++i) {
      std::string at = v.is_array() ? field + "[" + std::to_string(i) + "]" : field;
      if (!items[i].is_object()) return field_error(where, at, "expected an object, got " + type_name(items[i]));
      auto def = decode(items[i].dump());
      if (!def.ok()) return field_error(where, at, def.error().message());
      (c.*member).push_back(std::move(*def));
    }
    return {};
  };
}

Setter dns_bool(bool Config::Dns::*member) {
  return [member](Config& c, const json& v, const std::string& where, const std::string& field) -> Status {
    if (!v.is_boolean()) return field_error(where, field, "expected true or false, got " + type_name(v));
    c.dns_config.*member = v.get<bool>();
    return {};
  };
}

Setter domain_field(std::string Config::*member) {
  return [member](Config& c, const json& v, const std::string& where, const std::string& field) -> Status {
    if (!v.is_string()) return field_error(where, field, "expected a string, got " + type_name(v));
    std::string d = v.get<std::string>();
    while (!d.empty() && d.front() == '.') d.erase(d.begin());
    if (!d.empty() && d.back() != '.') d += '.';
    c.*member = d;
    return {};
  };
}

Setter tls_string(std::string Config::Tls::*member) {
  return [member](Config& c, const json& v, const std::string& where, const std::string& field) -> Status {
    if (!v.is_string()) return field_error(where, field, "expected a string, got " + type_name(v));
    c.tls.*member = v.get<std::string>();
    return {};
  };
}

Setter tls_bool(bool Config::Tls::*member) {
  return [member](Config& c, const json& v, const std::string& where, const std::string& field) -> Status {
    if (!v.is_boolean()) return field_error(where, field, "expected true or false, got " + type_name(v));
    c.tls.*member = v.get<bool>();
    return {};
  };
}

const std::map<std::string, Setter>& fields() {
  static const std::map<std::string, Setter> table = {
      {"datacenter", string_field(&Config::datacenter)},
      {"node_name", string_field(&Config::node_name)},
      {"node_id", string_field(&Config::node_id)},
      {"data_dir", string_field(&Config::data_dir)},
      {"log_level", string_field(&Config::log_level)},
      {"log_json", bool_field(&Config::log_json)},
      {"client_addr",
       [](Config& c, const json& v, const std::string& where, const std::string& field) -> Status {
         if (!v.is_string()) return field_error(where, field, "expected a string of space-separated addresses");
         c.client_addr.clear();
         std::istringstream in(v.get<std::string>());
         for (std::string a; in >> a;) c.client_addr.push_back(a);
         return {};
       }},
      {"node_meta",
       [](Config& c, const json& v, const std::string& where, const std::string& field) -> Status {
         if (!v.is_object()) return field_error(where, field, "expected an object of strings");
         for (const auto& [k, val] : v.items()) {
           if (!val.is_string()) return field_error(where, field + "." + k, "expected a string, got " + type_name(val));
           c.node_meta[k] = val.get<std::string>();
         }
         return {};
       }},
      {"ports.http", int_field<int>([](Config& c) -> int& { return c.http_port; })},
      {"ports.serf_lan", int_field<int>([](Config& c) -> int& { return c.serf_lan_port; })},
      {"ports.server", int_field<int>([](Config& c) -> int& { return c.server_port; })},
      {"server", bool_field(&Config::server)},
      {"bootstrap", bool_field(&Config::bootstrap)},
      {"bootstrap_expect", int_field<int>([](Config& c) -> int& { return c.bootstrap_expect; })},
      {"performance.raft_multiplier", int_field<int>([](Config& c) -> int& { return c.raft_multiplier; })},
      {"dead_server_removal_after",
       duration_field([](Config& c) -> Duration& { return c.dead_server_removal_after; })},
      {"autopilot.server_stabilization_time",
       duration_field([](Config& c) -> Duration& { return c.autopilot_server_stabilization_time; })},
      {"tombstone_ttl", duration_field([](Config& c) -> Duration& { return c.tombstone_ttl; })},
      {"raft_snapshot_threshold", int_field<int>([](Config& c) -> int& { return c.raft_snapshot_threshold; })},
      {"raft_snapshot_interval", duration_field([](Config& c) -> Duration& { return c.raft_snapshot_interval; })},
      {"bind_addr", string_field(&Config::bind_addr)},
      {"advertise_addr", string_field(&Config::advertise_addr)},
      {"start_join", string_list_field(&Config::start_join)},
      {"retry_join", string_list_field(&Config::retry_join)},
      {"retry_interval", duration_field([](Config& c) -> Duration& { return c.retry_interval; })},
      {"retry_max", int_field<int>([](Config& c) -> int& { return c.retry_max; })},
      {"encrypt", string_field(&Config::encrypt)},
      {"encrypt_verify_incoming", bool_field(&Config::encrypt_verify_incoming)},
      {"encrypt_verify_outgoing", bool_field(&Config::encrypt_verify_outgoing)},
      {"leave_on_terminate", bool_field(&Config::leave_on_terminate)},
      {"service", definitions_field(&Config::services, api::decode_service_definition)},
      {"services", definitions_field(&Config::services, api::decode_service_definition)},
      {"check", definitions_field(&Config::checks, api::decode_check_definition)},
      {"checks", definitions_field(&Config::checks, api::decode_check_definition)},
      {"enable_script_checks", bool_field(&Config::enable_script_checks)},
      {"enable_local_script_checks", bool_field(&Config::enable_local_script_checks)},
      {"check_output_max_size", int_field<int64_t>([](Config& c) -> int64_t& { return c.check_output_max_size; })},
      {"ports.dns", int_field<int>([](Config& c) -> int& { return c.dns_port; })},
      {"domain", domain_field(&Config::domain)},
      {"alt_domain", domain_field(&Config::alt_domain)},
      {"recursors", string_list_field(&Config::recursors)},
      {"dns_config.allow_stale", dns_bool(&Config::Dns::allow_stale)},
      {"dns_config.max_stale", duration_field([](Config& c) -> Duration& { return c.dns_config.max_stale; })},
      {"dns_config.node_ttl", duration_field([](Config& c) -> Duration& { return c.dns_config.node_ttl; })},
      {"dns_config.service_ttl",
       [](Config& c, const json& v, const std::string& where, const std::string& field) -> Status {
         if (!v.is_object()) return field_error(where, field, "expected an object of durations");
         for (const auto& [k, val] : v.items()) {
           if (!val.is_string()) return field_error(where, field + "." + k, "expected a duration such as \"10s\"");
           auto d = parse_duration(val.get<std::string>());
           if (!d.ok()) return field_error(where, field + "." + k, d.error().message());
           c.dns_config.service_ttl[k] = *d;
         }
         return {};
       }},
      {"dns_config.udp_answer_limit", int_field<int>([](Config& c) -> int& { return c.dns_config.udp_answer_limit; })},
      {"dns_config.a_record_limit", int_field<int>([](Config& c) -> int& { return c.dns_config.a_record_limit; })},
      {"dns_config.enable_truncate", dns_bool(&Config::Dns::enable_truncate)},
      {"dns_config.only_passing", dns_bool(&Config::Dns::only_passing)},
      {"dns_config.use_cache", dns_bool(&Config::Dns::use_cache)},
      {"dns_config.cache_max_age", duration_field([](Config& c) -> Duration& { return c.dns_config.cache_max_age; })},
      {"dns_config.enable_additional_node_meta_txt", dns_bool(&Config::Dns::enable_additional_node_meta_txt)},
      {"dns_config.recursor_timeout",
       duration_field([](Config& c) -> Duration& { return c.dns_config.recursor_timeout; })},
      {"dns_config.soa.refresh", int_field<uint32_t>([](Config& c) -> uint32_t& { return c.dns_config.soa_refresh; })},
      {"dns_config.soa.retry", int_field<uint32_t>([](Config& c) -> uint32_t& { return c.dns_config.soa_retry; })},
      {"dns_config.soa.expire", int_field<uint32_t>([](Config& c) -> uint32_t& { return c.dns_config.soa_expire; })},
      {"dns_config.soa.min_ttl", int_field<uint32_t>([](Config& c) -> uint32_t& { return c.dns_config.soa_min_ttl; })},
      {"ca_file", tls_string(&Config::Tls::ca_file)},
      {"cert_file", tls_string(&Config::Tls::cert_file)},
      {"key_file", tls_string(&Config::Tls::key_file)},
      {"verify_incoming", tls_bool(&Config::Tls::verify_incoming)},
      {"verify_outgoing", tls_bool(&Config::Tls::verify_outgoing)},
      {"tls.defaults.ca_file", tls_string(&Config::Tls::ca_file)},
      {"tls.defaults.cert_file", tls_string(&Config::Tls::cert_file)},
      {"tls.defaults.key_file", tls_string(&Config::Tls::key_file)},
      {"tls.defaults.verify_incoming", tls_bool(&Config::Tls::verify_incoming)},
      {"tls.defaults.verify_outgoing", tls_bool(&Config::Tls::verify_outgoing)},
      {"verify_server_hostname", tls_bool(&Config::Tls::verify_server_hostname)},
      {"tls.internal_rpc.verify_server_hostname", tls_bool(&Config::Tls::verify_server_hostname)},
      {"connect.enabled", [](Config& c, const json& v, const std::string& where, const std::string& field) -> Status {
         if (!v.is_boolean()) return field_error(where, field, "expected true or false, got " + type_name(v));
         c.connect.enabled = v.get<bool>();
         return {};
       }},
      {"connect.ca_provider", string_at([](Config& c) -> std::string& { return c.connect.ca_provider; })},
      {"connect.ca_config.private_key_type",
       string_at([](Config& c) -> std::string& { return c.connect.private_key_type; })},
      {"connect.ca_config.private_key_bits",
       int_field<int>([](Config& c) -> int& { return c.connect.private_key_bits; })},
      {"connect.ca_config.leaf_cert_ttl",
       duration_field([](Config& c) -> Duration& { return c.connect.leaf_cert_ttl; })},
      {"connect.ca_config.root_cert_ttl",
       duration_field([](Config& c) -> Duration& { return c.connect.root_cert_ttl; })},
      {"connect.ca_config.csr_max_per_second",
       int_field<int>([](Config& c) -> int& { return c.connect.csr_max_per_second; })},
      {"connect.ca_config.csr_max_concurrent",
       int_field<int>([](Config& c) -> int& { return c.connect.csr_max_concurrent; })},
      {"acl.default_policy", string_at([](Config& c) -> std::string& { return c.acl_default_policy; })},
      {"ports.sidecar_min_port", int_field<int>([](Config& c) -> int& { return c.sidecar_min_port; })},
      {"ports.sidecar_max_port", int_field<int>([](Config& c) -> int& { return c.sidecar_max_port; })},
      {"limits.http_max_conns_per_client",
       int_field<int>([](Config& c) -> int& { return c.limits.http_max_conns_per_client; })},
      {"limits.http_max_body_bytes", int_field<int64_t>([](Config& c) -> int64_t& { return c.limits.http_max_body_bytes; })},
      {"limits.http_max_header_bytes",
       int_field<int64_t>([](Config& c) -> int64_t& { return c.limits.http_max_header_bytes; })},
      {"limits.http_read_timeout", duration_field([](Config& c) -> Duration& { return c.limits.http_read_timeout; })},
      {"limits.http_idle_timeout", duration_field([](Config& c) -> Duration& { return c.limits.http_idle_timeout; })},
      {"limits.shutdown_grace", duration_field([](Config& c) -> Duration& { return c.limits.shutdown_grace; })},
  };
  return table;
}

bool is_section(const std::string& prefix) {
  auto& t = fields();
  auto it = t.lower_bound(prefix + ".");
  return it != t.end() && it->first.rfind(prefix + ".", 0) == 0;
}

Status apply_object(Config& c, const json& obj, const std::string& where, const std::string& prefix) {
  for (const auto& [key, value] : obj.items()) {
    std::string path = prefix.empty() ? key : prefix + "." + key;
    auto& t = fields();
    if (auto it = t.find(path); it != t.end()) {
      CAIRN_RETURN_IF_ERROR(it->second(c, value, where, path));
    } else if (is_section(path)) {
      if (!value.is_object()) return field_error(where, path, "expected an object, got " + type_name(value));
      CAIRN_RETURN_IF_ERROR(apply_object(c, value, where, path));
    } else {
      return field_error(where, path, "unknown field");
    }
  }
  return {};
}

bool valid_ip(const std::string& s) {
  unsigned char buf[16];
  return ::inet_pton(AF_INET, s.c_str(), buf) == 1 || ::inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

bool valid_uuid(const std::string& s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !std::isxdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  return true;
}

Status range_error(const std::string& field, const std::string& value, const std::string& allowed) {
  return Error(errc::out_of_range, field + ": invalid value " + value + " (allowed: " + allowed + ")");
}

}  // namespace

Config defaults(bool dev) {
  Config c;
  c.datacenter = "dc1";
  c.node_name = hostname();
  c.client_addr = {"127.0.0.1"};
  c.bind_addr = dev ? "127.0.0.1" : "0.0.0.0";
  c.log_level = "info";
  c.dev = dev;
  if (dev) {
    c.server = true;
    c.bootstrap = true;
    c.raft_multiplier = 1;  // a one-server cluster: nothing to wait for
  }
  return c;
}

Result<std::vector<Source>> read_sources(const std::string& path) {
  std::error_code ec;
  std::vector<fs::path> files;
  if (fs::is_directory(path, ec)) {
    for (const auto& entry : fs::directory_iterator(path, ec)) {
      if (entry.is_regular_file() && entry.path().extension() == ".json") files.push_back(entry.path());
    }
    if (ec) return Error(errc::io_error, path + ": cannot read directory: " + ec.message());
    std::sort(files.begin(), files.end());
  } else if (fs::exists(path, ec)) {
    files.emplace_back(path);
  } else {
    return Error(errc::not_found, path + ": no such file or directory");
  }
  std::vector<Source> out;
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    if (!in) return Error(errc::io_error, f.string() + ": cannot open");
    std::ostringstream text;
    text << in.rdbuf();
    out.push_back({f.string(), text.str()});
  }
  return out;
}

Result<Config> load(bool dev, const std::vector<Source>& sources) {
  Config c = defaults(dev);
  bool leave_set = false;
  for (const auto& s : sources) {
    json doc = json::parse(s.json, nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded()) return Error(errc::parse_error, s.name + ": invalid JSON");
    if (!doc.is_object()) return Error(errc::parse_error, s.name + ": expected a JSON object at the top level");
    CAIRN_RETURN_IF_ERROR(apply_object(c, doc, s.name, ""));
    leave_set = leave_set || doc.contains("leave_on_terminate");
  }
  // Consul: servers do not leave on SIGTERM unless told to (a server that
  // leaves is removed from the Raft configuration at once).
  if (c.server && !leave_set) c.leave_on_terminate = false;
  // Consul (since 1.4.4): checking the server's name implies checking its certificate.
  if (c.tls.verify_server_hostname) c.tls.verify_outgoing = true;
  CAIRN_RETURN_IF_ERROR(validate(c));
  return c;
}

Status validate(const Config& c) {
  if (c.datacenter.empty()) return range_error("datacenter", "\"\"", "letters, digits, '-' and '_'");
  for (char ch : c.datacenter) {
    if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_'))
      return range_error("datacenter", "\"" + c.datacenter + "\"", "letters, digits, '-' and '_'");
  }
  if (c.node_name.empty() || c.node_name.size() > 128)
    return range_error("node_name", "\"" + c.node_name + "\"", "1 to 128 characters");
  if (!c.node_id.empty() && !valid_uuid(c.node_id))
    return range_error("node_id", "\"" + c.node_id + "\"", "a UUID such as 8e2f3c4a-0b1d-4c5e-9f6a-7b8c9d0e1f2a");
  if (c.data_dir.empty() && !c.dev)
    return Error(errc::invalid_argument, "data_dir: required (set -data-dir or data_dir, or run with -dev)");
  if (c.client_addr.empty()) return range_error("client_addr", "\"\"", "one or more IP addresses");
  for (const auto& a : c.client_addr)
    if (!valid_ip(a)) return range_error("client_addr", "\"" + a + "\"", "IPv4 or IPv6 addresses");
  if (c.http_port < -1 || c.http_port > 65535)
    return range_error("ports.http", std::to_string(c.http_port), "-1 (disabled), 0 (any free port) to 65535");
  if (auto lvl = log::parse_level(c.log_level); !lvl.ok()) return lvl.error();
  if (c.dns_port < -1 || c.dns_port > 65535)
    return range_error("ports.dns", std::to_string(c.dns_port), "-1 (disabled), 0 (any free port) to 65535");
  if (c.domain.size() < 2) return range_error("domain", "\"" + c.domain + "\"", "a DNS name such as \"cairn.\"");
  for (const auto& r : c.recursors) {
    auto colon = r.rfind(':');
    bool ok = valid_ip(r) || (colon != std::string::npos && valid_ip(r.substr(0, colon)));
    if (!ok) return range_error("recursors", "\"" + r + "\"", "IP addresses, optionally with :port");
  }
  if (c.dns_config.udp_answer_limit < 1 || c.dns_config.udp_answer_limit > 1000)
    return range_error("dns_config.udp_answer_limit", std::to_string(c.dns_config.udp_answer_limit), "1 to 1000");
  if (c.dns_config.a_record_limit < 0)
    return range_error("dns_config.a_record_limit", std::to_string(c.dns_config.a_record_limit), "0 (no limit) or more");
  if (c.check_output_max_size < 1 || c.check_output_max_size > (int64_t{1} << 20))
    return range_error("check_output_max_size", std::to_string(c.check_output_max_size), "1 to 1048576");
  if (!c.enable_script_checks && !c.enable_local_script_checks) {
    for (const auto& s : c.services)
      for (const auto& chk : s.checks)
        if (!chk.definition.script_args.empty())
          return Error(errc::invalid_argument, "services: check \"" + (chk.name.empty() ? chk.id : chk.name) +
                                                   "\" is a script check, but script checks are disabled "
                                                   "(set enable_local_script_checks)");
    for (const auto& chk : c.checks)
      if (!chk.definition.script_args.empty())
        return Error(errc::invalid_argument, "checks: check \"" + (chk.name.empty() ? chk.id : chk.name) +
                                                 "\" is a script check, but script checks are disabled "
                                                 "(set enable_local_script_checks)");
  }
  if (c.connect.ca_provider != "consul")
    return range_error("connect.ca_provider", "\"" + c.connect.ca_provider + "\"", "\"consul\" (the built-in CA)");
  if (c.connect.private_key_type != "ec" && c.connect.private_key_type != "rsa")
    return range_error("connect.ca_config.private_key_type", "\"" + c.connect.private_key_type + "\"", "\"ec\" or \"rsa\"");
  if (c.connect.private_key_type == "ec" ? (c.connect.private_key_bits != 256 && c.connect.private_key_bits != 384)
                                         : (c.connect.private_key_bits != 2048 && c.connect.private_key_bits != 4096))
    return range_error("connect.ca_config.private_key_bits", std::to_string(c.connect.private_key_bits),
                       c.connect.private_key_type == "ec" ? "256 or 384 for ec" : "2048 or 4096 for rsa");
  if (c.connect.leaf_cert_ttl < std::chrono::hours(1) || c.connect.leaf_cert_ttl > std::chrono::hours(24 * 365))
    return range_error("connect.ca_config.leaf_cert_ttl", "\"" + format_duration(c.connect.leaf_cert_ttl) + "\"",
                       "1h to 8760h");
  if (c.connect.root_cert_ttl < std::chrono::hours(24))
    return range_error("connect.ca_config.root_cert_ttl", "\"" + format_duration(c.connect.root_cert_ttl) + "\"",
                       "at least 24h");
  if (c.connect.csr_max_per_second < 0)
    return range_error("connect.ca_config.csr_max_per_second", std::to_string(c.connect.csr_max_per_second),
                       "0 (no limit) or more");
  if (c.connect.csr_max_concurrent < 0)
    return range_error("connect.ca_config.csr_max_concurrent", std::to_string(c.connect.csr_max_concurrent),
                       "0 (no limit) or more");
  if (c.acl_default_policy != "allow" && c.acl_default_policy != "deny")
    return range_error("acl.default_policy", "\"" + c.acl_default_policy + "\"", "\"allow\" or \"deny\"");
  if (c.sidecar_min_port < 1 || c.sidecar_max_port > 65535 || c.sidecar_min_port > c.sidecar_max_port)
    return range_error("ports.sidecar_min_port", std::to_string(c.sidecar_min_port) + ".." + std::to_string(c.sidecar_max_port),
                       "1 to 65535, min not above max");
  if (!valid_ip(c.bind_addr)) return range_error("bind_addr", "\"" + c.bind_addr + "\"", "an IPv4 or IPv6 address");
  if (!c.advertise_addr.empty() && !valid_ip(c.advertise_addr))
    return range_error("advertise_addr", "\"" + c.advertise_addr + "\"", "an IPv4 or IPv6 address");
  if (c.serf_lan_port < 0 || c.serf_lan_port > 65535)
    return range_error("ports.serf_lan", std::to_string(c.serf_lan_port), "0 (any free port) to 65535");
  if (c.server_port < 0 || c.server_port > 65535)
    return range_error("ports.server", std::to_string(c.server_port), "0 (any free port) to 65535");
  if (c.bootstrap_expect < 0 || c.bootstrap_expect > 9)
    return range_error("bootstrap_expect", std::to_string(c.bootstrap_expect), "0 (off) to 9");
  if ((c.bootstrap || c.bootstrap_expect > 0) && !c.server)
    return Error(errc::invalid_argument, std::string(c.bootstrap ? "bootstrap" : "bootstrap_expect") +
                                             ": only servers bootstrap (set server, or -server)");
  if (c.bootstrap && c.bootstrap_expect > 0)
    return Error(errc::invalid_argument, "bootstrap_expect: cannot be used with bootstrap (pick one)");
  if (c.raft_snapshot_threshold < 128 || c.raft_snapshot_threshold > 10000000)
    return range_error("raft_snapshot_threshold", std::to_string(c.raft_snapshot_threshold), "128 to 10000000");
  if (c.raft_snapshot_interval < Duration::zero() || c.raft_snapshot_interval > std::chrono::hours(24))
    return range_error("raft_snapshot_interval", "\"" + format_duration(c.raft_snapshot_interval) + "\"",
                       "0s (no minimum) to 24h");
  if (c.raft_multiplier < 1 || c.raft_multiplier > 10)
    return range_error("performance.raft_multiplier", std::to_string(c.raft_multiplier), "1 to 10");
  if (c.dead_server_removal_after < std::chrono::seconds(1))
    return range_error("dead_server_removal_after", "\"" + format_duration(c.dead_server_removal_after) + "\"",
                       "at least 1s");
  if (c.tombstone_ttl < std::chrono::seconds(1))
    return range_error("tombstone_ttl", "\"" + format_duration(c.tombstone_ttl) + "\"", "at least 1s");
  if (c.retry_max < 0) return range_error("retry_max", std::to_string(c.retry_max), "0 (forever) or more");
  if (c.retry_interval < std::chrono::milliseconds(10) || c.retry_interval > std::chrono::hours(24))
    return range_error("retry_interval", "\"" + format_duration(c.retry_interval) + "\"", "10ms to 24h");
  if (!c.encrypt.empty()) {
    // Same rule as the keyring: 16, 24 or 32 bytes of base64.
    size_t n = c.encrypt.size();
    size_t pad = (n >= 1 && c.encrypt[n - 1] == '=') + (n >= 2 && c.encrypt[n - 2] == '=');
    size_t bytes = n % 4 == 0 ? n / 4 * 3 - pad : 0;
    bool chars_ok = true;
    for (size_t i = 0; i < n - pad; ++i)
      chars_ok &= std::isalnum(static_cast<unsigned char>(c.encrypt[i])) || c.encrypt[i] == '+' || c.encrypt[i] == '/';
    if (!chars_ok || (bytes != 16 && bytes != 24 && bytes != 32))
      return Error(errc::out_of_range, "encrypt: invalid key (allowed: 16, 24 or 32 bytes, base64; make one with cairn keygen)");
  }
  if (c.node_meta.size() > 64) return range_error("node_meta", std::to_string(c.node_meta.size()) + " keys", "at most 64 keys");
  for (const auto& [k, v] : c.node_meta) {
    bool ok_key = !k.empty() && k.size() <= 128 && k.rfind("consul-", 0) != 0;
    for (char ch : k) ok_key = ok_key && (std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_');
    if (!ok_key)
      return range_error("node_meta", "key \"" + k + "\"",
                         "1 to 128 letters, digits, '-' or '_', not starting with \"consul-\"");
    if (v.size() > 512) return range_error("node_meta." + k, std::to_string(v.size()) + " bytes", "at most 512 bytes");
  }
  {
    const auto& t = c.tls;
    if (t.cert_file.empty() != t.key_file.empty())
      return Error(errc::invalid_argument, std::string(t.cert_file.empty() ? "cert_file" : "key_file") +
                                               ": required with " + (t.cert_file.empty() ? "key_file" : "cert_file"));
    if ((t.verify_incoming || t.verify_outgoing) && t.ca_file.empty())
      return Error(errc::invalid_argument, std::string("ca_file: required with ") +
                                               (t.verify_incoming ? "verify_incoming" : "verify_outgoing"));
    if (t.verify_incoming && c.server && t.cert_file.empty())
      return Error(errc::invalid_argument, "cert_file: required on a server with verify_incoming");
    std::error_code ec;
    for (const auto& [name, path] : {std::pair<const char*, const std::string&>{"ca_file", t.ca_file},
                                     {"cert_file", t.cert_file},
                                     {"key_file", t.key_file}}) {
      if (!path.empty() && !fs::is_regular_file(path, ec))
        return Error(errc::invalid_argument, std::string(name) + ": " + path + ": no such file");
    }
  }
  const auto& l = c.limits;
  if (l.http_max_conns_per_client < 0)
    return range_error("limits.http_max_conns_per_client", std::to_string(l.http_max_conns_per_client),
                       "0 (unlimited) or more");
  if (l.http_max_body_bytes < 1024 || l.http_max_body_bytes > (int64_t{1} << 30))
    return range_error("limits.http_max_body_bytes", std::to_string(l.http_max_body_bytes), "1024 to 1073741824");
  if (l.http_max_header_bytes < 1024 || l.http_max_header_bytes > (int64_t{64} << 20))
    return range_error("limits.http_max_header_bytes", std::to_string(l.http_max_header_bytes), "1024 to 67108864");
  const std::pair<const char*, Duration> timeouts[] = {{"limits.http_read_timeout", l.http_read_timeout},
                                                       {"limits.http_idle_timeout", l.http_idle_timeout},
                                                       {"limits.shutdown_grace", l.shutdown_grace}};
  for (const auto& [name, d] : timeouts) {
    if (d <= Duration::zero() || d > std::chrono::hours(1))
      return range_error(name, "\"" + format_duration(d) + "\"", "more than 0s, at most 1h");
  }
  return {};
}

}  // namespace cairn::agent
