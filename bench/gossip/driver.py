#!/usr/bin/env python3
"""One gossip-pool measurement for one system (cairn or serf), run inside a
network namespace that bench/gossip/run.sh creates, so the loopback byte
counters belong to this run alone. Prints one JSON line of results.

Phases: N agents start (N-1 join agent 0 at once) -> convergence (every
observer sees N alive) -> 10 s idle (CPU, RSS, bytes on lo) -> kill -9 one
agent -> failure detection (every observer sees it failed) -> graceful leave
of another -> leave propagation (every observer sees it left)."""
import argparse, json, os, signal, subprocess, sys, tempfile, time, urllib.request, uuid

p = argparse.ArgumentParser()
p.add_argument("--system", choices=["cairn", "serf"], required=True)
p.add_argument("--n", type=int, default=20)
p.add_argument("--cairn", default="build/cli/cairn")
p.add_argument("--idle", type=float, default=10.0)
p.add_argument("--timeout", type=float, default=120.0)
args = p.parse_args()
N = args.n
work = tempfile.mkdtemp(prefix=f"gossip-bench-{args.system}-")
procs = []
HZ = os.sysconf("SC_CLK_TCK")


def start(i):
    gport, cport = 7000 + i, 9000 + i
    log = open(os.path.join(work, f"a{i}.log"), "w")
    if args.system == "cairn":
        cmd = [args.cairn, "agent", "-node", f"a{i}", "-data-dir", os.path.join(work, f"a{i}"), "-bind", "127.0.0.1",
               "-serf-lan-port", str(gport), "-http-port", str(cport), "-dns-port", "-1", "-log-level", "warn"]
        if i > 0:
            cmd += ["-retry-join", "127.0.0.1:7000", "-retry-interval", "200ms"]
    else:
        # The same metadata a cairn agent gossips (role, dc, id, build, vsn), so
        # both pools move the same number of bytes per member.
        cmd = ["serf", "agent", "-node", f"a{i}", "-bind", f"127.0.0.1:{gport}", "-rpc-addr", f"127.0.0.1:{cport}",
               "-log-level", "warn", "-tag", "role=node", "-tag", "dc=dc1", "-tag", f"id={uuid.uuid4()}",
               "-tag", "build=0.1.0", "-tag", "vsn=2"]
        if i > 0:
            cmd += ["-retry-join", "127.0.0.1:7000", "-retry-interval", "1s"]
    return subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)


def statuses(i):
    """name -> 'alive' | 'failed' | 'left' | other, as agent i sees the pool."""
    port = 9000 + i
    try:
        if args.system == "cairn":
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/agent/members", timeout=5) as r:
                names = {1: "alive", 2: "leaving", 3: "left", 4: "failed"}
                return {m["Name"]: names.get(m["Status"], "none") for m in json.load(r)}
        out = subprocess.run(["serf", "members", f"-rpc-addr=127.0.0.1:{port}", "-format=json"],
                             capture_output=True, text=True, timeout=5).stdout
        return {m["name"]: m["status"] for m in json.loads(out)["members"]}
    except Exception:
        return {}


def wait_until(pred, timeout):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if pred():
            return time.monotonic() - t0
        time.sleep(0.05)
    return None


def cpu_ticks(pids):
    total = 0
    for pid in pids:
        try:
            f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
            total += int(f[11]) + int(f[12])
        except OSError:
            pass
    return total


def rss_kb(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def pss_kb(pid):
    """Proportional set size: shared library pages split among the processes sharing them."""
    try:
        for line in open(f"/proc/{pid}/smaps_rollup"):
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def lo_bytes():
    return int(open("/sys/class/net/lo/statistics/tx_bytes").read())


result = {"system": args.system, "n": N}
try:
    procs.append(start(0))
    time.sleep(0.5)
    for i in range(1, N):
        procs.append(start(i))
    launched = time.monotonic()
    observers = sorted({0, N // 4, N // 2, 3 * N // 4, N - 1})

    def converged():
        return all(sum(1 for s in statuses(o).values() if s == "alive") == N for o in observers)

    t = wait_until(converged, args.timeout)
    result["convergence_s"] = None if t is None else round(time.monotonic() - launched, 2)

    pids = [p.pid for p in procs]
    c0, b0 = cpu_ticks(pids), lo_bytes()
    time.sleep(args.idle)
    c1, b1 = cpu_ticks(pids), lo_bytes()
    result["idle_cpu_pct_per_agent"] = round((c1 - c0) / HZ / args.idle / N * 100, 3)
    result["bytes_per_s_per_agent"] = round((b1 - b0) / args.idle / N)
    rss = sorted(rss_kb(pid) for pid in pids)
    result["rss_mb_median"] = round(rss[len(rss) // 2] / 1024, 1)
    result["rss_mb_max"] = round(rss[-1] / 1024, 1)
    pss = sorted(pss_kb(pid) for pid in pids)
    result["pss_mb_median"] = round(pss[len(pss) // 2] / 1024, 1)

    victim = N // 3
    procs[victim].kill()
    t = wait_until(lambda: all(statuses(o).get(f"a{victim}") == "failed" for o in observers), args.timeout)
    result["failure_detection_s"] = None if t is None else round(t, 2)

    leaver = victim + 1
    if args.system == "cairn":
        procs[leaver].send_signal(signal.SIGTERM)
    else:
        subprocess.run(["serf", "leave", f"-rpc-addr=127.0.0.1:{9000 + leaver}"], capture_output=True, timeout=30)
    t = wait_until(lambda: all(statuses(o).get(f"a{leaver}") == "left" for o in observers), args.timeout)
    result["leave_propagation_s"] = None if t is None else round(t, 2)
    alive_counts = [sum(1 for s in statuses(o).values() if s == "alive") for o in observers]
    result["false_positives"] = sum(N - 2 - a for a in alive_counts if a < N - 2)
finally:
    for p in procs:
        if p.poll() is None:
            p.kill()
    for p in procs:
        p.wait()
    subprocess.run(["rm", "-rf", work])
print(json.dumps(result))
