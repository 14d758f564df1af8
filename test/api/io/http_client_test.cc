#include "api/io/http_client.h"

#include <gtest/gtest.h>

namespace cairn::api {
namespace {

TEST(HttpAddress, ParsesTheFormsConsulAccepts) {
  auto a = HttpAddress::parse("127.0.0.1:8600");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 8600);
  auto b = HttpAddress::parse("http://localhost:1234/");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->host, "localhost");
  EXPECT_EQ(b->port, 1234);
  auto c = HttpAddress::parse("localhost");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->port, 8500);
  auto d = HttpAddress::parse("[::1]:9000");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->host, "::1");
  EXPECT_EQ(d->port, 9000);
}

TEST(HttpAddress, RejectsBadAddresses) {
  EXPECT_FALSE(HttpAddress::parse("").ok());
  EXPECT_FALSE(HttpAddress::parse("host:99999").ok());
  EXPECT_FALSE(HttpAddress::parse("host:8a").ok());
  EXPECT_FALSE(HttpAddress::parse("[::1").ok());
  auto https = HttpAddress::parse("https://x:8501");
  ASSERT_FALSE(https.ok());
  EXPECT_NE(https.error().message().find("https"), std::string::npos);
}

TEST(HttpClient, ReportsAConnectionFailureAsAnError) {
  HttpClient client(*HttpAddress::parse("127.0.0.1:1"));
  auto r = client.request("GET", "/v1/agent/self", "", std::chrono::seconds(5));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("127.0.0.1:1"), std::string::npos);
}

}  // namespace
}  // namespace cairn::api
