#include "agent/http/blocking.h"

#include <charconv>
#include <string_view>

#include "core/duration.h"

namespace cairn::agent::http {

Result<BlockingParams> parse_blocking(const cairn::http::Request& req, Rng& rng) {
  BlockingParams p;
  if (auto idx = req.query.get("index"); idx && !idx->empty()) {
    auto [ptr, ec] = std::from_chars(idx->data(), idx->data() + idx->size(), p.index);
    if (ec != std::errc() || ptr != idx->data() + idx->size()) return Error(errc::invalid_argument, "Invalid index");
  }
  Duration wait = kDefaultWait;
  if (auto w = req.query.get("wait"); w && !w->empty()) {
    // Consul reads ?wait with Go's time.ParseDuration, which wants a unit on every number but a
    // bare "0": "?wait=10" is a 400 there, not parse_duration's nanoseconds (a JSON-number rule).
    std::string_view number = *w;
    if (number[0] == '+' || number[0] == '-') number.remove_prefix(1);
    bool unitless = number != "0" && number.find_first_not_of("0123456789.") == std::string_view::npos;
    auto d = parse_duration(*w);
    if (unitless || !d.ok() || *d < Duration::zero()) return Error(errc::invalid_argument, "Invalid wait time");
    wait = *d;
  }
  if (wait > kMaxWait) wait = kMaxWait;
  // Jitter: up to wait/16 more, so watchers spread out (Consul's behaviour).
  auto jitter = static_cast<uint64_t>(wait.count() / 16);
  p.wait = wait + Duration{static_cast<int64_t>(jitter ? rng.uniform(jitter) : 0)};
  return p;
}

void set_index(cairn::http::Response& resp, uint64_t index) {
  resp.headers.set("X-Consul-Index", std::to_string(index == 0 ? 1 : index));
}

}  // namespace cairn::agent::http
