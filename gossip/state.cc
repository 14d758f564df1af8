// Membership state transitions: alive / suspect / dead / left with
// incarnation numbers (SWIM §4.2 "Suspicion Mechanism"), Lifeguard's
// dynamic suspicion (§IV-B), refutation, and serf's member events.
// The rules follow memberlist's state.go (aliveNode, suspectNode, deadNode).
#include <algorithm>

#include "gossip/errc.h"
#include "gossip/membership.h"

namespace cairn::gossip {

Member& Membership::self_member() { return *members_.find(self_); }
const Member& Membership::self_member() const { return *members_.find(self_); }

Alive Membership::self_alive() const {
  const Member& me = self_member();
  return Alive{me.incarnation, me.name, me.addr, *me.tags};
}

void Membership::broadcast(const std::string& key, const Message& m) {
  std::string bytes;
  encode_message(m, bytes);
  broadcasts_.queue(key, std::move(bytes));
}

void Membership::emit(MemberEvent::Kind kind, const Member& m) {
  auto tags = decode_tags(*m.tags);
  ready_.members.push_back(MemberEvent{
      kind, MemberInfo{m.name, m.addr, tags.ok() ? std::move(*tags) : Tags{}, m.state, m.incarnation}});
}

void Membership::on_alive(Instant now, const Alive& a, bool gossip_new) {
  if (a.node.empty()) return;
  // Tags that do not decode would poison every view of this member. Tags
  // some member already has were checked when they were stored: most alive
  // messages repeat known tags, and decoding them all was a tenth of a
  // 10,000-member simulation's time.
  if (!members_.known_tags(a.tags) && !decode_tags(a.tags).ok()) {
    ++stats_.decode_errors;
    return;
  }
  Member* m = members_.find(a.node);
  if (a.node == self_) {
    if (leaving_ || !m) return;
    // Someone holds a newer or different view of us (e.g. we restarted with
    // a lower incarnation): SWIM §4.2, override it with a higher incarnation.
    if (a.incarnation > m->incarnation ||
        (a.incarnation == m->incarnation && (a.addr != m->addr || a.tags != *m->tags)))
      refute(a.incarnation);
    return;
  }
  if (!m) {
    Member fresh;
    fresh.name = a.node;
    fresh.addr = a.addr;
    fresh.tags = members_.intern_tags(a.tags);
    fresh.incarnation = a.incarnation;
    fresh.state_change = now;
    Member& added = members_.add(std::move(fresh), *rng_);
    // memberlist re-gossips every member a push-pull teaches it; after a
    // join that is the whole member list, from every joiner: an O(n^2)
    // storm of news everyone else already has. The joiner's own record and
    // every *change* of state are still gossiped, and anti-entropy carries
    // the rest.
    if (gossip_new) broadcast(a.node, a);
    emit(MemberEvent::Kind::join, added);
    return;
  }
  // SWIM §4.2: only a higher incarnation overrides what we know.
  if (a.incarnation <= m->incarnation) return;
  bool was_live = m->live();
  bool changed = a.addr != m->addr || a.tags != *m->tags;
  m->incarnation = a.incarnation;
  if (a.addr != m->addr) m->addr = a.addr;
  if (a.tags != *m->tags) m->tags = members_.intern_tags(a.tags);
  drop_suspicion(m->name);
  members_.set_state(*m, MemberState::alive, now);
  broadcast(a.node, a);
  if (!was_live)
    emit(MemberEvent::Kind::join, *m);
  else if (changed)
    emit(MemberEvent::Kind::update, *m);
}

void Membership::on_suspect(Instant now, const Suspect& s) {
  Member* m = members_.find(s.node);
  if (!m || s.incarnation < m->incarnation) return;
  if (m->state == MemberState::suspect && s.incarnation == m->incarnation) {
    // Lifeguard §IV-B: an independent accusation shortens the timer; pass it
    // on so that others can count it too.
    auto it = suspicions_.find(m->name);
    if (it != suspicions_.end() && it->second.confirm(s.from)) broadcast(s.node, s);
    return;
  }
  // A suspicion at a newer incarnation than ours means the member refuted
  // the one we hold (we may never see that alive message: a queued suspect
  // replaces it in gossip buffers). Unlike memberlist, which counts it as a
  // confirmation of the old timer, start over: the old timer is stale and
  // would declare a member dead that has already answered.
  if (!m->live()) return;
  if (s.node == self_) {
    if (!leaving_) refute(s.incarnation);
    return;
  }
  ++stats_.suspicions;
  m->incarnation = s.incarnation;
  members_.set_state(*m, MemberState::suspect, now);
  broadcast(s.node, s);
  // memberlist suspectNode: expect suspicion_mult - 2 confirmations unless
  // there are too few members to give them.
  std::size_t n = members_.live_count();
  uint32_t k = config_.suspicion_mult >= 2 ? config_.suspicion_mult - 2 : 0;
  if (n < 2 || n - 2 < k) k = 0;
  // Lifeguard §IV-A: a member that is itself unhealthy should not be quick
  // to accuse, so when the accusation is our own (our probe failed) the
  // timer is scaled by our local health multiplier. An accusation gossiped
  // by another member owes nothing to our health, and scaling it made a
  // loaded member wait up to (score + 1) x longer than memberlist (which
  // never scales suspicion timers) to declare a failure.
  Duration min = suspicion_timeout(config_.suspicion_mult, n, config_.probe_interval);
  if (s.from == self_) min = awareness_.scale(min);
  Duration max = min * static_cast<int64_t>(config_.suspicion_max_timeout_mult);
  drop_suspicion(m->name);
  suspicions_.emplace(m->name, Suspicion(now, k, min, max, s.from));
}

void Membership::on_dead(Instant now, const Dead& d) {
  Member* m = members_.find(d.node);
  if (!m || d.incarnation < m->incarnation) return;
  bool leave = d.from == d.node;
  if (m->state == MemberState::left) return;
  // A graceful leave may still override a failure: left is not failed.
  if (m->state == MemberState::dead && !leave) return;
  if (d.node == self_ && !leaving_) {
    refute(d.incarnation);
    return;
  }
  m->incarnation = d.incarnation;
  drop_suspicion(m->name);
  members_.set_state(*m, leave ? MemberState::left : MemberState::dead, now);
  broadcast(d.node, d);
  eager_relay(d);
  emit(leave ? MemberEvent::Kind::leave : MemberEvent::Kind::failed, *m);
}

// Gossip rounds carry news one hop per gossip_interval (200 ms on a LAN), so
// a leave needs several rounds to reach everyone; serf users see it in tens
// of milliseconds. So news of a leave or a failure is also pushed at once to
// eager_relay_nodes random live members, in a packet of its own, by every
// member when it first learns it (on_dead returns early on news it already
// has, which ends the epidemic): O(log n) hops at network speed. The packet
// piggybacks nothing, so it spends no retransmit budget: the broadcast
// queued above still goes out its full retransmit_mult · log(n) times and
// reaches any member these datagrams miss.
void Membership::eager_relay(const Dead& d) {
  if (config_.eager_relay_nodes == 0) return;
  auto targets = members_.random_members(config_.eager_relay_nodes, *rng_, [&](const Member& m) {
    return m.live() && m.name != self_ && m.name != d.node;
  });
  if (targets.empty()) return;
  std::string bytes(1, static_cast<char>(kProtocolVersion));
  encode_message(Message{d}, bytes);
  for (Member* t : targets) {
    ++stats_.eager_relays;
    push_packet(t->addr, Transport::datagram, bytes);
  }
}

// SWIM §4.2: we are accused; only we may raise our incarnation, and the new
// alive message overrides every suspect/dead message about the old one.
void Membership::refute(uint32_t accused_incarnation) {
  Member& me = self_member();
  me.incarnation = std::max(me.incarnation + 1, accused_incarnation + 1);
  ++stats_.refutations;
  // Lifeguard §IV-A: being suspected hints that we are the slow one.
  awareness_.apply_delta(1);
  broadcast(self_, self_alive());
}

// A suspicion gets one last direct check before we declare the member dead:
// a ping over the stream transport carrying the accusation (the buddy system
// again). Gossip is probabilistic: now and then a member misses every copy
// of a refutation (with n = 200 and 12 retransmits, about one member in 10^5
// per refutation), and without this check it would declare a live member
// dead on stale news. An ack proves the member alive.
//
// The check goes out a probe interval *before* the timer runs out, so the
// answer is due by the deadline and detection is not delayed: sending it at
// the deadline and waiting a probe interval more made every failure take one
// probe interval longer to detect than memberlist's (bench/gossip: 1.05-1.13
// x serf's). When confirmations pull the deadline in past that point, the
// check goes out at once and the verdict waits a probe timeout for its
// answer (the time a direct ack gets; memberlist would declare the member
// dead at once). This costs one packet per expiring suspicion.
void Membership::tick_suspicions(Instant now) {
  const Duration lead = awareness_.scale(config_.probe_interval);
  const Duration answer = awareness_.scale(config_.probe_timeout);
  std::vector<std::string> due;
  for (const auto& [name, s] : suspicions_)
    if (s.check_due(now, lead) || (s.checked() && s.deadline() <= now)) due.push_back(name);
  std::sort(due.begin(), due.end());  // unordered_map order must not leak into replay
  for (const auto& name : due) {
    auto it = suspicions_.find(name);
    Member* m = members_.find(name);
    if (!m || m->state != MemberState::suspect) {
      drop_suspicion(name);
      continue;
    }
    if (!it->second.checked()) {
      uint32_t seq = next_seq_++;
      it->second.mark_checked(seq, now + answer);
      final_checks_[seq] = name;
      Message accusation = Suspect{m->incarnation, m->name, self_};
      // Over the stream transport (reliable) unless stream probes are off,
      // as where a firewall only lets gossip datagrams through.
      Transport via = config_.stream_fallback_probe ? Transport::stream : Transport::datagram;
      send(m->addr, via, Ping{seq, m->name, self_, self_member().addr}, &accusation);
      continue;
    }
    on_dead(now, Dead{m->incarnation, m->name, self_});  // drops the suspicion
  }
}

// The suspect answered our last-chance check: it is alive whatever gossip
// we missed. We hold it alive locally without gossiping (its incarnation is
// unknown to us; its own refutation or push-pull brings that).
void Membership::on_final_check_ack(Instant now, uint32_t seq) {
  auto it = final_checks_.find(seq);
  std::string name = std::move(it->second);
  final_checks_.erase(it);
  Member* m = members_.find(name);
  if (!m || m->state != MemberState::suspect) return;
  drop_suspicion(name);
  members_.set_state(*m, MemberState::alive, now);
}

void Membership::drop_suspicion(const std::string& name) {
  auto it = suspicions_.find(name);
  if (it == suspicions_.end()) return;
  if (it->second.checked()) final_checks_.erase(it->second.check_seq());
  suspicions_.erase(it);
}

uint32_t Membership::incarnation() const { return self_member().incarnation; }

std::optional<MemberState> Membership::state_of(std::string_view name) const {
  const Member* m = members_.find(name);
  if (!m) return std::nullopt;
  return m->state;
}

std::optional<MemberInfo> Membership::member(std::string_view name) const {
  const Member* m = members_.find(name);
  if (!m) return std::nullopt;
  auto tags = decode_tags(*m->tags);
  return MemberInfo{m->name, m->addr, tags.ok() ? std::move(*tags) : Tags{}, m->state, m->incarnation};
}

std::vector<MemberInfo> Membership::members() const {
  std::vector<MemberInfo> out;
  out.reserve(members_.size());
  for (std::size_t i = 0; i < members_.size(); ++i) out.push_back(*member(members_.at(i).name));
  return out;
}

std::optional<Coordinate> Membership::coordinate_of(std::string_view name) const {
  if (name == self_) return vivaldi_.coordinate();
  auto it = latency_.find(std::string(name));
  if (it == latency_.end()) return std::nullopt;
  return it->second.coordinate;
}

Status Membership::check_invariants() const {
  auto broken = [](std::string what) { return Error(cairn::errc::internal, "gossip invariant: " + what); };
  std::size_t live = 0, suspects = 0;
  for (std::size_t i = 0; i < members_.size(); ++i) {
    const Member& m = members_.at(i);
    live += m.live();
    if (m.state == MemberState::suspect) {
      ++suspects;
      if (!suspicions_.count(m.name)) return broken(m.name + " is suspect without a timer");
    }
  }
  if (live != members_.live_count()) return broken("live count " + std::to_string(members_.live_count()) +
                                                   " != " + std::to_string(live));
  if (suspects != suspicions_.size()) return broken("timers for members that are not suspect");
  const Member& me = self_member();
  if (me.state != (leaving_ ? MemberState::left : MemberState::alive))
    return broken("we are " + std::string(to_string(me.state)));
  for (const auto& [seq, name] : final_checks_) {
    auto it = suspicions_.find(name);
    if (it == suspicions_.end() || !it->second.checked() || it->second.check_seq() != seq)
      return broken("last-chance check for " + name + " without its suspicion");
  }
  return ok_status();
}

}  // namespace cairn::gossip
