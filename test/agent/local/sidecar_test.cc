// LocalState's sidecar registrations (Connect.SidecarService): the second
// service, its port from the sidecar range, default checks, removal with the
// parent, re-registration and persistence.
#include <filesystem>

#include <gtest/gtest.h>

#include "agent/local/local_state.h"
#include "agent/local/store.h"
#include "api/connect_proxy.h"
#include "api/json.h"
#include "test/agent/local/fake_runner.h"
#include "test/agent/local/helpers.h"

namespace cairn::agent::local::test {
namespace {

struct Fixture {
  explicit Fixture(LocalStore* store = nullptr, int lo = 21000, int hi = 21255)
      : state(LocalStateOptions{"node-a", &clock, store, nullptr, 10, lo, hi}) {
    state.set_runner(&runner);
  }
  ManualClock clock;
  FakeRunner runner;
  LocalState state;
};

constexpr const char* kWeb =
    R"({"ID":"web1","Name":"web","Port":8080,"Connect":{"SidecarService":{"Proxy":{"Upstreams":[{"DestinationName":"db","LocalBindPort":9191}]}}}})";

TEST(Sidecar, RegistersASecondServiceWithConsulsDefaults) {
  Fixture f;
  ASSERT_TRUE(f.state.add_service(def(kWeb), Origin::api, "tok").ok());
  auto parent = f.state.service("web1");
  ASSERT_TRUE(parent);
  EXPECT_EQ(parent->service.connect_json, "");  // the sidecar is not part of the parent
  auto sc = f.state.service("web1-sidecar-proxy");
  ASSERT_TRUE(sc);
  EXPECT_EQ(sc->service.kind, "connect-proxy");
  EXPECT_EQ(sc->service.service, "web-sidecar-proxy");
  EXPECT_EQ(sc->service.port, 21000);
  EXPECT_EQ(sc->sidecar_of, "web1");
  EXPECT_FALSE(sc->supervised);
  EXPECT_EQ(sc->token, "tok");
  auto p = api::parse_connect_proxy(sc->service.proxy_json);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->destination_service_id, "web1");
  EXPECT_EQ(p->local_service_port, 8080);
  auto listening = f.state.check("service:web1-sidecar-proxy:1");
  ASSERT_TRUE(listening);
  EXPECT_EQ(listening->check.name, "Connect Sidecar Listening");
  EXPECT_EQ(listening->definition.definition.tcp, "127.0.0.1:21000");
  auto alias = f.state.check("service:web1-sidecar-proxy:2");
  ASSERT_TRUE(alias);
  EXPECT_EQ(alias->definition.definition.alias_service, "web1");
  EXPECT_TRUE(f.runner.running.count("service:web1-sidecar-proxy:1"));
}

TEST(Sidecar, PortsAreTheLowestFreeAndStableOnReRegistration) {
  Fixture f;
  ASSERT_TRUE(f.state.add_service(def(R"({"Name":"taken","Port":21000})"), Origin::api, "").ok());
  ASSERT_TRUE(f.state.add_service(def(kWeb), Origin::api, "").ok());
  EXPECT_EQ(f.state.service("web1-sidecar-proxy")->service.port, 21001);
  ASSERT_TRUE(f.state.add_service(def(R"({"Name":"api","Port":1,"Connect":{"SidecarService":{}}})"), Origin::api, "").ok());
  EXPECT_EQ(f.state.service("api-sidecar-proxy")->service.port, 21002);
  // Re-registering keeps the port it has, even after a lower one frees up.
  ASSERT_TRUE(f.state.remove_service("taken").ok());
  ASSERT_TRUE(f.state.add_service(def(kWeb), Origin::api, "").ok());
  EXPECT_EQ(f.state.service("web1-sidecar-proxy")->service.port, 21001);
  // A given port is used as given.
  ASSERT_TRUE(f.state.add_service(def(R"({"Name":"x","Port":1,"Connect":{"SidecarService":{"Port":30000}}})"),
                                  Origin::api, "").ok());
  EXPECT_EQ(f.state.service("x-sidecar-proxy")->service.port, 30000);
}

TEST(Sidecar, RangeExhaustedOrDisabledIsAClearError) {
  Fixture f(nullptr, 21000, 21000);
  ASSERT_TRUE(f.state.add_service(def(R"({"Name":"a","Port":1,"Connect":{"SidecarService":{}}})"), Origin::api, "").ok());
  auto st = f.state.add_service(def(R"({"Name":"b","Port":1,"Connect":{"SidecarService":{}}})"), Origin::api, "");
  ASSERT_FALSE(st.ok());
  EXPECT_TRUE(st.error().is(errc::invalid_argument));
  EXPECT_NE(st.error().message().find("none left in the configured range [21000, 21000]"), std::string::npos);
  EXPECT_FALSE(f.state.service("b"));  // nothing half-registered
  Fixture off(nullptr, 0, 0);
  st = off.state.add_service(def(R"({"Name":"a","Port":1,"Connect":{"SidecarService":{}}})"), Origin::api, "");
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message().find("auto-assignment disabled"), std::string::npos);
}

