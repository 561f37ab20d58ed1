#!/usr/bin/env bash
# test.sh - install the dependencies, then build and run jacobi's whole test suite twice: a
# Release build with warnings as errors, and an AddressSanitizer + UndefinedBehaviorSanitizer
# build; then a cheap smoke test of a Debug build (every build type must run and give the
# Release build's bits); then a Release build against MPICH with MPICH's launcher (every suite
# that fits in the cores: MPICH busy-polls, so it is never oversubscribed). Exits non-zero if
# anything fails.
#
# Usage: scripts/test.sh [--fast]     (--fast: the Open MPI Release build only)
set -euo pipefail
cd "$(dirname "$0")/.."
fast=0
[ "${1:-}" = "--fast" ] && fast=1

scripts/install-deps.sh --with-tools --with-mpich
jobs=$(nproc)

run_suite() { # NAME CMAKE_ARGS... [-- CTEST_ARGS...]
  local build="build-test-$1"
  shift
  local -a cmake_args=() ctest_args=()
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do cmake_args+=("$1"); shift; done
  [ $# -gt 0 ] && shift && ctest_args=("$@")
  echo "=== jacobi tests: $build (${cmake_args[*]})"
  cmake -S . -B "$build" -DJACOBI_WERROR=ON "${cmake_args[@]}"
  cmake --build "$build" -j "$jobs"
  ctest --test-dir "$build" --output-on-failure -j "$jobs" "${ctest_args[@]}"
}

# One build type's jacobi and kernel suite against the Release build's jacobi: the kernel's
# helpers, left out of line at -O0 or -Os, once crashed the AVX2 variant (issue 17). Runs on 2
# ranks with the checks, streaming stores, temporal blocks, Chebyshev's weighted kernel and
# multigrid (red-black, and Chebyshev smoothing in F-cycles from FMG), and the general update
# of a plate with sources and regions for each method, each compared by its checksum.
smoke_build_type() { # TYPE
  local build="build-test-$(echo "$1" | tr '[:upper:]' '[:lower:]')"
  echo "=== jacobi smoke test: $build (CMAKE_BUILD_TYPE=$1)"
  cmake -S . -B "$build" -DJACOBI_WERROR=ON -DCMAKE_BUILD_TYPE="$1"
  cmake --build "$build" -j "$jobs" --target jacobi test_sweep
  "$build/tests/test_sweep"
  local dir
  dir=$(mktemp -d)
  local -a env=(OMPI_MCA_rmaps_base_oversubscribe=1)
  [ "$(id -u)" = 0 ] && env+=(OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1)
  # each line: a config, then its --set arguments (the classic plate on a 203 x 61 grid; the
  # any-plate example, sources, profiles and regions, cut short where it would take long)
  local line config sets
  while IFS= read -r line; do
    config=${line%% *}
    sets=${line#"$config"}
    local want got
    # shellcheck disable=SC2086 # $sets is a list of arguments
    want=$(env "${env[@]}" mpirun -n 2 build-test-release/solver/jacobi --quiet $sets \
      --set output.path="$dir/r.h5" "$config" </dev/null |
      grep -o 'field checksum [0-9a-f]*' || true) # a crash is reported below, not by set -e
    # shellcheck disable=SC2086
    got=$(env "${env[@]}" mpirun -n 2 "$build/solver/jacobi" --quiet $sets \
      --set output.path="$dir/d.h5" "$config" </dev/null |
      grep -o 'field checksum [0-9a-f]*' || true) # a crash is reported below, not by set -e
    if [ -z "$want" ] || [ "$want" != "$got" ]; then
      echo "FAIL: $1 build ($config$sets): '$got', Release: '$want'" >&2
      rm -rf "$dir"
      return 1
    fi
  done <<'EOF_SMOKE'
configs/plate.toml --set grid.nx=203 --set grid.ny=61
configs/plate.toml --set grid.nx=203 --set grid.ny=61 --set solver.stores=streaming
configs/plate.toml --set grid.nx=203 --set grid.ny=61 --set solver.temporal_block=2 --set solver.check_interval=4
configs/plate.toml --set grid.nx=203 --set grid.ny=61 --set solver.method=chebyshev
configs/plate.toml --set grid.nx=203 --set grid.ny=61 --set solver.method=chebyshev --set solver.temporal_block=2 --set solver.check_interval=4
configs/plate.toml --set grid.nx=203 --set grid.ny=61 --set solver.method=multigrid
configs/plate.toml --set grid.nx=203 --set grid.ny=61 --set solver.method=multigrid --set solver.multigrid.smoother=chebyshev --set solver.multigrid.cycle=F --set solver.multigrid.fmg=true
configs/any-plate.toml
configs/any-plate.toml --set solver.method=jacobi --set solver.target_error=0 --set solver.tolerance=1e-3
configs/any-plate.toml --set solver.method=chebyshev --set solver.target_error=1e-4 --set solver.temporal_block=2 --set solver.check_interval=4
EOF_SMOKE
  rm -rf "$dir"
  echo "ok: the $1 build gives the Release build's checksums"
}

run_suite release -DCMAKE_BUILD_TYPE=Release
smoke_build_type Debug
if [ "$fast" -eq 0 ]; then
  # ASan+UBSan: every suite but the heaviest repetitions and the bench (tests/CMakeLists.txt)
  run_suite sanitize -DCMAKE_BUILD_TYPE=RelWithDebInfo -DJACOBI_SANITIZE=ON -- -LE 'heavy|bench'
  # MPICH: the unit and MPI suites, the e2e cases that fit in 2 ranks but the heaviest
  # repetitions, the tools and the bench smoke test (CMake leaves out what needs more ranks than
  # cores); the fuzz test does not depend on the MPI and ran above.
  run_suite mpich -DCMAKE_BUILD_TYPE=Release -DJACOBI_MPI=mpich -- -LE 'fuzz|heavy'
fi
