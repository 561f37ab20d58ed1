"""slurm_check.py - scripts/jacobi.sbatch under a real Slurm on this machine: a private munged,
slurmctld and slurmd on localhost; the job is signalled as Slurm signals it before the time
limit, checkpoints, requeues itself, continues, and ends bit for bit as an uninterrupted run.

Nothing here races a clock, so the test passes on a machine of any speed: the job's first run
has an iteration limit no machine reaches (it works until it is signalled), and it is signalled
only once it has written a checkpoint. Before the signal the partition is set DOWN, so the
requeued job stays pending while the test reads the iteration it stopped at and gives the
continued run its end (solver.max_iterations = that iteration + CONTINUED; jacobi.sbatch reads
the config again on every start). Then the partition goes UP and Slurm starts the job itself,
when it can: a requeued job waits for its old credential to expire (AuthInfo cred_expire, set
short here); told to start "now" within the second of its requeue, slurmd refuses it ("Job
credential revoked"). The deadlines below only catch hangs.

usage: slurm_check.py JACOBI MPIEXEC SBATCH_SCRIPT
Exit 0 if it holds, 1 on a failure, 77 (CTest: skipped) with the reason when Slurm cannot run
here (not installed, not root, a daemon that does not start).
"""
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

SKIP = 77


class Skip(Exception):
    pass


class Failure(Exception):
    pass


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


CONTINUED = 600  # iterations the requeued job does after the checkpoint it continues from
UNREACHABLE = 1000000000  # the first run's iteration limit: it ends only by the signal
# How long a job credential lives, and so how long a requeued job waits before Slurm starts
# it (slurm.conf(5), AuthInfo). Short to keep the test short, long enough for a loaded machine
# to launch the job it was issued for (slurmd refuses an expired one).
CRED_EXPIRE = 10


def wait_for(what, test, timeout, daemons=()):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if test():
            return
        for name, proc, log in daemons:
            if proc.poll() is not None:
                raise Skip(f"{name} exited ({proc.returncode}): {tail(log)}")
        time.sleep(0.2)
    raise Failure(f"{what}: not within {timeout} s")


def tail(path, lines=5):
    try:
        with open(path, errors="replace") as f:
            return " | ".join(f.read().splitlines()[-lines:])
    except OSError:
        return "(no log)"


def h5attr(path, name):
    out = subprocess.run(["h5dump", "-a", name, path], capture_output=True, text=True).stdout
    for line in out.splitlines():
        line = line.strip()
        if line.startswith("(0):"):
            return line.split(":", 1)[1].strip()
    raise Failure(f"no attribute {name} in {path}:\n{out}")


def main():
    jacobi, mpiexec, script = (os.path.abspath(p) for p in sys.argv[1:4])
    missing = [p for p in ("munged", "slurmctld", "slurmd", "sbatch", "scontrol", "scancel",
                           "sinfo", "h5diff") if shutil.which(p) is None]
    if missing:
        raise Skip(f"{', '.join(missing)} not found (Debian: slurm-wlm munge hdf5-tools)")
    if os.geteuid() != 0:
        raise Skip("slurmd must run as root to start jobs, and this test is not root")
    tmp = tempfile.mkdtemp(prefix="jacobi-slurm-")
    daemons = []
    try:
        return run_cluster(tmp, jacobi, mpiexec, script, daemons)
    except Failure as e:  # what the daemons said, for the reader of the failure
        logs = "\n".join(f"{name}.log: {tail(os.path.join(tmp, name + '.log'), 15)}"
                         for name in ("slurmctld", "slurmd"))
        raise Failure(f"{e}\n{logs}") from None
    finally:
        for name, proc, _ in reversed(daemons):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)


