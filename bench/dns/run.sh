#!/usr/bin/env bash
# bench/dns: the DNS interface of a cairn CLIENT agent (joined to a separate
# cairn server, answering from its agent cache) against knotd serving the
# same records from a static zone, same load tool, same run, interleaved
# (knot, cairn, knot, cairn…).
#   catalog: SERVICES services × 3 instances on 100 nodes (PUT /v1/catalog/register
#            on the server), every instance passing; the zone file holds the same
#            A and SRV records (+ node A records as SRV targets).
#   load:    dnsperf, UDP, no EDNS0, queries "svc-N.service.cairn" A or SRV (half
#            each) over random services; the agent cache is warmed with one pass first.
#            throughput: DUR seconds, 4 clients, 100 outstanding: queries/s, CPU-µs per
#            query of the answering process(es) (/proc utime+stime), machine busy CPU.
#            latency: LAT_DUR seconds at LAT_QPS queries/s (dnsperf -Q, -v): average,
#            p50, p99, p99.9 from the per-query latencies.
#   memory:  VmRSS of the client agent, the server and knotd after the rounds; the
#            idle RSS of a second client agent with 10 services registered on its node.
#
#   bench/dns/run.sh [build-dir]   (default /work/main/build; needs <build-dir>/cli/cairn)
#   env: DUR=30 ROUNDS=3 LAT_DUR=10 LAT_QPS=2000 SERVICES=1000
# Prints the tables; stops only the processes it started, by PID.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-$root/build}
DUR=${DUR:-30}
ROUNDS=${ROUNDS:-3}
LAT_DUR=${LAT_DUR:-10}
LAT_QPS=${LAT_QPS:-2000}
SERVICES=${SERVICES:-1000}
CAIRN=$build/cli/cairn

