#!/usr/bin/env bash
# quickstart.sh - on a fresh Debian 12 machine: install the dependencies, build jacobi, and
# solve the example plate on 4 ranks (oversubscribed when the machine has fewer cores).
#
# Usage: scripts/quickstart.sh [BUILD_DIR]     (default: build)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}

scripts/install-deps.sh
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release
cmake --build "$build" -j "$(nproc)"

export JACOBI_RANKS=4
. scripts/mpi-env.sh
set -x
mpirun -n 4 "$build/solver/jacobi" configs/plate.toml
