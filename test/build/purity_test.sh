#!/usr/bin/env bash
# The purity check (cmake/purity.cmake) must pass a clean tree and fail a
# tree whose pure folders use threads, I/O libraries or clocks — naming each
# offending file and line — while io/ folders may use them.
set -u
repo=$(cd "$(dirname "$0")/../.." && pwd)
fixtures="$repo/test/build/fixtures"
fail=0

if ! out=$(cmake -DSOURCE_DIR="$fixtures/clean" -P "$repo/cmake/purity.cmake" 2>&1); then
  echo "FAIL: clean tree rejected: $out"; fail=1
fi
if out=$(cmake -DSOURCE_DIR="$fixtures/dirty" -P "$repo/cmake/purity.cmake" 2>&1); then
  echo "FAIL: dirty tree accepted"; fail=1
else
  for want in "raft/bad_thread.h:1" "gossip/bad_clock.cc:1"; do
    grep -q "$want" <<<"$out" || { echo "FAIL: violation $want not reported: $out"; fail=1; }
  done
  for unwanted in "raft/io/allowed.h" "raft/ok.h"; do
    grep -q "$unwanted" <<<"$out" && { echo "FAIL: $unwanted wrongly reported"; fail=1; }
  done
fi
if [ $fail -eq 0 ]; then echo "1 passed, 0 failed"; else echo "0 passed, 1 failed"; fi
exit $fail
