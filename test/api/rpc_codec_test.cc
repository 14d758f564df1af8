// api/rpc_codec.h: every alternative of Query, Write, QueryValue and
// WriteValue round-trips with non-default values; truncation at every byte
// offset, unknown types and random bytes fail cleanly.
#include "api/rpc_codec.h"

#include <gtest/gtest.h>

#include <random>
#include <tuple>

namespace cairn::api {
// NodeServices has no operator== in types.h; the round trip needs one.
bool operator==(const NodeServices& a, const NodeServices& b) { return a.node == b.node && a.services == b.services; }
}  // namespace cairn::api

namespace cairn::api::rpc {
namespace {

template <typename T>
struct Tag {};

// Non-default sample values, built by type so that a new alternative whose
// types are known needs nothing here.
std::string sample(Tag<std::string>) { return "s\0x\xff"; }
bool sample(Tag<bool>) { return true; }
template <typename T>
std::vector<T> sample(Tag<std::vector<T>>) { return {sample(Tag<T>{}), T{}}; }
template <typename T>
std::optional<T> sample(Tag<std::optional<T>>) { return sample(Tag<T>{}); }
template <typename V>
std::map<std::string, V> sample(Tag<std::map<std::string, V>>) { return {{"a", sample(Tag<V>{})}, {"b", V{}}}; }
Node sample(Tag<Node>) { return Node{"id-1", "n1", "10.0.0.1", "dc1", {{"lan", "10.0.0.1"}}, {{"os", "linux"}}, {3, 4}}; }
NodeService sample(Tag<NodeService>) {
  NodeService s;
  s.kind = "connect-proxy";
  s.id = "web-1";
  s.service = "web";
  s.tags = {"v1", "primary"};
  s.tagged_addresses["wan"] = {"1.1.1.1", 8080};
  s.meta = {{"env", "prod"}};
  s.port = 80;
  s.weights = {3, 0};
  s.enable_tag_override = true;
  s.proxy_json = R"({"DestinationServiceName":"web"})";
  s.raft = {5, 6};
  return s;
}
HealthCheck sample(Tag<HealthCheck>) {
  HealthCheck c;
  c.node = "n1";
  c.check_id = "service:web-1";
  c.name = "web alive";
  c.status = "passing";
  c.output = "HTTP 200";
  c.service_id = "web-1";
  c.service_name = "web";
  c.service_tags = {"v1"};
  c.type = "http";
  c.definition.http = "http://127.0.0.1/health";
  c.definition.interval = std::chrono::seconds(10);
  c.definition.header["X"] = {"1", "2"};
  c.raft = {7, 8};
  return c;
}
KVPair sample(Tag<KVPair>) { return KVPair{"a/b", 42, std::string("v\0", 2), "sess", 3, {9, 10}}; }
Session sample(Tag<Session>) {
  Session s;
  s.id = "adf4238a-882b-9ddc-4a9d-5b6758e4159e";
  s.name = "lock";
  s.node = "n1";
  s.lock_delay = std::chrono::seconds(15);
  s.behavior = "delete";
  s.ttl = "30s";
  s.node_checks = {"serfHealth"};
  s.service_checks = {{"web", ""}};
  s.raft = {11, 12};
  return s;
}
CatalogServiceEntry sample(Tag<CatalogServiceEntry>) { return {sample(Tag<Node>{}), sample(Tag<NodeService>{})}; }
HealthServiceEntry sample(Tag<HealthServiceEntry>) {
  return {sample(Tag<Node>{}), sample(Tag<NodeService>{}), {sample(Tag<HealthCheck>{})}};
}
NodeServices sample(Tag<NodeServices>) { return {sample(Tag<Node>{}), {sample(Tag<NodeService>{})}}; }
RaftConfiguration sample(Tag<RaftConfiguration>) {
  return {{{"id1", "s1", "10.0.0.1:8300", true, true}, {"id2", "s2", "10.0.0.2:8300", false, false}}, 77};
}
RegisterRequest sample(Tag<RegisterRequest>) {
  RegisterRequest r;
  r.datacenter = "dc1";
  r.id = "id-1";
  r.node = "n1";
  r.address = "10.0.0.1";
  r.tagged_addresses = {{"wan", "1.1.1.1"}};
  r.node_meta = {{"os", "linux"}};
  r.service = sample(Tag<NodeService>{});
  r.check = sample(Tag<HealthCheck>{});
  r.checks = {sample(Tag<HealthCheck>{})};
  r.skip_node_update = true;
  return r;
}

// Each operation: its sample and its fields as a tuple, for comparison.
// A new alternative without both fails to compile in the tests below.
KvGet sample(Tag<KvGet>) { return {"a/b"}; }
auto fields_of(const KvGet& v) { return std::tie(v.key); }
KvList sample(Tag<KvList>) { return {"a/"}; }
auto fields_of(const KvList& v) { return std::tie(v.prefix); }
KvKeys sample(Tag<KvKeys>) { return {"a/", "/"}; }
auto fields_of(const KvKeys& v) { return std::tie(v.prefix, v.separator); }
SessionGet sample(Tag<SessionGet>) { return {"sid"}; }
auto fields_of(const SessionGet& v) { return std::tie(v.id); }
SessionList sample(Tag<SessionList>) { return {}; }
auto fields_of(const SessionList&) { return std::tuple<>(); }
SessionNode sample(Tag<SessionNode>) { return {"n1"}; }
auto fields_of(const SessionNode& v) { return std::tie(v.node); }
CatalogNodes sample(Tag<CatalogNodes>) { return {}; }
auto fields_of(const CatalogNodes&) { return std::tuple<>(); }
CatalogServices sample(Tag<CatalogServices>) { return {}; }
auto fields_of(const CatalogServices&) { return std::tuple<>(); }
CatalogServiceNodes sample(Tag<CatalogServiceNodes>) { return {"web", {"v1", "primary"}, true}; }
auto fields_of(const CatalogServiceNodes& v) { return std::tie(v.service, v.tags, v.connect); }
CatalogNodeServices sample(Tag<CatalogNodeServices>) { return {"n1"}; }
auto fields_of(const CatalogNodeServices& v) { return std::tie(v.node); }
HealthNode sample(Tag<HealthNode>) { return {"n1"}; }
auto fields_of(const HealthNode& v) { return std::tie(v.node); }
HealthChecks sample(Tag<HealthChecks>) { return {"web"}; }
auto fields_of(const HealthChecks& v) { return std::tie(v.service); }
HealthState sample(Tag<HealthState>) { return {"critical"}; }
auto fields_of(const HealthState& v) { return std::tie(v.state); }
HealthService sample(Tag<HealthService>) { return {"web", {"v1"}, true, true}; }
auto fields_of(const HealthService& v) { return std::tie(v.service, v.tags, v.passing_only, v.connect); }
StatusLeader sample(Tag<StatusLeader>) { return {}; }
auto fields_of(const StatusLeader&) { return std::tuple<>(); }
StatusPeers sample(Tag<StatusPeers>) { return {}; }
auto fields_of(const StatusPeers&) { return std::tuple<>(); }
OperatorRaftConfiguration sample(Tag<OperatorRaftConfiguration>) { return {}; }
auto fields_of(const OperatorRaftConfiguration&) { return std::tuple<>(); }

KvApply sample(Tag<KvApply>) { return {KvOp::delete_cas, sample(Tag<KVPair>{})}; }
auto fields_of(const KvApply& v) { return std::tie(v.op, v.entry); }
SessionCreate sample(Tag<SessionCreate>) { return {sample(Tag<Session>{})}; }
auto fields_of(const SessionCreate& v) { return std::tie(v.session); }
SessionDestroy sample(Tag<SessionDestroy>) { return {"sid"}; }
auto fields_of(const SessionDestroy& v) { return std::tie(v.id); }
SessionRenew sample(Tag<SessionRenew>) { return {"sid"}; }
auto fields_of(const SessionRenew& v) { return std::tie(v.id); }
CatalogRegister sample(Tag<CatalogRegister>) { return {sample(Tag<RegisterRequest>{})}; }
auto fields_of(const CatalogRegister& v) { return std::tie(v.request); }
CatalogDeregister sample(Tag<CatalogDeregister>) { return {DeregisterRequest{"dc1", "n1", "web-1", "c1", ""}}; }
auto fields_of(const CatalogDeregister& v) { return std::tie(v.request); }
OperatorRaftRemovePeer sample(Tag<OperatorRaftRemovePeer>) { return {"id2", "10.0.0.2:8300"}; }
auto fields_of(const OperatorRaftRemovePeer& v) { return std::tie(v.id, v.address); }
OperatorRaftTransferLeader sample(Tag<OperatorRaftTransferLeader>) { return {"id3"}; }
auto fields_of(const OperatorRaftTransferLeader& v) { return std::tie(v.id); }

TxnOp sample(Tag<TxnOp>) { return TxnServiceOp{TxnVerb::delete_cas, "n1", sample(Tag<NodeService>{})}; }
TxnResponse sample(Tag<TxnResponse>) {
  return {{sample(Tag<KVPair>{}), sample(Tag<Node>{}), sample(Tag<NodeService>{}), sample(Tag<HealthCheck>{})},
          {{3, "key \"k\" exists"}}};
}
TxnRead sample(Tag<TxnRead>) {
  return {{TxnKvOp{TxnVerb::check_index, sample(Tag<KVPair>{})}, TxnCheckOp{TxnVerb::get, sample(Tag<HealthCheck>{})}}};
}
auto fields_of(const TxnRead& v) { return std::tie(v.ops); }
SnapshotSave sample(Tag<SnapshotSave>) { return {}; }
auto fields_of(const SnapshotSave&) { return std::tuple<>(); }
Txn sample(Tag<Txn>) {
  return {{TxnNodeOp{TxnVerb::set, sample(Tag<Node>{})}, sample(Tag<TxnOp>{}),
           TxnKvOp{TxnVerb::lock, sample(Tag<KVPair>{})}}};
}
auto fields_of(const Txn& v) { return std::tie(v.ops); }
SnapshotRestore sample(Tag<SnapshotRestore>) { return {std::string("CAIRNSNAP\0\x01", 11)}; }
auto fields_of(const SnapshotRestore& v) { return std::tie(v.archive); }
ConfigEntry sample(Tag<ConfigEntry>) {
  return {"service-defaults", "web", R"({"Kind":"service-defaults","Name":"web","Protocol":"http"})", 7, 9};
}
ConfigEntryGet sample(Tag<ConfigEntryGet>) { return {"service-router", "web"}; }
auto fields_of(const ConfigEntryGet& v) { return std::tie(v.kind, v.name); }
ConfigEntryList sample(Tag<ConfigEntryList>) { return {"proxy-defaults"}; }
auto fields_of(const ConfigEntryList& v) { return std::tie(v.kind); }
ConfigEntryApply sample(Tag<ConfigEntryApply>) { return {sample(Tag<ConfigEntry>{}), true, 9}; }
auto fields_of(const ConfigEntryApply& v) { return std::tie(v.entry, v.cas, v.cas_index); }
ConfigEntryDelete sample(Tag<ConfigEntryDelete>) { return {"service-splitter", "api", true, 4}; }
auto fields_of(const ConfigEntryDelete& v) { return std::tie(v.kind, v.name, v.cas, v.cas_index); }
CARoot sample(Tag<CARoot>) {
  return {"aa:bb", "Cairn CA Primary Cert", 7, "01:02", "ext.td", "2026-01-01T00:00:00Z", "2036-01-01T00:00:00Z",
          "-----BEGIN CERTIFICATE-----\nroot\n", {"cross"}, true, "ec", 256, {3, 4}};
}
CARoots sample(Tag<CARoots>) { return {"aa:bb", "11111111-2222-4333-8444-555555555555.consul", {sample(Tag<CARoot>{}), CARoot{}}}; }
CAConfiguration sample(Tag<CAConfiguration>) {
  CAConfiguration c;
  c.cluster_id = "11111111-2222-4333-8444-555555555555";
  c.config = {std::chrono::hours(24), "rsa", 4096, std::chrono::hours(1000), std::chrono::hours(100), 7, 3, "key", "cert"};
  c.state = {{"k", "v"}};
  c.force_without_cross_signing = true;
  c.raft = {5, 6};
  return c;
}
IssuedCert sample(Tag<IssuedCert>) {
  return {"0a:0b", "cert", "key", "web", "spiffe://td/ns/default/dc/dc1/svc/web", "2026-01-01T00:00:00Z",
          "2026-01-04T00:00:00Z", {8, 9}};
}
ConnectCARoots sample(Tag<ConnectCARoots>) { return {}; }
auto fields_of(const ConnectCARoots&) { return std::tuple<>(); }
ConnectCAConfigGet sample(Tag<ConnectCAConfigGet>) { return {}; }
auto fields_of(const ConnectCAConfigGet&) { return std::tuple<>(); }
ConnectCAConfigSet sample(Tag<ConnectCAConfigSet>) { return {sample(Tag<CAConfiguration>{})}; }
auto fields_of(const ConnectCAConfigSet& v) { return std::tie(v.config); }
ConnectCASign sample(Tag<ConnectCASign>) { return {"-----BEGIN CERTIFICATE REQUEST-----\n"}; }
auto fields_of(const ConnectCASign& v) { return std::tie(v.csr); }

CoordinateEntry sample(Tag<CoordinateEntry>) {
  return {"n1", "", Coord{{0.001, -0.5, 1e-9, 0, 0, 0, 0, 2.5}, 0.25, -1e-4, 1e-5}};
}
CoordinateNodes sample(Tag<CoordinateNodes>) { return {}; }
auto fields_of(const CoordinateNodes&) { return std::tuple<>(); }
CoordinateNode sample(Tag<CoordinateNode>) { return {"n1"}; }
auto fields_of(const CoordinateNode& v) { return std::tie(v.node); }
CoordinateUpdate sample(Tag<CoordinateUpdate>) { return {{sample(Tag<CoordinateEntry>{})}}; }
auto fields_of(const CoordinateUpdate& v) { return std::tie(v.entries); }

PreparedQuery sample(Tag<PreparedQuery>) {
  PreparedQuery q;
  q.id = "8f246b77-f3e1-ff88-5b48-8ec93abf3e05";
  q.name = "geo-db";
  q.session = "sess-1";
  q.token = "tok";
  q.templ = {"name_prefix_match", "^geo-db-(.*)$", true};
  q.service.service = "${match(1)}";
  q.service.failover = {3, {"dc2", "dc3"}};
  q.service.only_passing = true;
  q.service.ignore_check_ids = {"c1"};
  q.service.near = "_agent";
  q.service.tags = {"primary", "!v1"};
  q.service.node_meta = {{"rack", "a"}};
  q.service.service_meta = {{"env", "prod"}};
  q.service.connect = true;
  q.dns.ttl = "10s";
  q.raft = {5, 9};
  return q;
}
PreparedQueryExecuteResult sample(Tag<PreparedQueryExecuteResult>) {
  return {"web", {sample(Tag<HealthServiceEntry>{})}, {"5s"}, "dc1", 0};
}
PreparedQueryGet sample(Tag<PreparedQueryGet>) { return {"id-1"}; }
auto fields_of(const PreparedQueryGet& v) { return std::tie(v.id); }
PreparedQueryList sample(Tag<PreparedQueryList>) { return {}; }
auto fields_of(const PreparedQueryList&) { return std::tuple<>(); }
PreparedQueryExecute sample(Tag<PreparedQueryExecute>) { return {"geo-db-web", "agent-1", 3, true}; }
auto fields_of(const PreparedQueryExecute& v) { return std::tie(v.id_or_name, v.agent_node, v.limit, v.connect); }
PreparedQueryExplain sample(Tag<PreparedQueryExplain>) { return {"geo-db-web"}; }
auto fields_of(const PreparedQueryExplain& v) { return std::tie(v.id_or_name); }
PreparedQueryApply sample(Tag<PreparedQueryApply>) { return {PreparedQueryOp::update, sample(Tag<PreparedQuery>{})}; }
auto fields_of(const PreparedQueryApply& v) { return std::tie(v.op, v.query); }

QueryOptions sample_query_options() {
  return {99, std::chrono::seconds(300) + std::chrono::milliseconds(7), Consistency::stale, "token-1", "node-near", true};
}

Request round_trip(const Request& in) {
  auto out = decode_request(encode(in));
  EXPECT_TRUE(out.ok()) << out.error().message();
  return out.ok() ? std::move(out).value() : Request{};
}
Response round_trip(const Response& in) {
  auto out = decode_response(encode(in));
  EXPECT_TRUE(out.ok()) << out.error().message();
  return out.ok() ? std::move(out).value() : Response{};
}

template <size_t I>
void check_query() {
  using Q = std::variant_alternative_t<I, Query>;
  SCOPED_TRACE("query alternative " + std::to_string(I));
  Request in{1000 + I, QueryCall{sample_query_options(), Query(std::in_place_index<I>, sample(Tag<Q>{}))}};
  Request out = round_trip(in);
  EXPECT_EQ(out.id, in.id);
  ASSERT_EQ(out.call.index(), 0u);
  const auto& call = std::get<QueryCall>(out.call);
  EXPECT_EQ(call.options.min_index, 99u);
  EXPECT_EQ(call.options.max_wait, sample_query_options().max_wait);
  EXPECT_EQ(call.options.consistency, Consistency::stale);
  EXPECT_EQ(call.options.token, "token-1");
  EXPECT_EQ(call.options.near, "node-near");
  EXPECT_TRUE(call.options.forwarded);
  ASSERT_EQ(call.query.index(), I);
  EXPECT_TRUE(fields_of(std::get<I>(call.query)) == fields_of(std::get<I>(std::get<QueryCall>(in.call).query)));

  // Its result, at the same index.
  using V = typename Q::Value;
  Response rin{2000 + I, QueryResponse{{12345, std::chrono::milliseconds(250), false}, make_value<Q, QueryValue>(sample(Tag<V>{}))}};
  Response rout = round_trip(rin);
  EXPECT_EQ(rout.id, rin.id);
  ASSERT_EQ(rout.result.index(), 1u);
  auto& qr = std::get<QueryResponse>(rout.result);
  EXPECT_EQ(qr.meta.index, 12345u);
  EXPECT_EQ(qr.meta.last_contact, std::chrono::milliseconds(250));
  EXPECT_FALSE(qr.meta.known_leader);
  ASSERT_EQ(qr.value.index(), I);
  EXPECT_TRUE(value_of<Q>(qr) == sample(Tag<V>{}));
}

template <size_t I>
void check_write() {
  using W = std::variant_alternative_t<I, Write>;
  SCOPED_TRACE("write alternative " + std::to_string(I));
  Request in{3000 + I, WriteCall{WriteOptions{"token-2", true}, Write(std::in_place_index<I>, sample(Tag<W>{}))}};
  Request out = round_trip(in);
  EXPECT_EQ(out.id, in.id);
  ASSERT_EQ(out.call.index(), 1u);
  const auto& call = std::get<WriteCall>(out.call);
  EXPECT_EQ(call.options.token, "token-2");
  EXPECT_TRUE(call.options.forwarded);
  ASSERT_EQ(call.write.index(), I);
  EXPECT_TRUE(fields_of(std::get<I>(call.write)) == fields_of(std::get<I>(std::get<WriteCall>(in.call).write)));

  using V = typename W::Value;
  Response rin{4000 + I, WriteResponse{777, make_value<W, WriteValue>(sample(Tag<V>{}))}};
  Response rout = round_trip(rin);
  ASSERT_EQ(rout.result.index(), 2u);
  auto& wr = std::get<WriteResponse>(rout.result);
  EXPECT_EQ(wr.index, 777u);
  ASSERT_EQ(wr.value.index(), I);
  EXPECT_TRUE(value_of<W>(wr) == sample(Tag<V>{}));
}

template <size_t... I>
void check_queries(std::index_sequence<I...>) {
  (check_query<I>(), ...);
}
template <size_t... I>
void check_writes(std::index_sequence<I...>) {
  (check_write<I>(), ...);
}

TEST(RpcCodec, EveryQueryAndItsValueRoundTrip) { check_queries(std::make_index_sequence<std::variant_size_v<Query>>{}); }

TEST(RpcCodec, EveryWriteAndItsValueRoundTrip) { check_writes(std::make_index_sequence<std::variant_size_v<Write>>{}); }

TEST(RpcCodec, ErrorsKeepTheirCodeAndDetail) {
  for (errc code : {errc::invalid_argument, errc::not_found, errc::permission_denied, errc::too_large, errc::unavailable,
                    errc::timeout, errc::internal}) {
    Response out = round_trip(Response{5, Error(code, "Missing node registration")});
    EXPECT_EQ(out.id, 5u);
    ASSERT_EQ(out.result.index(), 0u);
    EXPECT_TRUE(std::get<Error>(out.result).is(code));
    EXPECT_EQ(std::get<Error>(out.result).detail(), "Missing node registration");
  }
}

TEST(RpcCodec, ForeignErrorCategoriesTravelAsInternalWithTheirMessage) {
  Response out = round_trip(Response{6, Error(std::make_error_code(std::errc::connection_refused))});
  ASSERT_EQ(out.result.index(), 0u);
  EXPECT_TRUE(std::get<Error>(out.result).is(errc::internal));
  EXPECT_FALSE(std::get<Error>(out.result).detail().empty());
}

TEST(RpcCodec, UnknownErrorCodeFromANewerPeerDecodesAsInternal) {
  std::string bytes = encode(Response{7, Error(errc::timeout, "slow")});
  // version(1) id(8) tag(1) then the code varint.
  bytes[10] = 100;
  auto out = decode_response(bytes);
  ASSERT_TRUE(out.ok()) << out.error().message();
  EXPECT_TRUE(std::get<Error>(out->result).is(errc::internal));
  EXPECT_EQ(std::get<Error>(out->result).detail(), "slow");
}

TEST(RpcCodec, MakeResponseCarriesValueOrError) {
  Response ok = make_response(9, Result<WriteResponse>(WriteResponse{3, make_value<SessionDestroy, WriteValue>(true)}));
  EXPECT_EQ(ok.id, 9u);
  EXPECT_EQ(ok.result.index(), 2u);
  Response bad = make_response(10, Result<QueryResponse>(Error(errc::unavailable, "No cluster leader")));
  EXPECT_TRUE(std::get<Error>(bad.result).is(errc::unavailable));
}

std::vector<std::string> sample_messages() {
  return {
      encode(Request{1, QueryCall{sample_query_options(), Query(HealthService{"web", {"v1"}, true})}}),
      encode(Request{2, WriteCall{{"t"}, Write(CatalogRegister{sample(Tag<RegisterRequest>{})})}}),
      encode(Response{3, QueryResponse{{5, {}, true}, make_value<HealthService, QueryValue>(
                                                          sample(Tag<std::vector<HealthServiceEntry>>{}))}}),
      encode(Response{4, Error(errc::not_found, "Session id 'x' not found")}),
  };
}

TEST(RpcCodec, EveryTruncationFailsCleanly) {
  for (const auto& bytes : sample_messages()) {
    ASSERT_TRUE(decode_request(bytes).ok() || decode_response(bytes).ok());
    for (size_t n = 0; n < bytes.size(); ++n) {
      std::string_view cut(bytes.data(), n);
      EXPECT_FALSE(decode_request(cut).ok()) << "request cut at " << n;
      EXPECT_FALSE(decode_response(cut).ok()) << "response cut at " << n;
    }
  }
}

TEST(RpcCodec, TrailingBytesAreRefused) {
  std::string bytes = encode(Request{1, QueryCall{{}, Query(KvGet{"k"})}});
  auto r = decode_request(bytes + "x");
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.error().is(errc::parse_error));
  EXPECT_NE(r.error().detail().find("trailing"), std::string::npos) << r.error().detail();
}

TEST(RpcCodec, UnknownVersionKindTypeAndTagAreNamed) {
  auto detail_of = [](auto r) { return r.ok() ? std::string("decoded") : r.error().detail(); };
  std::string q = encode(Request{1, QueryCall{{}, Query(KvGet{"k"})}});
  std::string v = q;
  v[0] = 9;
  EXPECT_NE(detail_of(decode_request(v)).find("unsupported version 9"), std::string::npos);
  std::string kind = q;
  kind[9] = 5;
  EXPECT_NE(detail_of(decode_request(kind)).find("unknown kind"), std::string::npos);
  // Header 9 bytes, kind 1, options: min_index 1, max_wait 1, consistency 1, token 1, near 1, forwarded 1
  // -> the query index at 16.
  std::string type = q;
  ASSERT_EQ(type[16], 0);
  type[16] = static_cast<char>(std::variant_size_v<Query>);
  EXPECT_NE(detail_of(decode_request(type)).find("unknown query type"), std::string::npos);
  std::string w = encode(Request{1, WriteCall{{}, Write(SessionDestroy{"s"})}});
  w[12] = static_cast<char>(std::variant_size_v<Write>);  // header 9, kind 1, token 1, forwarded 1
  EXPECT_NE(detail_of(decode_request(w)).find("unknown write type"), std::string::npos);
  std::string resp = encode(Response{1, Error(errc::timeout, "x")});
  resp[9] = 3;
  EXPECT_NE(detail_of(decode_response(resp)).find("unknown result tag"), std::string::npos);
}

TEST(RpcCodec, OutOfRangeEnumsAreRefused) {
  std::string q = encode(Request{1, QueryCall{{}, Query(KvGet{"k"})}});
  q[12] = 3;  // consistency: header 9, kind 1, min_index 1, max_wait 1
  EXPECT_FALSE(decode_request(q).ok());
  std::string w = encode(Request{1, WriteCall{{}, Write(KvApply{KvOp::set, KVPair{}})}});
  ASSERT_EQ(w[13], static_cast<char>(KvOp::set));  // header 9, kind 1, token 1, forwarded 1, write index 1
  w[13] = 0;
  EXPECT_FALSE(decode_request(w).ok());
  w[13] = 8;
  EXPECT_FALSE(decode_request(w).ok());
}

TEST(RpcCodec, RandomBytesAndMutationsNeverCrash) {
  std::mt19937_64 rng(42);
  auto messages = sample_messages();
  int decoded = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string bytes;
    if (i % 2 == 0) {
      bytes.resize(rng() % 64);
      for (auto& c : bytes) c = static_cast<char>(rng());
      if (!bytes.empty()) bytes[0] = static_cast<char>(kRpcVersion);  // get past the version check
    } else {
      bytes = messages[rng() % messages.size()];
      for (int k = 0; k < 3; ++k) bytes[rng() % bytes.size()] = static_cast<char>(rng());
    }
    decoded += decode_request(bytes).ok();
    decoded += decode_response(bytes).ok();
  }
  EXPECT_LT(decoded, 40000);  // a reached bound: the loop ran and did not crash
}

}  // namespace
}  // namespace cairn::api::rpc
