#!/usr/bin/env bash
# bench.sh - jacobi's benchmark suite: what the machine can do, what the kernel does, how the
# parallel solver scales, what the halo paths and the partitioners cost. Prints a table, writes
# it with one CSV per section and a PNG plot to --out.
#
#   1. memory bandwidth: STREAM-like copy and triad (bench/bench_stream), 1 rank and all ranks
#   2. the kernel alone, 1 rank, every variant, on grids in L2, in L3 and far out of the last-level
#      cache (sizes read from sysfs/lscpu) (bench/bench_sweep), against the roofline copy GB/s /
#      16 B per update; 2b temporal blocking; 2c jacobi's default kernel (solver.stores = "auto")
#      against the set stores, checking every iteration and every 10
#   3. strong and weak scaling of the real jacobi binary, time split compute / halo / reduction;
#      3b ParRes Kernels' MPISHM stencil on the same grid and ranks (with --prk DIR)
#   4. the halo exchange by path, halo.mode = "shm" against "p2p", on 2 ranks
#   5. the partitioners side by side on 2 ranks: time and halo bytes per iteration
#   6. the performance model against the measurements
#   7. time to solution: each method to a true error of 0.1% of the range, against the exact
#      discrete solution (scripts/tts.py; needs NumPy, SciPy and h5py)
#   8. multigrid (scripts/mg_bench.py): its time to solution beside PETSc CG + GAMG / BoomerAMG
#      (bench/petsc_plate.c, where PETSc is installed) and the SciPy direct solve, its V(2,2)
#      convergence factor over grid shapes, a cycle's cost in plain sweeps, --dry-run --ranks 4096
#   9. the peers (scripts/peers_bench.py; only with --sections 9, it takes about half an hour at
#      2048^2 and 4096^2): jacobi's whole process beside hypre PFMG, PCG + PFMG, PCG + BoomerAMG
#      (bench/hypre_plate), PETSc PCMG full multigrid (bench/petsc_pcmg), CG + GAMG and CG +
#      BoomerAMG (bench/petsc_plate) and SciPy's sine-transform solve, each to the same true error;
#      the peers CMake built (where libhypre-dev / petsc-dev are found) run, the others are skipped
#
# Usage: scripts/bench.sh [--ranks P] [--sizes "..."] [--iterations N]
#                         [--repeat R] [--out DIR] [--quick] [--oversubscribe]
#                         [--build DIR] [--stream-mib M] [--sections "..."] [--prk DIR]
#                         [--pairs Q]
#
#   --ranks P          most ranks to run (default: nproc)
#   --sizes "..."      grid sizes n (n x n) of the kernel benchmark (default: from the caches: two
#                      buffers in half the L2, in half one L3, and 8x all L3s, "far out of cache";
#                      the last is also the grid of sections 2b, 2c, 3 strong and 3b)
#   --iterations N     base iteration count: sweeps of a 1024^2 grid; other grids get N * 1024^2
#                      / n^2 so that every run does about N million updates (at least 20 sweeps
#                      in jacobi runs; the halo runs do 4x that to resolve the halo time)
#   --repeat R         repetitions of each measurement; the median is reported (default 3)
#   --pairs Q          section 2c's interleaved pairs of check_interval = 1 and 10 runs, each
#                      pair's ratio and their median (the lower middle for even Q) reported
#                      (default 5)
#   --out DIR          where the CSVs, bench.txt (the printed table) and bench.png go
#                      (default bench-results)
#   --quick            small sizes, 1 repetition: a smoke test of the suite, not a measurement
#   --oversubscribe    allow more ranks than cores; such rows are marked "oversubscribed" and
#                      are not timings of the machine (without it they are skipped)
#   --build DIR        the CMake build directory (default build/)
#   --stream-mib M     MiB per array per rank of the bandwidth probe (default: 4x the node's
#                      last-level caches, every instance, at least 256; less if 3 arrays would
#                      take more than half the available memory, on 1 rank or on all of them)
#   --sections "..."   run only these sections (e.g. "1 2 2b 2c 3b 8"; default all but 9; 6 needs 1 2 3 5)
#   --prk DIR          a checkout of github.com/ParRes/Kernels: section 3b builds its MPISHM
#                      stencil (radius 1, star) in a scratch copy and runs it beside jacobi
#
# Build first: cmake -S . -B build && cmake --build build -j
# Timings are only as good as the machine is idle: the header prints the load average.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cores=$(nproc)
ranks=$cores
sizes=""
iterations=100
repeat=3
pairs=5
out=bench-results
quick=0
oversubscribe=0
build=$root/build
stream_mib=""
sizes_given=0
sections="1 2 2b 2c 3 3b 4 5 6 7 8"
prk=""

die() {
  echo "bench.sh: $*" >&2
  exit 2
}
positive() { # NAME VALUE: VALUE must be an integer >= 1
  [[ $2 =~ ^[1-9][0-9]*$ ]] || die "$1 must be an integer >= 1, got '$2'"
}

while [ $# -gt 0 ]; do
  case $1 in
  --ranks | --sizes | --iterations | --repeat | --pairs | --out | --build | --stream-mib | --sections | --prk)
    [ $# -ge 2 ] || die "$1 needs a value"
    case $1 in
    --ranks) ranks=$2 && positive "$1" "$2" ;;
    --sizes) sizes=$2 && sizes_given=1 ;;
    --iterations) iterations=$2 && positive "$1" "$2" ;;
    --repeat) repeat=$2 && positive "$1" "$2" ;;
    --pairs) pairs=$2 && positive "$1" "$2" ;;
    --out) out=$2 ;;
    --build) build=$2 ;;
    --stream-mib) stream_mib=$2 && positive "$1" "$2" ;;
    --sections) sections=$2 ;;
    --prk) prk=$2 ;;
    esac
    shift 2
    ;;
  --quick) quick=1 && shift ;;
  --oversubscribe) oversubscribe=1 && shift ;;
  -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' && exit 0 ;;
  *) die "unknown argument '$1' (try --help)" ;;
  esac
done
want() { [[ " $sections " == *" $1 "* ]]; } # want SECTION: whether to run it

