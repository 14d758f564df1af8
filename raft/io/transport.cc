#include "raft/io/transport_impl.h"

#include <unistd.h>

namespace cairn::raft {

Result<HostPort> parse_host_port(std::string_view text) {
  auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == text.size())
    return Error(cairn::errc::invalid_argument, "address \"" + std::string(text) + "\" is not ip:port");
  std::string ip(text.substr(0, colon));
  if (ip.front() == '[' && ip.back() == ']') ip = ip.substr(1, ip.size() - 2);
  std::string_view p = text.substr(colon + 1);
  if (p.size() > 5 || p.find_first_not_of("0123456789") != std::string_view::npos || std::stoul(std::string(p)) > 65535)
    return Error(cairn::errc::invalid_argument, "address \"" + std::string(text) + "\": invalid port");
  boost::system::error_code ec;
  asio::ip::make_address(ip, ec);
  if (ec) return Error(cairn::errc::invalid_argument, "address \"" + std::string(text) + "\": an IP address is needed");
  return HostPort{ip, static_cast<uint16_t>(std::stoul(std::string(p)))};
}

std::string encode_frame(const Message& m) {
  std::string body = encode(m);
  std::string frame(4, '\0');
  uint32_t n = static_cast<uint32_t>(body.size());
  for (int i = 0; i < 4; ++i) frame[i] = static_cast<char>(n >> (24 - 8 * i));
  frame += body;
  return frame;
}

std::string encode_chunk_frame(const Message& snap, uint64_t total, uint64_t checksum, uint64_t offset,
                               std::string_view chunk) {
  const Snapshot& s = *snap.snapshot;
  Message header = snap;
  header.snapshot = Snapshot{s.metadata, {}};
  std::string frame(4, '\0');
  ByteWriter w(&frame);
  w.varint(snap.from);
  w.varint(snap.to);
  w.varint(s.metadata.index);
  w.varint(s.metadata.term);
  w.varint(total);
  w.varint(offset);
  w.u64(checksum);
  w.bytes(encode(header));
  w.bytes(chunk);
  uint32_t n = static_cast<uint32_t>(frame.size() - 4) | kChunkFrameBit;
  for (int i = 0; i < 4; ++i) frame[i] = static_cast<char>(n >> (24 - 8 * i));
  return frame;
}

std::string encode_chunk_frame(const Message& snap, uint64_t offset, uint64_t len) {
  const std::string& data = snap.snapshot->data;
  Fnv1a64 sum;
  sum.update(data);
  return encode_chunk_frame(snap, data.size(), sum.value(), offset, std::string_view(data).substr(offset, len));
}

Result<std::shared_ptr<TcpTransport>> TcpTransport::create(asio::io_context& io, TcpTransportOptions options) {
  if (options.id == kNoNode) return Error(cairn::errc::invalid_argument, "transport: id must not be 0");
  auto impl = std::make_shared<Impl>(io, std::move(options));
  auto& o = impl->options;
  for (auto& [id, addr] : o.peers) {
    if (id == o.id) continue;
    auto hp = parse_host_port(addr);
    if (!hp.ok()) return Error(cairn::errc::invalid_argument, "peer " + std::to_string(id) + ": " + hp.error().message());
    impl->peers.emplace(id, std::make_unique<Impl::Peer>(io, id, tcp::endpoint(asio::ip::make_address(hp->ip), hp->port)));
  }
  if (!o.listen_enabled) {
    impl->keep_partial_snapshots();
    return std::shared_ptr<TcpTransport>(new TcpTransport(impl));
  }
  auto listen = parse_host_port(o.listen);
  if (!listen.ok()) return Error(cairn::errc::invalid_argument, "listen: " + listen.error().message());
  tcp::endpoint ep(asio::ip::make_address(listen->ip), listen->port);
  boost::system::error_code ec;
  impl->acceptor.open(ep.protocol(), ec);
  if (!ec) impl->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) impl->acceptor.bind(ep, ec);
  if (!ec) impl->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return Error(cairn::errc::io_error, "raft transport: cannot listen on " + o.listen + ": " + ec.message());
  impl->port = impl->acceptor.local_endpoint().port();
  impl->keep_partial_snapshots();
  return std::shared_ptr<TcpTransport>(new TcpTransport(impl));
}

TcpTransport::~TcpTransport() { stop(); }

