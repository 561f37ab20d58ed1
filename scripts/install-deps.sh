#!/usr/bin/env bash
# install-deps.sh - install jacobi's build, test and tool dependencies on Debian 12.
#
# Idempotent: packages already present are left alone, and apt-get update runs
# only when something is missing. Works as root, or through sudo otherwise.
#
# Usage: scripts/install-deps.sh [--with-tools] [--with-mpich]
#   --with-tools  also install the visualisation and fuzzing tools
#                 (python3-h5py, NumPy and SciPy for the tests' exact solutions, python3-matplotlib,
#                 paraview + python3-paraview for pvbatch, Xvfb + xauth to run it headless, man-db
#                 for the installed man page, slurm-wlm + munge for the batch script under a real
#                 Slurm, clang)
#   --with-mpich  also install MPICH and its parallel HDF5 beside Open MPI (mpich libmpich-dev
#                 libhdf5-mpich-dev), for builds with -DJACOBI_MPI=mpich
set -euo pipefail

packages=(
  build-essential cmake pkg-config python3
  openmpi-bin libopenmpi-dev
  libhdf5-openmpi-dev hdf5-tools libmuparser-dev
  libcunit1-dev
)
tools=(python3-h5py python3-numpy python3-scipy python3-matplotlib paraview python3-paraview xvfb
       xauth man-db slurm-wlm munge clang libclang-rt-14-dev)
mpich=(mpich libmpich-dev libhdf5-mpich-dev)

for arg in "$@"; do
  case "$arg" in
    --with-tools) packages+=("${tools[@]}") ;;
    --with-mpich) packages+=("${mpich[@]}") ;;
    -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "install-deps.sh: unknown option '$arg' (try --help)" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps.sh: all ${#packages[@]} packages already installed"
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps.sh: not root and no sudo; install: ${missing[*]}" >&2; exit 1; }
  sudo=sudo
fi
echo "install-deps.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
