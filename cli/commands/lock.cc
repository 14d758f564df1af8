// cairn lock [-n N] [-name NAME] [-shell=false] [-pass-stdin] [-verbose]
//            [-timeout D] [-monitor-retry N] [-child-exit-code] PREFIX CHILD...
//
// Consul's lock command: a session (TTL 15s, renewed every 7.5s) holds
// PREFIX/.lock (acquired with ?acquire and Consul's lock flags) while CHILD
// runs under /bin/sh -c (the arguments joined by spaces; an argv with
// -shell=false). With -n > 1 it is Consul's semaphore: each contender holds
// PREFIX/<session> and PREFIX/.lock keeps {"Limit":N,"Holders":{...}},
// changed only by check-and-set. The command waits while the lock is taken,
// kills the child when the lock is lost or on SIGINT/SIGTERM (exit 1),
// otherwise exits with the child's code (2 for any failure with
// -child-exit-code, as Consul); it then releases the lock, deletes
// PREFIX/.lock when nobody uses it (as Consul's cleanup) and destroys the
// session. -timeout (or the deprecated -try) bounds the wait for the lock:
// when it passes, the command exits 1 without running the child. While the
// child runs, the lock is checked every second; an agent that cannot answer
// -monitor-retry (3) checks in a row counts as a lost lock, as Consul's lock
// monitor treats repeated 500s. The child sees CONSUL_LOCK_HELD=true.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <thread>

#include "cli/command.h"
#include "cli/commands/child_process.h"
#include "cli/commands/http_call.h"
#include "core/base64.h"
#include "core/duration.h"
#include "core/http/url.h"

namespace cairn::cli {

namespace {

using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// Consul's KV flags marking a lock and a semaphore key (api/lock.go, api/semaphore.go).
constexpr uint64_t kLockFlag = 0x2ddccbc058a50c18ULL;
constexpr uint64_t kSemaphoreFlag = 0xe0f69a2baa414de0ULL;
constexpr auto kSessionTtl = 15s;
constexpr auto kLockRetry = 5s;  // while a lock-delay blocks the acquire

volatile sig_atomic_t g_signal = 0;
void on_signal(int sig) { g_signal = sig; }

struct LockOptions {
  int limit = 1;
  std::string name;
  bool shell = true;
  bool pass_stdin = false;
  bool verbose = false;
  Duration timeout{0};        // 0: wait for the lock for as long as it takes
  int monitor_retry = 3;
  bool child_exit_code = false;
  std::string prefix;
  std::vector<std::string> child;
};

std::string kv_path(const std::string& key) { return "/v1/kv/" + http::percent_encode(key, true); }

// One KV entry as the agent returns it, or nullopt when absent.
struct Entry {
  std::string key, session, value;
  uint64_t flags = 0, modify_index = 0;
};
Entry entry_of(const Json& j) {
  Entry e;
  e.key = j.value("Key", "");
  if (j.contains("Session") && j["Session"].is_string()) e.session = j["Session"];
  if (j.contains("Value") && j["Value"].is_string()) e.value = base64_decode(j["Value"].get<std::string>()).value_or("");
  e.flags = j.value("Flags", uint64_t{0});
  e.modify_index = j.value("ModifyIndex", uint64_t{0});
  return e;
}

struct Listing {
  std::vector<Entry> entries;
  uint64_t index = 0;
};

class Locker {
 public:
  Locker(const ClientFlags& flags, LockOptions o) : flags_(flags), o_(std::move(o)) {
    lock_key_ = o_.prefix + "/.lock";
    if (o_.timeout > Duration::zero()) deadline_ = Clock::now() + o_.timeout;
  }

  int run();

 private:
  // GET of a key (recurse: the prefix), blocking on `index` for up to 2 s
  // (less when the -timeout deadline is nearer).
  Result<Listing> get(const std::string& key, bool recurse, uint64_t index) {
    std::string target = kv_path(key);
    std::string sep = "?";
    if (recurse) target += "?recurse", sep = "&";
    if (index > 0) {
      auto wait = std::chrono::milliseconds(2000);
      if (deadline_) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(*deadline_ - Clock::now());
        wait = std::clamp(left, std::chrono::milliseconds(1), wait);
      }
      target += sep + "index=" + std::to_string(index) + "&wait=" + std::to_string(wait.count()) + "ms";
    }
    CAIRN_TRY(auto res, http_call(flags_, "GET", target, {}, true));
    Listing l;
    l.index = std::strtoull(res.header("X-Consul-Index").c_str(), nullptr, 10);
    if (res.status == 404) return l;
    auto j = Json::parse(res.body, nullptr, false);
    if (!j.is_array()) return Error(errc::parse_error, "invalid KV answer for " + key);
    for (const auto& e : j) l.entries.push_back(entry_of(e));
    return l;
  }
  Result<bool> put_bool(const std::string& target, const std::string& body = {}) {
    CAIRN_TRY(auto res, http_call(flags_, "PUT", target, body));
    return res.body.find("true") != std::string::npos;
  }
  void say(const std::string& text) {
    if (o_.verbose) std::cout << text << std::endl;
  }
  // A signal, or the -timeout deadline passed (while acquiring).
  bool interrupted() const { return g_signal != 0 || (deadline_ && Clock::now() >= *deadline_); }

