// A small tmpfs for tests of a full disk (root only). The first mount moves
// the process into a private mount namespace when unshare() allows it (it
// must happen before the process has threads), so a mount vanishes with the
// process even if the test crashes; the destructor unmounts it (lazily, with
// whatever is mounted below it) pass or fail.
#pragma once

#include <errno.h>
#include <sched.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <string>

namespace cairn::test {

class TmpfsMount {
 public:
  // Mounts a tmpfs of `size` ("8m") on `dir` (created). ok() tells whether
  // it worked; why() says why not (not root, mount not permitted).
  TmpfsMount(const std::string& dir, const std::string& size) : dir_(dir) {
    if (geteuid() != 0) {
      why_ = "mounting a tmpfs needs root (euid " + std::to_string(geteuid()) + ")";
      return;
    }
    private_namespace_ = private_mount_namespace();
    std::error_code ec;
    std::filesystem::create_directories(dir_, ec);
    if (mount("cairn-test-tmpfs", dir_.c_str(), "tmpfs", 0, ("size=" + size).c_str()) != 0) {
      why_ = std::string("mount -t tmpfs is not permitted here: ") + std::strerror(errno);
      return;
    }
    mounted_ = true;
  }
  ~TmpfsMount() {
    if (mounted_) umount2(dir_.c_str(), MNT_DETACH);
  }
  TmpfsMount(const TmpfsMount&) = delete;
  TmpfsMount& operator=(const TmpfsMount&) = delete;

  bool ok() const { return mounted_; }
  const std::string& why() const { return why_; }
  const std::string& dir() const { return dir_; }
  bool in_private_namespace() const { return private_namespace_; }

 private:
  static bool private_mount_namespace() {
    static const bool ok = [] {
      if (unshare(CLONE_NEWNS) != 0) return false;
      // Our mounts must not propagate back to the parent namespace.
      return mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0;
    }();
    return ok;
  }

  std::string dir_;
  std::string why_;
  bool mounted_ = false;
  bool private_namespace_ = false;
};

}  // namespace cairn::test
