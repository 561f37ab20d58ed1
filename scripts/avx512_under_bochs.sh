#!/bin/bash
# avx512_under_bochs.sh - run the kernel tests (test_sweep) on an emulated AVX-512 CPU.
#
# Usage: scripts/avx512_under_bochs.sh [--out DIR] [--install] [--minutes M]
#
# The AVX-512 variant (solver/kernel/sweep_wide.c) runs only where the CPU has AVX-512F, and the
# machines this project is built on have not always had it. This boots Debian's own Linux
# kernel in Bochs (Debian's package, an x86 emulator that implements AVX-512: its
# corei7_skylake_x model) with an initramfs that holds a static test_sweep built from this
# tree, and reads the test's output from the emulated serial line. test_sweep then runs every
# variant the CPU offers, the AVX-512 one included, against sweep_tile bit for bit. Speed under
# emulation means nothing; this checks the instructions' results only.
#
# Not part of the test suite (about 8-10 minutes on a 2-core EPYC VM: Bochs interprets every
# instruction), and not run by CI. Run it as root (the initramfs's /dev/console is made with
# mknod, and --install uses apt-get). It exits 0 only if the guest saw AVX-512F, test_sweep
# said it tested the avx512 variant, and test_sweep exited 0.
#
#   --out DIR     where to keep the kernel, the image and the logs (default: a new temporary
#                 folder, removed at the end unless the check fails)
#   --install     apt-get update and install what it needs first (bochs, bochs-term,
#                 bochsbios, vgabios, isolinux, syslinux-common, genisoimage, cpio, gcc,
#                 libc6-dev, libcunit1-dev); the kernel package is only downloaded into DIR
#                 and unpacked there, never installed
#   --minutes M   give up after M minutes (default 40)
#
# Why the kernel is booted with clearcpuid=xsaves,xsavec: Bochs 2.7 reports the size of the
# compacted XSAVE area as that of the standard one (2688 bytes where the components add up to
# 2432), Linux finds the two inconsistent and turns XSAVE off, and with it AVX and AVX-512.
# Without XSAVES and XSAVEC the kernel uses the standard format, whose size Bochs reports
# right.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
out="" install=false minutes=40
die() {
  echo "avx512_under_bochs.sh: $*" >&2
  exit 1
}
while [ $# -gt 0 ]; do
  case $1 in
  --out) out=${2:?--out needs a folder} && shift ;;
  --install) install=true ;;
  --minutes) minutes=${2:?--minutes needs a number} && shift ;;
  -h | --help)
    sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
    exit 0
    ;;
  *) die "unknown argument '$1' (see --help)" ;;
  esac
  shift
done
[[ $minutes =~ ^[1-9][0-9]*$ ]] || die "--minutes wants a whole number of minutes, not '$minutes'"

[ "$(id -u)" = 0 ] || die "run it as root: the initramfs's /dev/console is made with mknod"
if $install; then
  apt-get update >/dev/null
  apt-get install -y bochs bochs-term bochsbios vgabios isolinux syslinux-common genisoimage \
    cpio gcc libc6-dev libcunit1-dev >/dev/null
fi
for tool in bochs genisoimage cpio script gcc; do
  command -v "$tool" >/dev/null || die "$tool not found (--install installs the packages)"
done
for file in /usr/lib/ISOLINUX/isolinux.bin /usr/lib/syslinux/modules/bios/ldlinux.c32 \
  /usr/share/bochs/BIOS-bochs-latest /usr/share/vgabios/vgabios.bin \
  /usr/lib/x86_64-linux-gnu/libcunit.a; do
  [ -f "$file" ] || die "$file not found (--install installs the packages)"
done
models=$(bochs -help cpu 2>&1 || true)
grep -qx corei7_skylake_x <<<"$models" || die "this Bochs has no corei7_skylake_x model"

keep=true
if [ -z "$out" ]; then
  out=$(mktemp -d /tmp/jacobi-avx512.XXXXXX)
  keep=false
