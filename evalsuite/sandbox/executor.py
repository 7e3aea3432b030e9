"""Run untrusted Python programs, each in its own sandboxed subprocess, in parallel.

Each worker owns one sandbox (see isolation.py) holding a small fork server (zygote.py); every job
is a fresh child process forked from it (two for a check: the untrusted solution and the trusted
tests), with its own scratch dir and limits, and the sandbox is cleaned after each job. Every job
carries a fresh nonce, sent only after the untrusted child was forked; a reply that does not echo
it, or a check verdict whose HMAC does not match it, is never taken as a pass. A worker whose
server stops answering is killed with its whole sandbox and replaced.
"""

from __future__ import annotations

import hmac
import json
import os
import queue
import secrets
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from evalsuite.errors import EvalsuiteError
from evalsuite.sandbox.isolation import (
    BWRAP, PRIVATE_TMP, SANDBOX_WORKROOT, Isolation, bound_paths, bwrap_command, current_isolation, hidden_paths,
    sandbox_uids, unisolated_command,
)
from evalsuite.sandbox.limits import SandboxLimits, clean_env, count_processes_of_uid, rlimits
from evalsuite.sandbox.zygote import NO_ANSWER, verdict_tag

ZYGOTE_SOURCE = Path(__file__).with_name("zygote.py").read_text(encoding="utf-8")
REPLY_GRACE_S = 10.0
REPLY_MAX = 1024 * 1024
SERVER_STDERR_TAIL = 4096
SHARED_TMP_DIRS = ("/tmp", "/var/tmp", "/dev/shm")


def signal_name(number: int) -> str:
    """"SIGKILL", or "signal 40" for a number without a name (real-time signals)."""
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


@dataclass(frozen=True)
class RunResult:
    """What happened to one program.

    returncode: exit status (negative: killed by that signal); None when it never ran, or (a check)
        when it was still answering as its tests were done.
    timed_out: the wall or CPU limit ended it.
    disk_exceeded: it wrote more than the limits allow and was stopped.
    sandbox_error: the sandbox itself failed (None otherwise).
    """

    returncode: int | None
    timed_out: bool
    stderr_tail: str
    duration_s: float
    isolation: str
    sandbox_error: str | None = None
    disk_exceeded: bool = False


@dataclass(frozen=True)
class CheckJob:
    """A solution checked by tests in another process: `setup` (trusted helpers, e.g. the prompt)
    then `test` run with each function of `solution` the tests call (`entry_point` and `names`)
    bound to a proxy that calls it in the solution's process. With an `entry_point`, `test` defines
    check(candidate), called with its proxy (HumanEval); without, `test` is bare statements that
    call the `names` themselves (assert-style tests)."""

    solution: str
    setup: str
    test: str
    entry_point: str | None
    names: tuple[str, ...] = ()

    def called_names(self) -> list[str]:
        """Every function of the solution the tests reach: the entry point, then `names`."""
        return list(dict.fromkeys(([self.entry_point] if self.entry_point is not None else []) + list(self.names)))


@dataclass(frozen=True)
class CheckResult:
    """The verdict on one solution: passed only when the tests' process said so, bound to the nonce.

    reason: why it did not pass ("" when it did); run: how the solution's process ended.
    """

    passed: bool
    reason: str
    run: RunResult


class _Slots:
    """Hands out the smallest free worker slot (each slot has its own sandbox uid)."""

    def __init__(self) -> None:
        self._used: set[int] = set()
        self._lock = threading.Lock()

    def acquire(self) -> int:
        with self._lock:
            slot = next(i for i in range(len(self._used) + 1) if i not in self._used)
            self._used.add(slot)
            return slot

    def release(self, slot: int) -> None:
        with self._lock:
            self._used.discard(slot)


_slots = _Slots()


