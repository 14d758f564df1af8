// A cluster of real `cairn agent` processes for the fault harness: servers
// 0..S-1 and client agents S..S+C-1. Each node runs as the network says
// (in its own namespace, or beside the others on its own 127.B.0.x address)
// on its own address with Consul's default ports, and advertises what the
// network says its peers dial (its address, or the relay's for it).
//
// Thread-safety: http_address()/name()/is_server() may be called from any
// thread after start_all(); everything else from the harness's main thread.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "test/faults/harness/child.h"
#include "test/faults/harness/network.h"

namespace cairn::faults {

struct ClusterOptions {
  int servers = 3;
  int clients = 2;
  std::string cairn;     // the binary
  std::string work_dir;  // data dirs and logs
  NetFaults* network = nullptr;  // required
  int tmpfs_server = -1;  // this server's data dir is a small tmpfs (the disk-full fault)
  std::string tmpfs_size = "128m";
};

class Cluster {
 public:
  explicit Cluster(ClusterOptions options);
  ~Cluster();  // kills what runs, unmounts the tmpfs

  int size() const { return static_cast<int>(nodes_.size()); }
  int servers() const { return options_.servers; }
  bool is_server(int i) const { return i < options_.servers; }
  const std::string& name(int i) const { return nodes_[i].name; }
  const std::string& http_address(int i) const { return nodes_[i].http; }

  // Starts every node; false with *error when one did not come up.
  bool start_all(std::string* error);
  bool start(int i, std::string* error);  // (re)start with the same data dir, address and ports
  void kill9(int i);
  void pause(int i);   // SIGSTOP
  void resume(int i);  // SIGCONT
  bool running(int i);
  bool paused(int i) const { return nodes_[i].paused; }
  // The exit status of a node that exited on its own (not by kill9), once.
  std::optional<int> unexpected_exit(int i);

  // The leader as the running, unpaused, not failed servers agree on it, or -1.
  int leader();
  // Whether server i answers that it stopped applying the Raft log after a
  // storage failure ("server failed: ..."): it stays so until restarted.
  bool storage_failed(int i);
  int wait_leader(Duration timeout);

  // Fills / frees the tmpfs data dir of options.tmpfs_server.
  bool fill_disk(std::string* error);
  void free_disk();

  std::string log_path(int i) const { return options_.work_dir + "/" + nodes_[i].name + ".log"; }

 private:
  struct Node {
    std::string name, data_dir, http, gossip, rpc;  // rpc: "advertise_ip:8300" for servers
    std::unique_ptr<Child> process;
    bool paused = false;
    bool killed = false;  // by us: its exit is expected
  };
  std::vector<std::string> args_for(int i);
  std::string leader_seen_by(int i, bool* failed = nullptr);

  ClusterOptions options_;
  std::vector<Node> nodes_;
  bool mounted_ = false;
};

}  // namespace cairn::faults
