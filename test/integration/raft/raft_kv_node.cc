// raft_kv_node: one Raft server for integration tests and bench/raft — a
// RaftDriver over RocksLogStorage and TcpTransport, an in-memory KV state
// machine, and a small HTTP API on the core/io server:
//
//   PUT /kv/<key>   body = value; 200 "<index>" once applied here;
//                   503 with X-Raft-Leader: <id> when this node does not lead
//   GET /kv/<key>   linearizable (ReadIndex, thesis §6.4); 404 when absent
//   GET /status     {"id","leader","state","term","commit","applied",...}
//
// The KV map is in memory: on restart it comes back from the latest Raft
// snapshot (the serialized map) and the log above it is re-applied. With
// --snapshot-files the serialized map is written to a snapshot file
// (raft/io/snapshot_file.h) in data-dir/snapshots and the Raft snapshot
// carries a reference to it: the transport streams it from disk, and a
// follower receives it into a file there. A test
// binary, not a product: it lives under test/, never in cli/.
//
// Prints "raft listening on 127.0.0.1:<port>" and "http listening on
// 127.0.0.1:<port>" so that tests can find the ports they asked 0 for.
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>

#include "core/codec.h"
#include "core/io/http_server.h"
#include "core/io/runtime.h"
#include "core/log.h"
#include "raft/errc.h"
#include "raft/io/driver.h"
#include "raft/io/rocks_storage.h"
#include "raft/io/snapshot_file.h"
#include "raft/io/transport.h"

using namespace cairn;
using namespace cairn::raft;

namespace {

// put key=value, encoded as two length-prefixed strings.
std::string encode_put(std::string_view key, std::string_view value) {
  std::string out;
  ByteWriter w(&out);
  w.bytes(key);
  w.bytes(value);
  return out;
}

using KvMap = std::map<std::string, std::string>;

std::string encode_map(const KvMap& kv) {
  std::string out;
  ByteWriter w(&out);
  w.varint(kv.size());
  for (auto& [k, v] : kv) {
    w.bytes(k);
    w.bytes(v);
  }
  return out;
}

class KvApp final : public Application {
 public:
  // `snapshot_dir` empty: images are returned inline.
  KvApp(bool async_snapshots, std::string snapshot_dir)
      : async_snapshots_(async_snapshots), snapshot_dir_(std::move(snapshot_dir)) {}

  void apply(const Entry& e) override {
    last_index_ = e.index;
    ByteReader r(e.data);
    std::string key(r.bytes());
    std::string value(r.bytes());
    // Entries were encoded by encode_put on the leader; a corrupt one means
    // the log is corrupt, which the storage's checks would have caught.
    if (!r.ok() || !r.at_end()) {
      log::error("kv", "entry {} does not decode; skipped", e.index);
      return;
    }
    std::lock_guard lock(mu_);
    kv_[std::move(key)] = std::move(value);
  }
  std::string snapshot() override {
    std::string image;
    {
      std::lock_guard lock(mu_);
      image = encode_map(kv_);
    }
    auto out = to_file(snapshot_dir_, last_index_, std::move(image));
    if (!out.ok()) log::error("kv", "snapshot: {}", out.error().message());
    return out.ok() ? *out : std::string();
  }
  // --snapshot-async: the strand pays for a copy of the map; the encoding
  // runs on the worker thread.
  bool snapshot_async(Index, std::function<void(Result<std::string>)> done) override {
    if (!async_snapshots_) return false;
    auto copy = std::make_shared<KvMap>();
    {
      std::lock_guard lock(mu_);
      *copy = kv_;
    }
    boost::asio::post(worker_, [copy, dir = snapshot_dir_, index = last_index_, done = std::move(done)] {
      done(to_file(dir, index, encode_map(*copy)));
    });
    return true;
  }
  Status restore(const Snapshot& s) override {
    KvMap kv;
    CAIRN_TRY(std::string data, read_snapshot_data(s.data));
    if (!data.empty()) {
      ByteReader r(data);
      uint64_t n = r.varint();
      for (uint64_t i = 0; i < n && r.ok(); ++i) {
        std::string k(r.bytes());
        kv[std::move(k)] = std::string(r.bytes());
      }
      if (!r.ok() || !r.at_end()) return Error(cairn::errc::parse_error, "kv snapshot does not decode");
    }
    std::lock_guard lock(mu_);
    kv_ = std::move(kv);
    last_index_ = s.metadata.index;
    if (!snapshot_dir_.empty()) prune_snapshot_files(snapshot_dir_, 2);
    return {};
  }
  std::optional<std::string> get(const std::string& key) const {
    std::lock_guard lock(mu_);
    auto it = kv_.find(key);
    if (it == kv_.end()) return std::nullopt;
    return it->second;
  }

 private:
  // The image as a snapshot file (named after the last entry applied; the
  // term is not known here) or, without a directory, as it is.
  static Result<std::string> to_file(const std::string& dir, Index index, std::string image) {
    if (dir.empty()) return image;
    CAIRN_TRY(SnapshotWriter w, SnapshotWriter::create(snapshot_file_path(dir, index, 0), dir + "/packing.part"));
    CAIRN_RETURN_IF_ERROR(w.write(image));
    CAIRN_TRY(SnapshotFileRef ref, w.finish());
    prune_snapshot_files(dir, 2);
    return encode_snapshot_ref(ref);
  }

