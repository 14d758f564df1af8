// The simulator's state machine and its client-visible history: a tiny KV
// store whose commands are Raft entries, and a linearizability checker over
// the history of client puts and gets (Wing & Gong search, per key).
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace cairn::raft::sim {

struct KvCommand {
  uint64_t client = 0;
  uint64_t seq = 0;
  std::string key;
  std::string value;

  std::string encode() const;
  static std::optional<KvCommand> decode(const std::string& data);
};

// Client sessions (thesis §6.3): a command whose (client, seq) was already
// applied is skipped, so a proposal the network duplicated takes effect once.
class KvStore {
 public:
  // False if the command was a duplicate and changed nothing.
  bool apply(const KvCommand& c);
  std::string get(const std::string& key) const;
  std::string serialize() const;
  void restore(const std::string& bytes);

 private:
  std::map<std::string, std::string> data_;
  std::map<uint64_t, uint64_t> last_seq_;  // client -> highest applied seq
};

// One client operation as the client saw it. `returned` is the time the
// answer arrived; an operation that timed out has returned == kNever (a
// write may then have taken effect at any later time, or never).
struct Operation {
  static constexpr uint64_t kNever = std::numeric_limits<uint64_t>::max();
  bool is_write = false;
  std::string key;
  std::string value;  // written, or read back
  uint64_t invoked = 0;
  uint64_t returned = kNever;
  uint64_t client = 0;
};

// Whether some total order of `history`, consistent with real time, explains
// every read. Each key is checked alone (linearizability is compositional).
// On failure `why` names the key and the operations involved. A key whose
// search exceeds its step budget counts in *undecided and is not failed.
bool check_linearizable(const std::vector<Operation>& history, std::string* why, int* undecided);

}  // namespace cairn::raft::sim