need=()
command -v dnsperf >/dev/null || need+=(dnsperf)
command -v knotd >/dev/null || need+=(knot)
command -v curl >/dev/null || need+=(curl)
if ((${#need[@]})); then
  echo "installing ${need[*]}" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
[[ -x $CAIRN ]] || { echo "missing $CAIRN (ninja -C $build cairn)" >&2; exit 1; }

work=$(mktemp -d /tmp/cairn-bench-dns-XXXXXX)
declare -A pid
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

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
cpu_ticks() { local t=0 f; for p in "$@"; do read -r -a f <"/proc/$p/stat"; t=$((t + f[13] + f[14])); done; echo "$t"; }
busy_ticks() { awk '/^cpu /{print $2+$3+$4+$7+$8}' /proc/stat; }
rss_mb() { awk '/VmRSS/{printf "%.1f", $2/1024}' "/proc/$1/status"; }
hz=$(getconf CLK_TCK)
log_field() { grep -o "$2[0-9.]*:[0-9]*" "$1" | head -1 | sed "s/^$2//" || true; }
wait_field() {  # log pattern name -> prints IP:PORT once logged
  local v
  for _ in $(seq 300); do
    v=$(log_field "$1" "$2"); [[ -n $v ]] && { echo "$v"; return 0; }
    kill -0 "${pid[$3]}" 2>/dev/null || break
    sleep 0.05
  done
  echo "$3 did not log '$2':" >&2; tail -20 "$1" >&2; exit 1
}

# ---- cairn: one server (its own DNS off) and a client agent joined to it ----
echo '{"ports": {"dns": -1}}' >"$work/server.json"
"$CAIRN" agent -dev -node bench-server -serf-lan-port 0 -http-port 0 -server-port 0 \
  -config-file "$work/server.json" >"$work/server.log" 2>&1 &
pid[server]=$!
server_http=$(wait_field "$work/server.log" 'Started HTTP server on ' server)
server_gossip=$(wait_field "$work/server.log" 'gossip=' server)
for _ in $(seq 300); do
  [[ -n $(curl -sf --max-time 1 "http://$server_http/v1/status/leader" | tr -d '"') ]] && break
  sleep 0.1
done
start_client() {  # name (then: wait_field for its DNS address)
  echo '{"ports": {"dns": 0}}' >"$work/$1.json"
  "$CAIRN" agent -node "$1" -data-dir "$work/$1" -bind 127.0.0.1 -serf-lan-port 0 -http-port 0 \
    -join "$server_gossip" -config-file "$work/$1.json" >"$work/$1.log" 2>&1 &
  pid[$1]=$!
}
start_client bench-client
client_dns=$(wait_field "$work/bench-client.log" 'Started DNS server on ' bench-client)

echo "registering $SERVICES services x 3 instances on 100 nodes" >&2
python3 - "$server_http" "$SERVICES" "$work" <<'PY'
import http.client, json, sys
host, n, work = sys.argv[1], int(sys.argv[2]), sys.argv[3]
c = http.client.HTTPConnection(host, timeout=30)
zone = ["$ORIGIN cairn.", "$TTL 0", "@ SOA ns.cairn. hostmaster.cairn. 1 3600 600 86400 0", "@ NS ns.cairn.",
        "ns A 127.0.0.1"]
for node in range(100):
    zone.append(f"n{node}.node.dc1 A 10.0.{node // 250}.{node % 250 + 1}")
for i in range(n):
    for k in range(3):
        node = (i * 3 + k) % 100
        addr = f"10.0.{node // 250}.{node % 250 + 1}"
        body = {"Node": f"n{node}", "Address": addr,
                "Service": {"ID": f"svc-{i}-{k}", "Service": f"svc-{i}", "Port": 8000 + k},
                "Check": {"CheckID": f"svc-{i}-{k}", "Name": "alive", "Status": "passing", "ServiceID": f"svc-{i}-{k}"}}
        c.request("PUT", "/v1/catalog/register", json.dumps(body))
        r = c.getresponse(); r.read()
        if r.status != 200: sys.exit(f"register: {r.status}")
        zone.append(f"svc-{i}.service A {addr}")
        zone.append(f"svc-{i}.service SRV 1 1 {8000 + k} n{node}.node.dc1.cairn.")
open(f"{work}/cairn.zone", "w").write("\n".join(zone) + "\n")
import random
random.seed(1)
with open(f"{work}/queries", "w") as q:
    for _ in range(20000):
        q.write(f"svc-{random.randrange(n)}.service.cairn {random.choice(['A', 'SRV'])}\n")
with open(f"{work}/warm", "w") as q:
    for i in range(n):
        q.write(f"svc-{i}.service.cairn A\nsvc-{i}.service.cairn SRV\n")
PY

# ---- knot: the same records as a static zone ----
kport=$(free_port)
mkdir -p "$work/knot"
cat >"$work/knot.conf" <<KNOT
server:
    rundir: "$work/knot"
    listen: 127.0.0.1@$kport
log:
  - target: stderr
    any: warning
database:
    storage: "$work/knot"
template:
  - id: default
    storage: "$work"
    file: "%s.zone"
    semantic-checks: off
zone:
  - domain: cairn.
KNOT
knotd -c "$work/knot.conf" >"$work/knot.log" 2>&1 &
pid[knot]=$!
for _ in $(seq 100); do
  dig +short +time=1 +tries=1 @127.0.0.1 -p "$kport" svc-0.service.cairn A | grep -q . && break
  sleep 0.1
done

# Warm the agent cache (one pass over every name) and check both answer alike.
dnsperf -s 127.0.0.1 -p "${client_dns##*:}" -d "$work/warm" -n 1 -q 20 >/dev/null
for t in A SRV; do
  a=$(dig +short @127.0.0.1 -p "${client_dns##*:}" svc-7.service.cairn $t | sort)
  b=$(dig +short @127.0.0.1 -p "$kport" svc-7.service.cairn $t | sort)
  [[ $a == "$b" ]] || { echo "answers differ for svc-7 $t: cairn [$a] knot [$b]" >&2; exit 1; }
done

throughput() {  # port pids... -> "qps cpu_us_per_query busy_pct"
  local port=$1; shift
  local c0 b0 c1 b1 out qps
  c0=$(cpu_ticks "$@"); b0=$(busy_ticks)
  out=$(dnsperf -s 127.0.0.1 -p "$port" -d "$work/queries" -l "$DUR" -c 4 -q 100 2>&1)
  c1=$(cpu_ticks "$@"); b1=$(busy_ticks)
  qps=$(awk '/Queries per second:/{print $4}' <<<"$out")
  lost=$(awk '/Queries lost:/{print $3}' <<<"$out")
  awk -v q="$qps" -v c=$((c1 - c0)) -v b=$((b1 - b0)) -v hz="$hz" -v d="$DUR" -v l="$lost" \
    'BEGIN{printf "%.0f %.1f %.0f %s", q, c / hz * 1e6 / (q * d), b / hz / (2 * d) * 100, l}'
}
latency() {  # port -> "avg p50 p99 p999" in ms
  dnsperf -s 127.0.0.1 -p "$1" -d "$work/queries" -l "$LAT_DUR" -c 4 -Q "$LAT_QPS" -v 2>/dev/null |
    awk '$1 == ">" {print $NF}' | sort -g |
    awk '{v[NR]=$1; s+=$1} END{printf "%.3f %.3f %.3f %.3f", s/NR*1000, v[int(NR*0.5)]*1000, v[int(NR*0.99)]*1000, v[int(NR*0.999)]*1000}'
}

printf "%-6s %-6s %9s %12s %6s %6s | %8s %8s %8s %8s\n" round system qps cpu_us/query busy% lost avg_ms p50_ms p99_ms p99.9_ms
declare -A res
for r in $(seq "$ROUNDS"); do
  for s in knot cairn; do
    if [[ $s == knot ]]; then port=$kport; pids=(${pid[knot]}); else port=${client_dns##*:}; pids=(${pid[bench-client]} ${pid[server]}); fi
    t=$(throughput "$port" "${pids[@]}")
    l=$(latency "$port")
    res[$s$r]="$t $l"
    read -r q c b lo <<<"$t"; read -r av p5 p9 p99 <<<"$l"
    printf "%-6s %-6s %9s %12s %6s %6s | %8s %8s %8s %8s\n" "$r" "$s" "$q" "$c" "$b" "$lo" "$av" "$p5" "$p9" "$p99"
  done
  read -r kq _ <<<"${res[knot$r]}"; read -r cq _ <<<"${res[cairn$r]}"
  awk -v a="$cq" -v b="$kq" 'BEGIN{printf "round ratio cairn/knot qps: %.2f\n", a / b}'
done

server_cpu_note=$(cpu_ticks "${pid[server]}")
echo
echo "RSS after the rounds: cairn client agent $(rss_mb "${pid[bench-client]}") MB, cairn server $(rss_mb "${pid[server]}") MB, knotd $(rss_mb "${pid[knot]}") MB"
echo "server CPU ticks total (registration included): $server_cpu_note"

# Idle client agent with 10 services on its node.
start_client idle-client
idle_dns=$(wait_field "$work/idle-client.log" 'Started DNS server on ' idle-client)
idle_http=$(wait_field "$work/idle-client.log" 'Started HTTP server on ' idle-client)
for i in $(seq 10); do
  if ! curl -sf -X PUT --data "{\"Name\":\"idle-$i\",\"Port\":$((9000 + i))}" "http://$idle_http/v1/agent/service/register" >/dev/null; then
    curl -sf -X PUT --data "{\"Node\":\"idle-client\",\"Address\":\"127.0.0.1\",\"Service\":{\"Service\":\"idle-$i\",\"Port\":$((9000 + i))}}" \
      "http://$server_http/v1/catalog/register" >/dev/null
  fi
done
dig +short @127.0.0.1 -p "${idle_dns##*:}" idle-1.service.cairn >/dev/null || true
sleep 5
echo "idle client agent with 10 services: $(rss_mb "${pid[idle-client]}") MB"
