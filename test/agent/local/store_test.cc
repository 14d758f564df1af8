// LocalStore and LocalState persistence: round trip through the data dir,
// config entries never written, corrupt files skipped.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "agent/local/local_state.h"
#include "agent/local/store.h"
#include "api/json.h"
#include "test/agent/local/fake_runner.h"
#include "test/agent/local/helpers.h"

namespace cairn::agent::local::test {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "cairn-local-XXXXXX").string();
    EXPECT_NE(::mkdtemp(tmpl.data()), nullptr);
    path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string path;
};

// Registers one service through a LocalState that keeps it in `dir`.
void keep_service(const std::string& dir, const std::string& body) {
  ManualClock clock;
  LocalStore store(dir);
  LocalState state(LocalStateOptions{"n", &clock, &store, nullptr, 4096});
  ASSERT_TRUE(state.add_service(def(body), Origin::api, "").ok());
}

size_t files_in(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return 0;
  return static_cast<size_t>(std::distance(fs::directory_iterator(dir), fs::directory_iterator()));
}

TEST(LocalStore, FileNamesAreHexOfTheIdOrAHashWhenLong) {
  EXPECT_EQ(LocalStore::file_name("a/b"), "612f62");
  std::string long_id(300, 'x');
  auto name = LocalStore::file_name(long_id);
  EXPECT_EQ(name.size(), 17u);
  EXPECT_EQ(name[0], 'h');
  EXPECT_NE(LocalStore::file_name(long_id + "y"), name);
}

TEST(LocalStore, ApiRegistrationsSurviveARestart) {
  TempDir dir;
  ManualClock clock;
  {
    LocalStore store(dir.path);
    FakeRunner runner;
    LocalState state(LocalStateOptions{"n", &clock, &store, &runner, 4096});
    ASSERT_TRUE(state.add_service(def(R"({"Name":"web","ID":"web/1","Tags":["a"],"Port":80,"Meta":{"k":"v"},
        "Checks":[{"TTL":"10s","FailuresBeforeCritical":2},{"HTTP":"http://127.0.0.1/","Interval":"5s"}]})"),
                                  Origin::api, "secret")
                    .ok());
    ASSERT_TRUE(state.update_ttl("service:web/1:1", "passing", "fine").ok());
    ASSERT_TRUE(state.set_node_maintenance(true, "why", "").ok());
    ASSERT_TRUE(state.add_service(def(R"({"Name":"from-config"})"), Origin::config, "").ok());
  }
  EXPECT_EQ(files_in(fs::path(dir.path) / "services"), 1u);  // config ones are not kept
  EXPECT_EQ(files_in(fs::path(dir.path) / "checks"), 3u);

  LocalStore store(dir.path);
  FakeRunner runner;
  LocalState state(LocalStateOptions{"n", &clock, &store, &runner, 4096});
  state.load_persisted();
  auto s = state.service("web/1");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->service.tags, std::vector<std::string>{"a"});
  EXPECT_EQ(s->service.port, 80);
  EXPECT_EQ(s->service.meta.at("k"), "v");
  EXPECT_EQ(s->token, "secret");
  EXPECT_FALSE(s->in_sync());
  EXPECT_FALSE(state.service("from-config"));
  auto ttl = state.check("service:web/1:1");
  ASSERT_TRUE(ttl);
  EXPECT_EQ(ttl->check.status, "passing");  // the TTL check's state came back
  EXPECT_EQ(ttl->check.output, "fine");
  EXPECT_EQ(ttl->definition.failures_before_critical, 2);
  EXPECT_EQ(ttl->check.service_name, "web");
  EXPECT_TRUE(state.check("_node_maintenance"));
  // Checks with a kind are running again; maintenance is not a runner's.
  EXPECT_EQ(runner.running.size(), 2u);
  EXPECT_EQ(runner.running["service:web/1:2"].definition.http, "http://127.0.0.1/");
}

TEST(LocalStore, RemovalsAreKept) {
  TempDir dir;
  ManualClock clock;
  LocalStore store(dir.path);
  LocalState state(LocalStateOptions{"n", &clock, &store, nullptr, 4096});
  ASSERT_TRUE(state.add_service(def(R"({"Name":"web","Check":{"TTL":"10s"}})"), Origin::api, "").ok());
  ASSERT_TRUE(state.remove_service("web").ok());
  EXPECT_EQ(files_in(fs::path(dir.path) / "services"), 0u);
  EXPECT_EQ(files_in(fs::path(dir.path) / "checks"), 0u);
  auto loaded = store.load();
  EXPECT_TRUE(loaded.services.empty());
  EXPECT_TRUE(loaded.checks.empty());
}

TEST(LocalStore, CorruptFilesAreSkipped) {
  TempDir dir;
  keep_service(dir.path, R"({"Name":"good"})");
  fs::create_directories(fs::path(dir.path) / "checks");
  std::ofstream(fs::path(dir.path) / "services" / "bad1") << "{not json";
  std::ofstream(fs::path(dir.path) / "services" / "bad2") << R"({"Service":{"Port":"eighty","Service":"x","ID":"x"}})";
  std::ofstream(fs::path(dir.path) / "services" / "bad3") << R"({"Token":"t"})";
  std::ofstream(fs::path(dir.path) / "checks" / "bad4") << "";
  std::ofstream(fs::path(dir.path) / "checks" / "bad5") << R"({"Check":{"Name":"no id"}})";
  std::ofstream(fs::path(dir.path) / "services" / "half.tmp") << R"({"Service":{"Service":"tmp"}})";
  LocalStore store(dir.path);
  auto loaded = store.load();
  ASSERT_EQ(loaded.services.size(), 1u);
  EXPECT_EQ(loaded.services[0].service.id, "good");
  EXPECT_TRUE(loaded.checks.empty());
}

TEST(LocalStore, ACheckWhoseServiceIsGoneIsDropped) {
  TempDir dir;
  keep_service(dir.path, R"({"Name":"web","Check":{"TTL":"10s"}})");
  fs::remove(fs::path(dir.path) / "services" / LocalStore::file_name("web"));
  ManualClock clock;
  LocalStore store(dir.path);
  LocalState state(LocalStateOptions{"n", &clock, &store, nullptr, 4096});
  state.load_persisted();
  EXPECT_TRUE(state.checks().empty());
}

}  // namespace
}  // namespace cairn::agent::local::test