  mutable std::mutex mu_;
  KvMap kv_;
  Index last_index_ = 0;  // strand
  bool async_snapshots_;
  std::string snapshot_dir_;
  boost::asio::thread_pool worker_{1};
};

struct Flags {
  NodeId id = 0;
  std::map<NodeId, std::string> peers;
  uint16_t raft_port = 0;
  uint16_t http_port = 0;
  std::string data_dir;
  bool bootstrap = false;
  int tick_ms = 100;
  uint64_t snapshot_threshold = 10000;
  bool persist_on_strand = false;
  bool snapshot_async = false;
  bool snapshot_files = false;
  uint64_t snapshot_chunk_bytes = 1u << 20;
  unsigned threads = 2;
};

[[noreturn]] void usage(const std::string& why) {
  std::cerr << "raft_kv_node: " << why << "\n"
            << "usage: raft_kv_node --id N --peers 1=ip:port,2=ip:port,... --data-dir DIR [--raft-port P]\n"
            << "       [--http-port P] [--bootstrap] [--tick-ms 100] [--snapshot-threshold N]\n"
            << "       [--persist-on-strand] [--snapshot-async] [--snapshot-chunk-bytes N] [--threads N]\n"
            << "       [--snapshot-files]\n";
  std::exit(2);
}

uint64_t number(const std::string& flag, const std::string& v) {
  if (v.empty() || v.find_first_not_of("0123456789") != std::string::npos || v.size() > 18) usage(flag + ": not a number");
  return std::stoull(v);
}

Flags parse(int argc, char** argv) {
  Flags f;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(a + " needs a value");
      return argv[++i];
    };
    if (a == "--id") f.id = number(a, value());
    else if (a == "--raft-port") f.raft_port = static_cast<uint16_t>(number(a, value()));
    else if (a == "--http-port") f.http_port = static_cast<uint16_t>(number(a, value()));
    else if (a == "--data-dir") f.data_dir = value();
    else if (a == "--bootstrap") f.bootstrap = true;
    else if (a == "--persist-on-strand") f.persist_on_strand = true;
    else if (a == "--snapshot-async") f.snapshot_async = true;
    else if (a == "--snapshot-files") f.snapshot_files = true;
    else if (a == "--snapshot-chunk-bytes") f.snapshot_chunk_bytes = std::max<uint64_t>(1, number(a, value()));
    else if (a == "--tick-ms") f.tick_ms = static_cast<int>(number(a, value()));
    else if (a == "--snapshot-threshold") f.snapshot_threshold = number(a, value());
    else if (a == "--threads") f.threads = static_cast<unsigned>(number(a, value()));
    else if (a == "--peers") {
      std::string list = value();
      size_t pos = 0;
      while (pos < list.size()) {
        size_t comma = list.find(',', pos);
        std::string item = list.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
        auto eq = item.find('=');
        if (eq == std::string::npos) usage("--peers: \"" + item + "\" is not id=ip:port");
        f.peers[number("--peers", item.substr(0, eq))] = item.substr(eq + 1);
        if (comma == std::string::npos) break;
        pos = comma + 1;
      }
    } else {
      usage("unknown flag " + a);
    }
  }
  if (f.id == 0) usage("--id is required (≥ 1)");
  if (f.data_dir.empty()) usage("--data-dir is required");
  if (!f.peers.contains(f.id)) usage("--peers must include this node's id");
  if (f.tick_ms <= 0) usage("--tick-ms must be > 0");
  return f;
}

std::string status_json(const DriverStatus& s, const TransportCounters& t, std::pair<uint64_t, uint64_t> persist_us) {
  nlohmann::json j = {
      {"id", s.id}, {"leader", s.leader}, {"state", std::string(to_string(s.state))}, {"term", s.term},
      {"commit", s.commit}, {"applied", s.applied}, {"first_index", s.first_index}, {"last_index", s.last_index},
      {"failed", s.failed}, {"readies", s.readies}, {"fsyncs", s.fsyncs}, {"entries_persisted", s.entries_persisted},
      {"max_entries_per_fsync", s.max_entries_per_fsync}, {"persist_us_p50", persist_us.first},
      {"persist_us_p99", persist_us.second}, {"proposals", s.proposals},
      {"proposals_failed", s.proposals_failed}, {"reads", s.reads}, {"snapshots_applied", s.snapshots_applied},
      {"compactions", s.compactions}, {"snapshots_async", s.snapshots_async}, {"frames_sent", t.frames_sent}, {"frames_received", t.frames_received},
      {"bad_frames", t.bad_frames}, {"dropped_queue_full", t.dropped_queue_full},
      {"dropped_peer_down", t.dropped_peer_down}, {"connects", t.connects}, {"connect_failures", t.connect_failures},
      {"closed_by_peer", t.closed_by_peer}, {"snapshot_chunks_sent", t.snapshot_chunks_sent},
      {"snapshot_chunks_received", t.snapshot_chunks_received}, {"snapshot_bytes_resumed", t.snapshot_bytes_resumed},
      {"snapshots_received", t.snapshots_received}, {"snapshot_bytes_buffered_peak", t.snapshot_bytes_buffered_peak}};
  return j.dump();
}

