#!/usr/bin/env bash
# bench/proxy: the sidecar pair (client -> outbound proxy -> mTLS -> inbound
# proxy -> backend) against the same path direct and through an haproxy pair
# (Debian haproxy 2.6, mode tcp and mode http) with the same certificates
# (TLS 1.3, ECDSA P-256, one thread per proxy process). The backend is nginx
# (a 2-byte 200 for wrk, a 100 MB file for bulk). Interleaved rounds: direct,
# haproxy-tcp, haproxy-http, cairn, ...
#
# Per round and path:
#   rps32 / rps256   wrk requests/s with 32 and 256 keep-alive connections
#   p50 / p99 / p999 latency (ms) at a fixed ~1,000 req/s (wrk + fixed_rate.lua:
#                    10 connections with Poisson gaps)
#   cpu10k           CPU-seconds of the two proxy processes (/proc utime+stime)
#                    per 10,000 requests, over the rps32 run
#   bulk             MB/s of one 100 MB download (curl)
#   busy             machine-wide busy CPU-seconds during the round (someone
#                    else loading the machine shows here)
# Then VmRSS of every proxy process after the rounds, the medians and the ratios.
#
#   bench/proxy/run.sh [build-dir]     (default build/; builds cairn_proxy_harness there)
#   env: ROUNDS=3 DUR=8 (seconds per wrk run)  LAT_DUR=10  CAIRN_THREADS=1
# Installs wrk, nginx-light, haproxy with apt-get when missing. Stops only
# what it started, by PID.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-$root/build}
ROUNDS=${ROUNDS:-3}
DUR=${DUR:-8}
LAT_DUR=${LAT_DUR:-10}
CAIRN_THREADS=${CAIRN_THREADS:-1}
export PATH=$PATH:/usr/sbin

