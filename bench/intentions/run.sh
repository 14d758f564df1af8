#!/usr/bin/env bash
# Intention decisions per second with 10,000 intentions (decide.cc): the
# IntentionIndex lookup and the linear scan it replaces, in one run.
# Usage: bench/intentions/run.sh [BUILD_DIR]   (default build-bench; needs cairn_api built there)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
build="${1:-$root/build-bench}"
[[ -f "$build/api/libcairn_api.a" ]] || { echo "build cairn_api first: ninja -C $build cairn_api" >&2; exit 1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
g++ -O2 -std=c++20 -Wall -Wextra -Werror -I"$root" "$here/decide.cc" \
  "$build/api/libcairn_api.a" "$build/core/libcairn_core.a" -lbenchmark -lspdlog -lfmt -lpthread -o "$work/decide"
"$work/decide" --benchmark_min_time=1 "${@:2}"