void TcpTransport::start(TransportHandlers handlers) {
  impl_->handlers = std::move(handlers);
  if (impl_->options.listen_enabled) asio::co_spawn(impl_->acceptor_strand, impl_->accept_loop(), asio::detached);
  for (auto& [id, peer] : impl_->peers) asio::co_spawn(peer->strand, impl_->peer_loop(*peer), asio::detached);
}

uint16_t TcpTransport::port() const { return impl_->port; }

TransportCounters TcpTransport::counters() const {
  std::lock_guard lock(impl_->mu);
  return impl_->counters;
}

void TcpTransport::stop() {
  if (impl_->stopped.exchange(true)) return;
  asio::post(impl_->acceptor_strand, [impl = impl_] {
    boost::system::error_code ec;
    impl->acceptor.close(ec);
  });
  for (auto& [id, peer] : impl_->peers) {
    asio::post(peer->strand, [impl = impl_, p = peer.get()] {
      boost::system::error_code ec;
      p->wake.notify();
      p->deadline.cancel();
      if (p->writing) p->writing->stop();
      if (p->socket) p->socket->close(ec);
      p->queue.clear();
      p->queued_bytes = 0;
    });
  }
  std::lock_guard lock(impl_->mu);
  for (auto& s : impl_->inbound) {
    asio::post(s->get_executor(), [s] {
      boost::system::error_code ec;
      s->close(ec);
    });
  }
}

void TcpTransport::send(std::vector<Message> messages) {
  if (impl_->stopped) return;
  // Encode on the caller's thread, then one post per peer.
  std::map<NodeId, std::vector<Frame>> by_peer;
  for (auto& m : messages) {
    if (!impl_->peers.contains(m.to)) {
      log::debug("raft", "transport: no address for node {}; message dropped", m.to);
      continue;
    }
    if (m.type == MessageType::snap && m.snapshot) {
      // Cut on the peer's strand, which knows where a resend resumes.
      by_peer[m.to].push_back(Frame{m.to, true, {}, std::make_shared<Message>(std::move(m)), nullptr});
      continue;
    }
    by_peer[m.to].push_back(Frame{m.to, m.type == MessageType::snap, encode_frame(m), nullptr, nullptr});
  }
  for (auto& [to, frames] : by_peer) {
    Impl::Peer& p = *impl_->peers.at(to);
    // defer: from an io thread (the driver's strand) the peer's strand runs
    // next on the same thread instead of waking another one.
    asio::defer(p.strand, [impl = impl_, &p, frames = std::move(frames)]() mutable { impl->enqueue(p, std::move(frames)); });
  }
}

// ---- outbound ----

void TcpTransport::Impl::drop(Peer& p, std::deque<Frame>& frames, uint64_t TransportCounters::*why) {
  if (frames.empty()) return;
  bump(why, frames.size());
  for (auto& f : frames) {
    if (f.snapshot && handlers.on_snapshot_status) handlers.on_snapshot_status(p.id, false);
  }
  frames.clear();
  if (handlers.on_unreachable) handlers.on_unreachable(p.id);
}

void TcpTransport::Impl::enqueue(Peer& p, std::vector<Frame> frames) {
  if (stopped) return;
  std::deque<Frame> dropped;
  uint64_t TransportCounters::*why = &TransportCounters::dropped_peer_down;
  for (auto& f : frames) {
    if (p.state == Peer::State::down) {
      dropped.push_back(std::move(f));
      continue;
    }
    if (f.snap) {
      // A snapshot takes one queue slot; its chunks are cut as the writer goes.
      auto out = start_snapshot(p, std::move(f.snap));
      if (!out.ok()) {
        log::warn("raft", "transport: snapshot for node {} not sent: {}", p.id, out.error().message());
        if (handlers.on_snapshot_status) handlers.on_snapshot_status(p.id, false);
        continue;
      }
      f.stream = std::move(out).value();
    }
    if (p.queue.size() + 1 > options.max_queue_messages || p.queued_bytes + f.bytes.size() > options.max_queue_bytes) {
      why = &TransportCounters::dropped_queue_full;
      dropped.push_back(std::move(f));
      continue;
    }
    p.queued_bytes += f.bytes.size();
    p.queue.push_back(std::move(f));
  }
  drop(p, dropped, why);
  if (!p.queue.empty() && p.writer_parked) p.wake.notify();
}

