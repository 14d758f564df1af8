#include "core/http/router.h"

#include <gtest/gtest.h>

namespace cairn::http {
namespace {

// Dispatches a request and returns the response synchronously.
Response call(const Router& router, Method method, std::string path, std::string method_text = "") {
  Request req;
  req.method = method;
  req.method_text = method_text.empty() ? std::string(method_name(method)) : method_text;
  req.path = std::move(path);
  std::optional<Response> out;
  router.dispatch(req, Responder([&](Response r) { out = std::move(r); }));
  EXPECT_TRUE(out.has_value());
  return out.value_or(Response{});
}

Router make_router() {
  Router r;
  r.add_sync(Method::get, "/v1/agent/self", [](Request&) { return Response::text("self"); });
  r.add_sync(Method::get, "/v1/catalog/node/<node>",
             [](Request& q) { return Response::text("node=" + std::string(q.param("node"))); });
  r.add_sync({Method::get, Method::put, Method::del}, "/v1/kv/<key...>",
             [](Request& q) { return Response::text("key=" + std::string(q.param("key"))); });
  r.add_sync(Method::get, "/v1/kv/special", [](Request&) { return Response::text("special"); });
  r.add_sync({Method::put, Method::get}, "/v1/agent/service/deregister/<id...>",
             [](Request& q) { return Response::text("id=" + std::string(q.param("id"))); });
  return r;
}

TEST(Router, MatchesLiteralRoutes) {
  auto r = make_router();
  EXPECT_EQ(call(r, Method::get, "/v1/agent/self").body, "self");
}

TEST(Router, NamedParameterTakesOneSegment) {
  auto r = make_router();
  EXPECT_EQ(call(r, Method::get, "/v1/catalog/node/web-1").body, "node=web-1");
  EXPECT_EQ(call(r, Method::get, "/v1/catalog/node/a/b").status, 404);
  EXPECT_EQ(call(r, Method::get, "/v1/catalog/node/").status, 404);
}

TEST(Router, TailParameterKeepsSlashes) {
  auto r = make_router();
  EXPECT_EQ(call(r, Method::get, "/v1/kv/a/b/c").body, "key=a/b/c");
  EXPECT_EQ(call(r, Method::get, "/v1/kv/dir/").body, "key=dir/");
  EXPECT_EQ(call(r, Method::get, "/v1/kv/").body, "key=");
  EXPECT_EQ(call(r, Method::get, "/v1/agent/service/deregister/svc/with/slash").body, "id=svc/with/slash");
}

TEST(Router, LiteralRouteBeatsTail) {
  auto r = make_router();
  EXPECT_EQ(call(r, Method::get, "/v1/kv/special").body, "special");
  EXPECT_EQ(call(r, Method::put, "/v1/kv/special").body, "key=special");
}

TEST(Router, WrongMethodGets405WithAllow) {
  auto r = make_router();
  auto resp = call(r, Method::post, "/v1/agent/self");
  EXPECT_EQ(resp.status, 405);
  EXPECT_EQ(resp.headers.get("Allow"), "GET, OPTIONS");
  EXPECT_EQ(resp.body, "method POST not allowed\n");
  auto kv = call(r, Method::post, "/v1/kv/x");
  EXPECT_EQ(kv.headers.get("Allow"), "GET, PUT, DELETE, OPTIONS");
}

TEST(Router, OptionsAnswersWithAllow) {
  auto r = make_router();
  auto resp = call(r, Method::options, "/v1/agent/self");
  EXPECT_EQ(resp.status, 200);
  EXPECT_EQ(resp.headers.get("Allow"), "GET, OPTIONS");
}

TEST(Router, UnknownPathGets404) {
  auto r = make_router();
  EXPECT_EQ(call(r, Method::get, "/v1/nope").status, 404);
  EXPECT_EQ(call(r, Method::get, "/v1/agent/self/").status, 404);
  EXPECT_EQ(call(r, Method::get, "").status, 404);
}

TEST(Router, RejectsMalformedPatterns) {
  Router r;
  EXPECT_THROW(r.add(Method::get, "no-slash", nullptr), std::invalid_argument);
  EXPECT_THROW(r.add(Method::get, "/a/<t...>/b", nullptr), std::invalid_argument);
}

TEST(Responder, DroppedResponderAnswers500) {
  std::optional<Response> out;
  { Responder r([&](Response resp) { out = std::move(resp); }); }
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(out->status, 500);
}

TEST(Responder, FirstResponseWins) {
  int calls = 0;
  Responder r([&](Response) { ++calls; });
  Responder copy = r;
  r.respond(Response::text("a"));
  copy.respond(Response::text("b"));
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(copy.responded());
}

}  // namespace
}  // namespace cairn::http
