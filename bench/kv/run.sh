#!/usr/bin/env bash
# bench/kv: Cairn's KV through its HTTP API against a 3-member etcd through
# etcd's JSON gateway, same load tool, same run, interleaved (etcd, cairn,
# etcd, cairn…). Both clusters: 3 members on 127.0.0.1, fsync on (both
# systems' defaults), loaded at the LEADER's HTTP port.
#   load:    wrk, 256-byte values, keys spread over 10,000 names (prefilled):
#            PUT (cairn PUT /v1/kv/<k>; etcd POST /v3/kv/put) and linearizable
#            GET (cairn GET /v1/kv/<k>?consistent; etcd POST /v3/kv/range), each
#            with 1 connection/1 thread and 64 connections/2 threads: requests/s,
#            p50/p99/p99.9, CPU-seconds per 10k requests over the three servers
#            (/proc utime+stime), machine busy CPU-seconds; VmRSS per server after.
#   watch:   10,000 watchers on one key (kvclient.cc): cairn blocking GETs,
#            etcd /v3/watch streams through the gateway; one write; time from
#            the write's response to each watcher's first byte.
#   restart: 200,000 service instances registered on cairn (PUT
#            /v1/catalog/register, 64 connections), one follower stopped with
#            SIGTERM and started again: time from exec until it answers
#            /v1/catalog/service/web?stale with all of them.
#
#   bench/kv/run.sh [build-dir]   (default /work/main/build; needs <build-dir>/cli/cairn)
#   env: DUR=10 (seconds per wrk run)  ROUNDS=3  KEYS=10000  WATCHERS=10000
#        INSTANCES=200000  PARTS="load watch restart"  SYSTEMS="etcd cairn"
#        CAIRN_EXTRA_CONFIG='"raft_snapshot_threshold": 10000'  (more fields for every cairn server's JSON config)
# Prints the tables; stops only the processes it started, by PID.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-$root/build}
DUR=${DUR:-10}
ROUNDS=${ROUNDS:-3}
KEYS=${KEYS:-10000}
WATCHERS=${WATCHERS:-10000}
INSTANCES=${INSTANCES:-200000}
PARTS=${PARTS:-load watch restart}
SYSTEMS=${SYSTEMS:-etcd cairn}
CAIRN=$build/cli/cairn
has() { [[ " $2 " == *" $1 "* ]]; }

