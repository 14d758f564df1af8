// Child processes of the harness (harness/child.h) inherit none of its
// descriptors but stdin/stdout/stderr: a restarted node that held copies of
// the relay's connections kept them open after the relay closed them.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "test/faults/harness/child.h"

namespace cairn::faults {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

TEST(Child, InheritsNoDescriptorButTheStandardThree) {
  int sock = ::socket(AF_INET, SOCK_STREAM, 0);  // not close-on-exec, as Asio's are not
  ASSERT_GE(sock, 3);
  std::string log = (fs::temp_directory_path() / ("faults-child-test-" + std::to_string(::getpid()) + ".log")).string();
  Child child({"sleep", "30"}, log);
  // The child has exec'd once /proc/<pid>/exe is sleep's, not ours.
  std::string self = fs::read_symlink("/proc/self/exe").string();
  std::string exe;
  for (int i = 0; i < 500 && (exe.empty() || exe == self); ++i) {
    std::error_code ec;
    exe = fs::read_symlink("/proc/" + std::to_string(child.pid()) + "/exe", ec).string();
    if (exe.empty() || exe == self) std::this_thread::sleep_for(10ms);
  }
  ASSERT_NE(exe, self) << "the child did not exec";
  std::vector<int> fds;
  for (const auto& e : fs::directory_iterator("/proc/" + std::to_string(child.pid()) + "/fd"))
    fds.push_back(std::atoi(e.path().filename().c_str()));
  for (int fd : fds) EXPECT_LE(fd, 2) << "inherited descriptor " << fd;
  ::close(sock);
  std::error_code ec;
  fs::remove(log, ec);
}

}  // namespace
}  // namespace cairn::faults
