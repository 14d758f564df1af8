# Shared by bench/raft/run.sh and catchup.sh (sourced with the build dir,
# default build-raftio; needs $here): raft_kv_node and wrk checked, a work
# dir removed on exit, three raft_kv_node processes on 127.0.0.1 started and
# stopped by PID, /status and the leader they agree on.
root=$(cd "$here/../.." && pwd)
build=${1:-$root/build-raftio}
node_bin=$build/test/integration/raft/raft_kv_node
[[ -x $node_bin ]] || { echo "missing $node_bin (ninja -C $build raft_kv_node)" >&2; exit 1; }
command -v wrk >/dev/null || { echo "wrk is needed (apt-get install wrk)" >&2; exit 1; }

work=$(mktemp -d /tmp/cairn-raft-bench-XXXXXX)
declare -A pid http
cleanup() {
  for id in "${!pid[@]}"; do kill -9 "${pid[$id]}" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
status() { curl -s --max-time 2 "http://${http[$1]}/status" || true; }
field() { python3 -c "import json,sys; d=json.loads(sys.stdin.read() or '{}'); print(d.get('$1', 0))"; }

declare -A rport
for id in 1 2 3; do rport[$id]=$(free_port); done
peers="1=127.0.0.1:${rport[1]},2=127.0.0.1:${rport[2]},3=127.0.0.1:${rport[3]}"

start() {  # id [extra flags]
  local id=$1; shift
  # Empty the log here: a restarted node's child truncates it only once it
  # runs, and until then the previous process's "http listening" line is read.
  : >"$work/n$id.log"
  "$node_bin" --id "$id" --peers "$peers" --raft-port "${rport[$id]}" --http-port 0 \
    --data-dir "$work/n$id" --bootstrap ${NODE_FLAGS:-} "$@" >"$work/n$id.log" 2>&1 &
  pid[$id]=$!
  for _ in $(seq 200); do
    http[$id]=$(grep -o 'http listening on [0-9.:]*' "$work/n$id.log" | awk '{print $4}' || true)
    [[ -n ${http[$id]} ]] && return 0
    sleep 0.05
  done
  echo "node $id did not start:" >&2; cat "$work/n$id.log" >&2; exit 1
}

leader() {  # the id all live nodes agree on, or 0
  local l=0 x
  for id in "${!pid[@]}"; do
    kill -0 "${pid[$id]}" 2>/dev/null || continue
    x=$(status "$id" | field leader)
    [[ $x == 0 || ( $l != 0 && $x != "$l" ) ]] && { echo 0; return; }
    l=$x
  done
  echo "$l"
}
wait_leader() { for _ in $(seq 400); do l=$(leader); [[ $l != 0 ]] && { echo "$l"; return; }; sleep 0.05; done; echo 0; }

stop_all() {
  for id in "${!pid[@]}"; do kill -9 "${pid[$id]}" 2>/dev/null || true; wait "${pid[$id]}" 2>/dev/null || true; done
  pid=(); rm -rf "$work"/n[123]
}

