#!/usr/bin/env bash
# A follower ENTRIES (default 1,000,000) entries behind catches up by
# snapshot. Three raft_kv_node processes on 127.0.0.1 (RocksDB, fsync on,
# --snapshot-files --snapshot-async: the image is a file the leader streams
# from disk, the follower receives into a file), one follower killed, then
# wrk PUTs 256-byte values under unique keys from 64 connections until the
# leader applied ENTRIES, and the follower is restarted. Prints: the load's
# rate, the leader's snapshot file size, the time from the follower's spawn
# to applied >= the leader's commit, the chunks it took, and the peak RSS
# (VmHWM) of leader and follower, with their transports' peak snapshot
# buffer.
#
#   bench/raft/catchup.sh [build-dir]   (ENTRIES=1000000, THRESHOLD=100000
#                                        entries between snapshots, CHUNK=1048576)
# Stops only the processes it started, by PID.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh" "${1:-}"
entries=${ENTRIES:-1000000}

flags=(--snapshot-files --snapshot-async --snapshot-threshold "${THRESHOLD:-100000}" --snapshot-chunk-bytes "${CHUNK:-1048576}")
hwm() { awk '/VmHWM/ {print int($2/1024)}' "/proc/$1/status"; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

echo "# raft catch-up bench $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $entries entries, data in $work"
for id in 1 2 3; do start "$id" "${flags[@]}"; done
l=$(wait_leader); [[ $l == 0 ]] && { echo "no leader" >&2; exit 1; }
f=$(( l % 3 + 1 ))
kill -9 "${pid[$f]}"; wait "${pid[$f]}" 2>/dev/null || true; unset "pid[$f]"

t0=$(now_ms)
wrk -t2 -c64 -d3600s --timeout 10s -s "$here/put.lua" "http://${http[$l]}/" >/dev/null 2>&1 &
wrk_pid=$!
while (( $(status "$l" | field applied) < entries )); do sleep 0.5; done
kill "$wrk_pid"; wait "$wrk_pid" 2>/dev/null || true
t1=$(now_ms)
sleep 2  # the last PUTs in flight settle
ls=$(status "$l")
commit=$(field commit <<<"$ls")
snap=$(ls -t "$work/n$l/snapshots/"*.snap | head -1)
echo "load: $commit entries committed in $(( t1 - t0 )) ms ($(( commit * 1000 / (t1 - t0 + 1) ))/s); leader first_index $(field first_index <<<"$ls"), snapshots taken $(field compactions <<<"$ls")"
echo "leader snapshot file: $(stat -c %s "$snap") bytes ($(basename "$snap"))"

t2=$(now_ms)
start "$f" "${flags[@]}"
while (( $(status "$f" | field applied) < commit )); do sleep 0.05; done
t3=$(now_ms)
fs=$(status "$f"); ls=$(status "$l")
echo "follower $f caught up to $commit in $(( t3 - t2 )) ms from its spawn: snapshots_applied $(field snapshots_applied <<<"$fs"), chunks received $(field snapshot_chunks_received <<<"$fs"), snapshot_bytes_buffered_peak $(field snapshot_bytes_buffered_peak <<<"$fs")"
echo "leader $l: chunks sent $(field snapshot_chunks_sent <<<"$ls"), snapshot_bytes_buffered_peak $(field snapshot_bytes_buffered_peak <<<"$ls")"
echo "peak RSS (VmHWM): leader $(hwm "${pid[$l]}") MiB, follower $(hwm "${pid[$f]}") MiB"
