#!/usr/bin/env bash
# The server half lives in cairn-server (cli/server_loader.h): checks that
#  1. `cairn` links no server code and no RocksDB (what keeps a client agent small),
#  2. `cairn agent -dev` runs as cairn-server, same PID, from the build tree and
#     from an installed tree (bin/cairn + lib/cairn/cairn-server, `cmake --install`),
#  3. `cairn` without cairn-server beside it fails server mode and `cairn snapshot`
#     with one clear line and exit 1, and still runs client commands.
# Usage: server_binary_test.sh CAIRN CAIRN_SERVER BUILD_DIR
set -euo pipefail
cairn=$1 server=$2 build=$3
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# 1. No server code in `cairn`; all of it in cairn-server.
syms=$(nm -C "$cairn" | grep -c -E 'rocksdb::|cairn::server::' || true)
[[ $syms == 0 ]] || fail "cairn holds $syms rocksdb/server symbols"
nm -C "$server" > "$work/server.syms"
grep -q 'rocksdb::DB::Open' "$work/server.syms" || fail "cairn-server has no RocksDB"
grep -q 'cairn::server::ServerNode::start' "$work/server.syms" || fail "cairn-server has no ServerNode"

# 2. A dev agent started through `cairn` runs cairn-server's image under the same PID.
run_dev() {  # run_dev BIN EXPECTED_EXE
  local bin=$1 want=$2 log=$work/dev.log pid exe i
  "$bin" agent -dev -node split -http-port 0 -dns-port -1 -serf-lan-port 0 -server-port 0 > "$log" 2>&1 &
  pid=$!
  pids+=("$pid")
  for i in $(seq 100); do
    exe=$(readlink "/proc/$pid/exe" 2>/dev/null || true)
    [[ $exe == "$want" ]] && grep -q "agent started" "$log" && break
    kill -0 "$pid" 2>/dev/null || fail "$bin agent -dev exited: $(cat "$log")"
    sleep 0.1
  done
  [[ $exe == "$want" ]] || fail "$bin agent -dev runs $exe, not $want"
  grep -q "agent started" "$log" || fail "$bin agent -dev did not start: $(cat "$log")"
  kill -TERM "$pid"
  wait "$pid" || fail "$bin agent -dev exited $? on SIGTERM"
}
run_dev "$cairn" "$(readlink -f "$server")"

cmake --install "$build" --prefix "$work/usr" --component cairn > /dev/null
[[ -x $work/usr/bin/cairn && -x $work/usr/lib/cairn/cairn-server ]] || fail "install layout: $(find "$work/usr" -type f)"
run_dev "$work/usr/bin/cairn" "$work/usr/lib/cairn/cairn-server"

# 3. `cairn` alone.
mkdir "$work/alone"
cp "$cairn" "$work/alone/cairn"
set +e
"$work/alone/cairn" agent -dev -http-port 0 -dns-port -1 -serf-lan-port 0 > "$work/out" 2> "$work/err"
code=$?
set -e
[[ $code == 1 ]] || fail "agent -dev without cairn-server exited $code"
[[ $(wc -l < "$work/err") == 1 ]] || fail "expected one line on stderr, got: $(cat "$work/err")"
grep -q "cairn-server" "$work/err" || fail "the error does not name cairn-server: $(cat "$work/err")"
set +e
"$work/alone/cairn" snapshot inspect "$work/nothing" > /dev/null 2> "$work/err"
code=$?
set -e
[[ $code == 1 && $(wc -l < "$work/err") == 1 ]] || fail "snapshot without cairn-server: $code $(cat "$work/err")"
"$work/alone/cairn" version > "$work/out" && grep -q Cairn "$work/out" || fail "cairn version without cairn-server"
"$work/alone/cairn" --help > "$work/out" && grep -q snapshot "$work/out" || fail "cairn --help lists no snapshot"
echo "server_binary_test: ok"