# ---- the machine's caches: the sizes follow them ----------------------------------------------
# Per-instance sizes in bytes of the data caches of cpu0, from sysfs (else lscpu, else getconf,
# which in a VM may give the host's: 256 MiB for the EPYC VM's 32 MiB L3).
cache_bytes() { # LEVEL
  local d size
  for d in /sys/devices/system/cpu/cpu0/cache/index*; do
    if [ ! -r "$d/level" ] || [ "$(cat "$d/level")" != "$1" ] || [ "$(cat "$d/type")" = Instruction ]; then
      continue
    fi
    size=$(cat "$d/size")
    case $size in *K) echo $((${size%K} * 1024)) ;; *M) echo $((${size%M} * 1048576)) ;; *) echo "$size" ;; esac
    return
  done
  # (the header line, "LEVEL TYPE ONE-SIZE", matches no level; lscpu before 2.34 has no -C)
  size=$(LC_ALL=C lscpu -C=LEVEL,TYPE,ONE-SIZE -B 2>/dev/null | awk -v l="$1" '$1 == "L" l || $1 == l { if ($2 != "Instruction") { print $3; exit } }')
  [ -n "$size" ] && echo "$size" && return
  case $1 in 2) getconf LEVEL2_CACHE_SIZE ;; 3) getconf LEVEL3_CACHE_SIZE ;; esac 2>/dev/null || true
}
# The CPUs this script may run on (Cpus_allowed_list: a cpuset, a container, a batch job's
# binding), one number a line; every CPU sysfs lists where that cannot be read.
allowed_cpus() {
  local list range
  list=$(sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' /proc/self/status 2>/dev/null)
  if [ -z "$list" ]; then
    for d in /sys/devices/system/cpu/cpu[0-9]*; do echo "${d##*cpu}"; done
    return
  fi
  for range in ${list//,/ }; do
    seq "${range%-*}" "${range#*-}"
  done
}
# Instances of a level's data cache among those CPUs: distinct shared_cpu_lists (two sockets,
# or AMD's core complexes: several L3s), 1 where sysfs does not say.
cache_instances() { # LEVEL
  local n cpu d
  n=$(for cpu in $(allowed_cpus); do
    for d in /sys/devices/system/cpu/cpu"$cpu"/cache/index*; do
      [ -r "$d/level" ] && [ "$(cat "$d/level")" = "$1" ] && [ "$(cat "$d/type")" != Instruction ] &&
        cat "$d/shared_cpu_list" 2>/dev/null
    done
  done | sort -u | wc -l)
  echo $((n > 0 ? n : 1))
}
l2_bytes=$(cache_bytes 2)
llc_bytes=$(cache_bytes 3)
[[ $l2_bytes =~ ^[1-9][0-9]*$ ]] || l2_bytes=$((1024 * 1024))        # unknown: assume 1 MiB
llc_level=3
[[ $llc_bytes =~ ^[1-9][0-9]*$ ]] || llc_bytes=$l2_bytes llc_level=2 # no L3: the L2 is the last
llc_total=$((llc_bytes * $(cache_instances $llc_level)))             # every instance on the node
# MiB of memory available: MemAvailable, or a cgroup's limit less its use if that is lower
mem_available=$(awk '/^MemAvailable:/ { print int($2 / 1024) }' /proc/meminfo 2>/dev/null || echo 4096)
for limit in /sys/fs/cgroup/memory.max:memory.current \
  /sys/fs/cgroup/memory/memory.limit_in_bytes:memory.usage_in_bytes; do # cgroup v2, v1
  max_file=${limit%:*} used_file=${max_file%/*}/${limit#*:}
  [ -r "$max_file" ] || continue
  max=$(cat "$max_file") used=$(cat "$used_file" 2>/dev/null || echo 0)
  if [[ $max =~ ^[0-9]+$ ]] && [[ $used =~ ^[0-9]+$ ]] && [ "$max" -gt "$used" ] &&
    [ $(((max - used) / 1048576)) -lt "$mem_available" ]; then
    mem_available=$(((max - used) / 1048576))
  fi
  break
done
# n x n such that two buffers of (n + 2)^2 doubles take BYTES, rounded down
# (at least 64; a multiple of 32), or up to a multiple of 1024 with `up`
grid_for() { # BYTES [up]
  awk -v b="$1" -v up="${2:-}" 'BEGIN { n = sqrt(b / 16) - 2; if (up) { n = int((n + 1023) / 1024) * 1024 }
    else { n = int(n / 32) * 32 }; print (n < 64 ? 64 : n) }'
}
n_l2=$(grid_for $((l2_bytes / 2)))
n_l3=$(grid_for $((llc_bytes / 2)))
n_far=$(grid_for $((8 * llc_total)) up) # far out of every last-level cache of the node
# far out of cache, but two buffers in at most a quarter of the memory available
while [ "$n_far" -gt 1024 ] && [ $((16 * n_far * n_far / 1048576)) -gt $((mem_available / 4)) ]; do
  n_far=$((n_far - 1024))
done
[ "$sizes_given" -eq 1 ] || sizes="$n_l2 $n_l3 $n_far"
for n in $sizes; do positive "a size in --sizes" "$n"; done
[ -n "${sizes// /}" ] || die "--sizes is empty"

# The grids of sections 2b-5. --quick shrinks everything to seconds in all.
strong_n=$n_far weak_n=2048 part_n=1024 halo_sizes="256 512 1024 4096"
tts_sizes="256 512 1024 2048" tts_jacobi_max=100000
mg_sizes="2048 4096" mg_cost_sizes="1024 2048 4096"
partitioners="block block-cyclic:4 block-cyclic:16 block-cyclic:64 cyclic"
if [ "$quick" -eq 1 ]; then
  [ "$sizes_given" -eq 1 ] || sizes="64 256"
  n_far=256
  iterations=2 repeat=1 pairs=1 stream_mib=${stream_mib:-16}
  strong_n=256 weak_n=128 part_n=256 halo_sizes="128 256"
  partitioners="block block-cyclic:16 cyclic"
  tts_sizes="32 64" tts_jacobi_max=1500
  mg_sizes="64 128" mg_cost_sizes="256"
fi

if [ "$ranks" -gt "$cores" ] && [ "$oversubscribe" -eq 0 ]; then
  die "--ranks $ranks is more than the $cores cores: pass --oversubscribe to run it anyway (those rows are marked, and are not timings of this machine)"
fi
jacobi=$build/solver/jacobi
for program in "$jacobi" "$build/bench/bench_stream" "$build/bench/bench_sweep"; do
  [ -x "$program" ] || die "$program not found: build first (cmake -S . -B build && cmake --build build -j), or pass --build DIR"
done
# The launcher: MPIEXEC (words are split), or mpirun; it must belong to the MPI jacobi was built
# with (the CTest smoke test passes the one CMake paired with it).
read -r -a mpiexec <<<"${MPIEXEC:-mpirun}"
command -v "${mpiexec[0]}" >/dev/null || die "${mpiexec[0]} not found (set MPIEXEC)"

# Open MPI refuses root unless told; only for our own runs, only when we are root.
if [ "$(id -u)" -eq 0 ]; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi

mkdir -p "$out"
out=$(cd "$out" && pwd)
scratch=$(mktemp -d "${TMPDIR:-/tmp}/jacobi-bench.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
report=$out/bench.txt
: >"$report"
# A section not run leaves no CSV behind from an earlier run in the same --out.
rm -f "$out"/{kernel,temporal,default,check_pairs,scaling,prk,halo,partitioners,model,tts}.csv "$out/machine.toml"

say() { printf '%s\n' "$*" | tee -a "$report"; }
calc() { awk "BEGIN { printf $1 }"; } # calc 'FORMAT, EXPR...'
# VALUE, marked "~" when TOTAL_SECONDS (printed by jacobi to the microsecond) is under 5 us
coarse() { awk -v t="$1" -v v="$2" 'BEGIN { printf "%s%s", (t < 0.000005 ? "~" : ""), v }'; }

# ---- MPI launches: oversubscribed only when allowed, and then marked ------------------------
oversubscribed() { [ "$1" -gt "$cores" ] && echo yes || echo no; }
can_run() { [ "$1" -le "$ranks" ] && { [ "$1" -le "$cores" ] || [ "$oversubscribe" -eq 1 ]; }; }
launch() { # RANKS PROGRAM ARGS...
  local n=$1
  shift
  if [ "$n" -gt "$cores" ]; then
    OMPI_MCA_rmaps_base_oversubscribe=1 "${mpiexec[@]}" -n "$n" "$@"
  else
    "${mpiexec[@]}" -n "$n" "$@"
  fi
}

# ---- jacobi runs ------------------------------------------------------------------------------
cat >"$scratch/bench.toml" <<EOF
# scripts/bench.sh: the heated plate; grid, iterations and partitioner come by --set.
[grid]
nx = 256
ny = 256

[boundary]
top = 100.0

[solver]
check_interval = 1   # every iteration: the reduction's cost at its largest

[decomposition]
partitioner = "block"
process_grid = [0, 1]   # strips: weak scaling keeps each rank's rows fixed

[output]
path = "$scratch/plate.h5"
EOF

# sweeps for an n x m grid: N * 1024^2 / (n m), at least MIN
iterations_for() { # N_X N_Y MIN [FACTOR]
  awk -v nx="$1" -v ny="$2" -v min="$3" -v f="${4:-1}" -v base="$iterations" \
    'BEGIN { k = int(f * base * 1048576 / (nx * ny) + 0.5); print (k < min ? min : k) }'
}

# Run jacobi R times; print the run with the median wall time as
#   wall compute halo reduction shm_points p2p_points messages local_points
run_jacobi() { # RANKS NX NY ITERATIONS --set...
  local n=$1 nx=$2 ny=$3 k=$4
  shift 4
  local cmd=("$jacobi" --quiet --verbose --set "grid.nx=$nx" --set "grid.ny=$ny"
    --set "solver.max_iterations=$k" --set "solver.tolerance=1e-300" "$@" "$scratch/bench.toml")
  echo "${mpiexec[*]} -n $n ${cmd[*]}" >>"$out/commands.txt"
  : >"$scratch/runs"
  : >"$scratch/kernels"
  for ((r = 0; r < repeat; r++)); do
    local text rc=0
    # jacobi exits 3 (stopped at max_iterations, as asked), and Open MPI's mpirun then spends
    # a second or two tearing the job down as if it had failed; this MCA variable skips that
    # (mpirun then exits 0). So the summary, not the exit code, says the run went as asked.
    text=$(export OMPI_MCA_orte_abort_on_non_zero_status=0
      launch "$n" "${cmd[@]}" 2>"$scratch/stderr") || rc=$?
    if { [ "$rc" -ne 0 ] && [ "$rc" -ne 3 ]; } || ! grep -q "^NOT converged after $k iterations" <<<"$text"; then
      echo "bench.sh: jacobi exited $rc without stopping at $k iterations: ${mpiexec[*]} -n $n ${cmd[*]}" >&2
      cat "$scratch/stderr" >&2
      printf '%s\n' "$text" >&2
      exit 1
    fi
    sed -n 's/^  kernel //p' <<<"$text" >>"$scratch/kernels"
    parse_summary "$text" >>"$scratch/runs" || {
      echo "bench.sh: cannot read jacobi's summary (has its format changed?):" >&2
      printf '%s\n' "$text" >&2
      exit 1
    }
  done
  sort -g -k1,1 "$scratch/runs" | sed -n "$(((repeat + 1) / 2))p" # even R: the lower middle
  # the kernel line, or each of them where the calibration chose differently between runs
  sed 's/ (solver.stores.*//' "$scratch/kernels" | sort -u | paste -sd'|' - |
    sed 's/|/ | /g; /|/s/^/differed between repetitions: /' >"$scratch/kernel"
}

# The summary lines (solver/report.c):
#   wall time X s, field checksum C (and, under --verbose, rate Y MLUP/s)
#   time (max over ranks): compute A s, halo exchange B s, convergence reduction C s[, ...]
#   halo per iteration (or: per exchange (one every K iterations)): S points (.. KiB) in shared
#     windows, M points (.. KiB) in K messages,
#     L points copied within ranks
parse_summary() { # TEXT
  local num='([0-9.eE+-]+)'
  local wall times halo
  wall=$(sed -nE "s/^ *wall time $num s,.*/\1/p" <<<"$1")
  times=$(sed -nE "s/.*compute $num s, halo exchange $num s, convergence reduction $num s.*/\1 \2 \3/p" <<<"$1")
  halo=$(sed -nE 's/.*halo per (iteration|exchange [^:]*): ([0-9]+) points .* in shared windows, ([0-9]+) points .* in ([0-9]+) messages, ([0-9]+) points copied.*/\2 \3 \4 \5/p' <<<"$1")
  [ -n "$wall" ] && [ -n "$times" ] && [ -n "$halo" ] || return 1
  echo "$wall $times $halo"
}

# ---- header -----------------------------------------------------------------------------------
load_average() { cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo "?"; }
build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$build/CMakeCache.txt" 2>/dev/null || true)
load_start=$(load_average)
say "jacobi benchmark suite, $(date -u '+%Y-%m-%d %H:%M UTC'), $(hostname)"
cpu_info=$(LC_ALL=C lscpu 2>/dev/null || true)
cpu_model=$(sed -n 's/^Model name: *//p' <<<"$cpu_info" | paste -sd/ -) # big.LITTLE: each
cpu_family=$(sed -n 's/^CPU family: *//p' <<<"$cpu_info" | head -1)
cpu_number=$(sed -n 's/^Model: *//p' <<<"$cpu_info" | head -1)
cpu_model="${cpu_model:-unknown CPU}${cpu_family:+ (family $cpu_family, model $cpu_number)}"
say "  cpu: $cpu_model, $cores cores available;" \
  "source $(git -C "$root" describe --always --dirty 2>/dev/null || echo '?'), build type ${build_type:-?}"
say "  caches (cpu0, one instance): L2 $((l2_bytes / 1024)) KiB, last level (L$llc_level) $(calc "\"%.1f\", $llc_bytes / 1048576") MiB," \
  "$((llc_total / llc_bytes)) of them ($(calc "\"%.1f\", $llc_total / 1048576") MiB);" \
  "grids: in L2 ${n_l2}^2, in L3 ${n_l3}^2, far out of cache ${n_far}^2 (two buffers $((16 * n_far * n_far / 1048576)) MiB)"
say "  load average at start: $load_start (1 min) on $cores cores$(awk -v l="$load_start" -v c="$cores" \
  'BEGIN { if (l + 0 >= 0.5) printf " -- WARNING: the machine is busy, timings are noisy" }')"
say "  ranks up to $ranks, median of $repeat repetition(s), base $iterations iterations per 1024^2$(
  [ "$quick" -eq 1 ] && echo '; --quick: a smoke test, not a measurement')"
