#!/usr/bin/env bash
# cli/main.cc releases the page-table entries of clean code mappings 10 s after
# start (docs/benchmarks.md, "Memory: code pages after start-up"). Checks that
#  1. an idle `cairn agent` ends up with well under half the binary's code
#     resident of an agent run with CAIRN_KEEP_CODE_MAPPED=1 beside it,
#  2. it keeps serving afterwards (the code faults back in),
#  3. CAIRN_KEEP_CODE_MAPPED=1 keeps the code mapped.
# Usage: code_pages_test.sh CAIRN
set -euo pipefail
cairn=$1
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
code_kb() {  # resident kB of the executable mappings of the binary itself
  awk -v exe="$(readlink -f "$cairn")" '/^[0-9a-f]+-/{x = ($2 ~ /x/ && $6 == exe)} x && /^Rss:/{s += $2} END{print s+0}' "/proc/$1/smaps"
}
start() {  # start NAME [ENV=VALUE]: prints PID and HTTP port
  local name=$1 http serf
  http=$(free_port); serf=$(free_port)
  env ${2:-} "$cairn" agent -node "$name" -data-dir "$work/$name" -bind 127.0.0.1 -serf-lan-port "$serf" \
    -http-port "$http" -dns-port -1 -log-level warn > "$work/$name.log" 2>&1 &
  echo "$! $http"
}
read -r released released_http < <(start released)
pids+=("$released")
read -r kept kept_http < <(start kept CAIRN_KEEP_CODE_MAPPED=1)
pids+=("$kept")
for port in "$released_http" "$kept_http"; do
  for i in $(seq 100); do curl -sf "http://127.0.0.1:$port/v1/agent/self" > /dev/null && break; sleep 0.2; done
  curl -sf "http://127.0.0.1:$port/v1/agent/self" > /dev/null || fail "no agent on port $port"
done
# 1. Within 60 s the released agent's code is under half the kept one's.
ok=
for i in $(seq 60); do
  r=$(code_kb "$released"); k=$(code_kb "$kept")
  if (( r * 2 < k )); then ok=1; break; fi
  sleep 1
done
[[ -n $ok ]] || fail "code still resident after 60 s: released $r kB, kept $k kB"
echo "code resident: released $r kB, kept $k kB"
# 2. It still serves.
curl -sf "http://127.0.0.1:$released_http/v1/agent/members" | grep -q '"Name":"released"' || fail "no members answer after the release"
kill -0 "$released" || fail "the agent exited"
# 3. The kept one kept it (2 MB of code is far above what an idle agent re-faults).
(( k > 2048 )) || fail "CAIRN_KEEP_CODE_MAPPED=1 agent has only $k kB of code resident"
echo PASS
