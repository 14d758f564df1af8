// The binary form of prepared queries (api/wire_detail.h's fields()
// convention), for api/prepared_query.cc (records) and api/rpc_codec.cc
// (the RPC messages that carry them). Internal to api/*.cc.
#pragma once

#include "api/prepared_query.h"
#include "api/wire_detail.h"

namespace cairn::api::wire::detail {

template <>
struct EnumRange<PreparedQueryOp> {
  static constexpr uint64_t min = static_cast<uint64_t>(PreparedQueryOp::create);
  static constexpr uint64_t max = static_cast<uint64_t>(PreparedQueryOp::del);
};

template <typename IO, typename T>
void fields(IO& io, T& v) requires std::is_same_v<std::remove_const_t<T>, QueryFailover> {
  io(v.nearest_n);
  io(v.datacenters);
}
template <typename IO, typename T>
void fields(IO& io, T& v) requires std::is_same_v<std::remove_const_t<T>, QueryTemplateOptions> {
  io(v.type);
  io(v.regexp);
  io(v.remove_empty_tags);
}
template <typename IO, typename T>
void fields(IO& io, T& v) requires std::is_same_v<std::remove_const_t<T>, ServiceQuery> {
  io(v.service);
  io(v.failover);
  io(v.only_passing);
  io(v.ignore_check_ids);
  io(v.near);
  io(v.tags);
  io(v.node_meta);
  io(v.service_meta);
  io(v.connect);
}
template <typename IO, typename T>
void fields(IO& io, T& v) requires std::is_same_v<std::remove_const_t<T>, QueryDNSOptions> {
  io(v.ttl);
}
template <typename IO, typename T>
void fields(IO& io, T& v) requires std::is_same_v<std::remove_const_t<T>, PreparedQuery> {
  io(v.id);
  io(v.name);
  io(v.session);
  io(v.token);
  io(v.templ);
  io(v.service);
  io(v.dns);
  io(v.raft);
}
template <typename IO, typename T>
void fields(IO& io, T& v) requires std::is_same_v<std::remove_const_t<T>, PreparedQueryExecuteResult> {
  io(v.service);
  io(v.nodes);
  io(v.dns);
  io(v.datacenter);
  io(v.failovers);
}

}  // namespace cairn::api::wire::detail