http::Response failure(const Completion& c) {
  http::Response r;
  bool not_leader = c.status.error().code() == cairn::raft::make_error_code(cairn::raft::errc::not_leader);
  r.status = not_leader ? 503 : (c.status.error().is(cairn::errc::timeout) ? 504 : 503);
  r.headers.set("X-Raft-Leader", std::to_string(c.leader));
  r.body = c.status.error().message() + " (leader " + std::to_string(c.leader) + ")\n";
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  Flags flags = parse(argc, argv);
  log::configure(log::Level::info, false);

  std::optional<ConfState> bootstrap;
  if (flags.bootstrap) {
    ConfState cs;
    for (auto& [id, addr] : flags.peers) cs.voters.push_back(id);
    bootstrap = cs;
  }
  std::error_code mkdir_error;
  std::filesystem::create_directories(flags.data_dir, mkdir_error);
  if (mkdir_error) {
    std::cerr << "raft_kv_node: cannot create " << flags.data_dir << ": " << mkdir_error.message() << "\n";
    return 1;
  }
  auto storage = RocksLogStorage::open(flags.data_dir + "/raft", bootstrap);
  if (!storage.ok()) {
    std::cerr << "raft_kv_node: " << storage.error().message() << "\n";
    return 1;
  }

  Runtime runtime;
  auto& io = runtime.io();
  TcpTransportOptions topts;
  topts.id = flags.id;
  topts.listen = "127.0.0.1:" + std::to_string(flags.raft_port);
  topts.peers = flags.peers;
  topts.snapshot_chunk_bytes = flags.snapshot_chunk_bytes;
  std::string snapshot_dir = flags.snapshot_files ? flags.data_dir + "/snapshots" : std::string();
  topts.snapshot_dir = snapshot_dir;
  auto transport = TcpTransport::create(io, topts);
  if (!transport.ok()) {
    std::cerr << "raft_kv_node: " << transport.error().message() << "\n";
    return 1;
  }
  std::printf("raft listening on 127.0.0.1:%u\n", static_cast<unsigned>((*transport)->port()));

  KvApp app(flags.snapshot_async, snapshot_dir);
  DriverOptions dopts;
  dopts.raft = Config::defaults(flags.id);
  dopts.tick_interval = std::chrono::milliseconds(flags.tick_ms);
  dopts.snapshot_threshold = flags.snapshot_threshold;
  dopts.persist_on_thread = !flags.persist_on_strand;
  // Requests wait at most ~5 s whatever the tick.
  dopts.request_timeout_ticks = static_cast<uint64_t>(std::max(10, 5000 / flags.tick_ms));
  auto driver = RaftDriver::start(io, dopts, storage->get(), transport->get(), &app);
  if (!driver.ok()) {
    std::cerr << "raft_kv_node: " << driver.error().message() << "\n";
    return 1;
  }
  std::shared_ptr<RaftDriver> d = *driver;
  std::shared_ptr<TcpTransport> t = *transport;
  t->start(d->transport_handlers());

  http::Router router;
  router.add(http::Method::put, "/kv/<key...>", [d](http::Request& req, http::Responder responder) {
    if (req.param("key").empty()) return responder.respond(http::Response::error(400, "missing key"));
    d->propose(encode_put(req.param("key"), req.body), [responder](Completion c) {
      if (!c.status.ok()) return responder.respond(failure(c));
      responder.respond(http::Response::text(std::to_string(c.index) + "\n"));
    });
  });
  router.add(http::Method::get, "/kv/<key...>", [d, &app](http::Request& req, http::Responder responder) {
    d->read_index([responder, key = std::string(req.param("key")), &app](Completion c) {
      if (!c.status.ok()) return responder.respond(failure(c));
      // The state machine has applied the read index: the read is linearizable.
      auto v = app.get(key);
      if (!v) return responder.respond(http::Response::error(404, "no such key"));
      responder.respond(http::Response::text(*v));
    });
  });
  router.add_sync(http::Method::get, "/status",
                  [d, t](http::Request&) { return http::Response::json(status_json(d->status(), t->counters(), d->persist_latency_us())); });

  http::Server server(io, router, http::ServerOptions{});
  auto port = server.listen("127.0.0.1", flags.http_port);
  if (!port.ok()) {
    std::cerr << "raft_kv_node: " << port.error().message() << "\n";
    return 1;
  }
  server.start();
  std::printf("http listening on 127.0.0.1:%u\n", static_cast<unsigned>(*port));
  std::fflush(stdout);

  runtime.on_shutdown_signal([&] {
    d->stop();
    t->stop();
    server.shutdown(std::chrono::seconds(1), [&runtime] { runtime.stop(); });
    runtime.exit_after(std::chrono::seconds(5));
  });
  runtime.run(flags.threads);
  return 0;
}
