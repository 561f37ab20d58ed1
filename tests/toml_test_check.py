#!/usr/bin/env python3
"""toml_test_check.py - measure jacobi's TOML reader against toml-test's TOML 1.0 cases.

toml-test (the TOML project's conformance suite, not shipped with jacobi) has valid documents,
each a .toml with the .json its decoder must print, and invalid documents every decoder must
refuse. This walks the cases listed in its tests/files-toml-1.0.0, runs our driver
(tests/toml_test_driver.c) on each and compares: a valid case passes when the driver exits 0
and prints the same tree (floats compared as numbers, date-times as instants of the same kind);
an invalid case passes when the driver exits 1.

    toml_test_check.py DRIVER TOML_TEST_DIR [--min-valid N] [--min-invalid M] [-v]

TOML_TEST_DIR is a checkout of toml-test (its root, holding tests/). When it is missing or
empty the check is skipped (exit 77, CTest's SKIP_RETURN_CODE): CI does not have the suite.
With --min-valid/--min-invalid it fails when fewer cases pass than measured before, so the
reader cannot silently lose ground.
"""
import argparse
import json
import math
import os
import re
import subprocess
import sys

SKIP = 77


def norm_datetime(kind, s):
    """A date-time as written by toml-test or by us, in one spelling."""
    s = s.replace("t", "T").replace("z", "Z")
    if kind in ("datetime", "datetime-local"):
        s = s[:10] + "T" + s[11:]
    if s.endswith("+00:00") or s.endswith("-00:00"):
        s = s[:-6] + "Z"
    m = re.match(r"^(.*?\d\d:\d\d)(:\d\d)?(\.\d+)?(.*)$", s)
    if m:  # seconds are optional in TOML 1.1 cases; a fraction compares by value
        head, sec, frac, tail = m.groups()
        frac = (frac or "").rstrip("0")
        s = head + (sec or ":00") + (frac if frac != "." else "") + tail
    return s


def same(want, got):
    if isinstance(want, dict) and set(want) == {"type", "value"} and isinstance(want["value"], str):
        if not (isinstance(got, dict) and got.get("type") == want["type"]):
            return False
        t, w, g = want["type"], want["value"], got.get("value")
        if not isinstance(g, str):
            return False
        if t == "float":
            wf, gf = float(w), float(g)
            if math.isnan(wf):
                return math.isnan(gf)
            return wf == gf and math.copysign(1, wf) == math.copysign(1, gf)
        if t == "integer":
            return int(w) == int(g)
        if t in ("datetime", "datetime-local", "date-local", "time-local"):
            return norm_datetime(t, w) == norm_datetime(t, g)
        return w == g
    if isinstance(want, dict):
        return (isinstance(got, dict) and set(want) == set(got)
                and all(same(want[k], got[k]) for k in want))
    if isinstance(want, list):
        return (isinstance(got, list) and len(want) == len(got)
                and all(same(w, g) for w, g in zip(want, got)))
    return want == got


def run(driver, path):
    try:
        p = subprocess.run([driver, path], capture_output=True, timeout=10)
    except subprocess.TimeoutExpired:
        return "timeout", b""
    if p.returncode < 0 or p.returncode > 1:
        return "crash", p.stdout + p.stderr
    return ("ok" if p.returncode == 0 else "invalid"), p.stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("driver")
    ap.add_argument("suite", nargs="?", default=os.environ.get("TOML_TEST_DIR", ""))
    ap.add_argument("--min-valid", type=int, default=0)
    ap.add_argument("--min-invalid", type=int, default=0)
    ap.add_argument("-v", "--verbose", action="store_true")
    a = ap.parse_args()
    listing = os.path.join(a.suite, "tests", "files-toml-1.0.0") if a.suite else ""
    if not listing or not os.path.isfile(listing):
        print(f"toml-test not found at {a.suite!r}: skipped (set TOML_TEST_DIR)")
        return SKIP
    with open(listing) as f:
        names = [line.strip() for line in f if line.strip().endswith(".toml")]
    valid = [n for n in names if n.startswith("valid/")]
    invalid = [n for n in names if n.startswith("invalid/")]
    ok_valid, ok_invalid, crashes = 0, 0, []
    for name in valid:
        path = os.path.join(a.suite, "tests", name)
        status, out = run(a.driver, path)
        if status in ("crash", "timeout"):
            crashes.append(name)
        good = False
        if status == "ok":
            with open(path[:-5] + ".json", "rb") as f:
                want = json.load(f)
            try:
                good = same(want, json.loads(out))
            except ValueError:
                good = False
        ok_valid += good
        if a.verbose and not good:
            print(f"FAIL valid   {name}: {out.decode(errors='replace').strip()[:200]}")
    for name in invalid:
        status, out = run(a.driver, os.path.join(a.suite, "tests", name))
        if status in ("crash", "timeout"):
            crashes.append(name)
        ok_invalid += status == "invalid"
        if a.verbose and status != "invalid":
            print(f"FAIL invalid {name}: accepted")
    print(f"toml-test 1.0.0: valid {ok_valid}/{len(valid)} read as expected, "
          f"invalid {ok_invalid}/{len(invalid)} refused")
    for name in crashes:
        print(f"CRASH or TIMEOUT {name}")
    short = ok_valid < a.min_valid or ok_invalid < a.min_invalid
    if short:
        print(f"expected at least {a.min_valid} valid and {a.min_invalid} invalid")
    return 1 if crashes or short else 0


if __name__ == "__main__":
    sys.exit(main())
