#!/usr/bin/env bash
# bench/gossip: N cairn agents vs N Debian serf agents (same 1 s probe
# interval: both use their LAN defaults), interleaved rounds, each run in a
# network namespace of its own so loopback byte counts belong to it.
#
#   [BUILD=build-dir] bench/gossip/run.sh [rounds=3] [sizes="20 50"]
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${1:-3}
SIZES=${2:-"20 50"}
command -v serf >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends serf >/dev/null
# BUILD names the build directory (default build/); a helper benches its own.
BUILD=${BUILD:-build}
if [ "$BUILD" = build ]; then [ -f build/build.ninja ] || make configure >/dev/null; fi
ninja -C "$BUILD" cairn >/dev/null

ns="cairn-gossip-bench-$$"
cleanup() { ip netns del "$ns" 2>/dev/null || true; }
trap cleanup EXIT
results=$(mktemp)
for n in $SIZES; do
  for r in $(seq "$ROUNDS"); do
    for system in serf cairn; do
      ip netns add "$ns"
      ip netns exec "$ns" ip link set lo up
      ip netns exec "$ns" python3 bench/gossip/driver.py --system "$system" --n "$n" --cairn "$BUILD/cli/cairn" | tee -a "$results"
      ip netns del "$ns"
    done
  done
done
python3 - "$results" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
keys = ["convergence_s", "failure_detection_s", "leave_propagation_s", "rss_mb_median", "pss_mb_median",
        "idle_cpu_pct_per_agent",
        "bytes_per_s_per_agent", "false_positives"]
for n in sorted({r["n"] for r in rows}):
    print(f"\nN = {n}")
    for k in keys:
        med = {}
        for s in ("serf", "cairn"):
            vals = [r[k] for r in rows if r["n"] == n and r["system"] == s and r.get(k) is not None]
            med[s] = (statistics.median(vals), min(vals), max(vals)) if vals else None
        if med["serf"] and med["cairn"]:
            ratio = med["cairn"][0] / med["serf"][0] if med["serf"][0] else float("nan")
            print(f"  {k:24s} serf {med['serf'][0]:>9} ({med['serf'][1]}-{med['serf'][2]})  "
                  f"cairn {med['cairn'][0]:>9} ({med['cairn'][1]}-{med['cairn'][2]})  ratio {ratio:.2f}")
PY