  Status create_session();
  Status renew_if_due();
  Result<bool> acquire();        // false: interrupted
  Result<bool> acquire_lock();
  Result<bool> acquire_semaphore();
  Result<bool> still_held();
  void release();
  void destroy_session();
  void kill_child(pid_t pid);

  const ClientFlags& flags_;
  LockOptions o_;
  std::string lock_key_;
  std::string session_;
  Clock::time_point next_renew_{};
  std::optional<Clock::time_point> deadline_;  // -timeout: give up acquiring at this time
};

Status Locker::create_session() {
  Json body = {{"Name", o_.name}, {"TTL", std::to_string(kSessionTtl.count()) + "s"}};
  CAIRN_TRY(auto res, http_call(flags_, "PUT", "/v1/session/create", body.dump()));
  auto j = Json::parse(res.body, nullptr, false);
  if (!j.is_object() || !j.contains("ID") || !j["ID"].is_string())
    return Error(errc::parse_error, "session create: no ID in the answer");
  session_ = j["ID"];
  next_renew_ = Clock::now() + kSessionTtl / 2;
  return {};
}

Status Locker::renew_if_due() {
  if (Clock::now() < next_renew_) return {};
  CAIRN_TRY(auto res, http_call(flags_, "PUT", "/v1/session/renew/" + session_, {}, true));
  if (res.status == 404) return Error(errc::not_found, "session " + session_ + " was invalidated");
  next_renew_ = Clock::now() + kSessionTtl / 2;
  return {};
}

// Consul's Lock.Lock: wait while someone holds the key, then ?acquire.
Result<bool> Locker::acquire_lock() {
  uint64_t index = 0;
  while (!interrupted()) {
    CAIRN_RETURN_IF_ERROR(renew_if_due());
    CAIRN_TRY(auto l, get(lock_key_, false, index));
    if (interrupted()) break;
    if (!l.entries.empty()) {
      const Entry& e = l.entries.front();
      if (e.flags != kLockFlag) return Error(errc::conflict, "Existing key does not match lock use");
      if (e.session == session_) return true;
      if (!e.session.empty()) {
        index = l.index;
        continue;
      }
    }
    CAIRN_TRY(bool locked, put_bool(kv_path(lock_key_) + "?acquire=" + session_ + "&flags=" + std::to_string(kLockFlag)));
    if (locked) return true;
    CAIRN_TRY(auto again, get(lock_key_, false, 0));
    if (!again.entries.empty() && !again.entries.front().session.empty()) {
      index = again.index;
      continue;
    }
    // Free but not acquirable: a lock-delay is in effect; retry after a pause.
    index = 0;
    for (auto until = Clock::now() + kLockRetry; Clock::now() < until && !interrupted();)
      std::this_thread::sleep_for(100ms);
  }
  return false;
}

struct SemaphoreLock {
  uint64_t limit = 0;
  std::set<std::string> holders;
};
Result<SemaphoreLock> decode_semaphore(const Entry& e) {
  if (e.flags != kSemaphoreFlag) return Error(errc::conflict, "Existing key does not match semaphore use");
  auto j = Json::parse(e.value, nullptr, false);
  if (!j.is_object()) return Error(errc::parse_error, "Failed to decode semaphore lock: " + e.key);
  SemaphoreLock s;
  s.limit = j.value("Limit", uint64_t{0});
  if (j.contains("Holders") && j["Holders"].is_object())
    for (const auto& [id, held] : j["Holders"].items())
      if (held.is_boolean() && held.get<bool>()) s.holders.insert(id);
  return s;
}
std::string encode_semaphore(const SemaphoreLock& s) {
  Json holders = Json::object();
  for (const auto& h : s.holders) holders[h] = true;
  return Json{{"Limit", s.limit}, {"Holders", holders}}.dump();
}

// Consul's Semaphore.Acquire: hold our contender key, then add our session
// to the lock's holders (pruned of dead contenders) by check-and-set.
Result<bool> Locker::acquire_semaphore() {
  std::string flag = "&flags=" + std::to_string(kSemaphoreFlag);
  CAIRN_TRY(bool mine, put_bool(kv_path(o_.prefix + "/" + session_) + "?acquire=" + session_ + flag));
  if (!mine) return Error(errc::conflict, "failed to make contender entry");
  uint64_t index = 0;
  while (!interrupted()) {
    CAIRN_RETURN_IF_ERROR(renew_if_due());
    CAIRN_TRY(auto l, get(o_.prefix + "/", true, index));
    if (interrupted()) break;
    SemaphoreLock sem{static_cast<uint64_t>(o_.limit), {}};
    uint64_t cas = 0;
    std::set<std::string> alive;
    for (const auto& e : l.entries) {
      if (e.key == lock_key_) {
        CAIRN_TRY(sem, decode_semaphore(e));
        cas = e.modify_index;
      } else if (!e.session.empty()) {
        alive.insert(e.session);
      }
    }
    if (sem.limit != static_cast<uint64_t>(o_.limit))
      return Error(errc::conflict, "Semaphore limit conflict (lock: " + std::to_string(sem.limit) +
                                       ", local: " + std::to_string(o_.limit) + ")");
    std::erase_if(sem.holders, [&](const std::string& h) { return !alive.count(h); });
    if (sem.holders.count(session_)) return true;
    if (sem.holders.size() >= sem.limit) {
      index = l.index;
      continue;
    }
    sem.holders.insert(session_);
    CAIRN_TRY(bool won, put_bool(kv_path(lock_key_) + "?cas=" + std::to_string(cas) + flag, encode_semaphore(sem)));
    if (won) return true;
    index = 0;  // someone else changed the lock first: read it again
  }
  return false;
}

Result<bool> Locker::acquire() { return o_.limit > 1 ? acquire_semaphore() : acquire_lock(); }

// Whether our session still holds the lock (or a semaphore slot).
Result<bool> Locker::still_held() {
  CAIRN_TRY(auto l, get(lock_key_, false, 0));
  if (l.entries.empty()) return false;
  if (o_.limit <= 1) return l.entries.front().session == session_;
  CAIRN_TRY(auto sem, decode_semaphore(l.entries.front()));
  return sem.holders.count(session_) > 0;
}

void Locker::release() {
  if (o_.limit <= 1) {
    auto r = put_bool(kv_path(lock_key_) + "?release=" + session_ + "&flags=" + std::to_string(kLockFlag));
    if (!r.ok()) std::cerr << "Lock release failed: " << r.error().message() << "\n";
  } else {
    for (int attempt = 0; attempt < 10; ++attempt) {
      auto l = get(lock_key_, false, 0);
      if (!l.ok() || l->entries.empty()) break;
      auto sem = decode_semaphore(l->entries.front());
      if (!sem.ok() || !sem->holders.erase(session_)) break;
      auto won = put_bool(kv_path(lock_key_) + "?cas=" + std::to_string(l->entries.front().modify_index) +
                              "&flags=" + std::to_string(kSemaphoreFlag),
                          encode_semaphore(*sem));
      if (won.ok() && *won) break;
    }
    (void)http_call(flags_, "DELETE", kv_path(o_.prefix + "/" + session_));
  }
  // Consul's cleanup: delete the lock key when nobody holds it or contends.
  auto l = get(o_.limit <= 1 ? lock_key_ : o_.prefix + "/", o_.limit > 1, 0);
  if (!l.ok()) return;
  std::optional<Entry> lock;
  for (const auto& e : l->entries) {
    if (e.key == lock_key_) lock = e;
    else if (!e.session.empty()) return;  // a contender is waiting
  }
  if (!lock || !lock->session.empty()) return;
  if (o_.limit > 1) {
    auto sem = decode_semaphore(*lock);
    if (!sem.ok() || !sem->holders.empty()) return;
  }
  (void)http_call(flags_, "DELETE", kv_path(lock_key_) + "?cas=" + std::to_string(lock->modify_index));
  say("Cleanup succeeded");
}

void Locker::destroy_session() {
  if (!session_.empty()) (void)http_call(flags_, "PUT", "/v1/session/destroy/" + session_);
}

// SIGTERM to the child's process group, SIGKILL after 5 s.
void Locker::kill_child(pid_t pid) {
  ::kill(-pid, SIGTERM);
  for (auto until = Clock::now() + 5s; Clock::now() < until;) {
    if (poll_child(pid) >= 0) return;
    std::this_thread::sleep_for(50ms);
  }
  ::kill(-pid, SIGKILL);
  wait_child(pid);
}

int Locker::run() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
  if (auto st = create_session(); !st.ok()) {
    std::cerr << "Lock acquisition failed: failed to create session: " << st.error().message() << "\n";
    return kExitError;
  }
  auto got = acquire();
  if (!got.ok() || !*got) {
    if (!got.ok()) std::cerr << "Lock acquisition failed: " << got.error().message() << "\n";
    else std::cerr << "Shutdown triggered or timeout during lock acquisition\n";
    if (o_.limit > 1) release();
    destroy_session();
    return kExitError;
  }
  say("Lock acquired, running child");
  deadline_.reset();  // -timeout bounds the acquisition only
  ChildOptions c;
  c.args = o_.shell ? std::vector<std::string>{""} : o_.child;
  if (o_.shell) {
    for (size_t i = 0; i < o_.child.size(); ++i) c.args[0] += (i ? " " : "") + o_.child[i];
  }
  c.shell = o_.shell;
  c.own_group = true;
  c.null_stdin = !o_.pass_stdin;
  c.env = {"CONSUL_LOCK_HELD=true"};
  auto child = spawn_child(c);
  int code = kExitError;
  if (!child.ok()) {
    std::cerr << "Error running handler: " << child.error().message() << "\n";
  } else {
    auto next_check = Clock::now() + 1s;
    int failed_checks = 0;
    for (;;) {
      if (int done = poll_child(child->pid); done >= 0) {
        code = done;
        say("Child exited with code " + std::to_string(done));
        break;
      }
      if (interrupted()) {
        std::cerr << "Shutdown triggered, killing child\n";
        kill_child(child->pid);
        break;
      }
      if (Clock::now() >= next_check) {
        next_check = Clock::now() + 1s;
        auto renewed = renew_if_due();
        auto held = renewed.ok() ? still_held() : Result<bool>(renewed.error());
        // An answer without our session is a lost lock; so is an agent that
        // could not answer -monitor-retry checks in a row.
        failed_checks = held.ok() ? 0 : failed_checks + 1;
        bool lost = (held.ok() && !*held) || (!renewed.ok() && renewed.error().is(errc::not_found)) ||
                    failed_checks > o_.monitor_retry;
        if (lost) {
          std::cerr << "Lock lost, killing child\n";
          kill_child(child->pid);
          break;
        }
      }
      std::this_thread::sleep_for(50ms);
    }
  }
  release();
  destroy_session();
  if (o_.child_exit_code) return code == 0 ? 0 : 2;
  return code;
}

}  // namespace