[ "$build_type" = Release ] || say "  WARNING: build type '${build_type:-?}' is not Release"
: >"$out/commands.txt"

# ---- 1. memory bandwidth ----------------------------------------------------------------------
# The copy loop must be regular loads and stores, not a memcpy call, whose large-size path may
# use non-temporal stores and measure something the kernel never does (bench/CMakeLists.txt).
check_copy_loop() {
  local code
  if ! command -v objdump >/dev/null; then
    echo "not checked (no objdump)"
    return
  fi
  code=$(objdump -d --no-show-raw-insn "$build/bench/bench_stream" |
    awk '/^[0-9a-f]+ <stream_copy[^>]*>:$/ { p = 1; next } p && /^$/ { exit } p')
  if [ -z "$code" ]; then
    echo "not checked (no stream_copy symbol)"
  elif grep -qiE 'call|jmp.*<[^>+]*(memcpy|memmove)|movnt' <<<"$code"; then
    die "stream_copy in $build/bench/bench_stream calls a function or uses non-temporal stores: the copy probe would not measure regular stores (see bench/CMakeLists.txt)"
  else
    echo "objdump: stream_copy is a loop of regular stores ($(grep -oE '\b(v?mov[a-z]*) +%[xyz]mm[0-9]+,\(' <<<"$code" | awk '{print $1}' | sort -u | paste -sd/)), no call, no non-temporal store"
  fi
}

# 4x every last-level cache of the node per array, at least 256 MiB, unless told; less if 3
# arrays would take more than half the memory available: on 1 rank and, for the run on every
# rank, per rank (so many ranks do not shrink the 1-rank probe). STREAM asks each array,
# summed over ranks, to be 4x the caches.
stream_mib_1=$stream_mib stream_mib_p=$stream_mib
if [ -z "$stream_mib" ]; then
  stream_mib_1=$((4 * llc_total / 1048576 > 256 ? 4 * llc_total / 1048576 : 256))
  [ $((3 * stream_mib_1)) -le $((mem_available / 2)) ] || stream_mib_1=$((mem_available / 6 > 1 ? mem_available / 6 : 1))
  stream_mib_p=$stream_mib_1
  if [ $((3 * ranks * stream_mib_p)) -gt $((mem_available / 2)) ]; then
    stream_mib_p=$((mem_available / 2 / (3 * ranks) > 1 ? mem_available / 2 / (3 * ranks) : 1))
  fi