fi
# the folder's path goes into Bochs's config and a command line: plain characters only
[[ $out =~ ^[A-Za-z0-9._/+-]+$ ]] || die "--out: '$out' has characters other than letters, digits and ._/+-"
mkdir -p "$out"
out=$(cd "$out" && pwd)
[[ $out =~ ^[A-Za-z0-9._/+-]+$ ]] || die "--out: '$out' has characters other than letters, digits and ._/+-"
# shellcheck disable=SC2317 # called by the trap
finish() {
  local status=$?
  if [ "$status" -ne 0 ]; then
    echo "avx512_under_bochs.sh: kept $out for a look" >&2
  fi
}
trap finish EXIT
# DIR is this script's own: it holds nothing else of anyone's when it writes there
for entry in "$out"/* "$out"/.[!.]* "$out"/..?*; do
  [ -e "$entry" ] || [ -L "$entry" ] || continue
  [ ! -L "$entry" ] || die "$out holds a symbolic link, ${entry##*/}: give an empty or new folder"
  case ${entry##*/} in
  kernel | root | iso | init.c | check.iso | check.bxrc | debugger.txt | serial.txt | bochs.log | screen.txt | linux-image-*.deb) ;;
  *) die "$out holds ${entry##*/}, which is not this script's: give an empty or new folder" ;;
  esac
done

# Debian's current kernel package for amd64, downloaded and unpacked here
if [ -z "$(find "$out/kernel/boot" -name 'vmlinuz-*' 2>/dev/null)" ]; then
  pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}' || true)
  [ -n "$pkg" ] || die "no linux-image package found for linux-image-amd64 (apt-get update?)"
  (cd "$out" && apt-get download "$pkg" >/dev/null) || die "apt-get download $pkg failed"
  dpkg-deb -x "$out"/"$pkg"_*.deb "$out/kernel"
fi
vmlinuz=$(find "$out/kernel/boot" -name 'vmlinuz-*' | head -1)

