// The binary form of the API types: Raft command payloads (server/fsm) and
// the records the state store keeps (server/state). Built on core/codec.h.
//
// Not self-describing and not versioned here: the caller writes a version
// byte in front (the FSM's command header, the store's record header) and
// keeps old decoders when a field is added. Decoders are total: bad bytes
// make ByteReader::ok() false, never a crash or an assert.
//
// Thread-safety: pure functions.
#pragma once

#include "api/types.h"
#include "core/codec.h"

namespace cairn::api::wire {

void put(ByteWriter& w, const KVPair& v);
void put(ByteWriter& w, const Node& v);
void put(ByteWriter& w, const NodeService& v);
void put(ByteWriter& w, const HealthCheck& v);
void put(ByteWriter& w, const Session& v);
void put(ByteWriter& w, const RegisterRequest& v);
void put(ByteWriter& w, const DeregisterRequest& v);
void put(ByteWriter& w, const std::vector<TxnOp>& v);
void put(ByteWriter& w, const CARoot& v);
void put(ByteWriter& w, const std::vector<CARoot>& v);
void put(ByteWriter& w, const CAConfiguration& v);
void put(ByteWriter& w, const ConfigEntry& v);
void put(ByteWriter& w, const CoordinateEntry& v);
void put(ByteWriter& w, const std::vector<CoordinateEntry>& v);

// Each returns r.ok() after reading.
bool get(ByteReader& r, KVPair& v);
bool get(ByteReader& r, Node& v);
bool get(ByteReader& r, NodeService& v);
bool get(ByteReader& r, HealthCheck& v);
bool get(ByteReader& r, Session& v);
bool get(ByteReader& r, RegisterRequest& v);
bool get(ByteReader& r, DeregisterRequest& v);
bool get(ByteReader& r, std::vector<TxnOp>& v);
bool get(ByteReader& r, CARoot& v);
bool get(ByteReader& r, std::vector<CARoot>& v);
bool get(ByteReader& r, CAConfiguration& v);
bool get(ByteReader& r, ConfigEntry& v);
bool get(ByteReader& r, CoordinateEntry& v);
bool get(ByteReader& r, std::vector<CoordinateEntry>& v);

}  // namespace cairn::api::wire
