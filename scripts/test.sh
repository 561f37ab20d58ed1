#!/usr/bin/env bash
# test.sh - install the dependencies, then build and run jacobi's whole test suite twice: a
# Release build with warnings as errors, and an AddressSanitizer + UndefinedBehaviorSanitizer
# build. Exits non-zero if anything fails.
#
# Usage: scripts/test.sh [--fast]     (--fast: the Release build only)
set -euo pipefail
cd "$(dirname "$0")/.."
fast=0
[ "${1:-}" = "--fast" ] && fast=1

scripts/install-deps.sh --with-tools
jobs=$(nproc)

run_suite() { # NAME CMAKE_ARGS...
  local build="build-test-$1"
  shift
  echo "=== jacobi tests: $build ($*)"
  cmake -S . -B "$build" -DJACOBI_WERROR=ON "$@"
  cmake --build "$build" -j "$jobs"
  ctest --test-dir "$build" --output-on-failure -j "$jobs"
}

run_suite release -DCMAKE_BUILD_TYPE=Release
if [ "$fast" -eq 0 ]; then
  run_suite sanitize -DCMAKE_BUILD_TYPE=RelWithDebInfo -DJACOBI_SANITIZE=ON
fi
