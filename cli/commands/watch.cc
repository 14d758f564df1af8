// cairn watch -type TYPE [flags] [HANDLER...]
//
// Consul's watch plan: blocking queries on the type's endpoint with ?index
// (from X-Consul-Index). The handler runs at start and whenever the index
// moves and the data changed, with the JSON on its stdin and CONSUL_INDEX in
// its environment; one handler string runs under /bin/sh -c (unless
// -shell=false), several are an argv. Without a handler the JSON is printed
// once (indented) and the command exits 0. An index that goes backwards
// resets to 0 (not for events, whose index is a hash); errors back off
// (5 s x failures^2, at most 180 s) and retry.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "agent/user_events.h"
#include "cli/command.h"
#include "cli/commands/child_process.h"
#include "cli/commands/http_call.h"
#include "core/http/url.h"

namespace cairn::cli {

namespace {

using Json = nlohmann::ordered_json;

struct WatchOptions {
  std::string type, key, prefix, service, tag, state, name;
  bool passingonly = false;
  bool shell = true;
  std::vector<std::string> handler;
};

// The endpoint a watch type queries, or an error worded as Consul's watch parser.
struct Plan {
  std::string target;        // path and query, no ?index
  bool not_found_is_null = false;
  bool single = false;       // key: the first element of the answer
  bool events = false;       // event: only events after the last one seen
};

Result<Plan> make_plan(const WatchOptions& o) {
  auto need = [](const std::string& v, const char* what) -> Status {
    if (v.empty()) return Error(errc::invalid_argument, std::string("Must specify a single ") + what + " to watch");
    return {};
  };
  Plan p;
  if (o.type.empty()) return Error(errc::invalid_argument, "Watch type must be specified");
  if (o.type == "key") {
    CAIRN_RETURN_IF_ERROR(need(o.key, "key"));
    p.target = "/v1/kv/" + http::percent_encode(o.key, true);
    p.not_found_is_null = p.single = true;
  } else if (o.type == "keyprefix") {
    CAIRN_RETURN_IF_ERROR(need(o.prefix, "prefix"));
    p.target = "/v1/kv/" + http::percent_encode(o.prefix, true) + "?recurse";
    p.not_found_is_null = true;
  } else if (o.type == "services") {
    p.target = "/v1/catalog/services";
  } else if (o.type == "nodes") {
    p.target = "/v1/catalog/nodes";
  } else if (o.type == "service") {
    CAIRN_RETURN_IF_ERROR(need(o.service, "service"));
    p.target = "/v1/health/service/" + http::percent_encode(o.service);
    std::string sep = "?";
    if (!o.tag.empty()) p.target += sep + "tag=" + http::percent_encode(o.tag), sep = "&";
    if (o.passingonly) p.target += sep + "passing";
  } else if (o.type == "checks") {
    if (!o.service.empty() && !o.state.empty())
      return Error(errc::invalid_argument, "Cannot specify service and state");
    if (!o.service.empty()) {
      p.target = "/v1/health/checks/" + http::percent_encode(o.service);
    } else {
      p.target = "/v1/health/state/" + http::percent_encode(o.state.empty() ? "any" : o.state);
    }
  } else if (o.type == "event") {
    p.target = "/v1/event/list";
    if (!o.name.empty()) p.target += "?name=" + http::percent_encode(o.name);
    p.events = true;
  } else {
    return Error(errc::invalid_argument, "Unsupported watch type: " + o.type);
  }
  return p;
}

struct Answer {
  uint64_t index = 0;
  Json data;
};

// One (blocking when index > 0) query of the plan.
Result<Answer> query(const ClientFlags& flags, const Plan& plan, uint64_t index) {
  std::string target = plan.target;
  // Each blocking query waits at most 25 s (+ the server's wait/16 jitter),
  // inside http_call's 30 s deadline; an unchanged index just asks again.
  if (index > 0)
    target += std::string(target.find('?') == std::string::npos ? "?" : "&") + "index=" + std::to_string(index) +
              "&wait=25s";
  CAIRN_TRY(auto res, http_call(flags, "GET", target, {}, plan.not_found_is_null));
  Answer a;
  auto idx = res.header("X-Consul-Index");
  if (!idx.empty()) a.index = std::strtoull(idx.c_str(), nullptr, 10);
  if (res.status == 404) return a;
  a.data = Json::parse(res.body, nullptr, false);
  if (a.data.is_discarded()) return Error(errc::parse_error, "invalid JSON from " + plan.target);
  if (plan.single) a.data = a.data.is_array() && !a.data.empty() ? a.data[0] : Json();
  return a;
}

// Consul's event watch hands over only the events after the last one seen
// (whose ID maps to the index it was given).
void prune_events(Json& events, uint64_t last_index) {
  if (!events.is_array() || last_index == 0) return;
  for (size_t i = 0; i < events.size(); ++i) {
    if (events[i].is_object() && agent::event_index(events[i].value("ID", "")) == last_index) {
      events.erase(events.begin(), events.begin() + static_cast<std::ptrdiff_t>(i + 1));
      return;
    }
  }
}

// Runs the handler with `data` on stdin; false (and a message) when it failed.
bool run_handler(const WatchOptions& o, uint64_t index, const Json& data) {
  ChildOptions c;
  c.args = o.handler;
  c.shell = o.shell;
  c.env = {"CONSUL_INDEX=" + std::to_string(index)};
  c.pipe_stdin = true;
  auto child = spawn_child(c);
  if (!child.ok()) {
    std::cerr << "Error executing handler: " << child.error().message() << "\n";
    return false;
  }
  write_and_close(child->stdin_fd, data.dump() + "\n");
  int code = wait_child(child->pid);
  if (code != 0) {
    std::cerr << "Error executing handler: exit status " << code << "\n";
    return false;
  }
  return true;
}

int watch(const ClientFlags& flags, const WatchOptions& o) {
  auto plan = make_plan(o);
  if (!plan.ok()) {
    std::cerr << "Failed to parse watch: " << plan.error().message() << "\n";
    return kExitError;
  }
  // Consul checks that an agent answers before it starts the plan.
  if (auto self = http_call(flags, "GET", "/v1/agent/self"); !self.ok()) {
    std::cerr << "Error querying Consul agent: " << self.error().message() << "\n";
    return kExitError;
  }
  ::signal(SIGPIPE, SIG_IGN);
  std::optional<uint64_t> last;  // the index the last answer moved us to; none before the first
  Json last_result;
  int failures = 0;
  for (;;) {
    auto ans = query(flags, *plan, last.value_or(0));
    if (!ans.ok()) {
      ++failures;
      auto retry = std::min(std::chrono::seconds(5) * failures * failures, std::chrono::seconds(180));
      std::cerr << "Watch errored: " << ans.error().message() << " (retry in " << retry.count() << "s)\n";
      std::this_thread::sleep_for(retry);
      continue;
    }
    failures = 0;
    if (last && *last == ans->index) continue;  // the query timed out: nothing moved
    std::optional<uint64_t> old = last;
    // An index that went backwards (a restored snapshot, a new leader) starts
    // over. Not for events: their index is a hash of the newest event's ID, so
    // "smaller" means nothing (Consul resets there too and then hands the
    // handler every event again; we keep waiting for the next one instead).
    last = (old && *old > ans->index && !plan->events) ? 0 : ans->index;
    if (plan->events) prune_events(ans->data, old.value_or(0));
    if (old && last_result == ans->data) continue;
    last_result = ans->data;
    if (o.handler.empty()) {
      std::cout << ans->data.dump(4) << "\n";
      return kExitOk;
    }
    if (!run_handler(o, ans->index, ans->data)) return kExitError;
  }
}

}  // namespace

void add_watch_command(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("watch", "Watch a view of data (keys, services, nodes, checks, events) for changes");
  auto flags = add_client_flags(cmd);
  auto o = std::make_shared<WatchOptions>();
  cmd->add_option("--type", o->type, "key, keyprefix, services, nodes, service, checks or event");
  cmd->add_option("--key", o->key, "The key to watch (type key)");
  cmd->add_option("--prefix", o->prefix, "The key prefix to watch (type keyprefix)");
  cmd->add_option("--service", o->service, "The service to watch (types service and checks)");
  cmd->add_option("--tag", o->tag, "Only instances with this tag (type service)");
  cmd->add_flag("--passingonly", o->passingonly, "Only instances passing all checks (type service)");
  cmd->add_option("--state", o->state, "Checks in this state (type checks): any, passing, warning, critical");
  cmd->add_option("--name", o->name, "The event name (type event)");
  cmd->add_flag("--shell", o->shell, "Run a single handler string with /bin/sh -c (default true)");
  // As Go's flag package: flags end at the first handler argument.
  cmd->prefix_command();
  cmd->footer("Arguments: [HANDLER...]  (without one, the data is printed once)");
  cmd->callback([=, cmd = cmd] {
    o->handler = raw_tail(cmd->remaining().size());
    *exit_code = watch(*flags, *o);
  });
}

}  // namespace cairn::cli