class Worker:
    """One sandbox with a fork server inside; runs one job at a time."""

    def __init__(self, isolation: Isolation, limits: SandboxLimits) -> None:
        self.isolation = isolation
        self.slot = _slots.acquire()
        self.uids = sandbox_uids(self.slot) if isolation.switch_uid else (None, None)
        self.host_dir = tempfile.mkdtemp(prefix="evalsuite-sbx-")
        self.process: subprocess.Popen | None = None
        self._start(limits)

    def _start(self, limits: SandboxLimits) -> None:
        bwrap = self.isolation.level == BWRAP
        candidate_uid, tester_uid = self.uids
        workroot = SANDBOX_WORKROOT if bwrap else os.path.join(self.host_dir, "work")
        if candidate_uid is not None:
            os.chmod(self.host_dir, 0o711)  # the programs' uid reaches its scratch dir below
        if bwrap:
            # the private /tmp is wiped after each job, but for the folders bound into it
            wipe, watch = [PRIVATE_TMP], []
            keep = sorted({"/".join(p.split("/")[:3]) for p in bound_paths() if p.startswith(PRIVATE_TMP + "/")})
        else:
            # unisolated: only the program's own leftovers in the shared temp folders, and only
            # when it has its own uid; disk use is watched on every folder it can write
            wipe = list(SHARED_TMP_DIRS) if candidate_uid is not None else []
            keep, watch = [], [self.host_dir, *SHARED_TMP_DIRS]
        config = {"workroot": workroot, "guard": not bwrap, "candidate_uid": candidate_uid,
                  "tester_uid": tester_uid, "namespace": bwrap, "wipe": wipe, "keep": keep, "watch": watch,
                  "cpu": self._cpu(), "hidden": hidden_paths(),
                  "tester_limits": [["RLIMIT_AS", limits.memory_bytes, limits.memory_bytes], ["RLIMIT_CORE", 0, 0]]}
        argv = [sys.executable, "-I", "-B", "-c", ZYGOTE_SOURCE, json.dumps(config)]
        env = clean_env(home=workroot, tmpdir=PRIVATE_TMP if bwrap else workroot)
        if bwrap:
            prefix = bwrap_command(self.isolation.switch_uid, limits.disk_bytes, limits.shared_memory_bytes)
            cut = prefix.index("--")
            argv = prefix[:cut] + [x for k, v in env.items() for x in ("--setenv", k, v)] + prefix[cut:] + argv
            env = {}
        elif self.isolation.switch_uid:
            argv = unisolated_command() + argv
        self._stderr = tempfile.TemporaryFile(dir=self.host_dir)  # no name a program could replace
        self.process = subprocess.Popen(
            argv, cwd=self.host_dir, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=self._stderr, start_new_session=True, close_fds=True,
        )

    def _cpu(self) -> int:
        """The core this worker's sandbox runs on: workers spread over the cores this process may use."""
        cpus = sorted(os.sched_getaffinity(0))
        return cpus[self.slot % len(cpus)]

    def _nproc(self, limits: SandboxLimits) -> int:
        if self.uids[0] is not None:
            return limits.max_processes  # the program's uid owns nothing else
        if self.isolation.level == BWRAP:
            return limits.max_processes + 3  # the fork server, the tests' process, bwrap's init
        return limits.max_processes + count_processes_of_uid(os.getuid()) + 2

    def request(self, job: dict, limits: SandboxLimits) -> tuple[RunResult, dict | None, str]:
        """Run one job: (how its untrusted process ended, the raw verdict of a check, the nonce)."""
        level = self.isolation.level
        nonce = secrets.token_hex(32)
        request = {**job, "timeout": limits.timeout_s, "disk_bytes": limits.disk_bytes,
                   "limits": [[name, *pair] for name, pair in rlimits(limits, self._nproc(limits)).items()]}
        started = time.monotonic()
        try:
            reply = self._exchange(request, nonce, limits.timeout_s + REPLY_GRACE_S)
            status, timed_out = reply["status"], reply["timed_out"]
            if (status is not None and type(status) is not int) or type(timed_out) is not bool or not isinstance(
                    reply["stderr"], str):
                raise ValueError("malformed reply")
        except (OSError, EvalsuiteError, ValueError, KeyError, TypeError) as exc:
            self.close()
            elapsed = time.monotonic() - started
            timed_out = elapsed >= limits.timeout_s
            return RunResult(None, timed_out, "", elapsed, level,
                             None if timed_out else f"sandbox failed: {exc}; {self._server_error()}"), None, nonce
        # None: a check's candidate was still answering when its tests were done (then stopped)
        returncode = None if status is None else os.waitstatus_to_exitcode(status)
        timed_out = timed_out or returncode == -signal.SIGXCPU
        run = RunResult(returncode, timed_out, reply["stderr"], float(reply["duration"]), level,
                        disk_exceeded=reply.get("over_disk") is True)
        return run, reply.get("verdict"), nonce

    def _exchange(self, request: dict, nonce: str, deadline_s: float) -> dict:
        assert self.process is not None and self.process.stdin and self.process.stdout
        frames = b""
        for message in (request, {"nonce": nonce}):
            data = json.dumps(message).encode("utf-8", "surrogatepass")
            frames += struct.pack(">I", len(data)) + data
        self.process.stdin.write(frames)
        self.process.stdin.flush()
        fd = self.process.stdout.fileno()
        header = self._read(fd, 4, time.monotonic() + deadline_s)
        size = struct.unpack(">I", header)[0]
        if size > REPLY_MAX:
            raise EvalsuiteError("the sandbox sent an oversized reply")
        reply = json.loads(self._read(fd, size, time.monotonic() + deadline_s).decode("utf-8"))
        if not isinstance(reply, dict) or not hmac.compare_digest(str(reply.get("nonce")), nonce):
            raise EvalsuiteError("the sandbox's reply is not bound to this job")
        return reply

    @staticmethod
    def _read(fd: int, count: int, deadline: float) -> bytes:
        data = b""
        while len(data) < count:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
                raise EvalsuiteError("the sandbox did not answer in time")
            chunk = os.read(fd, count - len(data))
            if not chunk:
                raise EvalsuiteError("the sandbox ended unexpectedly")
            data += chunk
        return data

    def _server_error(self) -> str:
        """The last line of the fork server's stderr, read from the descriptor this process holds."""
        try:
            size = os.fstat(self._stderr.fileno()).st_size
            text = os.pread(self._stderr.fileno(), SERVER_STDERR_TAIL, max(0, size - SERVER_STDERR_TAIL)).decode(
                "utf-8", errors="replace").strip()
        except (OSError, ValueError):
            return ""
        return text.splitlines()[-1][:200] if text else ""

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def close(self) -> None:
        """Stop the fork server and everything in its sandbox; free the slot."""
        if self.process is not None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            self.process.kill()
            self.process.wait()
            for stream in (self.process.stdin, self.process.stdout):
                try:
                    stream.close()
                except OSError:
                    pass
            self.process = None
            self._stderr.close()
            uids = {uid for uid in self.uids if uid is not None}
            for uid in uids:
                _kill_uid(uid)
            _wait_gone(uids)
            _slots.release(self.slot)
        shutil.rmtree(self.host_dir, ignore_errors=True)


