// The relay's per-link fault rules (pure: no I/O, no clock; the caller passes
// its random generator), used where network namespaces are unavailable
// (relay.h). Links are directed: block(a, b) drops what a sends to b and
// nothing else, as a blackhole route in a's namespace does; shape(n, ...) is
// netem on n's interface: it acts on everything n sends.
#pragma once

#include <cstdint>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <map>

namespace cairn::faults {

// netem's "delay D [J] [loss L%]".
struct LinkShape {
  int64_t delay_ms = 0;
  int64_t jitter_ms = 0;  // the delay is uniform in [D - J, D + J], never below 0
  double loss = 0;        // 0..1
};
// Parses "netem delay 80ms 40ms loss 15%" (jitter and loss optional; "loss
// L%" alone too). Anything else (a tbf spec, a bad number) is nullopt with
// *error naming the word.
std::optional<LinkShape> parse_netem(const std::string& spec, std::string* error);

class LinkRules {
 public:
  // A TCP segment lost on a shaped link comes late, not never: the
  // retransmission (Linux's minimum RTO) is added to its delay.
  static constexpr int64_t kRetransmitMs = 200;

  void block(int from, int to);  // from's packets to `to` are dropped
  void shape(int node, LinkShape s);
  void heal_cuts();
  void heal_shapes();
  bool blocked(int from, int to) const { return cuts_.count({from, to}) > 0; }
  const std::set<std::pair<int, int>>& cuts() const { return cuts_; }

  // A datagram from → to: nullopt when it is dropped (a blocked link, or the
  // sender's loss), else the delay before it is delivered, in ms.
  std::optional<int64_t> datagram(int from, int to, std::mt19937_64& rng) const;
  // A piece of a TCP stream from → to: nullopt while the link is blocked
  // (the stream stalls and resumes on heal; nothing in it is lost), else
  // its delay: the sender's delay, plus kRetransmitMs with the loss chance.
  std::optional<int64_t> stream(int from, int to, std::mt19937_64& rng) const;

 private:
  int64_t delay_of(const LinkShape& s, std::mt19937_64& rng) const;
  std::set<std::pair<int, int>> cuts_;
  std::map<int, LinkShape> shapes_;
};

}  // namespace cairn::faults
