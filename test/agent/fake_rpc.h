// Test doubles for the agent's endpoints over api::rpc::Handler: FakeRpc
// records every Query/Write with its options and answers with a scripted
// result at once, or parks the callback so the test answers it later (a
// blocking query); RpcEndpoints drives requests through the real Router.
#pragma once

#include <gtest/gtest.h>

#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agent/http/endpoints.h"
#include "api/rpc.h"
#include "core/http/router.h"
#include "core/http/url.h"

namespace cairn::agent::test {

using namespace api::rpc;
using cairn::http::Method;
using cairn::http::Request;
using cairn::http::Responder;
using cairn::http::Response;

class FakeRpc : public Handler {
 public:
  struct QueryCall {
    QueryOptions options;
    Query query;
    QueryCallback done;
  };
  struct WriteCall {
    WriteOptions options;
    Write write;
    WriteCallback done;
  };

  void query(QueryOptions options, Query query, QueryCallback done) override {
    queries.push_back({options, query, done});
    if (!query_results.empty()) {
      auto r = std::move(query_results.front());
      query_results.pop_front();
      done(std::move(r));
    }
  }
  void write(WriteOptions options, Write write, WriteCallback done) override {
    writes.push_back({options, write, done});
    if (!write_results.empty()) {
      auto r = std::move(write_results.front());
      write_results.pop_front();
      done(std::move(r));
    }
  }

  // Scripts the next answer to a query of type Q.
  template <typename Q>
  void answer(typename Q::Value v, QueryMeta meta = {}) {
    query_results.push_back(QueryResponse{meta, make_value<Q, QueryValue>(std::move(v))});
  }
  template <typename W>
  void answer_write(typename W::Value v, uint64_t index = 7) {
    write_results.push_back(WriteResponse{index, make_value<W, WriteValue>(std::move(v))});
  }
  void fail_query(Error e) { query_results.push_back(std::move(e)); }
  void fail_write(Error e) { write_results.push_back(std::move(e)); }

  // The last recorded query as a Q (fails the test when it is another type).
  template <typename Q>
  const Q& last_query() const {
    EXPECT_FALSE(queries.empty());
    EXPECT_TRUE(std::holds_alternative<Q>(queries.back().query));
    return std::get<Q>(queries.back().query);
  }
  template <typename W>
  const W& last_write() const {
    EXPECT_FALSE(writes.empty());
    EXPECT_TRUE(std::holds_alternative<W>(writes.back().write));
    return std::get<W>(writes.back().write);
  }

  std::vector<QueryCall> queries;
  std::vector<WriteCall> writes;
  std::deque<Result<QueryResponse>> query_results;  // empty: park the callback
  std::deque<Result<WriteResponse>> write_results;
};

class RpcEndpoints {
 public:
  RpcEndpoints() {
    config.datacenter = "dc1";
    config.node_name = "node-a";
    http::register_status(router, ctx);
    http::register_kv(router, ctx);
    http::register_session(router, ctx);
    http::register_catalog(router, ctx);
    http::register_health(router, ctx);
    http::register_operator_raft(router, ctx);
  }

  // Sends `target` (path and query, percent-encoded as on the wire); the
  // response, or nullopt when the handler has not answered yet.
  std::optional<Response> call(Method method, const std::string& target, std::string body = {},
                               std::vector<std::pair<std::string, std::string>> headers = {}) {
    auto slot = std::make_shared<std::optional<Response>>();
    pending = slot;
    Request req;
    req.method = method;
    req.target = target;
    auto q = target.find('?');
    auto path = cairn::http::percent_decode(target.substr(0, q));
    EXPECT_TRUE(path.ok());
    req.path = *path;
    if (q != std::string::npos) {
      auto query = cairn::http::Query::parse(target.substr(q + 1));
      EXPECT_TRUE(query.ok());
      req.query = *query;
    }
    for (auto& [k, v] : headers) req.headers.add(k, v);
    req.body = std::move(body);
    router.dispatch(req, Responder([slot](Response r) { *slot = std::move(r); }));
    return *slot;
  }
  std::optional<Response> get(const std::string& target) { return call(Method::get, target); }
  std::optional<Response> put(const std::string& target, std::string body = {}) {
    return call(Method::put, target, std::move(body));
  }

  Config config;
  std::shared_ptr<FakeRpc> rpc = std::make_shared<FakeRpc>();
  http::EndpointContext ctx{config, {}, nullptr, false, nullptr, {}, rpc};
  cairn::http::Router router;
  std::shared_ptr<std::optional<Response>> pending;  // the last call's slot (answered later)
};

inline std::string header(const Response& r, std::string_view name) { return r.headers.get(name).value_or(""); }

}  // namespace cairn::agent::test
