#!/usr/bin/env python3
"""Helpers for bench/kv/run.sh (standard library only).

  kvtool.py prefill HOST:PORT cairn|etcd NKEYS VSIZE      write every key once
  kvtool.py etcd-leader HOST:PORT...                       the leader's client address
  kvtool.py row SYSTEM OP CONNS ROUND 'RESULT ...' CPU_TICKS BUSY_TICKS   one TSV row
  kvtool.py summary RESULTS.tsv                            the tables (markdown)
  kvtool.py ready HOST:PORT PATH COUNT T0_FILE TIMEOUT_S   poll /v1/status/leader
      until it names a leader, then PATH (a catalog service list) until it has
      COUNT entries; prints ms to each from the CLOCK_REALTIME ns stamp that
      run.sh writes to T0_FILE just before the exec
"""
import base64
import http.client
import json
import os
import re
import statistics
import sys
import threading
import time

HZ = os.sysconf("SC_CLK_TCK")


def hostport(s):
    h, p = s.rsplit(":", 1)
    return h, int(p)


def prefill(addr, target, nkeys, vsize, conc=16):
    value = b"v" * vsize
    errors = []

    def worker(w):
        c = http.client.HTTPConnection(*hostport(addr), timeout=30)
        for i in range(w, nkeys, conc):
            key = f"bench/k{i}"
            if target == "etcd":
                body = json.dumps({"key": base64.b64encode(key.encode()).decode(),
                                   "value": base64.b64encode(value).decode()})
                c.request("POST", "/v3/kv/put", body, {"Content-Type": "application/json"})
            else:
                c.request("PUT", "/v1/kv/" + key, value)
            r = c.getresponse()
            r.read()
            if r.status != 200:
                errors.append(f"{key}: HTTP {r.status}")
                return

    ts = [threading.Thread(target=worker, args=(w,)) for w in range(conc)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if errors:
        sys.exit(f"prefill of {target} failed: {errors[0]}")


def etcd_leader(addrs):
    for a in addrs:
        c = http.client.HTTPConnection(*hostport(a), timeout=5)
        c.request("POST", "/v3/maintenance/status", "{}", {"Content-Type": "application/json"})
        d = json.loads(c.getresponse().read())
        if d.get("leader") and d["leader"] == d["header"]["member_id"]:
            print(a)
            return
    sys.exit("no etcd member says it is the leader")


def row(system, op, conns, rnd, result, cpu, busy):
    r = dict(re.findall(r"(\w+)=(\d+)", result))
    if not r:
        sys.exit(f"no RESULT from wrk for {system} {op} c={conns}")
    secs = int(r["duration_us"]) / 1e6
    reqs = int(r["requests"])
    ok = reqs - int(r["non2xx"])
    cpu_s, busy_s = int(cpu) / HZ, int(busy) / HZ
    print("\t".join(str(x) for x in (
        system, op, conns, rnd, f"{ok / secs:.0f}", f"{int(r['p50_us']) / 1000:.3f}",
        f"{int(r['p99_us']) / 1000:.3f}", f"{int(r['p999_us']) / 1000:.3f}",
        f"{cpu_s / reqs * 1e4 if reqs else 0:.3f}", f"{busy_s:.1f}", f"{secs:.1f}",
        f"{r['non2xx']}/{r['errors']}")))


COLS = ["system", "op", "conns", "round", "rps", "p50", "p99", "p999", "cpu10k", "busy", "secs", "errs"]


def summary(path):
    rows = [dict(zip(COLS, l.rstrip("\n").split("\t"))) for l in open(path) if l.strip()]
    by = {}
    for r in rows:
        by.setdefault((r["op"], r["conns"], r["system"]), []).append(r)

    def med(rs, k):
        xs = [float(r[k]) for r in rs]
        return statistics.median(xs), min(xs), max(xs)

    print("| op | clients | etcd req/s | cairn req/s | ratio per round | etcd p50 / p99 / p99.9 ms | "
          "cairn p50 / p99 / p99.9 ms | etcd CPU-s/10k | cairn CPU-s/10k | busy s (etcd, cairn) | non-2xx/errors |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for op in ("put", "get"):
        for conns in ("1", "64"):
            e, c = by.get((op, conns, "etcd"), []), by.get((op, conns, "cairn"), [])
            if not e and not c:
                continue

            def rate(rs):
                if not rs:
                    return "—"
                m, lo, hi = med(rs, "rps")
                return f"{m:,.0f} ({lo:,.0f}–{hi:,.0f})"

            def lat(rs):
                if not rs:
                    return "—"
                return " / ".join(f"{med(rs, k)[0]:.2f}" for k in ("p50", "p99", "p999"))

            def cpu(rs):
                return f"{med(rs, 'cpu10k')[0]:.2f}" if rs else "—"

            ratios = [float(b["rps"]) / float(a["rps"]) for a, b in zip(e, c) if float(a["rps"]) > 0]
            rtxt = ", ".join(f"{x:.2f}" for x in ratios) + (f" (median {statistics.median(ratios):.2f})"
                                                             if ratios else "—")
            busy = f"{med(e, 'busy')[0] if e else 0:.0f}, {med(c, 'busy')[0] if c else 0:.0f}"
            errs = ", ".join(sorted({r["errs"] for r in e + c}))
            print(f"| {op} | {conns} | {rate(e)} | {rate(c)} | {rtxt} | {lat(e)} | {lat(c)} | {cpu(e)} | "
                  f"{cpu(c)} | {busy} | {errs} |")


def ready(addr, path, count, t0_file, timeout_s):
    """Waits for T0_FILE to hold a CLOCK_REALTIME ns stamp (written just
    before the exec, so Python's start-up is not timed), then polls
    /v1/status/leader until it answers 200 (the server serves HTTP and knows
    a leader), then PATH until it lists COUNT instances."""
    deadline = time.time() + timeout_s
    while not (os.path.exists(t0_file) and open(t0_file).read().strip()):
        if time.time() > deadline:
            sys.exit(f"{t0_file} was not written")
        time.sleep(0.001)
    t0_ns = int(open(t0_file).read())
    stamps = {}
    attempts = 0
    for probe in ("/v1/status/leader", path):
        while True:
            if time.time() > deadline:
                sys.exit(f"{probe} did not answer as expected within {timeout_s} s")
            attempts += 1
            try:
                c = http.client.HTTPConnection(*hostport(addr), timeout=30)
                c.request("GET", probe)
                r = c.getresponse()
                body = r.read()
                if r.status == 200 and (probe == path and body.count(b'"ServiceID"') >= count
                                        or probe != path and body.strip(b'"\n ')):
                    stamps[probe] = time.time_ns()
                    break
            except (OSError, http.client.HTTPException):
                pass
            time.sleep(0.005)
    print(f"leader_known_ms={(stamps['/v1/status/leader'] - t0_ns) / 1e6:.0f} "
          f"full_list_ms={(stamps[path] - t0_ns) / 1e6:.0f} bytes={len(body)} attempts={attempts}")


def main(a):
    if a[0] == "prefill":
        prefill(a[1], a[2], int(a[3]), int(a[4]))
    elif a[0] == "etcd-leader":
        etcd_leader(a[1:])
    elif a[0] == "row":
        row(*a[1:8])
    elif a[0] == "summary":
        summary(a[1])
    elif a[0] == "ready":
        ready(a[1], a[2], int(a[3]), a[4], float(a[5]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
