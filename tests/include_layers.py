#!/usr/bin/env python3
"""include_layers.py SOURCE_DIR - includes run one way: down the layers (docs/design.md).

Reads every #include of every .c and .h under SOURCE_DIR (build trees and hidden folders left
out) and fails, naming file, line and include, when
  - a project include is a bare name ("halo.h") or names no file from the root
    ("runtime/halo.h" is the form),
  - a file includes a file of a layer above its own,
  - <mpi.h> is included below the runtime (common/, decomp/: pure functions of sizes and
    ranks), or <hdf5.h> outside io/ (and the tests that read the files),
  - a C file sits in a folder that has no layer here (give the new folder one).
--self-check runs the checker on a small tree with one of each fault and fails unless it finds
exactly those, so that this test can fail.
"""
import os
import re
import sys
import tempfile

# Bottom up. A file may include its own layer and those below. solver/'s own files (the loop,
# multigrid, the plate, the report, main) are one layer until the method interface splits the
# methods from the application; the layers below them are folders of their own.
LAYERS = [
    ("common/", 0, "common"),
    ("decomp/", 1, "decomp"),
    ("runtime/", 2, "runtime"),
    ("io/", 3, "io"),
    ("solver/kernel/", 4, "kernel"),
    ("solver/bound/", 5, "bound"),
    ("solver/method/", 6, "methods"),
    ("solver/", 7, "loop and application"),
    ("man/", 8, "tools"),
    ("bench/", 8, "tools"),
    ("tests/", 8, "tests"),
]
NO_MPI = ("common/", "decomp/")
HDF5_ONLY = ("io/", "tests/")

INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')


def layer_of(path):
    for prefix, rank, name in LAYERS:  # the longest prefixes come first
        if path.startswith(prefix):
            return rank, name
    return None


def sources(root):
    for top, dirs, files in os.walk(root):
        # build trees (in the source or not) and .git, .cache and the like are not the project's
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and
                         not os.path.exists(os.path.join(top, d, "CMakeCache.txt")))
        for f in sorted(files):
            if f.endswith((".c", ".h")):
                yield os.path.relpath(os.path.join(top, f), root).replace(os.sep, "/")


def check(root):
    faults = []
    for path in sources(root):
        mine = layer_of(path)
        if mine is None:
            faults.append(f"{path}: in no layer (tests/include_layers.py, LAYERS)")
            continue
        with open(os.path.join(root, path), encoding="utf-8", errors="replace") as f:
            for n, line in enumerate(f, 1):
                m = INCLUDE.match(line)
                if m is None:
                    continue
                kind, name = m.groups()
                where = f"{path}:{n}: #include {kind}{name}{'>' if kind == '<' else kind}"
                if kind == "<":
                    if name == "mpi.h" and path.startswith(NO_MPI):
                        faults.append(f"{where}: MPI below the runtime")
                    if name == "hdf5.h" and not path.startswith(HDF5_ONLY):
                        faults.append(f"{where}: HDF5 outside io/")
                    continue
                if "/" not in name:
                    faults.append(f"{where}: a bare name; write it from the project root")
                    continue
                if not os.path.isfile(os.path.join(root, name)):
                    faults.append(f"{where}: no such file from the project root")
                    continue
                theirs = layer_of(name)
                if theirs is None or theirs[0] > mine[0]:
                    up = theirs[1] if theirs else "no layer"
                    faults.append(f"{where}: runs up, from {mine[1]} to {up}")
    return faults


def self_check():
    tree = {
        "common/err.h": "",
        "decomp/decomp.h": '#include "common/err.h"\n#include <mpi.h>\n',
        "runtime/halo.h": '#include "decomp/decomp.h"\n#include "io/cfg.h"\n',
        "io/cfg.h": '#include "err.h"\n#include <hdf5.h>\n',
        "solver/solve.c": '#include "runtime/halo.h"\n#include "solver/gone.h"\n#include <hdf5.h>\n',
        "solver/method/jacobi.c": '#include "solver/solve.c"\n',
        "elsewhere/x.c": "",
    }
    expected = [
        "decomp/decomp.h:2: #include <mpi.h>: MPI below the runtime",
        "elsewhere/x.c: in no layer",
        'io/cfg.h:1: #include "err.h": a bare name',
        'runtime/halo.h:2: #include "io/cfg.h": runs up, from runtime to io',
        'solver/method/jacobi.c:1: #include "solver/solve.c": runs up, from methods to loop and',
        'solver/solve.c:2: #include "solver/gone.h": no such file',
        "solver/solve.c:3: #include <hdf5.h>: HDF5 outside io/",
    ]
    with tempfile.TemporaryDirectory() as root:
        for path, text in tree.items():
            os.makedirs(os.path.join(root, os.path.dirname(path)), exist_ok=True)
            with open(os.path.join(root, path), "w") as f:
                f.write(text)
        faults = sorted(check(root))
    found = len(faults) == len(expected) and all(
        fault.startswith(want) for fault, want in zip(faults, expected))
    if not found:
        print("include_layers --self-check: expected\n  " + "\n  ".join(expected) +
              "\ngot\n  " + "\n  ".join(faults))
        return 1
    print(f"include_layers --self-check: the {len(expected)} planted faults found")
    return 0


def main(argv):
    if argv[1:] == ["--self-check"]:
        return self_check()
    if len(argv) != 2:
        print(__doc__)
        return 2
    faults = check(argv[1])
    for fault in faults:
        print(fault)
    if faults:
        print(f"include_layers: {len(faults)} faults")
        return 1
    count = sum(1 for _ in sources(argv[1]))
    print(f"include_layers: the includes of {count} files run down the layers")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