fi
llc=$llc_total
sizing="each array is $(calc "\"%.1f\", $stream_mib_1 * 1048576 / $llc")x (1 rank) and $(calc "\"%.1f\", $ranks * $stream_mib_p * 1048576 / $llc")x ($ranks ranks, summed) the last-level caches ($(calc "\"%.1f\", $llc / 1048576") MiB); STREAM asks for 4x"
for pair in "1 $stream_mib_1" "$ranks $((ranks * stream_mib_p))"; do
  read -r probe_ranks probe_mib <<<"$pair"
  [ -n "$stream_mib" ] || [ $((probe_mib * 1048576)) -ge $((4 * llc)) ] ||
    sizing="$sizing -- WARNING: on $probe_ranks rank(s) under 4x, for want of memory: the copy figure may come partly from cache"
done

say ""
say "== 1. Memory bandwidth: STREAM-like copy and triad (bench_stream), 3 arrays x $stream_mib_1 MiB on 1 rank, x $stream_mib_p MiB per rank on $ranks, every rank at once =="
say "   $sizing"
say "   bytes counted as STREAM does: copy 16 B per element (read a, write c), triad 24 B (read b, c, write a);"
say "   the write-allocate read of each store is not counted, as in the kernel's 16 B model"
say "   copy loop: $(check_copy_loop)"
echo "kernel,ranks,array_mib,best_gbs,median_gbs,oversubscribed" >"$out/stream.csv"
stream_ranks="1"
[ "$ranks" -gt 1 ] && stream_ranks="1 $ranks"
stream_repeat=$((repeat < 5 && quick == 0 ? 5 : repeat)) # cheap, and best-of needs a few
for n in $stream_ranks; do
  mib=$([ "$n" -eq 1 ] && echo "$stream_mib_1" || echo "$stream_mib_p")
  echo "${mpiexec[*]} -n $n $build/bench/bench_stream --array-mib $mib --repeat $stream_repeat" >>"$out/commands.txt"
  launch "$n" "$build/bench/bench_stream" --array-mib "$mib" --repeat "$stream_repeat" |
    awk -F, -v o="$(oversubscribed "$n")" '/^(copy|triad),/ { print $1","$2","$3","$5","$6","o }' \
      >>"$out/stream.csv"
done
say "$(printf '   %-6s %5s %10s %12s' kernel ranks 'best GB/s' 'median GB/s')"
while IFS=, read -r kernel n mib best median over; do
  say "$(printf '   %-6s %5s %10.1f %12.1f%s' "$kernel" "$n" "$best" "$median" \
    "$([ "$over" = yes ] && echo '  (oversubscribed)')")"
done < <(tail -n +2 "$out/stream.csv")
copy_1=$(awk -F, '$1 == "copy" && $2 == 1 { print $4 }' "$out/stream.csv")
copy_p=$(awk -F, -v p="$ranks" '$1 == "copy" && $2 == p { print $4 }' "$out/stream.csv")

# ---- 2. the kernel alone ----------------------------------------------------------------------
roofline_1=$(calc "\"%.1f\", $copy_1 * 1e3 / 16")
if want 2; then
say ""
say "== 2. Kernel alone, 1 rank: sweep_tile on an n x n tile, two buffers alternating (bench_sweep) =="
say "   model: 16 B per update (one read, one write of a double); roofline = copy $copy_1 GB/s (1 rank, best) / 16 B = $roofline_1 MLUP/s"
say "   general (sources, held regions): 32 B (x, coef, rhs, u); faces and faces-chebyshev (insulated, flux, convective edges, face exchange,"
say "   composite k): 64 B (x, four conductances, diag, load, u): each row's roofline and fraction are copy / its own bytes"
say "   regular stores (jacobi's default), streaming stores (solver.stores = \"streaming\": no write-allocate read),"
say "   update: regular stores without the max-diff (sweep_tile_update, what jacobi runs between convergence checks),"
say "   and chebyshev: the weighted sweep (sweep_tile_weighted, regular stores, with the diff), which also reads the point it overwrites"
say "   and every variant solver.stores = \"auto\" chooses from: ISA-STORES[-nodiff] (sweep_tile_variant; -nodiff: without the max-diff)"
say "   redblack: multigrid's red-black smoothing step (sweep_redblack, in place, both colours in one pass; 16 B), redblack-change: with the change measured in the pass"
say "   (a grid that fits in cache may beat the memory roofline: there the kernel is bound by the core)"
echo "${mpiexec[*]} -n 1 $build/bench/bench_sweep --iterations $iterations --repeat $repeat $sizes" >>"$out/commands.txt"
# shellcheck disable=SC2086 # $sizes is a list of numbers
"$build/bench/bench_sweep" --iterations "$iterations" --repeat "$repeat" $sizes |
  awk -F, -v copy="$copy_1" 'BEGIN { OFS = "," }
    NR > 1 && /^[0-9]/ { roof = copy * 1e3 / $6; print $1, $2, $3, $5, $4, $6, $5 * $6 / 1e3, roof, $5 / roof, $7 }
    /^n,/ { print "n,stores,sweeps,mlups,best_mlups,bytes_per_update,modelled_gbs,roofline_mlups,roofline_fraction,working_set_mib" }' \
    >"$out/kernel.csv"
say "$(printf '   %6s %-23s %12s %7s %9s %9s %10s %9s' n stores 'working set' sweeps MLUP/s best GB/s '% roofline')"
while IFS=, read -r n stores sweeps mlups best _ gbs _ fraction mib; do
  say "$(printf '   %6s %-23s %8.1f MiB %7s %9.1f %9.1f %10.1f %9.0f' "$n" "$stores" "$mib" "$sweeps" "$mlups" "$best" "$gbs" \
    "$(calc "\"%.1f\", 100 * $fraction")")"
done < <(tail -n +2 "$out/kernel.csv")
# The same, side by side: each kernel's fraction of the roofline (median), a column per size.
say ""
say "   fraction of each kernel's 1-rank roofline (copy / its bytes per update; Laplace's $roofline_1 MLUP/s), median; CPU: $cpu_model"
awk -F, -v l2="$n_l2" -v l3="$n_l3" -v far="$n_far" 'NR > 1 {
    if (!($1 in seen)) { seen[$1] = 1; sizes[++ns] = $1 }
    if (!($2 in known)) { known[$2] = 1; kernels[++nk] = $2 }
    f[$2, $1] = $9 }
  END {
    printf "   %-23s", "kernel"
    for (i = 1; i <= ns; i++) {
      tag = sizes[i] == l2 ? " (L2)" : sizes[i] == l3 ? " (L3)" : sizes[i] == far ? " (far)" : ""
      printf " %12s", sizes[i] tag }
    printf "\n"
    for (k = 1; k <= nk; k++) {
      printf "   %-23s", kernels[k]
      for (i = 1; i <= ns; i++) printf " %12s", ((kernels[k], sizes[i]) in f) ? sprintf("%.2f", f[kernels[k], sizes[i]]) : "-"
      printf "\n" } }' "$out/kernel.csv" | tee -a "$report"
fi

# MLUP/s of K iterations of an N x N grid in WALL seconds; its fraction of the roofline of RANKS
mlups_of() { calc "\"%.1f\", $1 * $1 * $2 / ($3 > 0 ? $3 : 1e-9) / 1e6"; } # N K WALL
fraction_of() { # RANKS MLUPS
  calc "\"%.3f\", $2 / ($([ "$1" -eq 1 ] && echo "$copy_1" || echo "$copy_p") * 1e3 / 16)"
}

