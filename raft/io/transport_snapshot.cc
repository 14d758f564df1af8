// Receiving snapshot chunks into a part file, resuming one a restarted
// receiver kept, and handing the finished file over (raft/io/README.md).
#include "raft/io/transport_impl.h"

namespace cairn::raft {

TcpTransport::Impl::ChunkOutcome TcpTransport::Impl::receive_chunk(std::string_view body) {
  auto bad = [](const std::string& why) { return ChunkOutcome{Error(cairn::errc::invalid_argument, why), {}, {}}; };
  const MessageLimits& lim = options.limits;
  ByteReader r(body);
  NodeId from = r.varint();
  NodeId to = r.varint();
  Index index = r.varint();
  Term term = r.varint();
  uint64_t total = r.varint();
  uint64_t offset = r.varint();
  uint64_t checksum = r.u64();
  std::string_view header = r.bytes(lim.max_message_bytes);
  std::string_view data = r.bytes(lim.max_message_bytes);
  if (!r.ok() || !r.at_end()) return bad("chunk does not decode");
  // An empty snapshot (a new member's bootstrap configuration) has no image
  // to keep: it is delivered as it is, never as a reference to an empty file.
  const bool to_file = !options.snapshot_dir.empty() && total > 0;
  if (to != options.id) return bad("chunk addressed to node " + std::to_string(to));
  if (from == kNoNode || index == 0) return bad("chunk without a sender or snapshot index");
  uint64_t limit = to_file ? options.max_snapshot_file_bytes : lim.max_snapshot_bytes;
  if (total > limit) return bad("snapshot of " + std::to_string(total) + " bytes over the limit");
  if (offset > total || data.size() > total - offset) return bad("chunk past the snapshot's end");

  std::unique_lock lock(mu);
  Partial& current = partial[from];
  if (current.index != index || current.term != term || current.total != total || current.checksum != checksum) {
    if (offset != 0) {
      // A resend that resumes a transfer we no longer hold: say so, and the
      // sender's next resend starts over.
      if (current.index == 0) partial.erase(from);
      return ChunkOutcome{{}, encode_ack(index, term, 0), {}};
    }
    forget_partial(from);
    Partial& fresh = partial[from];
    fresh = Partial{index, term, total, checksum, 0, {}, {}, {}, {}};
    if (to_file) {
      auto w = SnapshotWriter::create(snapshot_file_path(options.snapshot_dir, index, term), part_path(from));
      if (!w.ok()) {
        partial.erase(from);
        return ChunkOutcome{w.error(), {}, {}};
      }
      fresh.file.emplace(std::move(w).value());
      fresh.meta = meta_path(from);
    }
  }
  Partial& pt = partial[from];
  // Overlap with what we hold is skipped; a gap is ignored (acknowledged with what we hold).
  if (offset <= pt.held && offset + data.size() > pt.held) {
    std::string_view piece = data.substr(pt.held - offset);
    if (pt.file) {
      if (Status st = pt.file->write(piece); !st.ok()) {
        forget_partial(from);
        return ChunkOutcome{st.error(), {}, {}};
      }
    } else {
      pt.data.append(piece);
      hold_locked(piece.size());
    }
    pt.sum.update(piece);
    pt.held += piece.size();
    if (!pt.meta.empty() && pt.held < total) {
      // Not fsynced: a restarted receiver checks the part file against it.
      Status st = write_partial_meta(pt.meta, {index, term, total, checksum, pt.held, pt.sum.value()});
      if (!st.ok()) log::debug("raft", "transport: {} (the transfer cannot resume after a restart)", st.error().message());
    }
  }
  ChunkOutcome out{{}, encode_ack(index, term, pt.held), {}};
  if (pt.held < total) return out;
  Partial whole = std::move(pt);
  partial.erase(from);
  if (!whole.meta.empty()) ::unlink(whole.meta.c_str());
  release_locked(whole.data.size());  // from here it is the message's (the driver's)
  if (whole.sum.value() != checksum) {
    ++counters.snapshot_checksum_failures;
    return bad("snapshot checksum does not match (" + std::to_string(total) + " bytes); discarded");
  }
  lock.unlock();
  auto m = decode(header, lim);
  if (!m.ok()) return bad("snapshot header: " + m.error().message());
  if (m->type != MessageType::snap || !m->snapshot || m->from != from || m->to != to ||
      m->snapshot->metadata.index != index || m->snapshot->metadata.term != term || !m->snapshot->data.empty()) {
    return bad("snapshot header does not match its chunks");
  }
  if (whole.file) {
    // Durable (fsynced, renamed into place) before the driver learns of it;
    // the fsyncs run where handlers.run_blocking says (the driver's persist
    // thread), not on this io thread: the read loop hands `finish` on.
    out.finish = std::make_shared<SnapshotWriter>(std::move(*whole.file));
    out.whole = std::move(m).value();
    return out;
  } else {
    m->snapshot->data = std::move(whole.data);
  }
  out.whole = std::move(m).value();
  return out;
}

void TcpTransport::Impl::deliver_file(Message m, std::shared_ptr<SnapshotWriter> file) {
  auto finish = [self = shared_from_this(), m = std::move(m), file = std::move(file)]() mutable {
    auto ref = file->finish();
    if (!ref.ok()) {
      log::warn("raft", "transport: a received snapshot from node {} could not be kept: {}", m.from, ref.error().message());
      return;
    }
    m.snapshot->data = encode_snapshot_ref(*ref);
    self->bump(&TransportCounters::snapshots_received);
    self->bump(&TransportCounters::frames_received);
    if (self->handlers.on_message) self->handlers.on_message(std::move(m));
  };
  if (handlers.run_blocking) {
    handlers.run_blocking(std::move(finish));
  } else {
    finish();
  }
}

// Part files left by a previous process (a restart mid-transfer): each is
// kept when its record says which snapshot it is and its bytes still sum to
// the record; otherwise it is removed and that sender's next transfer starts over.
void TcpTransport::Impl::keep_partial_snapshots() {
  if (options.snapshot_dir.empty()) return;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(options.snapshot_dir, ec)) {
    std::string name = e.path().filename().string();
    unsigned long long from = 0;
    char tail[8] = {};
    if (std::sscanf(name.c_str(), "receiving-from-%llu%7s", &from, tail) != 2 || std::string_view(tail) != ".meta" ||
        from == kNoNode)
      continue;
    auto meta = read_partial_meta(meta_path(from));
    Result<SnapshotWriter> w = Error(cairn::errc::invalid_argument, "no record of the part file");
    if (meta) {
      w = SnapshotWriter::resume(snapshot_file_path(options.snapshot_dir, meta->index, meta->term), part_path(from),
                                 meta->held, meta->held_checksum);
    }
    if (!w.ok()) {
      log::info("raft", "transport: the partial snapshot from node {} is not resumable ({}); it starts over", from,
                w.error().message());
      std::filesystem::remove(part_path(from), ec);
      std::filesystem::remove(meta_path(from), ec);
      continue;
    }
    std::lock_guard lock(mu);
    Partial& pt = partial[from];
    pt = Partial{meta->index, meta->term, meta->total, meta->checksum, meta->held, Fnv1a64(meta->held_checksum), {}, {}, meta_path(from)};
    pt.file.emplace(std::move(w).value());
    counters.snapshot_bytes_kept += meta->held;
    log::info("raft", "transport: resuming the snapshot at {} (term {}) from node {}: {} of {} bytes kept", meta->index,
              meta->term, from, meta->held, meta->total);
  }
}

}  // namespace cairn::raft