void add_lock_command(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("lock", "Run a command while holding a lock (or, with -n, a semaphore slot)");
  auto flags = add_client_flags(cmd);
  auto o = std::make_shared<LockOptions>();
  cmd->add_option("-n,--n", o->limit, "How many may hold the lock at once (above 1: a semaphore)");
  cmd->add_option("--name", o->name, "Name of the session (default: \"Consul lock for CHILD at PREFIX\")");
  cmd->add_flag("--shell", o->shell, "Run the child with /bin/sh -c (default true)");
  cmd->add_flag("--pass-stdin", o->pass_stdin, "Give the child this command's stdin");
  cmd->add_flag("--verbose", o->verbose, "Say what the lock is doing");
  auto timeout = std::make_shared<std::string>();
  cmd->add_option("--timeout,--try", *timeout, "Give up acquiring the lock after this long (e.g. 10s; 0: wait forever)");
  cmd->add_option("--monitor-retry", o->monitor_retry,
                  "Failed lock checks in a row (agent unreachable) before the lock counts as lost (default 3)");
  cmd->add_flag("--child-exit-code", o->child_exit_code, "Exit 2 when the child fails (Consul's -child-exit-code)");
  // As Go's flag package: flags end at PREFIX, so the child keeps its own flags.
  cmd->prefix_command();
  cmd->footer("Arguments: PREFIX CHILD...");
  cmd->callback([=, cmd = cmd] {
    auto args = raw_tail(cmd->remaining().size());
    if (args.size() < 2) {
      std::cerr << "Key prefix and child command must be specified\n";
      *exit_code = kExitError;
      return;
    }
    if (o->limit < 1) {
      std::cerr << "Lock holder limit must be positive\n";
      *exit_code = kExitError;
      return;
    }
    if (o->monitor_retry < 0) {
      std::cerr << "Number for 'monitor-retry' must be >= 0\n";
      *exit_code = kExitError;
      return;
    }
    if (!timeout->empty()) {
      auto d = parse_duration(*timeout);
      if (!d.ok() || d->count() < 0) {
        std::cerr << "-timeout: invalid duration \"" << *timeout << "\" (e.g. 10s; must be positive)\n";
        *exit_code = kExitError;
        return;
      }
      o->timeout = *d;
    }
    o->prefix = args[0];
    while (!o->prefix.empty() && o->prefix.front() == '/') o->prefix.erase(0, 1);
    while (!o->prefix.empty() && o->prefix.back() == '/') o->prefix.pop_back();
    o->child.assign(args.begin() + 1, args.end());
    if (o->name.empty()) {
      std::string joined;
      for (size_t i = 0; i < o->child.size(); ++i) joined += (i ? " " : "") + o->child[i];
      o->name = "Consul lock for '" + joined + "' at '" + o->prefix + "'";
    }
    *exit_code = Locker(*flags, *o).run();
  });
}

}  // namespace cairn::cli
