#include "api/wire.h"

#include "api/wire_detail.h"

namespace cairn::api::wire {

using detail::get_any;
using detail::put_any;

void put(ByteWriter& w, const KVPair& v) { put_any(w, v); }
void put(ByteWriter& w, const Node& v) { put_any(w, v); }
void put(ByteWriter& w, const NodeService& v) { put_any(w, v); }
void put(ByteWriter& w, const HealthCheck& v) { put_any(w, v); }
void put(ByteWriter& w, const Session& v) { put_any(w, v); }
void put(ByteWriter& w, const RegisterRequest& v) { put_any(w, v); }
void put(ByteWriter& w, const DeregisterRequest& v) { put_any(w, v); }
void put(ByteWriter& w, const std::vector<TxnOp>& v) { put_any(w, v); }
void put(ByteWriter& w, const CARoot& v) { put_any(w, v); }
void put(ByteWriter& w, const std::vector<CARoot>& v) { put_any(w, v); }
void put(ByteWriter& w, const CAConfiguration& v) { put_any(w, v); }
void put(ByteWriter& w, const ConfigEntry& v) { put_any(w, v); }
void put(ByteWriter& w, const CoordinateEntry& v) { put_any(w, v); }
void put(ByteWriter& w, const std::vector<CoordinateEntry>& v) { put_any(w, v); }

bool get(ByteReader& r, KVPair& v) { return get_any(r, v); }
bool get(ByteReader& r, Node& v) { return get_any(r, v); }
bool get(ByteReader& r, NodeService& v) { return get_any(r, v); }
bool get(ByteReader& r, HealthCheck& v) { return get_any(r, v); }
bool get(ByteReader& r, Session& v) { return get_any(r, v); }
bool get(ByteReader& r, std::vector<TxnOp>& v) { return get_any(r, v); }
bool get(ByteReader& r, CARoot& v) { return get_any(r, v); }
bool get(ByteReader& r, std::vector<CARoot>& v) { return get_any(r, v); }
bool get(ByteReader& r, CAConfiguration& v) { return get_any(r, v); }
bool get(ByteReader& r, ConfigEntry& v) { return get_any(r, v); }
bool get(ByteReader& r, CoordinateEntry& v) { return get_any(r, v); }
bool get(ByteReader& r, std::vector<CoordinateEntry>& v) { return get_any(r, v); }
bool get(ByteReader& r, RegisterRequest& v) {
  v.token.clear();
  return get_any(r, v);
}
bool get(ByteReader& r, DeregisterRequest& v) {
  v.token.clear();
  return get_any(r, v);
}

}  // namespace cairn::api::wire