# ---- 2b. temporal blocking ---------------------------------------------------------------------
k_tb=$(iterations_for "$strong_n" "$strong_n" 24)
k_tb=$(((k_tb + 7) / 8 * 8)) # a multiple of every K below
tb_ranks="1"
[ "$ranks" -gt 1 ] && tb_ranks="1 $ranks"
if want 2b; then
say ""
say "== 2b. Temporal blocking: jacobi, $strong_n x $strong_n (block strips), solver.temporal_block = check_interval = K, $k_tb iterations =="
say "   K sweeps per pass through memory (a row wavefront over each tile grown by the levels to come), halos K deep exchanged once per block;"
say "   % roofline: of copy (same rank count) / 16 B; speedup against K = 1 on as many ranks"
echo "ranks,k,n,iterations,wall_s,mlups,roofline_fraction,speedup" >"$out/temporal.csv"
say "$(printf '   %5s %3s %8s %9s %10s %8s' ranks K 'wall s' MLUP/s '% roofline' speedup)"
for n in $tb_ranks; do
  mlups_k1=""
  for kb in 1 2 4 8; do
    result=$(run_jacobi "$n" "$strong_n" "$strong_n" "$k_tb" --set "solver.check_interval=$kb" \
      --set "solver.temporal_block=$kb")
    read -r wall _ <<<"$result"
    mlups=$(mlups_of "$strong_n" "$k_tb" "$wall")
    [ -n "$mlups_k1" ] || mlups_k1=$mlups
    fraction=$(fraction_of "$n" "$mlups")
    speedup=$(calc "\"%.2f\", $mlups / $mlups_k1")
    echo "$n,$kb,$strong_n,$k_tb,$wall,$mlups,$fraction,$speedup" >>"$out/temporal.csv"
    say "$(printf '   %5s %3s %8s %9s %10s %8s%s' "$n" "$kb" "$wall" "$mlups" "$(calc "\"%.0f\", 100 * $fraction")" "$speedup" \
      "$([ "$(oversubscribed "$n")" = yes ] && echo '  (oversubscribed)')")"
  done
done
fi

# ---- 2c. jacobi's default kernel ----------------------------------------------------------------
# solver.stores = "auto" (the default) against the stores set, checking every iteration and
# every 10: the kernel the calibration chose is the summary's "kernel" line.
if want 2c; then
k_dc=$(iterations_for "$strong_n" "$strong_n" 20)
k_dc=$(((k_dc + 9) / 10 * 10))
say ""
say "== 2c. The default kernel: jacobi, $strong_n x $strong_n (block strips), $k_dc iterations, solver.stores and check_interval =="
say "   % roofline: of copy (same rank count) / 16 B; kernel: what the start-up calibration chose (the summary's line)"
echo "ranks,stores,check_interval,n,iterations,wall_s,mlups,roofline_fraction,kernel,oversubscribed" >"$out/default.csv"
say "$(printf '   %5s %-9s %5s %8s %9s %10s  %s' ranks stores check 'wall s' MLUP/s '% roofline' kernel)"
for n in $tb_ranks; do
  for stores in auto regular streaming; do
    for check in 1 10; do
      result=$(run_jacobi "$n" "$strong_n" "$strong_n" "$k_dc" --set "solver.check_interval=$check" \
        --set "solver.stores=$stores")
      read -r wall _ <<<"$result"
      kernel=$(cat "$scratch/kernel")
      mlups=$(mlups_of "$strong_n" "$k_dc" "$wall")
      fraction=$(fraction_of "$n" "$mlups")
      echo "$n,$stores,$check,$strong_n,$k_dc,$wall,$mlups,$fraction,\"$kernel\",$(oversubscribed "$n")" >>"$out/default.csv"
      say "$(printf '   %5s %-9s %5s %8s %9s %10s  %s' "$n" "$stores" "$check" "$wall" "$mlups" "$(calc "\"%.0f\", 100 * $fraction")" "$kernel")"
    done
  done
done
# The table's runs of one setting follow each other, so a change of the machine's load between
# them is read as a difference of the settings. Here each pair runs check_interval = 1 and 10
# back to back, in alternating order (a drift favours neither), one repetition each, and the
# ratio of the pair is 10's MLUP/s over 1's; the median of the pairs is the figure.
say ""
say "   check_interval = 10 against 1, default settings, $pairs interleaved pair(s) (ratio: MLUP/s of 10 / of 1; pairs alternate which runs first):"
echo "ranks,pair,first,mlups_check1,mlups_check10,ratio" >"$out/check_pairs.csv"
for n in $tb_ranks; do
  ratios="" mlups_1="" mlups_10=""
  for ((q = 1; q <= pairs; q++)); do
    order="1 10"
    [ $((q % 2)) -eq 0 ] && order="10 1"
    for check in $order; do
      # one repetition: the assignment holds for this call alone
      result=$(repeat=1 run_jacobi "$n" "$strong_n" "$strong_n" "$k_dc" \
        --set "solver.check_interval=$check")
      read -r wall _ <<<"$result"
      case $check in
      1) mlups_1=$(mlups_of "$strong_n" "$k_dc" "$wall") ;;
      *) mlups_10=$(mlups_of "$strong_n" "$k_dc" "$wall") ;;
      esac
    done
    ratio=$(calc "\"%.3f\", $mlups_10 / $mlups_1")
    ratios="$ratios $ratio"
    echo "$n,$q,${order%% *},$mlups_1,$mlups_10,$ratio" >>"$out/check_pairs.csv"
  done
  median=$(tr ' ' '\n' <<<"$ratios" | sed '/^$/d' | sort -g | sed -n "$(((pairs + 1) / 2))p")
  say "$(printf '   %5s rank(s): pairs%s; median %s%s' "$n" "$ratios" "$median" \
    "$([ "$(oversubscribed "$n")" = yes ] && echo '  (oversubscribed)')")"
done
fi

# ---- 3. scaling -------------------------------------------------------------------------------
rank_counts() { # 1 2 4 ... below P, then P
  local n=1
  while [ "$n" -lt "$ranks" ]; do
    echo "$n"
    n=$((n * 2))
  done
  echo "$ranks"
}
k_strong=$(iterations_for "$strong_n" "$strong_n" 20)
k_weak=$(iterations_for "$weak_n" "$weak_n" 20) # per rank's grid: the same work on every rank
echo "kind,ranks,nx,ny,iterations,wall_s,mlups,efficiency,compute_s,halo_s,reduce_s,roofline_fraction,oversubscribed" >"$out/scaling.csv"
if want 3; then
say ""
say "== 3. Scaling: jacobi, block strips (process grid [0, 1]), halo.mode auto, convergence checked every iteration =="
say "   strong: $strong_n x $strong_n, $k_strong iterations; weak: $weak_n x $weak_n per rank (ny = $weak_n x ranks)"
say "   efficiency = MLUP/s / (ranks x MLUP/s on 1 rank); times are the maximum over ranks, in seconds;"
say "   % roofline: of copy GB/s / 16 B measured with as many ranks (section 1 measures 1 and $ranks)"
say "$(printf '   %-6s %5s %13s %6s %8s %8s %10s %9s %8s %9s %10s' kind ranks grid iters 'wall s' MLUP/s efficiency compute halo reduction '% roofline')"
for kind in strong weak; do
  mlups_1=""
  for n in $(rank_counts); do
    can_run "$n" || continue
    nx=$strong_n ny=$strong_n k=$k_strong
    [ "$kind" = weak ] && nx=$weak_n ny=$((weak_n * n)) k=$k_weak
    # An assignment, not `read < <(...)`: set -e then stops the suite when a run fails.
    result=$(run_jacobi "$n" "$nx" "$ny" "$k")
    read -r wall compute halo reduce _ <<<"$result"
    mlups=$(calc "\"%.1f\", $nx * $ny * $k / ($wall > 0 ? $wall : 1e-9) / 1e6")
    [ -n "$mlups_1" ] || mlups_1=$mlups
    eff=$(calc "\"%.3f\", $mlups / ($n * $mlups_1)")
    over=$(oversubscribed "$n")
    copy="" fraction="" percent=""
    [ "$n" -eq 1 ] && copy=$copy_1
    [ "$n" -eq "$ranks" ] && copy=$copy_p
    if [ -n "$copy" ]; then
      fraction=$(calc "\"%.3f\", $mlups / ($copy * 1e3 / 16)")
      percent=$(calc "\"%.0f\", 100 * $fraction")
    fi
    echo "$kind,$n,$nx,$ny,$k,$wall,$mlups,$eff,$compute,$halo,$reduce,$fraction,$over" >>"$out/scaling.csv"
    say "$(printf '   %-6s %5s %13s %6s %8s %8s %10s %9s %8s %9s %10s%s' "$kind" "$n" "${nx}x$ny" "$k" "$wall" "$mlups" \
      "$eff" "$compute" "$halo" "$reduce" "$percent" \
      "$([ "$over" = yes ] && echo '  (oversubscribed)')")"
  done