Result<std::shared_ptr<OutSnapshot>> TcpTransport::Impl::start_snapshot(Peer& p, std::shared_ptr<Message> snap) {
  auto out = std::make_shared<OutSnapshot>();
  const Snapshot& s = *snap->snapshot;
  if (auto ref = decode_snapshot_ref(s.data)) {
    CAIRN_TRY(SnapshotReader file, SnapshotReader::open(ref->path));
    if (file.file_size() != ref->size)
      return Error(cairn::errc::internal, "snapshot file " + ref->path + " is not " + std::to_string(ref->size) + " bytes");
    out->file.emplace(std::move(file));
    out->total = ref->size;
    out->checksum = ref->checksum;
  } else {
    Fnv1a64 sum;
    sum.update(s.data);
    out->total = s.data.size();
    out->checksum = sum.value();
  }
  const Peer::SnapshotHeld& held = p.snapshot_held;
  if (held.index == s.metadata.index && held.term == s.metadata.term && held.bytes < out->total) {
    out->next = held.bytes;  // the peer kept this much of the same snapshot (§7 resend)
    bump(&TransportCounters::snapshot_bytes_resumed, out->next);
  }
  out->snap = std::move(snap);
  return out;
}

// The next chunk frame of a transfer (counted as buffered until written).
Result<Frame> TcpTransport::Impl::next_chunk(Peer& p, OutSnapshot& out) {
  uint64_t len = std::min(std::max<uint64_t>(1, options.snapshot_chunk_bytes), out.total - out.next);
  std::string frame;
  if (out.file) {
    CAIRN_TRY(std::string chunk, out.file->read_at(out.next, len));
    if (chunk.size() != len) return Error(cairn::errc::io_error, "snapshot file ended early");
    frame = encode_chunk_frame(*out.snap, out.total, out.checksum, out.next, chunk);
  } else {
    frame = encode_chunk_frame(*out.snap, out.total, out.checksum, out.next,
                               std::string_view(out.snap->snapshot->data).substr(out.next, len));
  }
  out.next += len;
  hold(frame.size());
  Frame f{p.id, out.next >= out.total, std::move(frame), nullptr, nullptr};
  f.chunk = true;
  return f;
}

// What the writer sends next: every queued message, and the next chunk of the
// first snapshot in the queue (messages overtake a transfer between chunks).
std::deque<Frame> TcpTransport::Impl::take_batch(Peer& p) {
  std::deque<Frame> batch;
  bool chunk_taken = false;
  for (auto it = p.queue.begin(); it != p.queue.end();) {
    if (!it->stream) {
      batch.push_back(std::move(*it));
      it = p.queue.erase(it);
      continue;
    }
    if (chunk_taken) {
      ++it;
      continue;
    }
    chunk_taken = true;
    auto chunk = next_chunk(p, *it->stream);
    if (!chunk.ok()) {
      log::warn("raft", "transport: snapshot for node {} abandoned: {}", p.id, chunk.error().message());
      if (handlers.on_snapshot_status) handlers.on_snapshot_status(p.id, false);
      it = p.queue.erase(it);
      continue;
    }
    bool last = chunk->snapshot;
    batch.push_back(std::move(chunk).value());
    it = last ? p.queue.erase(it) : std::next(it);
  }
  p.queued_bytes = 0;  // only transfers remain, and they count no bytes
  return batch;
}

