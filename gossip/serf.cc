// The serf layer over the failure detector: dissemination rounds, push-pull
// anti-entropy, join/leave, tags, reaping and reconnecting, user events and
// queries (hashicorp/serf serf.go, delegate.go, query.go).
#include <algorithm>
#include <cmath>

#include "gossip/errc.h"
#include "gossip/membership.h"

namespace cairn::gossip {

namespace {
constexpr uint32_t kJoinFollowups = 2;
constexpr uint8_t kMaxRelayFactor = 5;  // the limit of Consul's -relay-factor
}  // namespace

void Membership::join(Instant /*now*/, const std::vector<std::string>& addrs, bool ignore_old_events) {
  ignore_old_on_join_ = ignore_old_events;
  join_pending_ = !addrs.empty();
  for (const auto& addr : addrs) send_push_pull(addr, PushPull::kJoin);
}

void Membership::leave(Instant now) {
  if (leaving_) return;
  leaving_ = true;
  probe_.active = false;
  const Member& me = self_member();
  on_dead(now, Dead{me.incarnation, self_, self_});
  // Gossip the leave at the next tick rather than up to gossip_interval
  // later: a leaving member has nothing else to do, and peers should see
  // "left" before they start suspecting it.
  next_gossip_ = now;
}

bool Membership::leave_propagated() const {
  if (!leaving_) return false;
  if (members_.live_count() == 0) return true;  // nobody left to tell
  auto sent = broadcasts_.transmits(self_);
  return !sent || *sent >= 1;
}

Status Membership::force_leave(Instant now, std::string_view name) {
  if (name == self_) return gossip_error(errc::invalid_config, "force_leave: that is us; use leave()");
  Member* m = members_.find(name);
  if (!m) return gossip_error(errc::not_member, "force_leave: no member named " + std::string(name));
  // A leave is a dead message from the member about itself (state.cc).
  if (m->state != MemberState::left) on_dead(now, Dead{m->incarnation, m->name, m->name});
  return ok_status();
}

Status Membership::set_tags(Instant /*now*/, Tags tags) {
  if (leaving_) return gossip_error(errc::left, "set_tags: after leave");
  std::string encoded = encode_tags(tags);
  if (encoded.size() > config_.max_tags_bytes)
    return gossip_error(errc::tags_too_large, "tags: " + std::to_string(encoded.size()) + " bytes over limit " +
                                                  std::to_string(config_.max_tags_bytes));
  Member& me = self_member();
  me.tags = members_.intern_tags(encoded);
  // A new incarnation makes the new tags override the old everywhere (SWIM §4.2 ordering).
  ++me.incarnation;
  broadcast(self_, self_alive());
  emit(MemberEvent::Kind::update, me);
  return ok_status();
}

void Membership::send_push_pull(std::string_view to, uint8_t flags) {
  PushPull pp;
  pp.flags = flags;
  pp.sender = self_;
  pp.reply_to = self_member().addr;
  pp.members.reserve(members_.size());
  for (std::size_t i = 0; i < members_.size(); ++i) {
    const Member& m = members_.at(i);
    pp.members.push_back(MemberRecord{m.name, m.addr, *m.tags, m.incarnation, m.state});
  }
  pp.event_ltime = event_clock_.time();
  pp.query_ltime = query_clock_.time();
  event_seen_.for_each([&](uint64_t ltime, const EventKey& e) {
    pp.events.push_back(UserEventMessage{ltime, e.name, e.payload});
  });
  send(to, Transport::stream, pp);
}

// memberlist mergeRemoteState + serf's push-pull delegate.
void Membership::on_push_pull(Instant now, PushPull& pp) {
  if (!(pp.flags & PushPull::kReply) && !pp.reply_to.empty())
    send_push_pull(pp.reply_to, PushPull::kReply);
  if ((pp.flags & PushPull::kReply) && ignore_old_on_join_) {
    ignore_old_on_join_ = false;
    event_min_time_ = pp.event_ltime;
  }
  if ((pp.flags & PushPull::kReply) && join_pending_) {
    // News that was being gossiped while we joined may use up its
    // retransmits before anyone knows to tell us, and we do not re-gossip
    // what the join taught us (state.cc). One more exchange, once such news
    // has died out, closes that gap long before the periodic push-pull.
    join_pending_ = false;
    join_followups_ = kJoinFollowups;
    next_push_pull_ = now + config_.gossip_interval * static_cast<int64_t>(retransmits() + 1);
  }
  for (auto& r : pp.members) {
    switch (r.state) {
      case MemberState::alive:
        on_alive(now, Alive{r.incarnation, r.name, std::move(r.addr), std::move(r.tags)}, r.name == pp.sender);
        break;
      case MemberState::left:
        on_dead(now, Dead{r.incarnation, r.name, r.name});
        break;
      // A remote "dead" is only a suspicion here: we give the member its
      // chance to refute rather than trusting a possibly stale view.
      case MemberState::dead:
      case MemberState::suspect:
        on_suspect(now, Suspect{r.incarnation, std::move(r.name), pp.sender});
        break;
    }
  }
  event_clock_.witness(pp.event_ltime);
  query_clock_.witness(pp.query_ltime);
  for (const auto& e : pp.events) on_user_event(e);
}

bool Membership::on_user_event(const UserEventMessage& e) {
  event_clock_.witness(e.ltime);
  if (e.ltime < event_min_time_) return false;
  EventKey key{e.name, e.payload};
  if (event_seen_.record(e.ltime, event_clock_.time(), key) != Seen::fresh) return false;
  ready_.user_events.push_back(UserEvent{e.ltime, e.name, e.payload});
  broadcast({}, e);
  return true;
}

Status Membership::user_event(Instant /*now*/, std::string name, std::string payload) {
  if (leaving_) return gossip_error(errc::left, "user_event: after leave");
  if (name.size() + payload.size() > config_.user_event_size_limit)
    return gossip_error(errc::too_large, "user_event: name + payload over " +
                                             std::to_string(config_.user_event_size_limit) + " bytes");
  UserEventMessage e{event_clock_.tick(), std::move(name), std::move(payload)};
  on_user_event(e);  // delivered here too, then gossiped
  return ok_status();
}

Result<uint32_t> Membership::query(Instant now, std::string name, std::string payload, QueryParams params) {
  if (leaving_) return gossip_error(errc::left, "query: after leave");
  if (params.relay_factor > kMaxRelayFactor)
    return gossip_error(errc::too_large, "query: relay_factor over " + std::to_string(kMaxRelayFactor));
  if (name.size() + payload.size() > config_.query_size_limit)
    return gossip_error(errc::too_large, "query: name + payload over " + std::to_string(config_.query_size_limit) +
                                             " bytes");
  Duration timeout = params.timeout > Duration::zero() ? params.timeout
                                                       : default_query_timeout(config_, members_.live_count());
  QueryMessage q;
  q.ltime = query_clock_.tick();
  q.id = static_cast<uint32_t>(rng_->next_u64());
  q.origin = self_;
  q.origin_addr = self_member().addr;
  q.want_ack = params.request_ack;
  q.relay_factor = params.relay_factor;
  q.timeout_ms = static_cast<uint32_t>(std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count());
  q.filter_nodes = std::move(params.filter_nodes);
  q.filter_tags = std::move(params.filter_tags);
  q.name = std::move(name);
  q.payload = std::move(payload);
  if (encoded_size(q) + 1 > config_.udp_mtu) return gossip_error(errc::too_large, "query: filters too large");
  queries_.open(q.id, now + timeout);
  on_query(now, q);  // we may match our own filters, as in serf
  return q.id;
}

void Membership::on_query(Instant now, const QueryMessage& q) {
  query_clock_.witness(q.ltime);
  if (query_seen_.record(q.ltime, query_clock_.time(), q.id) != Seen::fresh) return;
  broadcast({}, q);
  auto me = member(self_);
  if (!query_matches(q, self_, me->tags)) return;
  QueryKey key{q.ltime, q.id, q.origin};
  if (q.want_ack) send_response(QueryResponseMessage{q.ltime, q.id, self_, true, {}}, q.origin, q.origin_addr,
                                q.relay_factor);
  Instant deadline = now + std::chrono::milliseconds(q.timeout_ms);
  queries_.answerable(key, QueryTable::Answerable{q.origin_addr, deadline, q.relay_factor});
  ready_.queries.push_back(QueryRequest{std::move(key), q.name, q.payload, deadline});
}

Status Membership::respond(Instant now, const QueryKey& key, std::string payload) {
  if (payload.size() > config_.query_response_size_limit)
    return gossip_error(errc::too_large, "respond: payload over " +
                                             std::to_string(config_.query_response_size_limit) + " bytes");
  auto a = queries_.take_answerable(key, now);
  if (!a) return gossip_error(errc::query_expired, "respond: query unknown, answered or past its deadline");
  send_response(QueryResponseMessage{key.ltime, key.id, self_, false, std::move(payload)}, key.origin,
                a->origin_addr, a->relay_factor);
  return ok_status();
}

// serf relayResponse: straight to the origin, plus `relay_factor` copies
// through random live members, so that one lost datagram does not lose an
// answer. The origin counts each responder once.
void Membership::send_response(const QueryResponseMessage& r, const std::string& origin,
                               const std::string& origin_addr, uint8_t relay_factor) {
  if (origin == self_) return on_query_response(r);
  send(origin_addr, Transport::datagram, r);
  if (relay_factor == 0) return;
  std::string packet = encode_packet(r);
  auto relays = members_.random_members(relay_factor, *rng_, [&](const Member& m) {
    return m.state == MemberState::alive && m.name != self_ && m.name != origin;
  });
  for (Member* relay : relays) send(relay->addr, Transport::datagram, Relay{origin_addr, packet});
}

// We relay only what a relay is for: one query response.
void Membership::on_relay(const Relay& r) {
  WireLimits limits = limits_;
  limits.max_packet = config_.udp_mtu;
  auto inner = decode_packet(r.packet, limits);
  if (!inner.ok() || inner->size() != 1 || !std::holds_alternative<QueryResponseMessage>((*inner)[0])) {
    ++stats_.decode_errors;
    return;
  }
  push_packet(r.to, Transport::datagram, r.packet);
}

void Membership::on_query_response(const QueryResponseMessage& r) {
  if (queries_.record_response(r.id, r.from, r.is_ack))
    ready_.responses.push_back(QueryResponse{r.id, r.from, r.is_ack, r.payload});
}

// SWIM §4.1 plus memberlist's gossip(): besides piggybacking on probes, send
// pending broadcasts to a few random members every gossip interval. Members
// declared dead still hear from us for a while so that they can refute.
void Membership::tick_gossip(Instant now) {
  if (now < next_gossip_) return;
  next_gossip_ = now + config_.gossip_interval;
  if (broadcasts_.empty()) return;
  auto targets = members_.random_members(config_.gossip_nodes, *rng_, [&](const Member& m) {
    if (m.name == self_) return false;
    if (m.live()) return true;
    return m.state == MemberState::dead && now - m.state_change <= config_.gossip_to_the_dead_time;
  });
  for (Member* t : targets) {
    std::string bytes(1, static_cast<char>(kProtocolVersion));
    if (broadcasts_.fill(bytes, config_.udp_mtu - 1, 0, retransmits()) == 0) break;
    push_packet(t->addr, Transport::datagram, std::move(bytes));
  }
}

// Anti-entropy: a full state exchange with one random member, at an interval
// that grows with log2 of the cluster size (memberlist pushPullScale).
void Membership::tick_push_pull(Instant now) {
  if (config_.push_pull_interval <= Duration::zero() || now < next_push_pull_) return;
  next_push_pull_ = now + push_pull_scale(config_.push_pull_interval, members_.size());
  if (join_followups_ > 0) {
    // Each follow-up waits four times longer than the last: early ones catch
    // news missed while joining, later ones what our first peers missed.
    --join_followups_;
    Duration wait = config_.gossip_interval * static_cast<int64_t>(retransmits() + 1) *
                    (int64_t{4} << (2 * (kJoinFollowups - 1 - join_followups_)));
    next_push_pull_ = std::min(next_push_pull_, now + wait);
  }
  if (leaving_) return;
  auto peer = members_.random_members(1, *rng_, [&](const Member& m) {
    return m.name != self_ && m.state == MemberState::alive;
  });
  if (!peer.empty()) send_push_pull(peer.front()->addr, 0);
}

// serf reap(): forget failed members after reconnect_timeout and left ones
// after tombstone_timeout.
void Membership::tick_reap(Instant now) {
  if (now < next_reap_) return;
  next_reap_ = now + config_.reap_interval;
  std::vector<std::string> reaped;
  for (std::size_t i = 0; i < members_.size(); ++i) {
    const Member& m = members_.at(i);
    Duration age = now - m.state_change;
    if ((m.state == MemberState::dead && age > config_.reconnect_timeout) ||
        (m.state == MemberState::left && age > config_.tombstone_timeout))
      reaped.push_back(m.name);
  }
  for (const auto& name : reaped) {
    emit(MemberEvent::Kind::reap, *members_.find(name));
    members_.remove(name);
    latency_.erase(name);
  }
}

// serf reconnect(): now and then try a push-pull with one failed member, so
// that the two sides of a healed partition find each other again. The chance
// is failed/live, as in serf, so a few failures do not cost much.
void Membership::tick_reconnect(Instant now) {
  if (now < next_reconnect_) return;
  next_reconnect_ = now + config_.reconnect_interval;
  if (leaving_) return;
  std::vector<const Member*> failed;
  for (std::size_t i = 0; i < members_.size(); ++i)
    if (members_.at(i).state == MemberState::dead) failed.push_back(&members_.at(i));
  if (failed.empty()) return;
  double live = static_cast<double>(std::max<std::size_t>(members_.live_count(), 1));
  if (rng_->unit() > static_cast<double>(failed.size()) / live) return;
  const Member* m = failed[rng_->uniform(failed.size())];
  send_push_pull(m->addr, 0);
}

}  // namespace cairn::gossip