done
fi

# ---- 3b. ParRes Kernels' MPISHM stencil --------------------------------------------------------
# The reference MPI-3 shared-memory stencil (radius 1, star: the same 5 points), built from a
# checkout given with --prk, in a scratch copy, never into this project; run on the same grid
# and ranks as jacobi (one check every iteration, default settings otherwise). PRK's update is
# out += weighted star of in, then in += 1: it reads and writes both arrays every iteration.
if want 3b; then
say ""
if [ -z "$prk" ]; then
  say "== 3b. ParRes Kernels MPISHM stencil: skipped (pass --prk DIR, a checkout of github.com/ParRes/Kernels) =="
elif [ ! -f "$prk/MPISHM/Stencil/stencil.c" ]; then
  die "--prk $prk: no MPISHM/Stencil/stencil.c there"
else
  prk_build=$scratch/prk
  mkdir -p "$prk_build"
  cp -r "$prk/MPISHM" "$prk/common" "$prk/include" "$prk_build/"
  cp "$prk_build/common/make.defs.gcc" "$prk_build/common/make.defs"
  prk_make=(make -C "$prk_build/MPISHM/Stencil" stencil RADIUS=1 MPICC=mpicc "DEFAULT_OPT_FLAGS=-O3 -march=native")
  echo "${prk_make[*]}" >>"$out/commands.txt"
  "${prk_make[@]}" >"$scratch/prk.log" 2>&1 || { cat "$scratch/prk.log" >&2; die "building PRK's MPISHM stencil failed"; }
  n=$ranks
  k_prk=$(iterations_for "$strong_n" "$strong_n" 20)
  say "== 3b. ParRes Kernels MPISHM stencil (radius 1, star, -O3 -march=native) against jacobi: $n ranks, $strong_n x $strong_n, $k_prk iterations =="
  say "   PRK MLUP/s = (n - 2)^2 / its average time per iteration (its MFlops/s / 11); jacobi: default settings, a check every iteration"
  echo "program,ranks,n,iterations,mlups,roofline_fraction,ratio_to_prk" >"$out/prk.csv"
  : >"$scratch/prk_rates"
  for ((r = 0; r < repeat; r++)); do
    echo "mpirun -n $n $prk_build/MPISHM/Stencil/stencil $n $k_prk $strong_n" >>"$out/commands.txt"
    prk_text=$(launch "$n" "$prk_build/MPISHM/Stencil/stencil" "$n" "$k_prk" "$strong_n")
    grep -q "Solution validates" <<<"$prk_text" || { printf '%s
' "$prk_text" >&2; die "PRK's stencil did not validate"; }
    sed -nE 's/.*Avg time \(s\): ([0-9.eE+-]+).*/\1/p' <<<"$prk_text" >>"$scratch/prk_rates"
  done
  prk_time=$(sort -g "$scratch/prk_rates" | sed -n "$(((repeat + 1) / 2))p")
  prk_mlups=$(calc "\"%.1f\", ($strong_n - 2) * ($strong_n - 2) / $prk_time / 1e6")
  result=$(run_jacobi "$n" "$strong_n" "$strong_n" "$k_prk")
  read -r wall _ <<<"$result"
  jac_mlups=$(mlups_of "$strong_n" "$k_prk" "$wall")
  for row in "prk-mpishm-stencil $prk_mlups" "jacobi $jac_mlups"; do
    read -r program mlups <<<"$row"
    fraction=$(fraction_of "$n" "$mlups")
    echo "$program,$n,$strong_n,$k_prk,$mlups,$fraction,$(calc "\"%.2f\", $mlups / $prk_mlups")" >>"$out/prk.csv"
    say "$(printf '   %-20s %9s MLUP/s = %5s of the %s-rank roofline, %5sx PRK' "$program" "$mlups" \
      "$fraction" "$n" "$(calc "\"%.2f\", $mlups / $prk_mlups")")"
  done
fi
fi

# ---- 4. halo exchange by path -----------------------------------------------------------------
if want 4; then
say ""
echo "n,iterations,halo_kib_per_iteration,shm_halo_us,p2p_halo_us,ratio_p2p_shm,resolution_us,shm_wall_us,p2p_wall_us,oversubscribed" >"$out/halo.csv"
if ! can_run 2; then
  say "== 4. Halo exchange by path: skipped (needs --ranks 2 or more, and 2 cores or --oversubscribe) =="
else
  say "== 4. Halo exchange by path: 2 ranks$([ "$(oversubscribed 2)" = yes ] && echo ' (OVERSUBSCRIBED)'), strips, halo.mode \"shm\" (read the neighbour's window) against \"p2p\" (messages) =="
  say "   halo time per iteration = the summary's halo exchange time (max over ranks) / iterations;"
  say "   it includes waiting for the neighbour to finish its sweep (imbalance, a descheduled rank), not only moving data;"
  say "   jacobi prints times to the microsecond: resolution = 1 us / iterations, and a time within a few of it is marked ~"
  say "$(printf '   %6s %6s %14s %12s %12s %8s %14s' n iters 'halo KiB/iter' 'shm us/iter' 'p2p us/iter' p2p/shm 'resolution us')"
  for n in $halo_sizes; do
    k=$(iterations_for "$n" "$n" 20 4)
    result=$(run_jacobi 2 "$n" "$n" "$k" --set halo.mode=shm)
    read -r shm_wall _ shm_halo _ shm_points _ <<<"$result"
    result=$(run_jacobi 2 "$n" "$n" "$k" --set halo.mode=p2p)
    read -r p2p_wall _ p2p_halo _ _ p2p_points _ <<<"$result"
    kib=$(calc "\"%.1f\", $shm_points * 8 / 1024")
    [ "$p2p_points" -eq "$shm_points" ] || echo "bench.sh: note: p2p moved $p2p_points points, shm $shm_points" >&2
    shm_us=$(calc "\"%.2f\", $shm_halo / $k * 1e6")
    p2p_us=$(calc "\"%.2f\", $p2p_halo / $k * 1e6")
    ratio="" # jacobi prints microseconds: a halo time under 1 us in all reads 0, and has no ratio
    if awk -v t="$shm_halo" 'BEGIN { exit !(t > 0) }'; then
      ratio=$(calc "\"%.2f\", $p2p_halo / $shm_halo")
    fi
    resolution=$(calc "\"%.4f\", 1 / $k")
    echo "$n,$k,$kib,$shm_us,$p2p_us,$ratio,$resolution,$(calc "\"%.1f\", $shm_wall / $k * 1e6"),$(calc "\"%.1f\", $p2p_wall / $k * 1e6"),$(oversubscribed 2)" >>"$out/halo.csv"
    say "$(printf '   %6s %6s %14s %12s %12s %8s %14s' "$n" "$k" "$kib" "$(coarse "$shm_halo" "$shm_us")" \
      "$(coarse "$p2p_halo" "$p2p_us")" "${ratio:--}" "$resolution")"
  done
fi
fi

# ---- 5. partitioners --------------------------------------------------------------------------
if want 5; then
say ""
echo "partitioner,block_size,ranks,n,iterations,ms_per_iteration,compute_ms,halo_ms,reduce_ms,halo_kib_between_ranks,halo_kib_within_ranks,oversubscribed" >"$out/partitioners.csv"
if ! can_run 2; then
  say "== 5. Partitioners: skipped (needs --ranks 2 or more, and 2 cores or --oversubscribe) =="
