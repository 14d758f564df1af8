#include "agent/user_events.h"

#include <nlohmann/json.hpp>

namespace cairn::agent {

std::string encode_event(const Event& e) {
  // The payload is arbitrary bytes: it travels as an array of byte values.
  nlohmann::json j = {{"ID", e.id},
                      {"Name", e.name},
                      {"Payload", std::vector<uint8_t>(e.payload.begin(), e.payload.end())},
                      {"NodeFilter", e.node_filter},
                      {"ServiceFilter", e.service_filter},
                      {"TagFilter", e.tag_filter},
                      {"Version", 1}};
  return j.dump();
}

Result<Event> decode_event(std::string_view text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Error(errc::parse_error, "event: not a JSON object");
  Event e;
  try {
    e.id = j.at("ID").get<std::string>();
    e.name = j.at("Name").get<std::string>();
    for (auto b : j.at("Payload").get<std::vector<uint8_t>>()) e.payload.push_back(static_cast<char>(b));
    e.node_filter = j.value("NodeFilter", "");
    e.service_filter = j.value("ServiceFilter", "");
    e.tag_filter = j.value("TagFilter", "");
  } catch (const nlohmann::json::exception& ex) {
    return Error(errc::parse_error, std::string("event: ") + ex.what());
  }
  if (e.id.size() != 36) return Error(errc::parse_error, "event: bad ID");
  return e;
}

uint64_t event_index(const std::string& uuid) {
  std::string hex;
  for (char c : uuid)
    if (c != '-') hex.push_back(c);
  if (hex.size() != 32) return 0;
  uint64_t hi = std::stoull(hex.substr(0, 16), nullptr, 16);
  uint64_t lo = std::stoull(hex.substr(16), nullptr, 16);
  return hi ^ lo;
}

void UserEvents::add(Event e) {
  for (const auto& old : events_)
    if (old.id == e.id) return;
  events_.push_back(std::move(e));
  if (events_.size() > kCapacity) events_.pop_front();
  waiters_.notify_all();
}

std::vector<Event> UserEvents::list(const std::string& name) const {
  std::vector<Event> out;
  for (const auto& e : events_)
    if (name.empty() || e.name == name) out.push_back(e);
  return out;
}

uint64_t UserEvents::index(const std::string& name) const {
  for (auto it = events_.rbegin(); it != events_.rend(); ++it)
    if (name.empty() || it->name == name) return event_index(it->id);
  return 0;
}

void UserEvents::wait(Duration timeout, std::function<void()> fn) {
  waiters_.wait(timeout, [fn = std::move(fn)](bool) { fn(); });
}

}  // namespace cairn::agent
