"""install_check.py - `cmake --install` into a fresh prefix, then use what it installed from
another directory: the binary, the man page, the configs, plot.py and the batch script.

usage: install_check.py BUILD_DIR MPIEXEC
Exit 0 if every check holds; each failure says what was expected and what was found.
"""
import os
import re
import subprocess
import sys
import tempfile

TIMEOUT = 120


class Failure(Exception):
    pass


def run(cmd, cwd, env=None, want=0):
    p = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=TIMEOUT, env=env)
    if want is not None and p.returncode != want:
        raise Failure(f"{' '.join(cmd)}: exit {p.returncode}, expected {want}\n{p.stdout}\n"
                      f"{p.stderr}")
    return p


def config_keys(jacobi, config, cwd):
    """Every section.key of the resolved configuration (jacobi --dry-run prints it as TOML)."""
    plan = run([jacobi, "--dry-run", config], cwd).stdout
    keys, section = [], None
    for line in plan.splitlines():
        m = re.match(r"^\[(\w+)\]$", line)
        if m:
            section = m.group(1)
        m = re.match(r"^(\w+) = ", line)
        if m and section:
            keys.append(f"{section}.{m.group(1)}")
        if line.startswith("#") and keys:
            break  # the plan follows the configuration
    return keys


def main():
    build, mpiexec = sys.argv[1:3]
    with tempfile.TemporaryDirectory(prefix="jacobi-install-") as tmp:
        prefix, elsewhere = os.path.join(tmp, "prefix"), os.path.join(tmp, "elsewhere")
        os.mkdir(elsewhere)
        run(["cmake", "--install", build, "--prefix", prefix], tmp)
        jacobi = os.path.join(prefix, "bin", "jacobi")
        share = os.path.join(prefix, "share", "jacobi")
        for path in ("bin/jacobi", "share/man/man1/jacobi.1", "share/jacobi/README.md",
                     "share/jacobi/plot.py", "share/jacobi/jacobi.sbatch",
                     "share/jacobi/paraview_view.py", "share/jacobi/headless.sh",
                     "share/jacobi/configs/plate.toml"):
            if not os.path.isfile(os.path.join(prefix, path)):
                raise Failure(f"cmake --install did not install {path}")

        # the binary: the build's --help, word for word
        built = run([os.path.join(build, "solver", "jacobi"), "--help"], elsewhere).stdout
        if run([jacobi, "--help"], elsewhere).stdout != built:
            raise Failure("the installed jacobi --help differs from the build's")

        # the man page: renders without warnings, holds --help's options and every key
        man = os.path.join(prefix, "share", "man", "man1", "jacobi.1")
        page = run(["man", "--warnings", "-l", man], elsewhere,
                   env=dict(os.environ, MANWIDTH="200", MAN_KEEP_FORMATTING="0"))
        if page.stderr.strip():
            raise Failure(f"man --warnings -l jacobi.1 warned:\n{page.stderr}")
        text = re.sub(r".\x08", "", page.stdout).replace("\u2010", "-")
        plate = os.path.join(share, "configs", "plate.toml")
        keys = config_keys(jacobi, plate, elsewhere)
        if len(keys) < 20:
            raise Failure(f"found only {len(keys)} keys in jacobi --dry-run: {keys}")
        want = ["--set KEY=VALUE", "--dry-run", "exit codes", f"{share}/configs"] + keys
        missing = [w for w in want if w not in text]
        if missing:
            raise Failure(f"the man page lacks {missing}:\n{text}")
        # NAME names every method; FILES every shipped config
        name = text[text.index("NAME"):text.index("SYNOPSIS")]
        files = text[text.index("FILES"):text.index("SEE ALSO")]
        configs = sorted(os.listdir(os.path.join(share, "configs")))
        unnamed = [m for m in ("Jacobi", "Chebyshev", "multigrid") if m not in name] + \
            [c for c in configs if c not in files]
        if unnamed or len(configs) < 7:
            raise Failure(f"the man page's NAME or FILES leaves out {unnamed} "
                          f"(configs: {configs}):\n{name}\n{files}")
        print(f"ok man page: renders without warnings, {len(keys)} keys, --help's options, "
              f"every method and all {len(configs)} configs")

        # the configs name their installed paths
        for name in sorted(os.listdir(os.path.join(share, "configs"))):
            with open(os.path.join(share, "configs", name), encoding="utf-8") as f:
                body = f.read()
            stray = re.findall(r"(?<![/\w])configs/\S+", body)
            if stray or (f"configs/{name}" in body and f"{share}/configs/{name}" not in body):
                raise Failure(f"installed {name} names source paths {stray}:\n{body}")

        # a run of the installed binary on an installed config, from elsewhere
        small = ["--set", "grid.nx=24", "--set", "grid.ny=16"]
        p = run([mpiexec, "-n", "2", jacobi, *small, "--set", "output.path=r.h5", plate],
                elsewhere)
        if "2 ranks on" not in p.stdout or "converged after" not in p.stdout:
            raise Failure(f"the installed jacobi on 2 ranks:\n{p.stdout}")
        print("ok installed jacobi: plate.toml on 2 ranks from another directory")

        # plot.py: a picture, or (a Python without its modules) the message saying so
        p = run([sys.executable, os.path.join(share, "plot.py"), "r.h5", "-o", "r.png"],
                elsewhere, want=None)
        if p.returncode == 0:
            if os.path.getsize(os.path.join(elsewhere, "r.png")) < 2000:
                raise Failure("the installed plot.py wrote no picture")
            print("ok installed plot.py: r.png")
        elif p.returncode != 2 or "needs h5py" not in p.stderr:
            raise Failure(f"the installed plot.py: exit {p.returncode}\n{p.stderr}")
        else:
            print(f"ok installed plot.py (no h5py or matplotlib here): {p.stderr.strip()}")

        # the batch script runs the installed jacobi by default (PATH has none)
        script = os.path.join(share, "jacobi.sbatch")
        env = {k: v for k, v in os.environ.items() if k != "JACOBI"}
        env.update(PATH="/usr/bin:/bin", MPIEXEC=f"{mpiexec} -n 1", SLURM_JOB_ID="7",
                   SLURM_RESTART_COUNT="0")
        usage = run(["bash", script], elsewhere, env=env, want=2)
        if "usage: sbatch" not in usage.stderr:
            raise Failure(f"jacobi.sbatch without arguments: expected its usage, got "
                          f"{usage.stderr!r}")
        p = run(["bash", script, "--quiet", *small, "--set", "output.path=s.h5", plate],
                elsewhere, env=env)
        if not os.path.exists(os.path.join(elsewhere, "s.h5")):
            raise Failure(f"the installed jacobi.sbatch wrote no s.h5:\n{p.stdout}\n{p.stderr}")
        print("ok installed jacobi.sbatch: ran the installed jacobi, --set ... CONFIG")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Failure as e:
        print(f"FAIL install: {e}", file=sys.stderr)
        sys.exit(1)