# The initramfs: /init (says what the CPU offers, runs /test_sweep, powers off) and test_sweep,
# both static; the kernel units built as the project builds them (no FMA contraction).
rm -rf "$out/root" "$out/iso"
mkdir -p "$out/root/dev" "$out/iso/isolinux"
cat >"$out/init.c" <<'EOF'
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
int main(void) {
  mkdir("/proc", 0555);
  mount("proc", "/proc", "proc", 0, NULL);
  FILE *f = fopen("/proc/cpuinfo", "r");
  char line[4096];
  while (f != NULL && fgets(line, sizeof line, f) != NULL)
    if (strncmp(line, "model name", 10) == 0)
      fputs(line, stdout);
  printf("INIT: cpu avx2 %d avx512f %d\n", __builtin_cpu_supports("avx2") ? 1 : 0,
         __builtin_cpu_supports("avx512f") ? 1 : 0);
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    execl("/test_sweep", "test_sweep", (char *)NULL);
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  printf("\nINIT: test_sweep %s %d\n", WIFEXITED(status) ? "exit" : "signal",
         WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
  fflush(stdout);
  sync();
  sleep(5); /* the serial line drains before the power goes */
  reboot(RB_POWER_OFF);
  for (;;) /* init must not return; the script stops Bochs */
    pause();
}
EOF
gcc -static -O2 "$out/init.c" -o "$out/root/init"
rm -f "$out/init.c"
src=$here
gcc -static -O3 -std=c11 -D_GNU_SOURCE -ffp-contract=off -Wno-psabi -I"$src" \
  "$src/tests/test_sweep.c" "$src/tests/cunit_main.c" \
  "$src/tests/sweep_wide_check.c" "$src/tests/sweep_wide_check_avx2.c" "$src/solver/kernel/sweep.c" \
  "$src/solver/kernel/sweep_avx2.c" "$src/solver/kernel/sweep_wide.c" -lcunit -lm -o "$out/root/test_sweep"
mknod "$out/root/dev/console" c 5 1
(cd "$out/root" && find . | cpio -o -H newc 2>/dev/null | gzip -1) >"$out/iso/initrd.gz"
cp "$vmlinuz" "$out/iso/vmlinuz"
cp /usr/lib/ISOLINUX/isolinux.bin /usr/lib/syslinux/modules/bios/ldlinux.c32 "$out/iso/isolinux/"
cat >"$out/iso/isolinux/isolinux.cfg" <<'EOF'
DEFAULT check
PROMPT 0
TIMEOUT 0
LABEL check
  KERNEL /vmlinuz
  APPEND initrd=/initrd.gz console=ttyS0,115200 loglevel=4 panic=-1 clearcpuid=xsaves,xsavec
EOF
genisoimage -quiet -o "$out/check.iso" -b isolinux/isolinux.bin -c isolinux/boot.cat \
  -no-emul-boot -boot-load-size 4 -boot-info-table -J -R "$out/iso"

cat >"$out/check.bxrc" <<EOF
megs: 512
cpu: model=corei7_skylake_x, count=1, ips=400000000
romimage: file=/usr/share/bochs/BIOS-bochs-latest
vgaromimage: file=/usr/share/vgabios/vgabios.bin
display_library: term
ata0-master: type=cdrom, path=$out/check.iso, status=inserted
boot: cdrom
com1: enabled=1, mode=file, dev=$out/serial.txt
log: $out/bochs.log
panic: action=fatal
error: action=ignore
info: action=ignore
debug: action=ignore
clock: sync=none, time0=local
EOF
printf 'c\nq\n' >"$out/debugger.txt" # Debian's Bochs starts in its debugger: continue, then quit
rm -f "$out/serial.txt"
echo "booting Linux in Bochs (corei7_skylake_x); the guest's serial line: $out/serial.txt"
# The term display wants a terminal: script gives it one, in a session of its own (setsid), so
# that the whole of it can be stopped. Stopped when the guest has said how test_sweep ended,
# or the kernel panicked (it would reboot, panic=-1), or time is up.
TERM=xterm setsid script -qfc "bochs -q -f $out/check.bxrc -rc $out/debugger.txt" /dev/null \
  </dev/null >"$out/screen.txt" 2>&1 &
emulator=$!
deadline=$((SECONDS + minutes * 60))
while kill -0 "$emulator" 2>/dev/null && [ $SECONDS -lt $deadline ]; do
  if grep -aqE '^INIT: test_sweep |Kernel panic' "$out/serial.txt" 2>/dev/null; then
    sleep 10 # the rest of the line, and the power-off
    break
  fi
  sleep 5
done
kill -TERM -- "-$emulator" 2>/dev/null || true
sleep 2
kill -KILL -- "-$emulator" 2>/dev/null || true
wait "$emulator" 2>/dev/null || true

serial=$out/serial.txt
[ -f "$serial" ] || die "the guest wrote nothing on its serial line (see $out/bochs.log)"
tr -d '\r' <"$serial" | grep -aE '^(INIT|model name)|Test:|tested\)|tests |asserts|FAILED|^ +[0-9]+\. |Kernel panic' || true
status=0
grep -aq '^INIT: cpu avx2 1 avx512f 1' "$serial" || {
  echo "FAILED: the guest did not see AVX-512F" >&2
  status=1
}
grep -aq '(the avx512 variant: tested)' "$serial" || {
  echo "FAILED: test_sweep did not say it tested the avx512 variant" >&2
  status=1
}
grep -aq '^INIT: test_sweep exit 0' "$serial" || {
  echo "FAILED: test_sweep did not exit 0 (or did not finish in $minutes minutes)" >&2
  status=1
}
if [ $status -eq 0 ]; then
  echo "avx512_under_bochs.sh: test_sweep passed on the emulated AVX-512 CPU, the avx512 variant included"
  $keep || rm -rf "$out"
fi
exit $status
