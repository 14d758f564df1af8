#!/usr/bin/env bash
# Three raft_kv_node processes on 127.0.0.1 (RocksDB, fsync on), loaded with
# 256-byte PUTs by wrk from 1 and from 64 connections: commits/s, p50/p99
# commit latency (a PUT answers once the entry is applied on the leader),
# fsyncs/s and entries per fsync (leader and one follower), for the fsync on
# its own thread (default) and on the driver strand (--persist-on-strand).
# Then: time to elect after kill -9 of the leader, and the floor — one
# loopback round trip and one 4 KiB write+fdatasync — so the 1-client latency
# can be compared with RTT + fsync.
#
#   bench/raft/run.sh [build-dir]      (DUR=10 seconds per load run;
#                                       NODE_FLAGS="..." adds raft_kv_node flags to every node;
#                                       MODES="thread strand", CLIENTS="1 64", FAILOVER=1 pick the parts)
# Stops only the processes it started, by PID.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh" "${1:-}"
dur=${DUR:-10}

load() {  # label connections threads
  local label=$1 conns=$2 threads=$3 l f s0 s1 f0 f1 out
  l=$(wait_leader); [[ $l == 0 ]] && { echo "no leader" >&2; exit 1; }
  f=$(( l % 3 + 1 ))
  s0=$(status "$l"); f0=$(status "$f")
  out=$(wrk -t"$threads" -c"$conns" -d"${dur}s" --timeout 10s -s "$here/put.lua" "http://${http[$l]}/" 2>&1 | grep RESULT)
  s1=$(status "$l"); f1=$(status "$f")
  python3 - "$label" "$conns" "$out" "$s0" "$s1" "$f0" "$f1" <<'EOF'
import json, re, sys
label, conns, out, s0, s1, f0, f1 = sys.argv[1:8]
r = dict(re.findall(r"(\w+)=(\d+)", out))
s0, s1, f0, f1 = (json.loads(x) for x in (s0, s1, f0, f1))
secs = int(r["duration_us"]) / 1e6
ok = int(r["requests"]) - int(r["non2xx"])
def per(a, b):
    fs = b["fsyncs"] - a["fsyncs"]; es = b["entries_persisted"] - a["entries_persisted"]
    return fs / secs, (es / fs if fs else 0)
lf, le = per(s0, s1); ff, fe = per(f0, f1)
print(f"| {label} | {conns} | {ok/secs:.0f} | {int(r['p50_us'])/1000:.2f} | {int(r['p99_us'])/1000:.2f} | "
      f"{lf:.0f} | {le:.1f} | {ff:.0f} | {fe:.1f} | {s1.get('persist_us_p50', 0)} / {f1.get('persist_us_p50', 0)} | "
      f"{r['non2xx']}/{r['errors']} |")
EOF
}

echo "# raft bench $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, ${dur}s per run, data in $work"
echo
echo "| fsync placement | clients | commits/s | p50 ms | p99 ms | leader fsyncs/s | leader entries/fsync | follower fsyncs/s | follower entries/fsync | WAL persist p50 µs leader / follower | non-2xx/errors |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
for mode in ${MODES:-thread strand}; do
  extra=()
  [[ $mode == strand ]] && extra=(--persist-on-strand)
  for id in 1 2 3; do start "$id" "${extra[@]}"; done
  for c in ${CLIENTS:-1 64}; do load "$mode" "$c" $(( c > 1 ? 2 : 1 )); done
  stop_all
done

# Failover, three times: kill -9 the leader, time until the other two agree
# on a new one, restart the killed node.
if [[ ${FAILOVER:-1} == 1 ]]; then
for id in 1 2 3; do start "$id"; done
times=()
for round in 1 2 3; do
  l=$(wait_leader)
  sleep 1  # a steady state: followers heard heartbeats recently
  t0=$(date +%s%N)
  kill -9 "${pid[$l]}"; wait "${pid[$l]}" 2>/dev/null || true; unset "pid[$l]"
  while :; do
    n=$(leader)
    [[ $n != 0 && $n != "$l" ]] && break
    (( $(date +%s%N) - t0 > 30000000000 )) && { echo "no new leader in 30 s" >&2; exit 1; }
    sleep 0.01
  done
  t1=$(date +%s%N)
  times+=($(( (t1 - t0) / 1000000 )))
  start "$l"
done
echo
echo "election after kill -9 of the leader: ${times[*]} ms (tick 100 ms, election_tick 10: timeout 1-2 s, PreVote on)"
stop_all
fi
echo
python3 "$here/micro.py" "$work"
echo "(the floor of a 1-client commit: RTT + the WAL persist p50 of the 1-client row, measured inside the nodes;"
echo " micro.py's probe fsync runs on an idle CPU and is not what RocksDB's WAL pays here: docs/benchmarks.md, Raft)"