else
  k=$(iterations_for "$part_n" "$part_n" 20)
  say "== 5. Partitioners: 2 ranks$([ "$(oversubscribed 2)" = yes ] && echo ' (OVERSUBSCRIBED)'), $part_n x $part_n, rows dealt over process grid [2, 1], $k iterations =="
  say "   per iteration; compute, halo and reduction are each the maximum over ranks, so they may add up to more than the time;"
  say "   halo between ranks = shared windows + messages (the summary's halo line); within = copies between a rank's own tiles"
  per() { calc "\"%.3f\", $1 / $k * 1e3"; } # seconds in all -> ms per iteration
  say "$(printf '   %-13s %5s %8s %10s %8s %10s %14s %14s' partitioner block ms/iter compute halo reduction 'KiB between' 'KiB within')"
  for spec in $partitioners; do
    name=${spec%%:*} block=-
    sets=(--set "decomposition.partitioner=$name")
    if [ "$name" = block-cyclic ]; then
      block=${spec#*:}
      sets+=(--set "decomposition.block_size=$block")
    fi
    [ "$name" = cyclic ] && block=1
    result=$(run_jacobi 2 "$part_n" "$part_n" "$k" "${sets[@]}")
    read -r wall compute halo reduce shm p2p _ local <<<"$result"
    between=$(calc "\"%.1f\", ($shm + $p2p) * 8 / 1024")
    within=$(calc "\"%.1f\", $local * 8 / 1024")
    echo "$name,$block,2,$part_n,$k,$(per "$wall"),$(per "$compute"),$(per "$halo"),$(per "$reduce"),$between,$within,$(oversubscribed 2)" >>"$out/partitioners.csv"
    say "$(printf '   %-13s %5s %8s %10s %8s %10s %14s %14s' "$name" "$block" "$(per "$wall")" "$(per "$compute")" \
      "$(per "$halo")" "$(per "$reduce")" "$between" "$within")"
  done
fi
fi

# ---- 6. the performance model against the measurements ---------------------------------------
# Calibrate the model's [machine] keys from this run (section 1's copy, section 2's kernel, a
# ping-pong), then ask `jacobi --dry-run` for every configuration sections 3 and 5 measured.
if want 6; then
if [ ! -s "$out/kernel.csv" ] || [ ! -s "$out/partitioners.csv" ]; then
  die "section 6 needs sections 2, 3 and 5"
fi
say ""
say "== 6. Performance model (decomp/model.h, jacobi --dry-run) against the measurements =="
pingpong_ranks=2
can_run 2 || pingpong_ranks=0
latency_us="" bandwidth_gbs="" stage_us=""
if [ "$pingpong_ranks" -eq 2 ]; then
  echo "${mpiexec[*]} -n $ranks $build/bench/bench_pingpong --repeat $repeat" >>"$out/commands.txt"
  launch "$ranks" "$build/bench/bench_pingpong" --repeat "$repeat" >"$scratch/pingpong.csv"
  field() { awk -F, -v q="$1" '$1 == q { print $3 }' "$scratch/pingpong.csv"; }
  latency_us=$(field latency) bandwidth_gbs=$(field bandwidth) stage_us=$(field allreduce_stage)
fi
kernel_fraction=$(awk -F, '$2 == "regular" { f = $9 } END { print f }' "$out/kernel.csv")
machine=(--set "machine.core_bandwidth_gbs=$copy_1" --set "machine.node_bandwidth_gbs=${copy_p:-$copy_1}"
  --set "machine.kernel_efficiency=$kernel_fraction")
if [ -n "$latency_us" ]; then
  # One node: the on-node ping-pong stands for both paths (there is no network to measure).
  machine+=(--set "machine.shm_latency_us=$latency_us" --set "machine.net_latency_us=$latency_us"
    --set "machine.net_bandwidth_gbs=$bandwidth_gbs" --set "machine.reduce_latency_us=$stage_us")
fi
{
  echo "# [machine] measured by scripts/bench.sh on $(hostname), $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "[machine]"
  for ((i = 1; i < ${#machine[@]}; i += 2)); do
    printf '%s\n' "${machine[i]#machine.}" | sed 's/=/ = /'
  done
} >"$out/machine.toml"
say "   calibrated: copy $copy_1 GB/s (1 rank), ${copy_p:-$copy_1} GB/s (all), kernel at $kernel_fraction of its roofline,"
say "   ping-pong latency ${latency_us:-(not measured)} us, ${bandwidth_gbs:-?} GB/s, allreduce ${stage_us:-?} us per stage -> $out/machine.toml"
say "   error = predicted / measured - 1 (per iteration; measured = wall time / iterations)"
echo "section,kind,ranks,nx,ny,partitioner,block_size,measured_us,predicted_us,error,oversubscribed" >"$out/model.csv"
predict() { # RANKS NX NY --set... : the configured row's us/iter
  "$jacobi" --dry-run --ranks "$1" --set "grid.nx=$2" --set "grid.ny=$3" "${@:4}" "${machine[@]}" \
    "$scratch/bench.toml" | awk '/<- configured/ { print $3 }'
}
say "$(printf '   %-13s %5s %13s %-13s %5s %12s %12s %8s' what ranks grid partitioner block 'measured us' 'predicted us' error)"
model_row() { # SECTION KIND RANKS NX NY PARTITIONER BLOCK MEASURED_US OVER --set...
  local predicted error
  predicted=$(predict "$3" "$4" "$5" "${@:10}")
  error=$(calc "\"%+.2f\", $predicted / $8 - 1")
  echo "$1,$2,$3,$4,$5,$6,$7,$8,$predicted,$error,$9" >>"$out/model.csv"
  say "$(printf '   %-13s %5s %13s %-13s %5s %12.1f %12.1f %8s%s' "$2" "$3" "${4}x$5" "$6" "$7" "$8" "$predicted" "$error" \
    "$([ "$9" = yes ] && echo '  (oversubscribed)')")"
}
while IFS=, read -r kind n nx ny k wall _ _ _ _ _ _ over; do
  model_row scaling "$kind" "$n" "$nx" "$ny" block - "$(calc "\"%.2f\", $wall / $k * 1e6")" "$over"
done < <(tail -n +2 "$out/scaling.csv")
while IFS=, read -r name block n size _ ms _ _ _ _ _ over; do
  sets=(--set "decomposition.partitioner=$name" --set "decomposition.process_grid=[2, 1]")
  [ "$name" = block-cyclic ] && sets+=(--set "decomposition.block_size=$block")
  model_row partitioners partitioners "$n" "$size" "$size" "$name" "$block" "$(calc "\"%.2f\", $ms * 1e3")" "$over" "${sets[@]}"
done < <(tail -n +2 "$out/partitioners.csv")
fi

# The first of Debian's python3 and the one on PATH that imports MODULES (a pyenv or venv python3
# may lack them); empty if neither does.
python_with() { # MODULES
  local candidate
  for candidate in /usr/bin/python3 python3; do
    if command -v "$candidate" >/dev/null && "$candidate" -c "import $1" 2>/dev/null; then
      echo "$candidate"
      return
    fi
  done
}

# ---- 7. time to solution ----------------------------------------------------------------------
if want 7; then
say ""
say "== 7. Time to solution, 1 rank: each method to a true max error <= 0.1% of the range (0.1 degrees) =="
say "   true error against the exact discrete solution (tests/e2e/exact.py, a sine transform); iterations: the fewest"
say "   that reach it (bisection, to 1%), timed with one check at the end; 'by the bound': the run that stops on"
say "   solver.target_error = 0.1 (check every 10), i.e. with the guarantee; Jacobi beyond $tts_jacobi_max iterations:"
say "   the count extrapolated as (n + 1)^2 from the largest grid measured, the time from a short run's rate"
tts_python=$(python_with "h5py, scipy.fft")
if [ -z "$tts_python" ]; then
  say "   skipped: no python3 with h5py and SciPy (Debian: python3-h5py python3-scipy)"
else
  echo "$tts_python $root/scripts/tts.py --jacobi $jacobi --sizes \"$tts_sizes\" --repeat $repeat" >>"$out/commands.txt"
  "$tts_python" "$root/scripts/tts.py" --jacobi "$jacobi" --launch "${mpiexec[*]} -n 1" \
    --sizes "$tts_sizes" --repeat "$repeat" --jacobi-max "$tts_jacobi_max" --out "$out/tts.csv" |
    tee -a "$report"
fi
fi

# ---- 8. multigrid ------------------------------------------------------------------------------
# bench/petsc_plate.c, compiled where pkg-config (or PETSC_DIR's) finds PETSc; PETSc is no
# dependency of jacobi, so without it the peers' rows are skipped, visibly. Prints its path.
build_petsc_plate() {
  local flags=""
  # CMake built it where it found PETSc (bench/CMakeLists.txt)
  [ -x "$build/bench/petsc_plate" ] && echo "$build/bench/petsc_plate" && return 0
  if command -v pkg-config >/dev/null && pkg-config --exists PETSc 2>/dev/null; then
    flags=$(pkg-config --cflags --libs PETSc)
  elif [ -n "${PETSC_DIR:-}" ] && [ -f "$PETSC_DIR/${PETSC_ARCH:-}/lib/pkgconfig/PETSc.pc" ]; then
    flags=$(PKG_CONFIG_PATH="$PETSC_DIR/${PETSC_ARCH:-}/lib/pkgconfig" pkg-config --cflags --libs PETSc)
  else
    return 1
  fi
  # shellcheck disable=SC2086 # $flags is a list of compiler flags
  mpicc -O2 "$root/bench/petsc_plate.c" $flags -o "$scratch/petsc_plate" 2>"$scratch/petsc_cc" ||
    { cat "$scratch/petsc_cc" >&2; return 1; }
  echo "$scratch/petsc_plate"
}
if want 8; then
mg_ranks="1"
can_run 2 && mg_ranks="1 2"
say ""
say "== 8. Multigrid (solver.method = \"multigrid\", scripts/mg_bench.py) =="
mg_python=$(python_with "h5py, scipy.fft")
if [ -z "$mg_python" ]; then
  say "   skipped: no python3 with h5py and SciPy (Debian: python3-h5py python3-scipy)"
else
  petsc_plate=$(build_petsc_plate) || petsc_plate=""
  say "   8a. time to a true max error <= 0.1% of the range, ranks $mg_ranks, jacobi multigrid beside the peers"
  if [ -z "$petsc_plate" ]; then
    say "   PETSc: not found (pkg-config PETSc, or PETSC_DIR), or bench/petsc_plate.c did not build: its rows are skipped"
  fi
  say "   solve s: each program's own clock (jacobi: wall time = levels' set-up + cycles + checks, no start-up,"
  say "   no output; petsc_plate: assembly + KSPSetUp + KSPSolve; SciPy: right-hand side + 2 transforms);"
  say "   process s: mpirun launch to exit (jacobi less its output write); X/mg: the peer's solve s / jacobi's"
  mg_tts=("$mg_python" "$root/scripts/mg_bench.py" tts --jacobi "$jacobi" --sizes "$mg_sizes"
    --ranks "$mg_ranks" --repeat "$repeat" --out "$out/mg_tts.csv")
  [ -n "$petsc_plate" ] && mg_tts+=(--petsc "$petsc_plate")
  [ "$quick" -eq 1 ] && mg_tts+=(--no-search) # PETSc at rtol 1e-3 (tighter only if it must)
  echo "${mg_tts[*]}" >>"$out/commands.txt"
  "${mg_tts[@]}" | tee -a "$report"
  say "   8b. V(2,2) red-black convergence factor (the summary's residual reduction a cycle, 6 cycles), 1 rank"
  mg_factor=("$mg_python" "$root/scripts/mg_bench.py" factor --jacobi "$jacobi" --out "$out/mg_factor.csv")
  [ "$quick" -eq 1 ] && mg_factor+=(--quick)
  echo "${mg_factor[*]}" >>"$out/commands.txt"
  "${mg_factor[@]}" | tee -a "$report"
  say "   8c. a cycle's time against its fine-sweep equivalents x one plain Jacobi sweep (jacobi method,"
  say "   one check at the end), same size, interleaved, 1 rank; the cycle: (wall of k + 1 cycles - wall of 1) / k, its checks included"
  mg_cost=("$mg_python" "$root/scripts/mg_bench.py" cost --jacobi "$jacobi" --sizes "$mg_cost_sizes"
    --repeat "$repeat" --out "$out/mg_cost.csv")
  echo "${mg_cost[*]}" >>"$out/commands.txt"
  "${mg_cost[@]}" | tee -a "$report"
fi
# The modelled cluster of docs/performance.md: 16384^2, 64 ranks a node, 12 GB/s a core, 200 a
# node, 2 us and 12 GB/s between nodes, 1.5 us a reduction stage.
say "   8d. --dry-run --ranks 4096, the docs' modelled cluster, 16384^2, V(2,2): predicted time a cycle by level"
mg_model=("$jacobi" --dry-run --ranks 4096 --set grid.nx=16384 --set grid.ny=16384
  --set solver.method=multigrid --set halo.ranks_per_node=64 --set 'decomposition.process_grid=[0, 0]'
  --set machine.core_bandwidth_gbs=12 --set machine.node_bandwidth_gbs=200
  --set machine.net_latency_us=2 --set machine.net_bandwidth_gbs=12 --set machine.reduce_latency_us=1.5
  "$scratch/bench.toml")
echo "${mg_model[*]}" >>"$out/commands.txt"
"${mg_model[@]}" | sed -n '/^# multigrid plan/,$p' | sed 's/^/   /' | tee "$out/mg_model.txt" | tee -a "$report"
fi

# ---- 9. the peers (only when asked: --sections 9) ---------------------------------------------
if want 9; then
say ""
say "== 9. The peers, each to a true max error <= 0.1 degrees on the 100-degree plate (scripts/peers_bench.py) =="
peers_python=$(python_with "h5py, scipy.fft")
peers=()
for peer in hypre_plate petsc_pcmg petsc_plate; do
  if [ -x "$build/bench/$peer" ]; then
    case $peer in
      hypre_plate) peers+=(--hypre "$build/bench/$peer") ;;
      petsc_pcmg) peers+=(--petsc-pcmg "$build/bench/$peer") ;;
      petsc_plate) peers+=(--petsc-plate "$build/bench/$peer") ;;
    esac
  else
    say "   $peer: not built (CMake did not find hypre / PETSc: libhypre-dev, petsc-dev): its rows are skipped"
  fi
