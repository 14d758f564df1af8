// Failure detection: SWIM's probe round (Das et al. 2002, §3.1 and §4.3) with
// Lifeguard's local health awareness (Dadgar et al. 2018, §IV-A), plus packet
// assembly and the receive path.
#include "gossip/membership.h"

#include <algorithm>

#include "gossip/errc.h"

namespace cairn::gossip {

Result<Membership> Membership::create(Config config, LocalNode self, std::unique_ptr<Rng> rng, Instant now) {
  CAIRN_RETURN_IF_ERROR(config.validate());
  if (self.name.empty() || self.name.size() > config.max_name_bytes)
    return gossip_error(errc::invalid_config, "name: must be 1.." + std::to_string(config.max_name_bytes) + " bytes");
  if (self.addr.empty() || self.addr.size() > WireLimits{}.max_addr)
    return gossip_error(errc::invalid_config, "addr: must be 1.." + std::to_string(WireLimits{}.max_addr) + " bytes");
  if (encode_tags(self.tags).size() > config.max_tags_bytes)
    return gossip_error(errc::tags_too_large, "tags: over " + std::to_string(config.max_tags_bytes) + " bytes");
  if (!rng) return gossip_error(errc::invalid_config, "rng: must not be null");
  return Membership(std::move(config), std::move(self), std::move(rng), now);
}

Membership::Membership(Config config, LocalNode self, std::unique_ptr<Rng> rng, Instant now)
    : config_(std::move(config)),
      self_(self.name),
      rng_(std::move(rng)),
      broadcasts_(config_.max_queued_broadcasts),
      awareness_(config_.awareness_max_multiplier),
      event_seen_(config_.event_buffer),
      query_seen_(config_.query_buffer) {
  limits_.max_packet = config_.max_stream_bytes;
  limits_.max_name = config_.max_name_bytes;
  limits_.max_tags = config_.max_tags_bytes;
  limits_.max_payload = std::max({config_.user_event_size_limit, config_.query_size_limit,
                                  config_.query_response_size_limit});
  Member me;
  me.name = std::move(self.name);
  me.addr = std::move(self.addr);
  me.tags = members_.intern_tags(encode_tags(self.tags));
  me.incarnation = 1;
  me.state_change = now;
  members_.add(std::move(me), *rng_);
  last_tick_ = now;
  // Stagger the periodic work so that members started together do not probe
  // and exchange state in lock-step (memberlist's random initial stagger).
  auto stagger = [&](Duration d) { return now + Duration(rng_->uniform(static_cast<uint64_t>(d.count()) + 1)); };
  next_probe_ = stagger(config_.probe_interval);
  next_gossip_ = stagger(config_.gossip_interval);
  next_push_pull_ = stagger(config_.push_pull_interval);
  next_reap_ = now + config_.reap_interval;
  next_reconnect_ = stagger(config_.reconnect_interval);
  next_seq_ = static_cast<uint32_t>(rng_->next_u64());
}

void Membership::tick(Instant now) {
  bool stalled = now - last_tick_ > config_.stall_threshold;
  last_tick_ = now;
  if (stalled) after_stall(now);
  tick_probe(now);
  tick_forwards(now);
  tick_suspicions(now);
  tick_gossip(now);
  tick_push_pull(now);
  tick_reap(now);
  tick_reconnect(now);
  for (uint32_t id : queries_.expire_open(now)) ready_.finished_queries.push_back(id);
  queries_.expire_pending(now);
}

// Lifeguard §IV-A: a member that was itself not running (CPU starvation, a
// paused VM) must not blame others for the acks it did not read. Abandon the
// in-flight probe without suspecting, count the stall against our own health,
// and give every suspicion a probe interval of grace so that refutations
// queued while we were stalled are read before anyone is declared dead.
void Membership::after_stall(Instant now) {
  ++stats_.stalls;
  awareness_.apply_delta(1);
  probe_.active = false;
  forwards_.clear();  // our nacks would be about our own slowness
  for (auto& [name, s] : suspicions_) s.extend_to(now + awareness_.scale(config_.probe_interval));
  next_probe_ = std::min(next_probe_, now + config_.probe_interval);
}

Status Membership::receive(Instant now, std::string_view from, Transport transport, std::string_view bytes) {
  ++stats_.packets_received;
  stats_.bytes_received += bytes.size();
  WireLimits limits = limits_;
  if (transport == Transport::datagram) limits.max_packet = 65535;
  auto msgs = decode_packet(bytes, limits);
  if (!msgs.ok()) {
    ++stats_.decode_errors;
    return msgs.error();
  }
  for (Message& m : *msgs) handle(now, from, transport, m);
  return ok_status();
}

void Membership::handle(Instant now, std::string_view from, Transport transport, Message& m) {
  if (auto* p = std::get_if<Ping>(&m)) return on_ping(from, transport, *p);
  if (auto* p = std::get_if<PingReq>(&m)) return on_ping_req(now, from, *p);
  if (auto* p = std::get_if<Ack>(&m)) return on_ack(now, *p);
  if (auto* p = std::get_if<Nack>(&m)) {
    if (probe_.active && p->seq == probe_.seq) {
      ++probe_.nacks;
      ++stats_.nacks_received;
    }
    return;
  }
  if (auto* p = std::get_if<Alive>(&m)) return on_alive(now, *p);
  if (auto* p = std::get_if<Suspect>(&m)) return on_suspect(now, *p);
  if (auto* p = std::get_if<Dead>(&m)) return on_dead(now, *p);
  if (auto* p = std::get_if<PushPull>(&m)) return on_push_pull(now, *p);
  if (auto* p = std::get_if<UserEventMessage>(&m)) {
    on_user_event(*p);
    return;
  }
  if (auto* p = std::get_if<QueryMessage>(&m)) return on_query(now, *p);
  if (auto* p = std::get_if<QueryResponseMessage>(&m)) return on_query_response(*p);
  if (auto* p = std::get_if<Relay>(&m)) return on_relay(*p);
}

void Membership::on_ping(std::string_view from, Transport transport, const Ping& p) {
  // A ping meant for a previous owner of our address is not ours to answer:
  // answering would vouch for a member that may be dead.
  if (!p.target.empty() && p.target != self_) return;
  Ack ack{p.seq, true, vivaldi_.coordinate()};
  send(p.source_addr.empty() ? from : std::string_view(p.source_addr), transport, ack);
}

void Membership::on_ping_req(Instant now, std::string_view from, const PingReq& p) {
  uint32_t seq = next_seq_++;
  std::string origin = p.source_addr.empty() ? std::string(from) : p.source_addr;
  // Lifeguard §IV-A: the nack must reach the origin before its probe ends,
  // so it fires a little before our own probe timeout.
  forwards_[seq] = Forward{std::move(origin), p.seq, now + config_.probe_timeout * 4 / 5, p.want_nack};
  const Member& me = self_member();
  send(p.target_addr, Transport::datagram, Ping{seq, p.target, self_, me.addr});
}

void Membership::on_ack(Instant now, const Ack& a) {
  if (probe_.active && a.seq == probe_.seq) {
    Member* m = members_.find(probe_.target);
    // Only direct acks measure the RTT to the target: an indirect or stream
    // ack includes other hops (serf updates coordinates from pings only).
    if (m && a.has_coordinate && !probe_.indirect_sent) {
      PeerLatency& peer = latency_[m->name];
      vivaldi_.update(peer.rtt, a.coordinate, now - probe_.sent, *rng_);
      peer.coordinate = a.coordinate;
    }
    probe_.active = false;
    awareness_.apply_delta(-1);
    return;
  }
  if (final_checks_.count(a.seq)) return on_final_check_ack(now, a.seq);
  auto it = forwards_.find(a.seq);
  if (it == forwards_.end()) return;  // late or unknown: harmless
  Ack relay = a;
  relay.seq = it->second.origin_seq;
  std::string to = std::move(it->second.origin_addr);
  forwards_.erase(it);
  send(to, Transport::datagram, relay);
}

void Membership::tick_forwards(Instant now) {
  for (auto it = forwards_.begin(); it != forwards_.end();) {
    if (it->second.nack_deadline > now) {
      ++it;
      continue;
    }
    if (it->second.want_nack) send(it->second.origin_addr, Transport::datagram, Nack{it->second.origin_seq});
    it = forwards_.erase(it);
  }
}

void Membership::tick_probe(Instant now) {
  if (probe_.active) {
    if (!probe_.indirect_sent && now >= probe_.direct_deadline) probe_missed_direct_ack();
    if (now >= probe_.end_deadline) probe_failed(now);
  }
  if (!probe_.active && !leaving_ && now >= next_probe_) {
    // Lifeguard §IV-A: an unhealthy member probes less often.
    next_probe_ = now + awareness_.scale(config_.probe_interval);
    start_probe(now);
  }
}

void Membership::start_probe(Instant now) {
  Member* target = members_.next_probe_target(self_, *rng_);
  if (!target) return;
  ++stats_.probes;
  probe_ = Probe{};
  probe_.active = true;
  probe_.seq = next_seq_++;
  probe_.target = target->name;
  probe_.sent = now;
  probe_.direct_deadline = now + awareness_.scale(config_.probe_timeout);
  probe_.end_deadline = now + awareness_.scale(config_.probe_interval);
  Ping ping{probe_.seq, target->name, self_, self_member().addr};
  // Lifeguard §IV-C, the buddy system: a suspect learns it is suspected from
  // the member probing it, in the same packet, so it can refute at once.
  if (target->state == MemberState::suspect) {
    Message accusation = Suspect{target->incarnation, target->name, self_};
    send(target->addr, Transport::datagram, ping, &accusation);
  } else {
    send(target->addr, Transport::datagram, ping);
  }
}

// SWIM §3.1: no direct ack within the timeout; ask k others to ping it, with
// Lifeguard's nack request, and (memberlist) try the stream transport too.
void Membership::probe_missed_direct_ack() {
  probe_.indirect_sent = true;
  Member* target = members_.find(probe_.target);
  if (!target) {
    probe_.active = false;
    return;
  }
  std::string target_name = target->name, target_addr = target->addr;
  auto relays = members_.random_members(config_.indirect_checks, *rng_, [&](const Member& m) {
    return m.state == MemberState::alive && m.name != self_ && m.name != target_name;
  });
  const std::string self_addr = self_member().addr;
  for (Member* relay : relays) {
    ++stats_.indirect_probes;
    send(relay->addr, Transport::datagram, PingReq{probe_.seq, target_name, target_addr, true, self_, self_addr});
  }
  probe_.expected_nacks = static_cast<uint32_t>(relays.size());
  if (config_.stream_fallback_probe)
    send(target_addr, Transport::stream, Ping{probe_.seq, target_name, self_, self_addr});
}

void Membership::probe_failed(Instant now) {
  probe_.active = false;
  ++stats_.probe_failures;
  // Lifeguard §IV-A: relays that answered with nacks are alive and reachable,
  // so a missing nack hints that *our* network or CPU is the problem. With no
  // relays to judge by, any failed probe counts against us.
  if (probe_.expected_nacks > 0) {
    if (probe_.nacks < probe_.expected_nacks)
      awareness_.apply_delta(static_cast<int>(probe_.expected_nacks - probe_.nacks));
  } else {
    awareness_.apply_delta(1);
  }
  Member* m = members_.find(probe_.target);
  if (m && m->live()) on_suspect(now, Suspect{m->incarnation, m->name, self_});
}

void Membership::send(std::string_view to, Transport transport, const Message& primary, const Message* extra) {
  std::string bytes(1, static_cast<char>(kProtocolVersion));
  encode_message(primary, bytes);
  if (extra) encode_message(*extra, bytes);
  if (transport == Transport::datagram && bytes.size() < config_.udp_mtu)
    broadcasts_.fill(bytes, config_.udp_mtu - bytes.size(), 0, retransmits());
  push_packet(to, transport, std::move(bytes));
}

void Membership::push_packet(std::string_view to, Transport transport, std::string bytes) {
  ++stats_.packets_sent;
  stats_.bytes_sent += bytes.size();
  ready_.packets.push_back(Packet{std::string(to), transport, std::move(bytes)});
}

uint32_t Membership::retransmits() const { return retransmit_limit(config_.retransmit_mult, members_.size()); }

}  // namespace cairn::gossip