asio::awaitable<void> TcpTransport::Impl::peer_loop(Peer& p) {
  auto self = shared_from_this();
  Duration backoff = options.backoff_initial;
  // Parks until frames are queued (or, connected, until idle_close passes:
  // p.writing expires while parked); true when frames are there.
  auto park = [&]() -> asio::awaitable<bool> {
    p.writer_parked = true;
    co_await p.wake.wait();
    p.writer_parked = false;
    co_return !p.queue.empty();
  };
  while (!stopped) {
    p.state = Peer::State::idle;
    if (p.queue.empty() && !co_await park()) continue;
    if (stopped) break;

    p.state = Peer::State::connecting;
    p.socket = std::make_shared<Stream>(p.strand);
    arm(p.deadline, p.socket, options.connect_timeout);
    boost::system::error_code bind_ec;  // on failure the kernel picks the source
    cairn::io::bind_source(p.socket->socket(), options.source_ip, p.ep, bind_ec);
    auto [cerr] = co_await p.socket->socket().async_connect(p.ep, kTuple);
    p.deadline.cancel();
    bool tls_failed = false;
    if (!cerr && p.socket->is_open() && !stopped && options.tls && options.tls->dial_tls()) {
      cerr = co_await start_tls(p);
      tls_failed = static_cast<bool>(cerr);
    }
    if (cerr || !p.socket->is_open()) {
      if (stopped) break;
      bump(&TransportCounters::connect_failures);
      if (tls_failed) {
        bump(&TransportCounters::tls_handshake_failures);
        std::string verify = p.socket->verify_error();
        // At warn once until a connection succeeds again; retries every backoff_max would flood the log.
        if (!p.tls_warned) {
          log::warn("raft", "transport: TLS handshake with node {} at {} failed: {}", p.id,
                    p.ep.address().to_string(), verify.empty() ? cerr.message() : verify);
        }
        p.tls_warned = true;
      }
      log::debug("raft", "transport: connect to node {} at {} failed: {}", p.id, p.ep.address().to_string(), cerr.message());
      p.state = Peer::State::down;
      p.queued_bytes = 0;
      drop(p, p.queue, &TransportCounters::dropped_peer_down);
      // Exponential backoff, capped; messages meanwhile are dropped (see header).
      asio::steady_timer pause(p.strand, backoff);
      co_await pause.async_wait(kTuple);
      backoff = std::min(backoff * 2, options.backoff_max);
      continue;
    }
    bump(&TransportCounters::connects);
    boost::system::error_code ec;
    p.socket->socket().set_option(tcp::no_delay(true), ec);
    p.state = Peer::State::up;
    p.tls_warned = false;
    p.broken = false;
    p.protocol_byte_due = options.protocol_byte.has_value();
    backoff = options.backoff_initial;
    asio::co_spawn(p.strand, watch(p, p.socket), asio::detached);
    p.idle_expired = false;
    p.writing = std::make_shared<detail::LazyDeadline>(p.strand, std::min(options.write_timeout, options.idle_close) / 2);
    asio::co_spawn(p.strand, p.writing->run([&p, sock = p.socket] {
      if (p.socket != sock) return;
      if (p.writer_parked) {  // idle for idle_close: the writer closes the connection
        p.idle_expired = true;
        p.wake.notify();
        return;
      }
      boost::system::error_code ignored;  // a write overran write_timeout
      sock->close(ignored);
    }), asio::detached);

    // Write whatever is queued in one gather-write, until the connection
    // fails or stays idle for idle_close.
    while (!stopped) {
      if (p.queue.empty()) {
        p.writing->expires_after(options.idle_close);
        bool frames = co_await park();
        if (stopped || p.broken || p.idle_expired) break;  // idle: frames that just came wait for a reconnect
        if (!frames) continue;
      }
      // Reconnect at once for the frames queued: the peer restarted, or it
      // closed an idle connection.
      if (stopped || p.broken) break;
      std::deque<Frame> batch = take_batch(p);
      uint64_t chunk_bytes = 0;
      for (auto& f : batch) chunk_bytes += f.chunk ? f.bytes.size() : 0;
      std::vector<asio::const_buffer> bufs;
      bufs.reserve(batch.size() + 1);
      uint8_t protocol_byte = options.protocol_byte.value_or(0);
      if (p.protocol_byte_due) bufs.push_back(asio::buffer(&protocol_byte, 1));
      for (auto& f : batch) bufs.push_back(asio::buffer(f.bytes));
      p.writing->expires_after(options.write_timeout);
      auto [werr, n] = co_await p.socket->write_all(bufs);
      release(chunk_bytes);
      if (werr) {
        if (stopped) break;
        bump(&TransportCounters::write_failures);
        log::debug("raft", "transport: write to node {} failed: {}", p.id, werr.message());
        p.state = Peer::State::down;
        drop(p, batch, &TransportCounters::dropped_peer_down);
        p.queued_bytes = 0;
        drop(p, p.queue, &TransportCounters::dropped_peer_down);
        break;
      }
      p.protocol_byte_due = false;
      uint64_t messages = 0, chunks = 0;
      for (auto& f : batch) {
        chunks += f.chunk;
        messages += !f.chunk || f.snapshot;  // a chunked snapshot counts once, with its last chunk
        if (f.snapshot && handlers.on_snapshot_status) handlers.on_snapshot_status(p.id, true);
      }
      bump(&TransportCounters::frames_sent, messages);
      bump(&TransportCounters::snapshot_chunks_sent, chunks);
    }
    p.writing->stop();
    p.writing.reset();
    p.socket->close(ec);
    if (p.state == Peer::State::down && !stopped) {
      asio::steady_timer pause(p.strand, backoff);
      co_await pause.async_wait(kTuple);
      backoff = std::min(backoff * 2, options.backoff_max);
    }
  }
}

