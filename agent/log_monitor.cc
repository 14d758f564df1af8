#include "agent/log_monitor.h"

#include <chrono>
#include <ctime>
#include <deque>
#include <mutex>
#include <optional>
#include <vector>

#include "core/json_escape.h"

namespace cairn::agent {
namespace {

constexpr size_t kMaxQueued = 512;

std::string timestamp() {
  auto now = std::chrono::system_clock::now();
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[48];
  size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof buf - n, ".%03dZ", static_cast<int>(ms));
  return buf;
}

std::string bracket(log::Level level) {
  switch (level) {
    case log::Level::trace: return "[TRACE]";
    case log::Level::debug: return "[DEBUG]";
    case log::Level::info: return "[INFO] ";
    case log::Level::warn: return "[WARN] ";
    case log::Level::error: return "[ERROR]";
    case log::Level::off: break;
  }
  return "";
}

}  // namespace

struct LogMonitor::Hub : std::enable_shared_from_this<Hub> {
  struct Sub : http::BodyStream {
    std::weak_ptr<Hub> hub;
    log::Level level = log::Level::info;
    bool json = false;
    // Guarded by hub->mu.
    std::deque<std::string> queued;
    size_t dropped = 0;
    Deliver waiting;
    bool cancelled = false;

    void next(Deliver deliver) override {
      auto h = hub.lock();
      if (!h) return deliver(std::nullopt);
      std::unique_lock l(h->mu);
      if (cancelled) return;
      if (queued.empty() && dropped == 0) {
        waiting = std::move(deliver);
        return;
      }
      std::string text;
      if (dropped > 0) {
        text = "Monitor dropped " + std::to_string(dropped) + " logs during monitor request\n";
        dropped = 0;
      }
      for (auto& line : queued) text += line;
      queued.clear();
      l.unlock();
      deliver(std::move(text));
    }
    void cancel() override {
      if (auto h = hub.lock()) h->remove(this);
    }
  };

  mutable std::mutex mu;
  std::vector<std::shared_ptr<Sub>> subs;

  void on_line(log::Level level, std::string_view module, std::string_view message) {
    std::vector<std::pair<http::BodyStream::Deliver, std::string>> ready;
    {
      std::lock_guard l(mu);
      std::optional<std::string> text_line, json_line;
      for (auto& s : subs) {
        if (level < s->level) continue;
        std::string* line;
        if (s->json) {
          if (!json_line) {
            json_line = "{\"@level\":\"" + std::string(log::level_name(level)) + "\",\"@message\":\"" +
                        json_escape(message) + "\",\"@module\":\"" + json_escape(module) + "\",\"@timestamp\":\"" +
                        timestamp() + "\"}\n";
          }
          line = &*json_line;
        } else {
          if (!text_line) text_line = timestamp() + " " + bracket(level) + " " + std::string(module) + ": " + std::string(message) + "\n";
          line = &*text_line;
        }
        if (s->waiting) {
          ready.emplace_back(std::exchange(s->waiting, nullptr), *line);
        } else if (s->queued.size() < kMaxQueued) {
          s->queued.push_back(*line);
        } else {
          ++s->dropped;
        }
      }
    }
    for (auto& [deliver, line] : ready) deliver(std::move(line));
  }

  void update_tap_level() {  // under mu
    log::Level lowest = log::Level::off;
    for (auto& s : subs) lowest = std::min(lowest, s->level);
    log::set_tap_level(lowest);
  }

  void remove(Sub* sub) {
    std::lock_guard l(mu);
    sub->cancelled = true;
    sub->waiting = nullptr;
    std::erase_if(subs, [sub](const auto& s) { return s.get() == sub; });
    update_tap_level();
  }
};

LogMonitor::LogMonitor() : hub_(std::make_shared<Hub>()) {
  std::weak_ptr<Hub> weak = hub_;
  log::set_tap(std::make_shared<const log::Tap>([weak](log::Level level, std::string_view m, std::string_view msg) {
                 if (auto h = weak.lock()) h->on_line(level, m, msg);
               }),
               log::Level::off);
}

LogMonitor::~LogMonitor() {
  log::set_tap(nullptr, log::Level::off);
  std::lock_guard l(hub_->mu);
  for (auto& s : hub_->subs) s->cancelled = true;
}

std::shared_ptr<http::BodyStream> LogMonitor::subscribe(log::Level level, bool json) {
  auto sub = std::make_shared<Hub::Sub>();
  sub->hub = hub_;
  sub->level = level;
  sub->json = json;
  std::lock_guard l(hub_->mu);
  hub_->subs.push_back(sub);
  hub_->update_tap_level();
  return sub;
}

size_t LogMonitor::subscribers() const {
  std::lock_guard l(hub_->mu);
  return hub_->subs.size();
}

}  // namespace cairn::agent
