// api/io/rpc_client.h without sockets: the per-call deadline. The client
// over real connections is tested against the listener in test/server/rpc.
#include "api/io/rpc_client.h"

#include <gtest/gtest.h>

namespace cairn::api {
namespace {

using namespace std::chrono_literals;

TEST(RpcClientDeadline, AnOrdinaryCallGetsTheCallTimeout) {
  EXPECT_EQ(RpcClient::deadline_for(rpc::QueryOptions{0, 5min, rpc::Consistency::leader, "", ""}, 30s), 30s);
}

TEST(RpcClientDeadline, ABlockingQueryGetsItsWaitPlusJitterPlusAMargin) {
  rpc::QueryOptions o{7, 5min, rpc::Consistency::stale, ""};
  EXPECT_EQ(RpcClient::deadline_for(o, 30s), 5min + 18750ms + 5s);
}

TEST(RpcClientDeadline, ABlockingQueryWithoutAWaitGetsTheServersCap) {
  rpc::QueryOptions o{7, 0s, rpc::Consistency::leader, ""};
  EXPECT_EQ(RpcClient::deadline_for(o, 30s), 10min + 37500ms + 5s);
}

}  // namespace
}  // namespace cairn::api
