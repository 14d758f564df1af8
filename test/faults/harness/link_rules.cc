#include "test/faults/harness/link_rules.h"

#include <algorithm>
#include <sstream>
#include <vector>

namespace cairn::faults {
namespace {

// "80ms" → 80; "1s" → 1000.
std::optional<int64_t> parse_ms(const std::string& w) {
  size_t digits = 0;
  while (digits < w.size() && w[digits] >= '0' && w[digits] <= '9') ++digits;
  if (digits == 0 || digits > 9) return std::nullopt;
  int64_t n = std::stoll(w.substr(0, digits));
  std::string unit = w.substr(digits);
  if (unit == "ms") return n;
  if (unit == "s") return n * 1000;
  return std::nullopt;
}

std::optional<double> parse_percent(const std::string& w) {
  if (w.size() < 2 || w.back() != '%') return std::nullopt;
  std::istringstream in(w.substr(0, w.size() - 1));
  double p = -1;
  if (!(in >> p) || !in.eof() || p < 0 || p > 100) return std::nullopt;
  return p / 100;
}

}  // namespace

std::optional<LinkShape> parse_netem(const std::string& spec, std::string* error) {
  std::vector<std::string> w;
  std::istringstream in(spec);
  for (std::string s; in >> s;) w.push_back(s);
  auto fail = [&](const std::string& why) -> std::optional<LinkShape> {
    if (error) *error = "netem spec \"" + spec + "\": " + why;
    return std::nullopt;
  };
  if (w.empty() || w[0] != "netem") return fail("not a netem qdisc (the relay does netem's delay and loss only)");
  LinkShape s;
  size_t i = 1;
  if (i < w.size() && w[i] == "delay") {
    if (++i >= w.size()) return fail("delay: a time is needed");
    auto d = parse_ms(w[i++]);
    if (!d) return fail("delay: \"" + w[i - 1] + "\" is not a time in ms or s");
    s.delay_ms = *d;
    if (i < w.size() && w[i] != "loss") {
      auto j = parse_ms(w[i++]);
      if (!j) return fail("delay jitter: \"" + w[i - 1] + "\" is not a time in ms or s");
      s.jitter_ms = *j;
    }
  }
  if (i < w.size() && w[i] == "loss") {
    if (++i >= w.size()) return fail("loss: a percentage is needed");
    auto p = parse_percent(w[i++]);
    if (!p) return fail("loss: \"" + w[i - 1] + "\" is not a percentage in 0..100%");
    s.loss = *p;
  }
  if (i < w.size()) return fail("unexpected \"" + w[i] + "\"");
  return s;
}

void LinkRules::block(int from, int to) {
  if (from != to) cuts_.insert({from, to});
}
void LinkRules::shape(int node, LinkShape s) { shapes_[node] = s; }
void LinkRules::heal_cuts() { cuts_.clear(); }
void LinkRules::heal_shapes() { shapes_.clear(); }

int64_t LinkRules::delay_of(const LinkShape& s, std::mt19937_64& rng) const {
  if (s.jitter_ms <= 0) return s.delay_ms;
  std::uniform_int_distribution<int64_t> d(s.delay_ms - s.jitter_ms, s.delay_ms + s.jitter_ms);
  return std::max<int64_t>(0, d(rng));
}

std::optional<int64_t> LinkRules::datagram(int from, int to, std::mt19937_64& rng) const {
  if (blocked(from, to)) return std::nullopt;
  auto it = shapes_.find(from);
  if (it == shapes_.end()) return 0;
  if (it->second.loss > 0 && std::bernoulli_distribution(it->second.loss)(rng)) return std::nullopt;
  return delay_of(it->second, rng);
}

std::optional<int64_t> LinkRules::stream(int from, int to, std::mt19937_64& rng) const {
  if (blocked(from, to)) return std::nullopt;
  auto it = shapes_.find(from);
  if (it == shapes_.end()) return 0;
  int64_t d = delay_of(it->second, rng);
  if (it->second.loss > 0 && std::bernoulli_distribution(it->second.loss)(rng)) d += kRetransmitMs;
  return d;
}

}  // namespace cairn::faults
