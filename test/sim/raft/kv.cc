#include "test/sim/raft/kv.h"

#include <algorithm>
#include <set>
#include <sstream>
#include <unordered_set>

#include "core/codec.h"

namespace cairn::raft::sim {

std::string KvCommand::encode() const {
  std::string out;
  ByteWriter w(&out);
  w.varint(client);
  w.varint(seq);
  w.bytes(key);
  w.bytes(value);
  return out;
}

std::optional<KvCommand> KvCommand::decode(const std::string& data) {
  ByteReader r(data);
  KvCommand c;
  c.client = r.varint();
  c.seq = r.varint();
  c.key = r.string(1024);
  c.value = r.string(1024);
  if (!r.ok() || !r.at_end()) return std::nullopt;
  return c;
}

bool KvStore::apply(const KvCommand& c) {
  uint64_t& last = last_seq_[c.client];
  if (c.seq <= last) return false;
  last = c.seq;
  data_[c.key] = c.value;
  return true;
}

std::string KvStore::get(const std::string& key) const {
  auto it = data_.find(key);
  return it == data_.end() ? std::string() : it->second;
}

std::string KvStore::serialize() const {
  std::string out;
  ByteWriter w(&out);
  w.varint(data_.size());
  for (const auto& [k, v] : data_) {
    w.bytes(k);
    w.bytes(v);
  }
  w.varint(last_seq_.size());
  for (const auto& [client, seq] : last_seq_) {
    w.varint(client);
    w.varint(seq);
  }
  return out;
}

void KvStore::restore(const std::string& bytes) {
  data_.clear();
  last_seq_.clear();
  if (bytes.empty()) return;
  ByteReader r(bytes);
  uint64_t n = r.varint();
  for (uint64_t i = 0; i < n && r.ok(); ++i) {
    std::string k = r.string();
    data_[k] = r.string();
  }
  uint64_t m = r.varint();
  for (uint64_t i = 0; i < m && r.ok(); ++i) {
    uint64_t client = r.varint();
    last_seq_[client] = r.varint();
  }
}

namespace {

// Wing & Gong with memoisation (Lowe's refinement): depth-first over the
// "minimal" operations — those invoked before every pending operation
// returned — remembering (linearized set, value) states already explored.
class KeyChecker {
 public:
  explicit KeyChecker(std::vector<const Operation*> ops) : ops_(std::move(ops)) {
    std::sort(ops_.begin(), ops_.end(), [](const Operation* a, const Operation* b) { return a->invoked < b->invoked; });
    done_.assign(ops_.size(), false);
  }

  bool run() { return search(std::string(), 0); }
  bool gave_up() const { return steps_ > kMaxSteps; }

 private:
  bool search(const std::string& value, size_t linearized) {
    // Finished when every operation that returned is linearized; timed-out
    // writes may be left out (they never took effect).
    bool all_returned_done = true;
    uint64_t min_return = Operation::kNever;
    for (size_t i = 0; i < ops_.size(); ++i) {
      if (done_[i]) continue;
      if (ops_[i]->returned != Operation::kNever) all_returned_done = false;
      min_return = std::min(min_return, ops_[i]->returned);
    }
    if (all_returned_done) return true;
    std::string key = memo_key(value);
    if (!seen_.insert(key).second) return false;
    if (++steps_ > kMaxSteps) return true;  // undecided: reported by gave_up()
    for (size_t i = 0; i < ops_.size(); ++i) {
      if (done_[i] || ops_[i]->invoked > min_return) continue;
      const Operation& op = *ops_[i];
      if (!op.is_write && op.value != value) continue;
      done_[i] = true;
      bool ok = search(op.is_write ? op.value : value, linearized + 1);
      done_[i] = false;
      if (ok) return true;
    }
    return false;
  }

  std::string memo_key(const std::string& value) const {
    std::string k;
    k.reserve(ops_.size() / 8 + value.size() + 2);
    uint8_t byte = 0;
    for (size_t i = 0; i < done_.size(); ++i) {
      if (done_[i]) byte |= static_cast<uint8_t>(1u << (i % 8));
      if (i % 8 == 7) {
        k.push_back(static_cast<char>(byte));
        byte = 0;
      }
    }
    k.push_back(static_cast<char>(byte));
    k += '|';
    k += value;
    return k;
  }

  static constexpr uint64_t kMaxSteps = 2'000'000;
  std::vector<const Operation*> ops_;
  std::vector<bool> done_;
  std::unordered_set<std::string> seen_;
  uint64_t steps_ = 0;
};

}  // namespace

bool check_linearizable(const std::vector<Operation>& history, std::string* why, int* undecided) {
  std::map<std::string, std::vector<const Operation*>> by_key;
  for (const Operation& op : history) by_key[op.key].push_back(&op);
  for (auto& [key, ops] : by_key) {
    KeyChecker checker(ops);
    bool ok = checker.run();
    if (checker.gave_up() && undecided) ++*undecided;
    if (!ok) {
      if (why) {
        std::ostringstream os;
        os << "history of key " << key << " is not linearizable:";
        for (const Operation* op : ops) {
          os << "\n  client " << op->client << (op->is_write ? " put " : " get ") << op->value << " ["
             << op->invoked << ", " << (op->returned == Operation::kNever ? std::string("timeout") : std::to_string(op->returned))
             << "]";
        }
        *why = os.str();
      }
      return false;
    }
  }
  return true;
}

}  // namespace cairn::raft::sim
