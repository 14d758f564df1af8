// The agent's recent user events (Consul keeps the last 256), with long-poll
// support for GET /v1/event/list?index=… .
//
// Events travel as gossip user events named "consul:event:<name>" whose
// payload is the JSON of the event (ID, Name, Payload, filters), so every
// agent can apply the node/service/tag filters on receipt, as Consul does.
//
// Thread-safety: none; used on the agent's event strand only.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "core/wait_queue.h"

namespace cairn::agent {

struct Event {
  std::string id;  // UUID
  std::string name;
  std::string payload;  // raw bytes
  std::string node_filter, service_filter, tag_filter;
  uint64_t ltime = 0;
};

// The gossip encoding of an event, and its inverse (untrusted input).
std::string encode_event(const Event& e);
Result<Event> decode_event(std::string_view json);
constexpr std::string_view kEventPrefix = "consul:event:";

// Consul's event index: the two halves of the UUID XORed, so a watcher can
// tell "a newer event arrived" without a counter shared across agents.
uint64_t event_index(const std::string& uuid);

class UserEvents {
 public:
  static constexpr size_t kCapacity = 256;
  explicit UserEvents(Scheduler& scheduler) : waiters_(scheduler) {}

  // Adds an event (duplicates by ID are ignored) and wakes waiters.
  void add(Event e);
  // Events, oldest first, optionally only those named `name`.
  std::vector<Event> list(const std::string& name) const;
  // The index of the newest event with that name filter (0 when none).
  uint64_t index(const std::string& name) const;
  // Calls fn once an event arrives or `timeout` passes.
  void wait(Duration timeout, std::function<void()> fn);

 private:
  std::deque<Event> events_;
  WaitQueue waiters_;
};

}  // namespace cairn::agent
