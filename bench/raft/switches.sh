#!/usr/bin/env bash
# Thread hand-offs per 1-client commit: context switches (voluntary +
# involuntary, every thread of the process, /proc/PID/task/*/status) per
# committed entry on the leader and on one follower, over 4 s of a 1-client
# wrk load on three raft_kv_node processes; and wrk's p50.
#   bench/raft/switches.sh [build-dir] [label]    (EXTRA="--threads 1" adds node flags)
# Stops only the processes it started, by PID.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh" "${1:-}"
for id in 1 2 3; do start "$id" ${EXTRA:-}; done
l=$(wait_leader); f=$(( l % 3 + 1 ))
cs() { local t=0; for s in /proc/$1/task/*/status; do t=$(( t + $(awk '/ctxt_switches/ {s+=$2} END {print s}' $s) )); done; echo $t; }
wrk -t1 -c1 -d6s --timeout 10s -s "$here/put.lua" "http://${http[$l]}/" > $work/wrk.out 2>&1 &
w=$!
sleep 1; c0=$(status $l | field commit); l0=$(cs ${pid[$l]}); f0=$(cs ${pid[$f]})
sleep 4; c1=$(status $l | field commit); l1=$(cs ${pid[$l]}); f1=$(cs ${pid[$f]})
wait $w
p50=$(grep -o 'p50_us=[0-9]*' $work/wrk.out)
python3 -c "c=$c1-$c0; print('${2:-run} commits', c, 'leader cs/commit %.1f follower cs/commit %.1f' % (($l1-$l0)/c, ($f1-$f0)/c), '$p50')"
stop_all
