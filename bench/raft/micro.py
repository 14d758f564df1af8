#!/usr/bin/env python3
"""The floor under one commit: a loopback TCP round trip and a 4 KiB write +
fdatasync (what RocksDB's WAL sync does) in the directory given. Prints
median and p99 in microseconds."""
import os, socket, statistics, sys, threading, time

def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p / 100))]

def rtt(n=2000):
    srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen(1)
    port = srv.getsockname()[1]
    def echo():
        c, _ = srv.accept(); c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        while True:
            b = c.recv(64)
            if not b: return
            c.sendall(b)
    threading.Thread(target=echo, daemon=True).start()
    s = socket.create_connection(("127.0.0.1", port)); s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    xs = []
    for _ in range(n):
        t = time.perf_counter(); s.sendall(b"x" * 32); s.recv(64); xs.append((time.perf_counter() - t) * 1e6)
    s.close()
    return xs

def fsync(d, n=300):
    path = os.path.join(d, "fsync-probe")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    buf = b"y" * 4096
    xs = []
    for _ in range(n):
        t = time.perf_counter(); os.write(fd, buf); os.fdatasync(fd); xs.append((time.perf_counter() - t) * 1e6)
    os.close(fd); os.unlink(path)
    return xs

r = rtt(); f = fsync(sys.argv[1] if len(sys.argv) > 1 else ".")
print(f"RTT p50_us={statistics.median(r):.0f} p99_us={pct(r, 99):.0f}")
print(f"FSYNC p50_us={statistics.median(f):.0f} p99_us={pct(f, 99):.0f}")
