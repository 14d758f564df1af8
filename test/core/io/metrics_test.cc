#include "core/io/metrics.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace cairn::metrics {
namespace {

TEST(Metrics, AggregatesCountersAndSamplesAndKeepsGauges) {
  reset_for_test();
  incr_counter("consul.rpc.request");
  incr_counter("consul.rpc.request", 2);
  add_sample("consul.kvs.apply", 1.0, {{"op", "set"}});
  add_sample("consul.kvs.apply", 3.0, {{"op", "set"}});
  set_gauge("consul.members.clients", 4);
  set_gauge("consul.members.clients", 5);
  auto s = snapshot();
  ASSERT_EQ(s.counters.size(), 1u);
  EXPECT_EQ(s.counters[0].count, 2u);
  EXPECT_DOUBLE_EQ(s.counters[0].sum, 3);
  ASSERT_EQ(s.samples.size(), 1u);
  EXPECT_DOUBLE_EQ(s.samples[0].min, 1);
  EXPECT_DOUBLE_EQ(s.samples[0].max, 3);
  EXPECT_DOUBLE_EQ(s.samples[0].mean, 2);
  EXPECT_NEAR(s.samples[0].stddev, 1.41421356, 1e-6);
  ASSERT_EQ(s.gauges.size(), 1u);
  EXPECT_DOUBLE_EQ(s.gauges[0].value, 5);
}

TEST(Metrics, JsonHasConsulsShape) {
  reset_for_test();
  incr_counter("c", 1, {{"k", "v"}});
  set_gauge("g", 1.5);
  auto j = nlohmann::json::parse(to_json(snapshot()));
  for (const char* key : {"Timestamp", "Gauges", "Points", "Counters", "Samples"}) EXPECT_TRUE(j.contains(key)) << key;
  EXPECT_EQ(j["Gauges"][0]["Name"], "g");
  EXPECT_EQ(j["Gauges"][0]["Value"], 1.5);
  EXPECT_EQ(j["Counters"][0]["Labels"]["k"], "v");
  for (const char* key : {"Count", "Rate", "Sum", "Min", "Max", "Mean", "Stddev"})
    EXPECT_TRUE(j["Counters"][0].contains(key)) << key;
  EXPECT_NE(j["Timestamp"].get<std::string>().find("+0000 UTC"), std::string::npos);
}

TEST(Metrics, PrometheusTextNamesTypesAndEscapesLabels) {
  reset_for_test();
  set_gauge("consul.runtime.rss_bytes", 1024);
  incr_counter("consul.rpc.request", 2);
  add_sample("consul.api.http", 2.5, {{"method", "GET"}, {"path", "v1_\"kv\""}});
  std::string text = to_prometheus(snapshot());
  EXPECT_NE(text.find("# TYPE consul_runtime_rss_bytes gauge\nconsul_runtime_rss_bytes 1024\n"), std::string::npos) << text;
  EXPECT_NE(text.find("# TYPE consul_rpc_request counter\nconsul_rpc_request 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("# TYPE consul_api_http summary\n"), std::string::npos) << text;
  EXPECT_NE(text.find("consul_api_http_sum{method=\"GET\",path=\"v1_\\\"kv\\\"\"} 2.5\n"), std::string::npos) << text;
  EXPECT_NE(text.find("consul_api_http_count{method=\"GET\",path=\"v1_\\\"kv\\\"\"} 1\n"), std::string::npos) << text;
}

TEST(Metrics, CollectorsRunBeforeEachSnapshot) {
  reset_for_test();
  static int calls = 0;
  add_collector([] { set_gauge("collected", ++calls); });
  snapshot();
  auto s = snapshot();
  ASSERT_FALSE(s.gauges.empty());
  EXPECT_GE(s.gauges[0].value, 2);
}

}  // namespace
}  // namespace cairn::metrics