TEST(Sidecar, RemovedWithItsParentAndWhenNoLongerAskedFor) {
  Fixture f;
  ASSERT_TRUE(f.state.add_service(def(kWeb), Origin::api, "").ok());
  ASSERT_TRUE(f.state.remove_service("web1").ok());
  EXPECT_FALSE(f.state.service("web1-sidecar-proxy"));
  EXPECT_FALSE(f.state.check("service:web1-sidecar-proxy:1"));
  EXPECT_FALSE(f.runner.running.count("service:web1-sidecar-proxy:1"));

  ASSERT_TRUE(f.state.add_service(def(kWeb), Origin::api, "").ok());
  ASSERT_TRUE(f.state.add_service(def(R"({"ID":"web1","Name":"web","Port":8080})"), Origin::api, "").ok());
  EXPECT_TRUE(f.state.service("web1"));
  EXPECT_FALSE(f.state.service("web1-sidecar-proxy"));
  // A connect-proxy registered on its own is not anyone's sidecar: it stays.
  ASSERT_TRUE(f.state.add_service(
      def(R"({"Kind":"connect-proxy","Name":"p","ID":"web1-sidecar-proxy","Port":21000,"Proxy":{"DestinationServiceName":"web"}})"),
      Origin::api, "").ok());
  ASSERT_TRUE(f.state.add_service(def(R"({"ID":"web1","Name":"web","Port":8080})"), Origin::api, "").ok());
  EXPECT_TRUE(f.state.service("web1-sidecar-proxy"));
}

TEST(Sidecar, ManagedSidecarAndTokenAndRefusals) {
  Fixture f;
  ASSERT_TRUE(f.state.add_service(
      def(R"({"Name":"web","Port":1,"Connect":{"ManagedSidecar":true,"SidecarService":{"Token":"own"}}})"),
      Origin::api, "parent-token").ok());
  auto sc = f.state.service("web-sidecar-proxy");
  ASSERT_TRUE(sc);
  EXPECT_TRUE(sc->supervised);
  EXPECT_EQ(sc->token, "own");
  EXPECT_EQ(f.state.service("web")->token, "parent-token");

  auto st = f.state.add_service(def(R"({"Name":"z","Port":1,"Connect":{"SidecarService":{"ID":"mine"}}})"), Origin::api, "");
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message().find("cannot specify an ID"), std::string::npos);
  st = f.state.add_service(def(R"({"Kind":"connect-proxy","Name":"p","Port":1,"Proxy":{}})"), Origin::api, "");
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message().find("Proxy.DestinationServiceName"), std::string::npos);
  EXPECT_FALSE(f.state.service("z"));
  EXPECT_FALSE(f.state.service("p"));
}

TEST(Sidecar, ConfigReloadKeepsTheSidecarWithoutChurn) {
  Fixture f;
  auto web = def(kWeb);
  ASSERT_TRUE(f.state.apply_config({web}, {}).ok());
  auto before = f.state.service("web1-sidecar-proxy");
  ASSERT_TRUE(before);
  ASSERT_TRUE(f.state.apply_config({web}, {}).ok());
  auto after = f.state.service("web1-sidecar-proxy");
  ASSERT_TRUE(after);
  EXPECT_EQ(after->revision, before->revision);  // not removed and re-added
  ASSERT_TRUE(f.state.apply_config({}, {}).ok());
  EXPECT_FALSE(f.state.service("web1"));
  EXPECT_FALSE(f.state.service("web1-sidecar-proxy"));
}

TEST(Sidecar, PersistedWithItsLink) {
  auto dir = std::filesystem::temp_directory_path() / ("cairn-sidecar-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  {
    LocalStore store(dir.string());
    Fixture f(&store);
    ASSERT_TRUE(f.state.add_service(
        def(R"({"ID":"web1","Name":"web","Port":8080,"Connect":{"ManagedSidecar":true,"SidecarService":{}}})"),
        Origin::api, "").ok());
  }
  {
    LocalStore store(dir.string());
    Fixture f(&store);
    f.state.load_persisted();
    auto sc = f.state.service("web1-sidecar-proxy");
    ASSERT_TRUE(sc);
    EXPECT_EQ(sc->sidecar_of, "web1");
    EXPECT_TRUE(sc->supervised);
    ASSERT_TRUE(f.state.remove_service("web1").ok());
    EXPECT_FALSE(f.state.service("web1-sidecar-proxy"));
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace cairn::agent::local::test