def _wait_gone(uids: set[int], timeout_s: float = 5.0) -> None:
    """Wait until no process of these uids is left (killed ones take a moment to go)."""
    deadline = time.monotonic() + timeout_s
    while uids and time.monotonic() < deadline:
        if not any(_uid_of(pid) in uids for pid in os.listdir("/proc") if pid.isdigit()):
            return
        time.sleep(0.01)


def _uid_of(pid: str) -> int | None:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as handle:
            for line in handle:
                if line.startswith("Uid:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return None


def _kill_uid(uid: int) -> None:
    """Kill every process of a sandbox uid: kill(-1) sent from that uid reaches exactly those."""
    subprocess.run(
        [shutil.which("kill") or "/bin/kill", "-s", "KILL", "--", "-1"], user=uid, group=uid, extra_groups=[],
        env={}, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False,
    )


def _run_jobs(jobs: Sequence[dict], limits: SandboxLimits, workers: int | None,
              on_done: Callable[[int], None] | None) -> list[tuple[RunResult, dict | None, str]]:
    """Run jobs on `workers` sandboxes at a time; (run, raw verdict, nonce) per job, in order."""
    isolation = current_isolation()
    workers = max(1, min(workers or os.cpu_count() or 1, len(jobs) or 1))
    idle: queue.SimpleQueue[Worker | None] = queue.SimpleQueue()
    for _ in range(workers):
        idle.put(None)  # started lazily, in parallel, by the first job that needs one
    started: list[Worker] = []
    started_lock = threading.Lock()
    results: list[tuple[RunResult, dict | None, str] | None] = [None] * len(jobs)

    def run_job(index: int) -> None:
        worker = idle.get()
        try:
            if worker is None or not worker.alive:
                worker = Worker(isolation, limits)
                with started_lock:
                    started.append(worker)
            results[index] = worker.request(jobs[index], limits)
        finally:
            idle.put(worker)
        if on_done is not None:
            on_done(index)

    try:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for future in [pool.submit(run_job, i) for i in range(len(jobs))]:
                future.result()
    finally:
        for worker in started:
            worker.close()
    return [r for r in results if r is not None]


def run_many(
    sources: Sequence[str], limits: SandboxLimits | None = None, workers: int | None = None,
    on_done: Callable[[int, RunResult], None] | None = None,
) -> list[RunResult]:
    """Run many programs, each in its own sandboxed child process, `workers` sandboxes at a time."""
    results: list[RunResult | None] = [None] * len(sources)

    def done(index: int) -> None:
        if on_done is not None:
            on_done(index, results[index] or RunResult(None, False, "", 0.0, ""))

    jobs = [{"kind": "program", "source": source} for source in sources]
    runs = _run_jobs(jobs, limits or SandboxLimits(), workers, done if on_done else None)
    return [run for run, _verdict, _nonce in runs]


def run_python(source: str, limits: SandboxLimits | None = None) -> RunResult:
    """Run `source` as a Python program in a fresh sandboxed subprocess and report how it ended."""
    return run_many([source], limits, workers=1)[0]


def run_checks(
    checks: Sequence[CheckJob], limits: SandboxLimits | None = None, workers: int | None = None,
    on_done: Callable[[int], None] | None = None,
) -> list[CheckResult]:
    """Check many solutions against their tests; see CheckJob. Nothing the solution does can pass it."""
    jobs = [{"kind": "check", "source": c.solution, "setup": c.setup, "test": c.test,
             "entry_point": c.entry_point, "names": c.called_names()} for c in checks]
    runs = _run_jobs(jobs, limits or SandboxLimits(), workers, on_done)
    return [_verdict(run, verdict, nonce) for run, verdict, nonce in runs]


def _verdict(run: RunResult, verdict: dict | None, nonce: str) -> CheckResult:
    """Decided here, on the harness side: a pass needs the tests' own verdict with a valid HMAC."""
    if run.sandbox_error or run.timed_out or run.disk_exceeded:
        return CheckResult(False, "", run)
    if not isinstance(verdict, dict):
        return CheckResult(False, "the tests gave no verdict", run)
    passed, reason, tag = verdict.get("passed"), verdict.get("reason"), verdict.get("tag")
    if type(passed) is not bool or not isinstance(reason, str) or not isinstance(tag, str):
        return CheckResult(False, "malformed verdict", run)
    if not tag.isascii() or not hmac.compare_digest(tag, verdict_tag(nonce, passed, reason)):
        return CheckResult(False, "verdict not bound to this run", run)
    if passed:
        return CheckResult(True, "", run)
    return CheckResult(False, _how_it_ended(run) if reason.startswith(NO_ANSWER) else reason, run)


def _how_it_ended(run: RunResult) -> str:
    """Why a solution's process stopped answering, from its exit status and stderr."""
    if run.returncode is None:
        return NO_ANSWER
    if run.returncode == 0:
        return "exited before the tests ran"
    if run.returncode is not None and run.returncode < 0:
        return f"killed by {signal_name(-run.returncode)}"
    lines = [line.strip() for line in run.stderr_tail.splitlines() if line.strip()]
    return lines[-1][:200] if lines else f"exit code {run.returncode}"
