// The Raft protocol as a pure state machine (Ongaro & Ousterhout 2014, "the
// paper"; Ongaro 2014, "the thesis"), in the shape of etcd's raft.go.
//
// Input arrives as step(message) and tick(); output accumulates as messages
// and read states that Node hands out in a Ready. The log's unstable suffix
// and the hard state are what the driver must persist. Nothing here touches
// a clock, a socket or a thread.
//
// Membership follows thesis §4.1: a server uses the latest configuration in
// its log, committed or not, so every append and truncation may switch it.
//
// Thread affinity: owned by one strand (or one test); not thread-safe.
#pragma once

#include <vector>

#include "core/rng.h"
#include "raft/config.h"
#include "raft/log.h"
#include "raft/message.h"
#include "raft/progress.h"
#include "raft/read_only.h"

namespace cairn::raft {

class Raft {
 public:
  // `storage` and `rng` must outlive the Raft; `cfg` must have passed validate().
  Raft(const Config& cfg, LogStorage* storage, Rng* rng);

  void tick();
  // Messages from peers, and local ones (hup, beat, prop, read_index, …).
  // A dropped proposal returns errc::proposal_dropped or the reason it was refused.
  Status step(Message m);

  NodeId id() const { return id_; }
  Term term() const { return term_; }
  NodeId vote() const { return vote_; }
  NodeId leader() const { return lead_; }
  StateType state() const { return state_; }
  NodeId lead_transferee() const { return lead_transferee_; }
  HardState hard_state() const { return {term_, vote_, log_.committed()}; }
  SoftState soft_state() const { return {lead_, state_}; }
  const Config& config() const { return cfg_; }
  const RaftLog& log() const { return log_; }
  RaftLog& log() { return log_; }
  const ProgressTracker& tracker() const { return trk_; }
  int election_elapsed() const { return election_elapsed_; }
  int randomized_election_timeout() const { return randomized_election_timeout_; }
  size_t pending_read_requests() const { return read_only_.pending() + pending_read_index_msgs_.size(); }

  // Sends the appends that proposals since the last call made necessary, so
  // that a burst of proposals goes out as one append per follower (batching).
  // Node::ready() calls it.
  void flush_appends();

  // Whether this node may campaign: a voter without a snapshot to install.
  bool promotable() const;

  // The configurations found in the log (thesis §4.1), oldest first. The
  // first is the base: the snapshot's (or bootstrap) configuration.
  struct ConfigAt {
    Index index = 0;
    ConfState conf;
  };
  const std::vector<ConfigAt>& config_history() const { return configs_; }
  // The configuration in effect once entry `i` is in the log.
  const ConfState& conf_state_at(Index i) const;
  // Log compaction up to `i`: earlier configurations are no longer needed.
  void compact_config_history(Index i);

  // Thesis §10.2.1: the leader writes its log in parallel with replicating
  // it, so its own copy counts toward the commit quorum only once durable.
  // Node::advance reports what the driver persisted.
  void self_persisted();

  std::vector<Message>& messages() { return msgs_; }
  std::vector<ReadState>& read_states() { return read_states_; }
  const std::vector<Message>& messages() const { return msgs_; }
  const std::vector<ReadState>& read_states() const { return read_states_; }

 private:
  enum class CampaignKind { pre_election, election, transfer };

  void tick_election();
  void tick_heartbeat();
  bool past_election_timeout() const { return election_elapsed_ >= randomized_election_timeout_; }
  // Thesis §4.2.3: whether to ignore a vote request because a leader may
  // still hold a lease on our vote.
  bool in_lease() const;
  // Thesis §6.4.1: whether this leader's lease is valid now.
  bool lease_valid() const;
  void reset_randomized_election_timeout();

  void reset(Term term);
  void become_follower(Term term, NodeId lead);
  void become_pre_candidate();
  void become_candidate();
  void become_leader();
  void hup(CampaignKind kind);
  void campaign(CampaignKind kind);
  Status step_leader(Message& m);
  Status step_candidate(Message& m);
  Status step_follower(Message& m);
  void handle_vote_request(const Message& m);

  void handle_leader_message(const Message& m);
  void handle_append_entries(const Message& m);
  void handle_heartbeat(const Message& m);
  void handle_snapshot(const Message& m);
  bool restore(const Snapshot& s);

  void send(Message m);
  bool maybe_send_append(NodeId to, bool send_if_empty);
  void send_append(NodeId to) { maybe_send_append(to, true); }
  void bcast_append();
  void bcast_heartbeat();
  void send_heartbeat(NodeId to, const std::string& context);
  void send_timeout_now(NodeId to);
  void abort_leader_transfer() { lead_transferee_ = kNoNode; }

  Status handle_proposal(Message& m);
  Status check_conf_change(const Entry& e) const;
  void append_entry(std::vector<Entry> ents);
  bool maybe_commit();
  void on_leader_commit();
  bool committed_entry_in_current_term() const;
  void handle_read_index(const Message& m);
  void respond_read_index(const Message& req, Index index);

  // Thesis §4.1: after entries from `first` were written to the log, drop the
  // configurations they replaced and adopt any they carry.
  void on_entries_written(Index first, const std::vector<Entry>& ents);
  void scan_for_config(const std::vector<Entry>& ents);
  void switch_config();

  Config cfg_;
  NodeId id_;
  Term term_ = 0;
  NodeId vote_ = kNoNode;
  NodeId lead_ = kNoNode;
  StateType state_ = StateType::follower;
  RaftLog log_;
  ProgressTracker trk_;
  Rng* rng_;
  std::vector<ConfigAt> configs_;
  NodeId lead_transferee_ = kNoNode;
  uint64_t ticks_ = 0;  // ticks since this node started: the lease clock
  // This leader sent TimeoutNow in its term: the transferee may win a
  // forced election at any time, so the lease can no longer be trusted.
  bool sent_timeout_now_ = false;
  int election_elapsed_ = 0;
  int heartbeat_elapsed_ = 0;
  int randomized_election_timeout_ = 0;
  ReadOnly read_only_;
  // ReadIndex requests that arrived before this leader committed an entry of
  // its term (thesis §6.4 step 1); answered once it has.
  std::vector<Message> pending_read_index_msgs_;
  std::vector<Message> msgs_;
  std::vector<ReadState> read_states_;
  bool append_pending_ = false;  // proposals appended but not yet broadcast
};

}  // namespace cairn::raft
