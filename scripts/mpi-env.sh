# mpi-env.sh - sourced by jacobi's scripts: let this machine run more ranks than it has cores,
# and let root run them, for the scripts' own runs only. Nothing is exported to a user's shell,
# and the root switches are set only when the script itself runs as root.
if [ "$(nproc)" -lt "${JACOBI_RANKS:-4}" ]; then
  export OMPI_MCA_rmaps_base_oversubscribe=1
fi
if [ "$(id -u)" -eq 0 ]; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
