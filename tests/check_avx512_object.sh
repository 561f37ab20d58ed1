#!/bin/sh
# check_avx512_object.sh LIB - the AVX-512 variant's object code, read where no CPU runs it.
#
# The kernel's AVX-512 variant (solver/kernel/sweep_wide.c) runs only on a CPU that has
# AVX-512F, and test_sweep tests it only there. What can be checked on any machine is its code,
# in the kernel's static library LIB (jacobi_kernel): that sweep_wide.c.o holds sweep_wide_avx512 built with 512-bit
# vectors (zmm registers; a pragma that stopped working would leave a 4-wide or scalar body),
# that its streaming stores are whole 512-bit non-temporal stores, and that no multiply-add
# is fused (FMA rounds once where the scalar update rounds twice: other bits). Exit 0 when it
# holds, 1 (with the reason) when not, 77 (skipped) without objdump.
set -eu
lib=$1
command -v objdump >/dev/null 2>&1 || { echo "objdump not found: not checked"; exit 77; }
if objdump -h "$lib" 2>/dev/null | grep -q '\.gnu\.lto_'; then
  echo "link-time-optimised objects (-flto) hold no final machine code: not checked"
  exit 77
fi
code=$(objdump -d --no-show-raw-insn "$lib" | awk '
  /^[^ ]+\.o: +file format/ { member = $1; next }
  member == "sweep_wide.c.o:" { print }')
fail() { echo "check_avx512_object: $1" >&2; exit 1; }
[ -n "$code" ] || fail "no sweep_wide.c.o in $lib"
echo "$code" | grep -q '<sweep_wide_avx512>:' || fail "sweep_wide.c.o has no sweep_wide_avx512"
zmm=$(echo "$code" | grep -c '%zmm' || true)
[ "$zmm" -gt 0 ] || fail "sweep_wide_avx512 uses no 512-bit register"
echo "$code" | grep -q 'vmovntpd %zmm' || fail "no 512-bit streaming store (vmovntpd %zmm)"
fused=$(echo "$code" | grep -cE 'vf(n)?m(add|sub)' || true)
[ "$fused" -eq 0 ] || fail "$fused fused multiply-add instructions: the bits would differ"
echo "sweep_wide_avx512: $zmm instructions on zmm registers, 512-bit streaming stores, no FMA"