// Consul's RPCTLS byte in plaintext, then the client handshake, all within
// handshake_timeout.
asio::awaitable<boost::system::error_code> TcpTransport::Impl::start_tls(Peer& p) {
  auto sock = p.socket;
  arm(p.deadline, sock, options.handshake_timeout);
  const uint8_t tls_byte = cairn::io::kProtocolTls;
  auto [ec, n] = co_await asio::async_write(sock->socket(), asio::buffer(&tls_byte, 1), kTuple);
  if (!ec) {
    sock->start_tls(options.tls, Stream::Role::client);
    ec = co_await sock->handshake();
  }
  p.deadline.cancel();
  if (!ec && !sock->is_open()) ec = asio::error::timed_out;
  co_return ec;
}

// The peer writes nothing on a connection we opened but snapshot chunk
// acknowledgements, so a read that fails means the connection is gone:
// typically the peer process restarted. Without it the first frame after a
// restart is written into a dead socket and lost silently (the kernel accepts
// it; the RST comes back later) — a lost PreVote costs a whole election timeout.
asio::awaitable<void> TcpTransport::Impl::watch(Peer& p, std::shared_ptr<Stream> sock) {
  auto self = shared_from_this();
  unsigned char ack[kSnapshotAckBytes];
  for (;;) {
    auto [ec, n] = co_await asio::async_read(*sock, asio::buffer(ack), kTuple);
    if (ec || stopped || p.socket != sock) break;
    ByteReader r(std::string_view(reinterpret_cast<const char*>(ack), sizeof ack));
    p.snapshot_held.index = r.u64();
    p.snapshot_held.term = r.u64();
    p.snapshot_held.bytes = r.u64();
  }
  if (stopped || p.socket != sock || !sock->is_open()) co_return;
  boost::system::error_code ec;
  sock->close(ec);
  p.broken = true;
  bump(&TransportCounters::closed_by_peer);
  if (p.writer_parked) p.wake.notify();
}

// ---- inbound ----

asio::awaitable<void> TcpTransport::Impl::accept_loop() {
  auto self = shared_from_this();
  while (!stopped) {
    auto strand = asio::make_strand(io);
    auto [ec, socket] = co_await acceptor.async_accept(strand, kTuple);
    if (ec) {
      if (stopped || ec == asio::error::operation_aborted) co_return;
      log::warn("raft", "transport: accept failed: {}", ec.message());
      asio::steady_timer pause(acceptor_strand, std::chrono::milliseconds(50));
      co_await pause.async_wait(kTuple);
      continue;
    }
    auto sock = std::make_shared<Stream>(std::move(socket));
    if (options.tls && options.tls->can_serve_tls()) {
      auto ex = sock->get_executor();  // before the move below (argument order is unspecified)
      asio::co_spawn(ex, accept_tls(std::move(sock)), asio::detached);
    } else {
      serve_inbound(std::move(sock));
    }
  }
}

// The own acceptor with a certificate: 0x04, then the server handshake.
asio::awaitable<void> TcpTransport::Impl::accept_tls(std::shared_ptr<Stream> sock) {
  auto self = shared_from_this();
  asio::steady_timer deadline(sock->get_executor());
  arm(deadline, sock, options.handshake_timeout);
  uint8_t byte = 0;
  auto [ec, n] = co_await asio::async_read(sock->socket(), asio::buffer(&byte, 1), kTuple);
  if (!ec && byte != cairn::io::kProtocolTls) {
    if (!stopped) {
      bump(&TransportCounters::tls_handshake_failures);
      log::warn("raft", "transport: inbound connection is not TLS (first byte 0x{:02x}); closing", byte);
    }
    boost::system::error_code ignored;
    sock->close(ignored);
    co_return;
  }
  if (!ec) {
    sock->start_tls(options.tls, Stream::Role::server);
    ec = co_await sock->handshake();
  }
  deadline.cancel();
  if (ec || !sock->is_open()) {
    if (!stopped) {
      bump(&TransportCounters::tls_handshake_failures);
      std::string verify = sock->verify_error();
      log::warn("raft", "transport: inbound TLS handshake failed: {}", verify.empty() ? ec.message() : verify);
    }
    boost::system::error_code ignored;
    sock->close(ignored);
    co_return;
  }
  serve_inbound(std::move(sock));
}