need=()
command -v wrk >/dev/null || need+=(wrk)
command -v nginx >/dev/null || need+=(nginx-light)
command -v haproxy >/dev/null || need+=(haproxy)
command -v curl >/dev/null || need+=(curl)
command -v openssl >/dev/null || need+=(openssl)
if ((${#need[@]})); then
  echo "installing ${need[*]}" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
ninja -C "$build" cairn_proxy_harness >/dev/null || { echo "building cairn_proxy_harness failed" >&2; exit 1; }
HARNESS=$build/test/proxy/cairn_proxy_harness

work=$(mktemp -d /tmp/cairn-bench-proxy-XXXXXX)
chmod 755 "$work"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# ---- certificates: one CA, leaves for web and api with SPIFFE URI SANs ----
td=11111111-2222-3333-4444-555555555555.consul
ossl() { openssl "$@" >/dev/null 2>&1; }
ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 7 -keyout "$work/ca.key" \
  -out "$work/ca.pem" -subj "/CN=Bench Mesh Root" -addext "subjectAltName=URI:spiffe://$td"
for svc in web api; do
  printf 'subjectAltName=URI:spiffe://%s/ns/default/dc/dc1/svc/%s\nextendedKeyUsage=serverAuth,clientAuth\nbasicConstraints=CA:FALSE\n' \
    "$td" "$svc" >"$work/$svc.ext"
  ossl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$work/$svc.key" -out "$work/$svc.csr" \
    -subj "/CN=$svc"
  ossl x509 -req -days 7 -in "$work/$svc.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" -CAcreateserial \
    -out "$work/$svc.pem" -extfile "$work/$svc.ext"
  cat "$work/$svc.pem" "$work/$svc.key" >"$work/$svc.combined.pem"  # haproxy's crt
done

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# ---- backend: nginx ----
mkdir -p "$work/www" "$work/nginx"
chmod 755 "$work/www"
head -c $((100 * 1024 * 1024)) /dev/zero >"$work/www/bulk"
chmod 644 "$work/www/bulk"
nginx_port=$(free_port)
cat >"$work/nginx/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 10000000;
  client_body_temp_path $work/nginx;
  proxy_temp_path $work/nginx;
  fastcgi_temp_path $work/nginx;
  uwsgi_temp_path $work/nginx;
  scgi_temp_path $work/nginx;
  sendfile on;
  server {
    listen 127.0.0.1:$nginx_port;
    location = / { return 200 "ok"; }
    location = /bulk { root $work/www; }
  }
}
CONF
nginx -c "$work/nginx/nginx.conf" -p "$work/nginx" &
pids+=($!)

# ---- haproxy pairs (tcp, http) ----
suites=TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256
declare -A out_port proxy_pids
start_haproxy() {  # mode
  local mode=$1 pin pout
  pin=$(free_port)
  pout=$(free_port)
  cat >"$work/haproxy-$mode-in.cfg" <<CONF
global
  nbthread 1
  maxconn 4096
  ssl-default-bind-ciphersuites $suites
  ssl-default-bind-options ssl-min-ver TLSv1.3
defaults
  mode $mode
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  timeout http-keep-alive 60s
frontend in
  bind 127.0.0.1:$pin ssl crt $work/api.combined.pem ca-file $work/ca.pem verify required
  default_backend local
backend local
  server app 127.0.0.1:$nginx_port
CONF
  cat >"$work/haproxy-$mode-out.cfg" <<CONF
global
  nbthread 1
  maxconn 4096
  ssl-default-server-ciphersuites $suites
  ssl-default-server-options ssl-min-ver TLSv1.3
defaults
  mode $mode
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  timeout http-keep-alive 60s
frontend out
  bind 127.0.0.1:$pout
  default_backend api
backend api
  server api1 127.0.0.1:$pin ssl crt $work/web.combined.pem ca-file $work/ca.pem verify required
CONF
  haproxy -db -f "$work/haproxy-$mode-in.cfg" >"$work/haproxy-$mode-in.log" 2>&1 &
  local a=$!
  haproxy -db -f "$work/haproxy-$mode-out.cfg" >"$work/haproxy-$mode-out.log" 2>&1 &
  local b=$!
  pids+=($a $b)
  out_port[haproxy-$mode]=$pout
  proxy_pids[haproxy-$mode]="$a $b"
}
start_haproxy tcp
start_haproxy http

# ---- the cairn pair (cairn_proxy_harness) ----
cat >"$work/cairn-in.json" <<CONF
{"proxy": {"service": "api", "local_service_port": $nginx_port, "trust_domain": "$td", "max_connections": 10000,
           "handshake_turns": ${CAIRN_TURNS:-0}},
 "cert_file": "$work/api.pem", "key_file": "$work/api.key", "roots_file": "$work/ca.pem",
 "rules": [{"source": "web", "action": "allow"}], "default_allow": false}
CONF
"$HARNESS" "$work/cairn-in.json" "$CAIRN_THREADS" >"$work/cairn-in.log" 2>&1 &
cin=$!
pids+=($cin)
for _ in $(seq 100); do grep -q 'proxy ready' "$work/cairn-in.log" && break; sleep 0.05; done
cin_port=$(grep -o 'inbound=[0-9]*' "$work/cairn-in.log" | cut -d= -f2)
[ -n "$cin_port" ] || { echo "cairn inbound proxy did not start" >&2; cat "$work/cairn-in.log" >&2; exit 1; }
cat >"$work/cairn-out.json" <<CONF
{"proxy": {"service": "web", "max_connections": 10000, "handshake_turns": ${CAIRN_TURNS:-0},
           "upstreams": [{"destination_name": "api", "datacenter": "dc1", "local_bind_port": 0}]},
 "cert_file": "$work/web.pem", "key_file": "$work/web.key", "roots_file": "$work/ca.pem",
 "endpoints": {"api": [{"address": "127.0.0.1", "port": $cin_port}]}}
CONF
"$HARNESS" "$work/cairn-out.json" "$CAIRN_THREADS" >"$work/cairn-out.log" 2>&1 &
cout=$!
pids+=($cout)
for _ in $(seq 100); do grep -q 'proxy ready' "$work/cairn-out.log" && break; sleep 0.05; done
out_port[cairn]=$(grep -o 'upstream.api=[0-9]*' "$work/cairn-out.log" | cut -d= -f2)
[ -n "${out_port[cairn]}" ] || { echo "cairn outbound proxy did not start" >&2; cat "$work/cairn-out.log" >&2; exit 1; }
proxy_pids[cairn]="$cin $cout"
out_port[direct]=$nginx_port
proxy_pids[direct]=""

for name in direct haproxy-tcp haproxy-http cairn; do
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:${out_port[$name]}/" >/dev/null && break; sleep 0.05; done
  curl -sf "http://127.0.0.1:${out_port[$name]}/" >/dev/null || { echo "$name does not answer" >&2; tail "$work"/*.log >&2; exit 1; }
done

cpu_ticks() {
  local total=0
  for p in "$@"; do
    read -r -a f <"/proc/$p/stat"
    total=$((total + f[13] + f[14]))
  done
  echo "$total"
}
busy_ticks() { awk '/^cpu /{print $2+$3+$4+$7+$8}' /proc/stat; }
hz=$(getconf CLK_TCK)
results="$work/results.tsv"

run_path() {  # name
  local name=$1 url="http://127.0.0.1:${out_port[$1]}/" c0 c1 b0 out32 out256 outlat bulk
  # shellcheck disable=SC2086
  b0=$(busy_ticks)
  c0=$(cpu_ticks ${proxy_pids[$name]})
  out32=$(wrk -t1 -c32 -d"${DUR}s" "$url")
  # shellcheck disable=SC2086
  c1=$(cpu_ticks ${proxy_pids[$name]})
  out256=$(wrk -t2 -c256 -d"${DUR}s" "$url")
  outlat=$(MEAN_MS=10 wrk -t1 -c10 -d"${LAT_DUR}s" --latency -s "$here/fixed_rate.lua" "$url")
  bulk=$(curl -s -o /dev/null -w '%{size_download} %{time_total}' "http://127.0.0.1:${out_port[$name]}/bulk")
  python3 - "$name" "$((c1 - c0))" "$(($(busy_ticks) - b0))" "$hz" "$bulk" "$out32" "$out256" "$outlat" <<'PY' >>"$results"
import re, sys
name, cpu, busy, hz, bulk, o32, o256, olat = sys.argv[1:9]
cpu, busy, hz = int(cpu), int(busy), int(hz)
def rps(t): return float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1))
def reqs(t): return int(re.search(r"(\d+) requests in", t).group(1))
def lat(t, p):
    m = re.search(r"^\s*%s%%\s+([\d.]+)(us|ms|s)\b" % p, t, re.M)
    return float(m.group(1)) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[m.group(2)]
errs = re.search(r"Non-2xx or 3xx responses: (\d+)|Socket errors: .*", o32 + o256 + olat)
size, secs = bulk.split()
mbps = float(size) / 1e6 / float(secs) if float(secs) > 0 else 0
p999 = re.search(r"^\s*99\.9+%\s+([\d.]+)(us|ms|s)", olat, re.M)
print("\t".join([name, f"{rps(o32):.0f}", f"{rps(o256):.0f}", f"{lat(olat,'50'):.3f}", f"{lat(olat,'99'):.3f}",
                 f"{rps(olat):.0f}", f"{cpu / hz / reqs(o32) * 1e4:.3f}", f"{mbps:.0f}", f"{busy / hz:.1f}",
                 "errors" if errs else "-"]))
PY
}

# PROFILE=strace|perf: only the cairn pair, then exit. strace: `strace -c -f`
# on both proxies over a fixed-rate run (~1,000 req/s for LAT_DUR s), the
# syscall counts divided by the requests wrk made. perf: `perf record -g` on
# both proxies over a 32-connection run (DUR s); the report goes to
# $PROFILE_OUT (default /tmp/cairn-proxy-perf.txt).
# BURST=1: established connections' latency under a connection storm, per
# path (BURST_PATHS, default "haproxy-tcp cairn"), ROUNDS times interleaved:
# ~1,000 req/s on 10 keep-alive connections (LAT_DUR s) alone, then the same
# while `wrk -c64 -H 'Connection: close'` opens a new connection (a new
# mTLS handshake between the proxies) for every request.
if [ -n "${BURST:-}" ]; then
  lat() { grep -E "^ +(50|99)(\.000)?%" <<<"$1" | awk '{printf "%s=%s ", $1, $2}'; }
  for r in $(seq "$ROUNDS"); do
    for name in ${BURST_PATHS:-haproxy-tcp cairn}; do
      url="http://127.0.0.1:${out_port[$name]}/"
      quiet=$(MEAN_MS=10 wrk -t1 -c10 -d"${LAT_DUR}s" --latency -s "$here/fixed_rate.lua" "$url")
      wrk -t1 -c"${STORM_C:-64}" -d"$((LAT_DUR + 1))s" -H 'Connection: close' "$url" >"$work/storm.txt" &
      storm=$!
      sleep 0.5
      busy=$(MEAN_MS=10 wrk -t1 -c10 -d"${LAT_DUR}s" --latency -s "$here/fixed_rate.lua" "$url")
      wait $storm || true
      echo "round $r $name: alone $(lat "$quiet")| during the storm $(lat "$busy")| storm $(grep -o 'Requests/sec: *[0-9.]*' "$work/storm.txt" | tr -s ' ') new connections/s"
    done
  done
  exit 0
fi

if [ -n "${PROFILE:-}" ]; then
  url="http://127.0.0.1:${out_port[cairn]}/"
  case $PROFILE in
    strace)
      strace -c -f -o "$work/strace.txt" -p "$cin" -p "$cout" &
      tracer=$!
      sleep 1
      out=$(MEAN_MS=10 wrk -t1 -c10 -d"${LAT_DUR}s" -s "$here/fixed_rate.lua" "$url")
      kill -INT $tracer
      wait $tracer || true
      n=$(grep -o '[0-9]* requests in' <<<"$out" | cut -d' ' -f1)
      echo "$n requests"
      awk -v n="$n" 'NR<=2 || /^-/ {print; next} NF>=5 && $4+0>0 {printf "%s  per request: %.2f\n", $0, $4/n; next} {print}' "$work/strace.txt"
      ;;
    trace)  # the syscalls of three requests on one keep-alive connection
      strace -f -tt -o "$work/trace.txt" -e trace=recvfrom,sendto,epoll_wait,read,write -p "$cin" -p "$cout" &
      tracer=$!
      sleep 1
      curl -s -o /dev/null "$url" -o /dev/null "$url" -o /dev/null "$url"
      sleep 0.5
      kill -INT $tracer
      wait $tracer || true
      cat "$work/trace.txt"
      ;;
    perf)
      prof=${PROFILE_OUT:-/tmp/cairn-proxy-perf}
      perf record ${PERF_CALLGRAPH:--g} -o "$prof.data" -p "$cin,$cout" -- sleep "$((DUR + 1))" >/dev/null 2>&1 &
      rec=$!
      sleep 0.5
      # PERF_STORM=1: every request on a new connection (the handshake path)
      if [ -n "${PERF_STORM:-}" ]; then storm=(-c64 -H 'Connection: close'); else storm=(-c32); fi
      wrk -t1 "${storm[@]}" -d"${DUR}s" "$url" | grep -E 'Requests/sec|requests in'
      wait $rec || true
      perf report -i "$prof.data" --no-children --sort dso --stdio -g none 2>/dev/null | grep '%' >"$prof.dso.txt"
      perf report -i "$prof.data" --no-children --sort dso,symbol --stdio -g none 2>/dev/null | grep '%' >"$prof.self.txt"
      perf report -i "$prof.data" --children --sort symbol --stdio -g none 2>/dev/null | grep '%' >"$prof.children.txt"
      echo "perf data and reports: $prof.{data,dso.txt,self.txt,children.txt}"
      ;;
    rss)  # where each proxy's RSS is after a 256-connection run and a bulk transfer (+6 s: a trim)
      wrk -t2 -c256 -d"${DUR}s" "$url" | grep -E 'Requests/sec'
      curl -s -o /dev/null "${url}bulk"
      sleep 6
      for p in $cin $cout; do
        echo "pid $p $(grep VmRSS /proc/$p/status)"
        awk '/^[0-9a-f]+-[0-9a-f]+ /{name=$6; if (name == "") name="[anon]"} /^Rss:/{rss[name]+=$2}
             END{for (n in rss) if (rss[n] >= 100) printf "  %6d kB %s\n", rss[n], n}' "/proc/$p/smaps" | sort -rn
      done
      ;;
    *) echo "PROFILE: want strace, trace, perf or rss" >&2; exit 1 ;;
  esac
  exit 0
fi

printf 'path\trps32\trps256\tp50_ms\tp99_ms\tlat_rps\tcpu_s_per_10k\tbulk_MBps\tbusy_s\terrors\n'
for r in $(seq "$ROUNDS"); do
  for name in direct haproxy-tcp haproxy-http cairn; do
    run_path "$name"
    tail -1 "$results"
  done
done

echo
for name in haproxy-tcp haproxy-http cairn; do
  for p in ${proxy_pids[$name]}; do
    echo "RSS $name pid $p: $(awk '/VmRSS/{print $2, $3}' /proc/$p/status)"
  done
done
python3 - "$results" <<'PY'
import statistics, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
by = {}
for r in rows: by.setdefault(r[0], []).append([float(x) for x in r[1:9]])
cols = ["rps32", "rps256", "p50_ms", "p99_ms", "lat_rps", "cpu_s_per_10k", "bulk_MBps", "busy_s"]
def med(n, i): return statistics.median(x[i] for x in by[n])
def rng(n, i): return min(x[i] for x in by[n]), max(x[i] for x in by[n])
print()
print("medians (min-max):")
for n in by:
    print(f"  {n:13s} " + "  ".join(f"{c}={med(n,i):.3f}({rng(n,i)[0]:.3f}-{rng(n,i)[1]:.3f})" if 'ms' in c or 'cpu' in c
                                      else f"{c}={med(n,i):.0f}({rng(n,i)[0]:.0f}-{rng(n,i)[1]:.0f})" for i, c in enumerate(cols)))
d50, d99 = med("direct", 2), med("direct", 3)
print()
for peer in ("haproxy-tcp", "haproxy-http"):
    c, h = "cairn", peer
    print(f"cairn vs {peer}: rps32 {med(c,0)/med(h,0):.2f}x, rps256 {med(c,1)/med(h,1):.2f}x, "
          f"added p50 {1e3*(med(c,2)-d50):.0f} vs {1e3*(med(h,2)-d50):.0f} us, "
          f"added p99 {1e3*(med(c,3)-d99):.0f} vs {1e3*(med(h,3)-d99):.0f} us, "
          f"CPU/request {med(c,5)/med(h,5):.2f}x, bulk {med(c,6)/med(h,6):.2f}x")
PY
