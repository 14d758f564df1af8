#!/usr/bin/env bash
# Leaf signing rate of the built-in Connect CA, in one run:
#   1. server::ca::sign_leaf on prepared CSRs (EC P-256 root, then RSA 2048);
#   2. GET /v1/agent/connect/ca/leaf/<new service> against `cairn agent -dev`
#      (the agent makes the key and CSR, the in-process leader signs) with
#      csr_max_per_second 0 (no rate limit), 1 and 8 connections;
#   3. reference: `openssl x509 -req` signing the same kind of CSR, one
#      process per certificate.
# Usage: bench/ca/run.sh [BUILD_DIR] [N]   (default build-bench, N 2000;
#        needs `cairn` and cairn_server_ca built there)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
build="${1:-$root/build-bench}"
n="${2:-2000}"
for lib in server/ca/libcairn_server_ca.a core/libcairn_core_io.a api/libcairn_api.a core/libcairn_core.a cli/cairn; do
  [[ -f "$build/$lib" ]] || { echo "missing $build/$lib: ninja -C $build cairn cairn_server_ca" >&2; exit 1; }
done
work="$(mktemp -d)"
pid=""
cleanup() { [[ -n "$pid" ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

g++ -O2 -std=c++20 -Wall -Wextra -Werror -I"$root" "$here/sign_bench.cc" \
  "$build/server/ca/libcairn_server_ca.a" "$build/core/libcairn_core_io.a" "$build/api/libcairn_api.a" \
  "$build/core/libcairn_core.a" -lssl -lcrypto -lspdlog -lfmt -lpthread -o "$work/sign_bench"

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(openssl version)"
"$work/sign_bench" raw "$n" ec
"$work/sign_bench" raw "$n" rsa

echo '{"connect": {"ca_config": {"csr_max_per_second": 0}}}' > "$work/ca.json"
"$build/cli/cairn" agent -dev -http-port 0 -dns-port -1 -serf-lan-port 0 -server-port 0 -node bench \
  -config-file "$work/ca.json" > "$work/agent.log" 2>&1 &
pid=$!
addr=""
for _ in $(seq 1 100); do
  addr="$(grep -o 'Started HTTP server on [0-9.]*:[0-9]*' "$work/agent.log" | head -1 | awk '{print $5}')" || true
  [[ -n "$addr" ]] && curl -sf "http://$addr/v1/connect/ca/roots" | grep -q '"RootCert"' && break
  sleep 0.2
done
[[ -n "$addr" ]] || { cat "$work/agent.log"; exit 1; }
"$work/sign_bench" http "$addr" "$n" 1
"$work/sign_bench" http "$addr" "$n" 8

# Reference: the openssl CLI, one process per certificate (fork + exec + load included).
cd "$work"
openssl ecparam -name prime256v1 -genkey -noout -out ca.key 2>/dev/null
openssl req -x509 -new -key ca.key -subj /CN=bench-ca -days 3650 -out ca.pem 2>/dev/null
m=$(( n < 200 ? n : 200 ))
for i in $(seq 1 "$m"); do
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "l$i.key" \
    -subj "/CN=svc$i" -addext "subjectAltName=URI:spiffe://td.consul/ns/default/dc/dc1/svc/svc$i" -out "l$i.csr" 2>/dev/null
done
start=$(date +%s.%N)
for i in $(seq 1 "$m"); do
  openssl x509 -req -in "l$i.csr" -CA ca.pem -CAkey ca.key -set_serial "$i" -days 3 -copy_extensions copy \
    -out "l$i.pem" 2>/dev/null
done
end=$(date +%s.%N)
awk -v m="$m" -v s="$start" -v e="$end" 'BEGIN { printf "openssl x509 -req (reference, one process each): %d leaves in %.2f s = %.0f CSRs/s\n", m, e - s, m / (e - s) }'