def run_cluster(tmp, jacobi, mpiexec, script, daemons):
    host = socket.gethostname().split(".")[0]
    for d in ("state", "spool", "work"):
        os.mkdir(os.path.join(tmp, d))
    key, sock = os.path.join(tmp, "munge.key"), os.path.join(tmp, "munge.sock")
    with open(key, "wb") as f:
        f.write(os.urandom(1024))
    os.chmod(key, 0o400)
    os.chmod(tmp, 0o700)
    munge_log = os.path.join(tmp, "munged.log")
    munged = subprocess.Popen(["munged", "-F", "--force", f"--key-file={key}",
                               f"--socket={sock}", f"--pid-file={tmp}/munged.pid",
                               f"--log-file={munge_log}", f"--seed-file={tmp}/munge.seed"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    daemons.append(("munged", munged, munge_log))
    wait_for("munged's socket", lambda: os.path.exists(sock), 300, daemons)
    cpus = os.cpu_count() or 1
    conf = os.path.join(tmp, "slurm.conf")
    with open(conf, "w") as f:
        f.write(f"""ClusterName=jacobitest
SlurmctldHost={host}
SlurmUser=root
SlurmctldPort={free_port()}
SlurmdPort={free_port()}
AuthType=auth/munge
AuthInfo=socket={sock},cred_expire={CRED_EXPIRE}
CredType=cred/munge
StateSaveLocation={tmp}/state
SlurmdSpoolDir={tmp}/spool
SlurmctldPidFile={tmp}/slurmctld.pid
SlurmdPidFile={tmp}/slurmd.pid
SlurmctldLogFile={tmp}/slurmctld.log
SlurmdLogFile={tmp}/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
MpiDefault=none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
JobRequeue=1
NodeName={host} CPUs={cpus} State=UNKNOWN
PartitionName=test Nodes={host} Default=YES MaxTime=INFINITE State=UP
""")
    env = dict(os.environ, SLURM_CONF=conf)
    for name, cmd in (("slurmctld", ["slurmctld", "-D", "-i"]), ("slurmd", ["slurmd", "-D"])):
        log = os.path.join(tmp, f"{name}.log")
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.STDOUT)
        daemons.append((name, proc, log))

    def node_idle():
        p = subprocess.run(["sinfo", "-h", "-o", "%t"], env=env, capture_output=True, text=True)
        return p.stdout.strip() == "idle"
    wait_for("the node to be idle (sinfo)", node_idle, 300, daemons)

    work = os.path.join(tmp, "work")
    write_config(work, UNREACHABLE)
    job_env = dict(env, JACOBI=jacobi, MPIEXEC=f"{mpiexec} -n 2")
    submit = subprocess.run(["sbatch", "--parsable", "--ntasks=2", script, "--quiet",
                             "long.toml"], cwd=work, env=job_env, capture_output=True,
                            text=True, timeout=300)
    if submit.returncode != 0:
        raise Failure(f"sbatch: exit {submit.returncode}\n{submit.stderr}")
    job = submit.stdout.strip().split(";")[0]

    def show():
        p = subprocess.run(["scontrol", "show", "job", job], env=env, capture_output=True,
                           text=True)
        return dict(w.split("=", 1) for w in p.stdout.split() if "=" in w)

    def state():
        fields = show()
        return fields.get("JobState", "?"), int(fields.get("Restarts", "0") or 0)
    ckpt = os.path.join(work, "s.ckpt.h5")
    logfile = os.path.join(work, f"jacobi-{job}.out")

    def alive(what):
        """False while the job may still get there; a Failure once it has ended instead."""
        if state()[0] not in ("PENDING", "CONFIGURING", "RUNNING", "COMPLETING", "REQUEUED"):
            raise Failure(f"the job ended ({state()[0]}) before {what}:\n{tail(logfile, 20)}")
        return False

    def partition(up):
        subprocess.run(["scontrol", "update", "PartitionName=test",
                        f"State={'UP' if up else 'DOWN'}"], env=env, check=True,
                       capture_output=True)
    wait_for("the job's first checkpoint", lambda: os.path.exists(ckpt) or alive(
        "its first checkpoint"), 300, daemons)
    partition(up=False)  # the requeued job waits until the test has set its end
    # what --signal=B:USR1@120 sends before the limit: SIGUSR1 to the batch shell
    subprocess.run(["scancel", "--batch", "--signal=USR1", job], env=env, check=True)
    wait_for("the job to be requeued", lambda: state() == ("PENDING", 1) or alive(
        "it was requeued"), 300, daemons)
    stopped_at = int(h5attr(ckpt, "iterations"))
    final_iterations = stopped_at + CONTINUED
    write_config(work, final_iterations)
    partition(up=True)
    wait_for("the requeued job to finish",
             lambda: state()[0] in ("COMPLETED", "FAILED") or alive("it finished"), 600,
             daemons)
    fields = show()
    final, restarts = fields.get("JobState"), int(fields.get("Restarts", "0") or 0)
    with open(logfile, errors="replace") as f:
        log = f.read()
    stops = [line for line in log.splitlines() if "expected checkpoint stop" in line]
    if restarts != 1 or len(stops) != 1 or "continuing from s.ckpt.h5" not in log:
        raise Failure(f"expected one checkpoint stop, one requeue and a continued run; got "
                      f"state {final}, {restarts} restarts, log:\n{log}")
    # jacobi.sbatch returns jacobi's code: 3, stopped at max_iterations as configured
    if final != "FAILED" or fields.get("ExitCode") != "3:0":
        raise Failure(f"expected the continued run to stop at max_iterations (exit 3), got "
                      f"{final}, exit {fields.get('ExitCode')}:\n{log}")
    straight = subprocess.run([mpiexec, "-n", "2", jacobi, "--quiet", "--set",
                               "output.path=a.h5", "--set", "output.checkpoint_interval=0",
                               "long.toml"], cwd=work, capture_output=True, text=True,
                              timeout=600)
    if straight.returncode != 3:
        raise Failure(f"the uninterrupted run: exit {straight.returncode}\n{straight.stderr}")
    result = os.path.join(work, "s.h5")
    got = h5attr(result, "iterations")
    if got != str(final_iterations):
        raise Failure(f"the requeued job's result holds iteration {got}, expected "
                      f"{final_iterations} ({stopped_at} before the signal, {CONTINUED} after)")
    diff = subprocess.run(["h5diff", "a.h5", "s.h5", "/temperature"], cwd=work,
                          capture_output=True, text=True)
    if diff.returncode != 0:
        raise Failure(f"the requeued result differs from the uninterrupted one:\n{diff.stdout}")
    print(f"ok Slurm job {job}: signalled, checkpointed at iteration {stopped_at}, requeued "
          f"({restarts} restart), continued to {final_iterations} iterations, equal to an "
          f"uninterrupted run under h5diff")
    return 0


def write_config(work, max_iterations):
    """The job's config; only solver.max_iterations differs between its two runs."""
    with open(os.path.join(work, "long.toml"), "w") as f:
        f.write("[grid]\nnx = 200\nny = 200\n[boundary]\ntop = 100.0\n[solver]\n"
                f"tolerance = 1e-300\nmax_iterations = {max_iterations}\n"
                "check_interval = 10\n[output]\npath = \"s.h5\"\ncheckpoint_interval = 200\n")


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Skip as e:
        print(f"skipped: {e}")
        sys.exit(SKIP)
    except Failure as e:
        print(f"FAIL slurm: {e}", file=sys.stderr)
        sys.exit(1)
