#!/usr/bin/env bash
# bench/http: wrk against GET /v1/agent/self on cairn and against nginx
# serving the same JSON body from a file. Both on 127.0.0.1, one worker
# thread each, keep-alive, interleaved rounds (nginx, cairn, nginx, cairn…).
# Prints requests/s, p50/p99 latency and CPU-seconds per 10k requests for each
# round, the medians and the ratio cairn/nginx.
#
#   bench/http/run.sh [rounds=3] [seconds=10] [connections=10]
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${1:-3}
SECONDS_PER_RUN=${2:-10}
CONNS=${3:-10}

for tool in wrk nginx; do
  command -v "$tool" >/dev/null || PATH=$PATH:/usr/sbin command -v "$tool" >/dev/null || {
    echo "installing wrk and nginx-light" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk nginx-light >/dev/null
  }
done
NGINX=$(PATH=$PATH:/usr/sbin command -v nginx)
[ -f build/build.ninja ] || make configure >/dev/null
ninja -C build cairn >/dev/null || { echo "building cairn failed" >&2; exit 1; }
CAIRN=build/cli/cairn

work=$(mktemp -d /tmp/cairn-bench-http-XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# cairn: one io thread; info logging has no per-request lines.
CAIRN_IO_THREADS=1 $CAIRN agent -data-dir "$work/data" -http-port 0 -dns-port -1 -serf-lan-port 0 -bind 127.0.0.1 -node bench \
  >"$work/cairn.log" 2>&1 &
cairn_pid=$!
pids+=("$cairn_pid")
for _ in $(seq 100); do
  port=$(grep -o 'Started HTTP server on 127.0.0.1:[0-9]*' "$work/cairn.log" | grep -o '[0-9]*$' || true)
  [ -n "$port" ] && break
  sleep 0.05
done
[ -n "${port:-}" ] || { echo "cairn did not start" >&2; cat "$work/cairn.log" >&2; exit 1; }
cairn_url="http://127.0.0.1:$port/v1/agent/self"

# nginx: the same body from a file.
mkdir -p "$work/www/v1/agent" "$work/nginx"
chmod 755 "$work" "$work/www" "$work/www/v1" "$work/www/v1/agent"  # the nginx worker runs unprivileged
curl -sf "$cairn_url" >"$work/www/v1/agent/self"
chmod 644 "$work/www/v1/agent/self"
nginx_port=$((port + 1))
while ss -ltnH | awk '{print $4}' | grep -q ":$nginx_port\$"; do nginx_port=$((nginx_port + 1)); done
cat >"$work/nginx/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  keepalive_requests 1000000;
  client_body_temp_path $work/nginx;
  proxy_temp_path $work/nginx;
  fastcgi_temp_path $work/nginx;
  uwsgi_temp_path $work/nginx;
  scgi_temp_path $work/nginx;
  server {
    listen 127.0.0.1:$nginx_port;
    location /v1/agent/self { root $work/www; default_type application/json; }
  }
}
CONF
"$NGINX" -c "$work/nginx/nginx.conf" -p "$work/nginx" &
nginx_master=$!
pids+=("$nginx_master")
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$nginx_port/v1/agent/self" >/dev/null && break; sleep 0.05; done
nginx_url="http://127.0.0.1:$nginx_port/v1/agent/self"
# Measure the worker, which does the serving (the master only supervises).
nginx_pids() { echo "$nginx_master $(pgrep -P "$nginx_master" | tr '\n' ' ')"; }

cpu_ticks() {  # utime+stime of the given pids, in clock ticks
  local total=0
  for p in "$@"; do
    read -r -a f <"/proc/$p/stat"
    total=$((total + f[13] + f[14]))
  done
  echo "$total"
}
busy_ticks() { awk '/^cpu /{print $2+$3+$4+$7+$8}' /proc/stat; }

results="$work/results.tsv"
run_one() {  # name url pids...
  local name=$1 url=$2
  shift 2
  local c0 b0 c1 b1 out
  c0=$(cpu_ticks "$@")
  b0=$(busy_ticks)
  out=$(wrk -t1 -c"$CONNS" -d"${SECONDS_PER_RUN}s" --latency "$url")
  c1=$(cpu_ticks "$@")
  b1=$(busy_ticks)
  python3 - "$name" "$((c1 - c0))" "$((b1 - b0))" "$(getconf CLK_TCK)" <<PY >>"$results"
import re, sys
name, cpu, busy, hz = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
text = """$out"""
def lat(label):
    m = re.search(r"^\s*%s%%\s+([\d.]+)(us|ms|s)" % label, text, re.M)
    v, u = float(m.group(1)), m.group(2)
    return v * {"us": 1e-3, "ms": 1.0, "s": 1e3}[u]
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
reqs = int(re.search(r"(\d+) requests in", text).group(1))
errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
print(f"{name}\t{rps:.0f}\t{lat('50'):.3f}\t{lat('99'):.3f}\t{cpu / hz / reqs * 1e4:.3f}\t{busy / hz:.1f}\t{errors.group(1) if errors else 0}")
PY
}

printf 'peer\treq/s\tp50_ms\tp99_ms\tcpu_s_per_10k\tmachine_busy_s\tnon2xx\n'
for r in $(seq "$ROUNDS"); do
  # shellcheck disable=SC2046
  run_one nginx "$nginx_url" $(nginx_pids)
  run_one cairn "$cairn_url" "$cairn_pid"
  tail -2 "$results"
done
echo "cairn RSS after the runs: $(awk '/VmRSS/{print $2, $3}' /proc/$cairn_pid/status)"
echo "nginx worker RSS: $(for p in $(pgrep -P "$nginx_master"); do awk '/VmRSS/{print $2, $3}' /proc/$p/status; done)"
python3 - "$results" <<'PY'
import statistics, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
by = {}
for r in rows:
    by.setdefault(r[0], []).append([float(x) for x in r[1:]])
def med(name, i): return statistics.median(x[i] for x in by[name])
def rng(name, i): return min(x[i] for x in by[name]), max(x[i] for x in by[name])
print()
for name in ("nginx", "cairn"):
    lo, hi = rng(name, 0)
    print(f"{name}: median {med(name,0):.0f} req/s (min {lo:.0f}, max {hi:.0f}), p50 {med(name,1):.3f} ms, "
          f"p99 {med(name,2):.3f} ms, {med(name,3):.3f} CPU-s per 10k requests")
ratios = [c[0] / n[0] for n, c in zip(by["nginx"], by["cairn"])]
print(f"ratio cairn/nginx req/s per round: {', '.join(f'{x:.2f}' for x in ratios)}; "
      f"median {statistics.median(ratios):.2f}")
print(f"ratio of CPU per request (cairn/nginx): {med('cairn',3) / med('nginx',3):.2f}")
PY