need=()
command -v etcd >/dev/null || need+=(etcd-server)
command -v wrk >/dev/null || need+=(wrk)
command -v curl >/dev/null || need+=(curl)
command -v g++ >/dev/null || need+=(g++)
if ((${#need[@]})); then
  echo "installing ${need[*]}" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
if has cairn "$SYSTEMS" && [[ ! -x $CAIRN ]]; then
  echo "missing $CAIRN (ninja -C $build cairn)" >&2; exit 1
fi
ulimit -n "$(ulimit -Hn)"  # 10,000 watchers: the tool and the servers each hold that many sockets
if (( $(ulimit -n) < WATCHERS + 1000 )) && has watch "$PARTS"; then
  echo "ulimit -n is $(ulimit -n): too low for $WATCHERS watchers" >&2; exit 1
fi

work=$(mktemp -d /tmp/cairn-bench-kv-XXXXXX)
declare -A pid addr   # name (e1..e3, s1..s3) -> PID, client (HTTP) address
cleanup() {
  for n in "${!pid[@]}"; do kill "${pid[$n]}" 2>/dev/null || true; done
  for n in "${!pid[@]}"; do
    for _ in $(seq 50); do kill -0 "${pid[$n]}" 2>/dev/null || break; sleep 0.1; done
    kill -9 "${pid[$n]}" 2>/dev/null || true
    wait "${pid[$n]}" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

g++ -O2 -std=c++20 -Wall -Wextra -Werror -pthread "$here/kvclient.cc" -o "$work/kvclient"
kvtool() { python3 "$here/kvtool.py" "$@"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
cpu_ticks() { local t=0 f; for p in "$@"; do read -r -a f <"/proc/$p/stat"; t=$((t + f[13] + f[14])); done; echo "$t"; }
busy_ticks() { awk '/^cpu /{print $2+$3+$4+$7+$8}' /proc/stat; }
rss() { awk '/VmRSS/{printf "%.1f MB", $2/1024}' "/proc/$1/status"; }

# ---- etcd: 3 members, data dirs under $work, fsync on (the default) ----
start_etcd() {
  local cluster="" i
  declare -gA eport
  for i in 1 2 3; do eport[c$i]=$(free_port); eport[p$i]=$(free_port); done
  for i in 1 2 3; do cluster+="${cluster:+,}e$i=http://127.0.0.1:${eport[p$i]}"; done
  for i in 1 2 3; do
    etcd --name "e$i" --data-dir "$work/etcd$i" \
      --listen-client-urls "http://127.0.0.1:${eport[c$i]}" --advertise-client-urls "http://127.0.0.1:${eport[c$i]}" \
      --listen-peer-urls "http://127.0.0.1:${eport[p$i]}" --initial-advertise-peer-urls "http://127.0.0.1:${eport[p$i]}" \
      --initial-cluster "$cluster" --initial-cluster-state new --initial-cluster-token bench-kv \
      --logger zap --log-outputs "$work/etcd$i.log" --log-level warn >"$work/etcd$i.out" 2>&1 &
    pid[e$i]=$!
    addr[e$i]=127.0.0.1:${eport[c$i]}
  done
  for _ in $(seq 300); do
    local ok=0
    for i in 1 2 3; do
      curl -sf --max-time 1 "http://${addr[e$i]}/health" | grep -q '"health":"true"' && ok=$((ok + 1))
    done
    ((ok == 3)) && return 0
    sleep 0.1
  done
  echo "etcd did not become healthy:" >&2; tail -5 "$work"/etcd*.log >&2; exit 1
}
etcd_leader() { kvtool etcd-leader "${addr[e1]}" "${addr[e2]}" "${addr[e3]}"; }

# ---- cairn: 3 servers, -bootstrap-expect 3, each with its own data dir ----
cairn_field() {  # log-file pattern: the IP:PORT after the pattern
  grep -o "$2[0-9.]*:[0-9]*" "$1" | head -1 | sed "s/^$2//" || true
}
start_cairn_one() {  # i [retry-join address]
  local i=$1 join=${2:-} log=$work/s$1.log
  echo "{\"performance\": {\"raft_multiplier\": 1}${CAIRN_EXTRA_CONFIG:+, $CAIRN_EXTRA_CONFIG}}" >"$work/s$i.json"
  "$CAIRN" agent -server -bootstrap-expect 3 -node "s$i" -data-dir "$work/s$i" -bind 127.0.0.1 \
    -serf-lan-port 0 -http-port 0 -server-port 0 -dns-port -1 ${join:+-retry-join "$join" -retry-interval 200ms} \
    -config-file "$work/s$i.json" >>"$log" 2>&1 &
  pid[s$i]=$!
  for _ in $(seq 200); do
    addr[s$i]=$(cairn_field "$log" 'Started HTTP server on ')
    rpc[s$i]=$(cairn_field "$log" 'RPC and Raft on ')
    gossip[s$i]=$(cairn_field "$log" 'gossip=')
    [[ -n ${addr[s$i]} && -n ${rpc[s$i]} && -n ${gossip[s$i]} ]] && return 0
    kill -0 "${pid[s$i]}" 2>/dev/null || break
    sleep 0.05
  done
  echo "cairn server s$i did not start (needs a server-capable build: 'Started HTTP server on', 'gossip=', 'RPC and Raft on' in its log):" >&2
  tail -20 "$log" >&2; exit 1
}
declare -A rpc gossip
start_cairn() {
  start_cairn_one 1
  start_cairn_one 2 "${gossip[s1]}"
  start_cairn_one 3 "${gossip[s1]}"
  cairn_leader >/dev/null
}
cairn_leader() {  # prints the leader's HTTP address once all three agree
  local i l agree
  for _ in $(seq 300); do
    agree=""
    for i in 1 2 3; do
      l=$(curl -sf --max-time 1 "http://${addr[s$i]}/v1/status/leader" | tr -d '"' || true)
      [[ -z $l || ( -n $agree && $l != "$agree" ) ]] && { agree=""; break; }
      agree=$l
    done
    if [[ -n $agree ]]; then
      for i in 1 2 3; do [[ ${rpc[s$i]} == "$agree" ]] && { echo "${addr[s$i]}"; return 0; }; done
    fi
    sleep 0.1
  done
  echo "the cairn servers did not agree on a leader (last answer: '${agree:-$l}'; RPC addresses ${rpc[*]})" >&2
  exit 1
}

leader_of() { if [[ $1 == etcd ]]; then etcd_leader; else cairn_leader; fi; }
pids_of() { if [[ $1 == etcd ]]; then echo "${pid[e1]} ${pid[e2]} ${pid[e3]}"; else echo "${pid[s1]} ${pid[s2]} ${pid[s3]}"; fi; }

results=$work/results.tsv
: >"$results"
measure() {  # system op conns threads round
  local sys=$1 op=$2 conns=$3 threads=$4 rnd=$5 l c0 b0 c1 b1 out
  l=$(leader_of "$sys")
  # shellcheck disable=SC2046
  c0=$(cpu_ticks $(pids_of "$sys")); b0=$(busy_ticks)
  out=$(KV_TARGET=$sys KV_OP=$op KV_KEYS=$KEYS wrk -t"$threads" -c"$conns" -d"${DUR}s" --timeout 10s \
    -s "$here/kv.lua" "http://$l/" 2>&1 | grep RESULT || true)
  # shellcheck disable=SC2046
  c1=$(cpu_ticks $(pids_of "$sys")); b1=$(busy_ticks)
  kvtool row "$sys" "$op" "$conns" "$rnd" "$out" $((c1 - c0)) $((b1 - b0)) | tee -a "$results"
}

echo "# bench/kv $(date -u +%Y-%m-%dT%H:%MZ): $(nproc) cores, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo)," \
  "$(etcd --version | head -1), cairn $(git -C "$root" rev-parse --short HEAD), load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# DUR=${DUR}s ROUNDS=$ROUNDS KEYS=$KEYS WATCHERS=$WATCHERS INSTANCES=$INSTANCES PARTS='$PARTS' SYSTEMS='$SYSTEMS'"
has etcd "$SYSTEMS" && start_etcd
has cairn "$SYSTEMS" && start_cairn
for sys in $SYSTEMS; do echo "# $sys leader (load target): $(leader_of "$sys")"; done

if has load "$PARTS"; then
  for sys in $SYSTEMS; do kvtool prefill "$(leader_of "$sys")" "$sys" "$KEYS" 256; done
  printf '# system\top\tclients\tround\treq/s\tp50_ms\tp99_ms\tp99.9_ms\tcpu_s_per_10k\tmachine_busy_s\tsecs\tnon2xx/errors\n'
  for r in $(seq "$ROUNDS"); do
    for phase in "put 1 1" "put 64 2" "get 1 1" "get 64 2"; do
      for sys in $SYSTEMS; do
        # shellcheck disable=SC2086
        measure "$sys" $phase "$r"
      done
    done
  done
  echo
  echo "VmRSS per server after the load:"
  for n in e1 e2 e3 s1 s2 s3; do [[ -n ${pid[$n]:-} ]] && echo "  $n: $(rss "${pid[$n]}")"; done
  echo
  kvtool summary "$results"
fi

if has watch "$PARTS"; then
  echo
  echo "$WATCHERS watchers on one key, one write (ms from the write's response to each watcher's first byte):"
  for sys in $SYSTEMS; do
    # shellcheck disable=SC2046
    "$work/kvclient" watch "$sys" "$(leader_of "$sys")" bench/watched "$WATCHERS" $(pids_of "$sys") ||
      echo "$sys: the watch measurement failed" >&2
  done
fi

if has restart "$PARTS" && has cairn "$SYSTEMS"; then
  echo
  l=$(cairn_leader)
  echo "registering $INSTANCES instances of service web on $l (64 connections):"
  "$work/kvclient" register "$l" "$INSTANCES" 64
  for i in 1 2 3; do [[ ${addr[s$i]} != "$l" ]] && { victim=$i; break; }; done
  # The prober starts first and waits for the stamp, so its own start-up is not timed.
  probe() { kvtool ready "${addr[s$victim]}" /v1/catalog/service/web?stale "$INSTANCES" "$work/t0.$1" 120 | sed "s/^/$2: /" & }
  probe warm "s$victim, warm, before the restart (ms from the first poll)"
  sleep 1; date +%s%N >"$work/t0.warm"; wait $!
  echo "s$victim before the restart: $(rss "${pid[s$victim]}"), data dir $(du -sh "$work/s$victim" | cut -f1)"
  kill -TERM "${pid[s$victim]}"
  t_stop=$(date +%s%N)
  wait "${pid[s$victim]}" 2>/dev/null || true
  echo "s$victim stopped by SIGTERM in $(( ($(date +%s%N) - t_stop) / 1000000 )) ms"
  probe restart "restart of s$victim (ms from exec)"
  prober=$!
  sleep 1
  # The same ports as before (the probe can start before the log says
  # anything, and the peers' Raft configuration names the old RPC address).
  date +%s%N >"$work/t0.restart"
  "$CAIRN" agent -server -bootstrap-expect 3 -node "s$victim" -data-dir "$work/s$victim" -bind 127.0.0.1 \
    -serf-lan-port "${gossip[s$victim]##*:}" -http-port "${addr[s$victim]##*:}" -server-port "${rpc[s$victim]##*:}" -dns-port -1 \
    -retry-join "${gossip[s$(( victim == 1 ? 2 : 1 ))]}" \
    -retry-interval 200ms -config-file "$work/s$victim.json" >>"$work/s$victim.restart.log" 2>&1 &
  pid[s$victim]=$!
  wait "$prober"
  echo "s$victim after the restart: $(rss "${pid[s$victim]}")"
fi
