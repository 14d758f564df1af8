#include "api/wire.h"

#include <limits>
#include <type_traits>

namespace cairn::api::wire {
namespace {

// Each type's fields are listed once, in fields(); Put and Get walk that
// list, so the writer and the reader cannot drift apart.

template <typename IO, typename T>
void fields(IO& io, T& v) requires std::is_same_v<std::remove_const_t<T>, RaftIndex> {
  io(v.create_index);
  io(v.modify_index);
}
template <typename IO, typename T>
void fields(IO& io, T& v) requires std::is_same_v<std::remove_const_t<T>, KVPair> {
  io(v.key);
  io(v.flags);
  io(v.value);
  io(v.session);
  io(v.lock_index);
  io(v.raft);
}
template <typename IO, typename T>
void fields(IO& io, T& v) requires std::is_same_v<std::remove_const_t<T>, Node> {
  io(v.id);
  io(v.node);
  io(v.address);
  io(v.datacenter);
  io(v.tagged_addresses);
  io(v.meta);
  io(v.raft);
}
template <typename IO, typename T>
void fields(IO& io, T& v) requires std::is_same_v<std::remove_const_t<T>, ServiceAddress> {
  io(v.address);
  io(v.port);
}
template <typename IO, typename T>
void fields(IO& io, T& v) requires std::is_same_v<std::remove_const_t<T>, NodeService> {
  io(v.kind);
  io(v.id);
  io(v.service);
  io(v.tags);
  io(v.address);
  io(v.tagged_addresses);
  io(v.meta);
  io(v.port);
  io(v.weights.passing);
  io(v.weights.warning);
  io(v.enable_tag_override);
  io(v.proxy_json);
  io(v.connect_json);
  io(v.raft);
}
template <typename IO, typename T>
void fields(IO& io, T& v) requires std::is_same_v<std::remove_const_t<T>, HealthCheckDefinition> {
  io(v.http);
  io(v.tls_server_name);
  io(v.tls_skip_verify);
  io(v.header);
  io(v.method);
  io(v.body);
  io(v.disable_redirects);
  io(v.tcp);
  io(v.udp);
  io(v.grpc);
  io(v.grpc_use_tls);
  io(v.h2ping);
  io(v.interval);
  io(v.output_max_size);
  io(v.timeout);
  io(v.deregister_critical_service_after);
  io(v.script_args);
  io(v.docker_container_id);
  io(v.shell);
  io(v.alias_node);
  io(v.alias_service);
  io(v.ttl);
}
template <typename IO, typename T>
void fields(IO& io, T& v) requires std::is_same_v<std::remove_const_t<T>, HealthCheck> {
  io(v.node);
  io(v.check_id);
  io(v.name);
  io(v.status);
  io(v.notes);
  io(v.output);
  io(v.service_id);
  io(v.service_name);
  io(v.service_tags);
  io(v.type);
  io(v.definition);
  io(v.raft);
}
template <typename IO, typename T>
void fields(IO& io, T& v) requires std::is_same_v<std::remove_const_t<T>, SessionServiceCheck> {
  io(v.id);
  io(v.ns);
}
template <typename IO, typename T>
void fields(IO& io, T& v) requires std::is_same_v<std::remove_const_t<T>, Session> {
  io(v.id);
  io(v.name);
  io(v.node);
  io(v.lock_delay);
  io(v.behavior);
  io(v.ttl);
  io(v.node_checks);
  io(v.service_checks);
  io(v.checks);
  io(v.raft);
}
// The token is not part of the replicated commands: ACLs are checked before
// proposing, and tokens never reach the Raft log.
template <typename IO, typename T>
void fields(IO& io, T& v) requires std::is_same_v<std::remove_const_t<T>, RegisterRequest> {
  io(v.datacenter);
  io(v.id);
  io(v.node);
  io(v.address);
  io(v.tagged_addresses);
  io(v.node_meta);
  io(v.service);
  io(v.check);
  io(v.checks);
  io(v.skip_node_update);
}
template <typename IO, typename T>
void fields(IO& io, T& v) requires std::is_same_v<std::remove_const_t<T>, DeregisterRequest> {
  io(v.datacenter);
  io(v.node);
  io(v.service_id);
  io(v.check_id);
}

struct Put {
  ByteWriter& w;
  void operator()(const std::string& s) { w.bytes(s); }
  void operator()(uint64_t v) { w.varint(v); }
  void operator()(int v) { w.svarint(v); }
  void operator()(bool v) { w.boolean(v); }
  void operator()(Duration d) { w.svarint(d.count()); }
  template <typename T>
  void operator()(const std::optional<T>& v) {
    w.boolean(v.has_value());
    if (v) (*this)(*v);
  }
  template <typename T>
  void operator()(const std::vector<T>& v) {
    w.varint(v.size());
    for (const auto& x : v) (*this)(x);
  }
  template <typename V>
  void operator()(const std::map<std::string, V>& m) {
    w.varint(m.size());
    for (const auto& [k, v] : m) {
      w.bytes(k);
      (*this)(v);
    }
  }
  template <typename T>
  void operator()(const T& v) requires std::is_class_v<T> {
    fields(*this, v);
  }
};

struct Get {
  ByteReader& r;
  void operator()(std::string& s) { s = r.string(); }
  void operator()(uint64_t& v) { v = r.varint(); }
  void operator()(int& v) {
    int64_t x = r.svarint();
    if (x < std::numeric_limits<int>::min() || x > std::numeric_limits<int>::max()) r.fail();
    v = static_cast<int>(x);
  }
  void operator()(bool& v) { v = r.boolean(); }
  void operator()(Duration& d) { d = Duration(r.svarint()); }
  template <typename T>
  void operator()(std::optional<T>& v) {
    v.reset();
    if (r.boolean()) (*this)(v.emplace());
  }
  // A count is never trusted beyond the bytes left: each element takes at
  // least one byte, so a corrupt count cannot make us allocate gigabytes.
  bool count(uint64_t& n) {
    n = r.varint();
    if (n > r.remaining()) r.fail();
    return r.ok();
  }
  template <typename T>
  void operator()(std::vector<T>& v) {
    v.clear();
    uint64_t n;
    if (!count(n)) return;
    for (uint64_t i = 0; i < n && r.ok(); ++i) (*this)(v.emplace_back());
  }
  template <typename V>
  void operator()(std::map<std::string, V>& m) {
    m.clear();
    uint64_t n;
    if (!count(n)) return;
    for (uint64_t i = 0; i < n && r.ok(); ++i) {
      std::string k = r.string();
      (*this)(m[std::move(k)]);
    }
  }
  template <typename T>
  void operator()(T& v) requires std::is_class_v<T> {
    fields(*this, v);
  }
};

template <typename T>
void put_any(ByteWriter& w, const T& v) {
  Put p{w};
  p(v);
}
template <typename T>
bool get_any(ByteReader& r, T& v) {
  Get g{r};
  g(v);
  return r.ok();
}

}  // namespace

void put(ByteWriter& w, const KVPair& v) { put_any(w, v); }
void put(ByteWriter& w, const Node& v) { put_any(w, v); }
void put(ByteWriter& w, const NodeService& v) { put_any(w, v); }
void put(ByteWriter& w, const HealthCheck& v) { put_any(w, v); }
void put(ByteWriter& w, const Session& v) { put_any(w, v); }
void put(ByteWriter& w, const RegisterRequest& v) { put_any(w, v); }
void put(ByteWriter& w, const DeregisterRequest& v) { put_any(w, v); }

bool get(ByteReader& r, KVPair& v) { return get_any(r, v); }
bool get(ByteReader& r, Node& v) { return get_any(r, v); }
bool get(ByteReader& r, NodeService& v) { return get_any(r, v); }
bool get(ByteReader& r, HealthCheck& v) { return get_any(r, v); }
bool get(ByteReader& r, Session& v) { return get_any(r, v); }
bool get(ByteReader& r, RegisterRequest& v) {
  v.token.clear();
  return get_any(r, v);
}
bool get(ByteReader& r, DeregisterRequest& v) {
  v.token.clear();
  return get_any(r, v);
}

}  // namespace cairn::api::wire
