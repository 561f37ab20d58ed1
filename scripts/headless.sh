#!/usr/bin/env bash
# headless.sh - run a command (pvbatch, pvpython) with a private virtual X display, for
# machines without an X server: Debian's ParaView 5.11 aborts in pvbatch
# --force-offscreen-rendering when there is no display.
#
# usage: headless.sh COMMAND [ARGS...]     e.g. headless.sh pvbatch scripts/paraview_view.py plate.xmf
#
# Xvfb picks a free display number itself and reports it (-displayfd), so two of these started
# at once never race for a number (xvfb-run -a guesses a free one, and two at once may collide).
# The display is private: no TCP, a fresh authority file, removed with Xvfb when the command ends.
# -noreset: by default the server resets when its last client disconnects, and a client that
# connects during the reset fails ("bad X server connection"); pvbatch connects more than once.
# Exits with the command's code; 127 if Xvfb is missing (Debian: xvfb xauth).
set -u
command -v Xvfb >/dev/null || { echo "headless.sh: Xvfb not found (Debian: apt-get install xvfb xauth)" >&2; exit 127; }
[ $# -ge 1 ] || { sed -n '6p' "$0" | sed 's/^# //' >&2; exit 2; }
dir=$(mktemp -d "${TMPDIR:-/tmp}/jacobi-headless.XXXXXX") || exit 1
fifo=$dir/display
mkfifo "$fifo" || exit 1
# A cookie for any display number (family "wild", ffff), since the number is Xvfb's choice.
if command -v xauth >/dev/null; then
  : >"$dir/any"
  : >"$dir/auth"
  cookie=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
  xauth -q -f "$dir/any" add :0 . "$cookie" &&
    xauth -q -f "$dir/any" nlist :0 | sed 's/^..../ffff/' | xauth -q -f "$dir/auth" nmerge - ||
    { echo "headless.sh: xauth failed" >&2; exit 1; }
  export XAUTHORITY=$dir/auth
else
  echo "headless.sh: xauth not found (Debian: xauth): the display is open to local clients" >&2
  : >"$dir/auth"
fi
Xvfb -displayfd 3 -nolisten tcp -noreset -screen 0 1280x1024x24 -auth "$dir/auth" 3>"$fifo" 2>"$dir/xvfb.log" &
xvfb=$!
cleanup() { kill "$xvfb" 2>/dev/null; wait "$xvfb" 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
trap 'exit 143' TERM INT
display=""
read -r -t 120 display <"$fifo" # a hang guard: Xvfb says its display when ready
if [ -z "$display" ]; then
  echo "headless.sh: Xvfb did not start within 120 s:" >&2
  cat "$dir/xvfb.log" >&2
  exit 1
fi
export DISPLAY=":$display"
"$@"