done
if [ -z "$peers_python" ]; then
  say "   skipped: no python3 with h5py and SciPy (Debian: python3-h5py python3-scipy)"
else
  peers_sizes="2048 4096"
  peers_repeat=$repeat
  [ "$quick" -eq 1 ] && peers_sizes="128" && peers_repeat=1
  peers_ranks="1"
  can_run 2 && peers_ranks="1 2"
  peers_run=("$peers_python" "$root/scripts/peers_bench.py" --jacobi "$jacobi" "${peers[@]}"
    --held "$peers_sizes" --ranks "$peers_ranks" --patterns "" --repeat "$peers_repeat"
    --out "$out/peers.csv")
  echo "${peers_run[*]}" >>"$out/commands.txt"
  "${peers_run[@]}" | tee -a "$report"
fi
fi

# ---- plot -------------------------------------------------------------------------------------
say ""
load_end=$(load_average)
say "load average at the end: $load_end (1 min) on $cores cores"
python=$(python_with matplotlib)
if [ -z "$python" ]; then
  say "plot: skipped (no python3 with matplotlib; Debian: apt-get install python3-matplotlib)"
elif "$python" "$root/scripts/bench_plot.py" "$out" "$out/bench.png"; then
  say "plot: $out/bench.png"
else
  say "plot: FAILED ($python $root/scripts/bench_plot.py)"
fi
say "csv: $out/{stream,kernel,temporal,default,check_pairs,scaling,prk,halo,partitioners,model,tts,mg_tts,mg_factor,mg_cost}.csv; machine: $out/machine.toml; commands: $out/commands.txt; this table: $report"
