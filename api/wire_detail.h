// The machinery behind api/wire.h, for api/*.cc only (wire.cc and
// rpc_codec.cc): each record type lists its fields once, in fields(), and
// Put/Get walk that list, so a writer and its reader cannot drift apart.
//
// Put/Get also handle the containers the types use (optional, vector,
// string-keyed map), enums (a varint, range-checked with EnumRange<E>) and std::variant (the alternative's index, then
// its value), so a new type costs one fields() overload. fields() overloads
// for other types may live in any .cc in namespace cairn::api::wire::detail:
// Put/Get find them by argument-dependent lookup.
//
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "api/types.h"
#include "core/codec.h"

namespace cairn::api::wire::detail {

// The values an enum may take on the wire: every enum Put/Get meet needs a
// specialization (a value outside fails the read).
template <typename E>
struct EnumRange;
template <>
struct EnumRange<KvOp> {
  static constexpr uint64_t min = static_cast<uint64_t>(KvOp::set);
  static constexpr uint64_t max = static_cast<uint64_t>(KvOp::delete_tree);
};
template <>
struct EnumRange<TxnVerb> {
  static constexpr uint64_t min = static_cast<uint64_t>(TxnVerb::set);
  static constexpr uint64_t max = static_cast<uint64_t>(TxnVerb::check_not_exists);
};

// A type with no fields (a query that takes no argument) writes nothing.
template <typename IO, typename T>
void fields(IO&, T&) requires std::is_empty_v<std::remove_const_t<T>> {}


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
template <typename IO, typename T>
void fields(IO& io, T& v) requires std::is_same_v<std::remove_const_t<T>, CatalogServiceEntry> {
  io(v.node);
  io(v.service);
}
template <typename IO, typename T>
void fields(IO& io, T& v) requires std::is_same_v<std::remove_const_t<T>, HealthServiceEntry> {
  io(v.node);
  io(v.service);
  io(v.checks);
}
template <typename IO, typename T>
void fields(IO& io, T& v) requires std::is_same_v<std::remove_const_t<T>, NodeServices> {
  io(v.node);
  io(v.services);
}

template <typename IO, typename T>
void fields(IO& io, T& v) requires std::is_same_v<std::remove_const_t<T>, TxnKvOp> {
  io(v.verb);
  io(v.entry);
}
template <typename IO, typename T>
void fields(IO& io, T& v) requires std::is_same_v<std::remove_const_t<T>, TxnNodeOp> {
  io(v.verb);
  io(v.node);
}
template <typename IO, typename T>
void fields(IO& io, T& v) requires std::is_same_v<std::remove_const_t<T>, TxnServiceOp> {
  io(v.verb);
  io(v.node);
  io(v.service);
}
template <typename IO, typename T>
void fields(IO& io, T& v) requires std::is_same_v<std::remove_const_t<T>, TxnCheckOp> {
  io(v.verb);
  io(v.check);
}
template <typename IO, typename T>
void fields(IO& io, T& v) requires std::is_same_v<std::remove_const_t<T>, TxnError> {
  io(v.op_index);
  io(v.what);
}
template <typename IO, typename T>
void fields(IO& io, T& v) requires std::is_same_v<std::remove_const_t<T>, TxnResponse> {
  io(v.results);
  io(v.errors);
}

template <typename IO, typename T>
void fields(IO& io, T& v) requires std::is_same_v<std::remove_const_t<T>, Coord> {
  io(v.vec);
  io(v.error);
  io(v.adjustment);
  io(v.height);
}
template <typename IO, typename T>
void fields(IO& io, T& v) requires std::is_same_v<std::remove_const_t<T>, CoordinateEntry> {
  io(v.node);
  io(v.segment);
  io(v.coord);
}
template <typename IO, typename T>
void fields(IO& io, T& v) requires std::is_same_v<std::remove_const_t<T>, ConfigEntry> {
  io(v.kind);
  io(v.name);
  io(v.body);
  io(v.create_index);
  io(v.modify_index);
}

template <typename IO, typename T>
void fields(IO& io, T& v) requires std::is_same_v<std::remove_const_t<T>, CARoot> {
  io(v.id);
  io(v.name);
  io(v.serial_number);
  io(v.signing_key_id);
  io(v.external_trust_domain);
  io(v.not_before);
  io(v.not_after);
  io(v.root_cert);
  io(v.intermediate_certs);
  io(v.active);
  io(v.private_key_type);
  io(v.private_key_bits);
  io(v.raft);
}
template <typename IO, typename T>
void fields(IO& io, T& v) requires std::is_same_v<std::remove_const_t<T>, CARoots> {
  io(v.active_root_id);
  io(v.trust_domain);
  io(v.roots);
}
template <typename IO, typename T>
void fields(IO& io, T& v) requires std::is_same_v<std::remove_const_t<T>, CAProviderConfig> {
  io(v.leaf_cert_ttl);
  io(v.private_key_type);
  io(v.private_key_bits);
  io(v.root_cert_ttl);
  io(v.intermediate_cert_ttl);
  io(v.csr_max_per_second);
  io(v.csr_max_concurrent);
  io(v.private_key);
  io(v.root_cert);
}
template <typename IO, typename T>
void fields(IO& io, T& v) requires std::is_same_v<std::remove_const_t<T>, CAConfiguration> {
  io(v.cluster_id);
  io(v.provider);
  io(v.config);
  io(v.state);
  io(v.force_without_cross_signing);
  io(v.raft);
}
template <typename IO, typename T>
void fields(IO& io, T& v) requires std::is_same_v<std::remove_const_t<T>, IssuedCert> {
  io(v.serial_number);
  io(v.cert_pem);
  io(v.private_key_pem);
  io(v.service);
  io(v.service_uri);
  io(v.valid_after);
  io(v.valid_before);
  io(v.raft);
}

struct Put {
  ByteWriter& w;
  template <typename E>
  void operator()(E e) requires std::is_enum_v<E> {
    w.varint(static_cast<uint64_t>(e));
  }
  template <typename... Ts>
  void operator()(const std::variant<Ts...>& v) {
    w.varint(v.index());
    std::visit([this](const auto& x) { (*this)(x); }, v);
  }
  void operator()(const std::string& s) { w.bytes(s); }
  void operator()(uint64_t v) { w.varint(v); }
  void operator()(int v) { w.svarint(v); }
  void operator()(bool v) { w.boolean(v); }
  void operator()(Duration d) { w.svarint(d.count()); }
  void operator()(double v) { w.f64(v); }
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
  template <typename E>
  void operator()(E& e) requires std::is_enum_v<E> {
    uint64_t x = r.varint();
    if (x < EnumRange<E>::min || x > EnumRange<E>::max) r.fail();
    e = r.ok() ? static_cast<E>(x) : static_cast<E>(EnumRange<E>::min);
  }
  // Fails on an index past the last alternative (a newer peer's type).
  template <typename... Ts>
  void operator()(std::variant<Ts...>& v) {
    uint64_t i = r.varint();
    if (!r.ok() || i >= sizeof...(Ts)) {
      r.fail();
      return;
    }
    emplace(v, static_cast<size_t>(i), std::index_sequence_for<Ts...>{});
  }
  // Makes alternative i of v the value and reads it.
  template <typename V, size_t... I>
  void emplace(V& v, size_t i, std::index_sequence<I...>) {
    ((i == I ? (*this)(v.template emplace<I>()) : void()), ...);
  }
  void operator()(std::string& s) { s = r.string(); }
  void operator()(uint64_t& v) { v = r.varint(); }
  void operator()(int& v) {
    int64_t x = r.svarint();
    if (x < std::numeric_limits<int>::min() || x > std::numeric_limits<int>::max()) r.fail();
    v = static_cast<int>(x);
  }
  void operator()(bool& v) { v = r.boolean(); }
  void operator()(Duration& d) { d = Duration(r.svarint()); }
  void operator()(double& v) { v = r.f64(); }
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

}  // namespace cairn::api::wire::detail