void TcpTransport::Impl::serve_inbound(std::shared_ptr<Stream> sock) {
  {
    std::lock_guard lock(mu);
    // stop() closes what is in `inbound`; one arriving after it closes here.
    if (stopped) {
      boost::system::error_code ec;
      sock->close(ec);
      return;
    }
    inbound.insert(sock);
  }
  asio::co_spawn(sock->get_executor(), read_loop(sock), asio::detached);
}

void TcpTransport::adopt_inbound(std::shared_ptr<Stream> stream) { impl_->serve_inbound(std::move(stream)); }

asio::awaitable<void> TcpTransport::Impl::read_loop(std::shared_ptr<Stream> sock) {
  auto self = shared_from_this();
  // Deadlines move per frame without timer calls (raft/io/handoff.h); one
  // that passes closes the socket, which ends the pending read.
  auto deadline = std::make_shared<detail::LazyDeadline>(sock->get_executor(),
                                                         std::min(options.frame_timeout, options.idle_timeout) / 2);
  asio::co_spawn(sock->get_executor(), deadline->run([sock] {
    boost::system::error_code ignored;
    sock->close(ignored);
  }), asio::detached);
  // Frames are cut out of one buffer filled by read_some: a batch of small
  // frames costs one receive, not two per frame.
  std::string in;
  size_t head = 0;  // first unread byte of `in`
  auto fill = [&](size_t need) -> asio::awaitable<bool> {
    while (in.size() - head < need) {
      if (head > 0) {
        in.erase(0, head);
        head = 0;
      }
      size_t have = in.size();
      in.resize(std::max(have + kReadBytes, need));
      auto [ec, n] = co_await sock->async_read_some(asio::buffer(in.data() + have, in.size() - have), kTuple);
      in.resize(have + n);
      if (ec) co_return false;
    }
    co_return true;
  };
  while (!stopped) {
    if (head == in.size()) {
      if (in.capacity() > 4 * kReadBytes) std::string().swap(in);  // hold no chunk-sized buffer between frames
      in.clear();
      head = 0;
    }
    deadline->expires_after(options.idle_timeout);
    if (!co_await fill(4)) break;
    const auto* len_bytes = reinterpret_cast<const unsigned char*>(in.data() + head);
    uint32_t len = (uint32_t{len_bytes[0]} << 24) | (uint32_t{len_bytes[1]} << 16) | (uint32_t{len_bytes[2]} << 8) |
                   len_bytes[3];
    bool chunk = (len & kChunkFrameBit) != 0;
    len &= ~kChunkFrameBit;
    if (len == 0 || len > options.limits.max_message_bytes) {
      bump(&TransportCounters::bad_frames);
      log::warn("raft", "transport: frame of {} bytes (limit {}); closing", len, options.limits.max_message_bytes);
      break;
    }
    deadline->expires_after(options.frame_timeout);
    if (!co_await fill(4 + size_t{len})) break;
    std::string_view body(in.data() + head + 4, len);
    head += 4 + size_t{len};
    if (chunk) {
      hold(len);
      ChunkOutcome out = receive_chunk(body);
      release(len);
      if (!out.status.ok()) {
        bump(&TransportCounters::bad_frames);
        log::warn("raft", "transport: bad snapshot chunk: {}; closing", out.status.error().message());
        break;
      }
      bump(&TransportCounters::snapshot_chunks_received);
      deadline->expires_after(options.frame_timeout);
      auto [e3, n3] = co_await asio::async_write(*sock, asio::buffer(out.ack), kTuple);
      if (e3) break;
      if (out.whole && out.finish) {
        deliver_file(std::move(*out.whole), std::move(out.finish));
      } else if (out.whole) {
        bump(&TransportCounters::snapshots_received);
        bump(&TransportCounters::frames_received);
        if (handlers.on_message) handlers.on_message(std::move(*out.whole));
      }
      continue;
    }
    auto m = decode(body, options.limits);
    if (!m.ok() || m->to != options.id) {
      bump(&TransportCounters::bad_frames);
      log::warn("raft", "transport: bad frame: {}; closing",
                m.ok() ? "addressed to node " + std::to_string(m->to) : m.error().message());
      break;
    }
    bump(&TransportCounters::frames_received);
    if (handlers.on_message) handlers.on_message(std::move(m).value());
  }
  deadline->stop();
  boost::system::error_code ec;
  sock->close(ec);
  std::lock_guard lock(mu);
  inbound.erase(sock);
}

}  // namespace cairn::raft
