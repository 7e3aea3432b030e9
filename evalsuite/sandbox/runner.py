"""Run untrusted Python programs, each in its own sandboxed subprocess, in parallel.

Each worker owns one sandbox (see isolation.py) holding a small fork server (zygote.py); every
program is a fresh child process forked from it, with its own scratch dir and limits, and the
sandbox is cleaned after each program. A worker whose server stops answering is killed with its
whole sandbox and replaced.
"""

from __future__ import annotations

import json
import os
import queue
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
    BWRAP, SANDBOX_WORKROOT, Isolation, bwrap_command, current_isolation, sandbox_uid,
)
from evalsuite.sandbox.limits import SandboxLimits, clean_env, count_processes_of_uid, rlimits

ZYGOTE_SOURCE = Path(__file__).with_name("zygote.py").read_text(encoding="utf-8")
REPLY_GRACE_S = 10.0


@dataclass(frozen=True)
class RunResult:
    """What happened to one program.

    returncode: exit status (negative: killed by that signal), None when it never ran.
    timed_out: the wall or CPU limit ended it.
    sandbox_error: the sandbox itself failed (None otherwise).
    """

    returncode: int | None
    timed_out: bool
    stderr_tail: str
    duration_s: float
    isolation: str
    sandbox_error: str | None = None


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
    """One sandbox with a fork server inside; runs one program at a time."""

    def __init__(self, isolation: Isolation, limits: SandboxLimits) -> None:
        self.isolation = isolation
        self.slot = _slots.acquire()
        self.uid = sandbox_uid(self.slot) if isolation.run_as_other_uid else None
        self.host_dir = tempfile.mkdtemp(prefix="evalsuite-sbx-")
        self.process: subprocess.Popen | None = None
        self._start(limits)

    def _start(self, limits: SandboxLimits) -> None:
        bwrap = self.isolation.level == BWRAP
        workroot = SANDBOX_WORKROOT if bwrap else os.path.join(self.host_dir, "work")
        if self.uid is not None:
            os.chown(self.host_dir, self.uid, self.uid)
        config = {"workroot": workroot, "guard": not bwrap, "wipe": ["/tmp", "/dev/shm"] if bwrap else [],
                  "kill_all": bwrap or self.uid is not None}
        argv = [sys.executable, "-I", "-B", "-c", ZYGOTE_SOURCE, json.dumps(config)]
        env = clean_env(home=workroot, tmpdir="/tmp" if bwrap else workroot)
        user: dict = {}
        if bwrap:
            prefix = bwrap_command(self.uid, limits.tmpfs_bytes)
            cut = prefix.index("--")
            argv = prefix[:cut] + [x for k, v in env.items() for x in ("--setenv", k, v)] + prefix[cut:] + argv
            env = {}
        elif self.uid is not None:
            user = {"user": self.uid, "group": self.uid, "extra_groups": []}
        self._stderr = open(os.path.join(self.host_dir, ".server-stderr"), "wb")
        self.process = subprocess.Popen(
            argv, cwd=self.host_dir, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=self._stderr, start_new_session=True, close_fds=True, **user,
        )

    def run(self, source: str, limits: SandboxLimits) -> RunResult:
        """Run one program in a fresh child of this worker's fork server."""
        level = self.isolation.level
        if self.uid is not None or level == BWRAP:
            nproc = limits.max_processes + 1  # the fork server is one of the uid's tasks
        else:
            nproc = limits.max_processes + count_processes_of_uid(os.getuid())
        request = {"source": source, "timeout": limits.timeout_s,
                   "limits": [[name, *pair] for name, pair in rlimits(limits, nproc).items()]}
        started = time.monotonic()
        try:
            reply = self._exchange(request, limits.timeout_s + REPLY_GRACE_S)
        except (OSError, EvalsuiteError, ValueError) as exc:
            self.close()
            timed_out = time.monotonic() - started >= limits.timeout_s
            return RunResult(None, timed_out, "", time.monotonic() - started, level,
                             None if timed_out else f"sandbox failed: {exc}; {self._server_error()}")
        returncode = reply["returncode"]
        timed_out = reply["timed_out"] or returncode == -signal.SIGXCPU
        return RunResult(returncode, timed_out, reply["stderr"], reply["duration"], level)

    def _exchange(self, request: dict, deadline_s: float) -> dict:
        assert self.process is not None and self.process.stdin and self.process.stdout
        data = json.dumps(request).encode("utf-8")
        self.process.stdin.write(struct.pack(">I", len(data)) + data)
        self.process.stdin.flush()
        fd = self.process.stdout.fileno()
        header = self._read(fd, 4, time.monotonic() + deadline_s)
        body = self._read(fd, struct.unpack(">I", header)[0], time.monotonic() + deadline_s)
        return json.loads(body.decode("utf-8"))

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
        try:
            text = Path(self.host_dir, ".server-stderr").read_text(errors="replace").strip()
        except OSError:
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
            if self.uid is not None and self.isolation.level != BWRAP:
                _kill_uid(self.uid)
            _slots.release(self.slot)
        shutil.rmtree(self.host_dir, ignore_errors=True)


def _kill_uid(uid: int) -> None:
    """Kill every process of a sandbox uid: kill(-1) sent from that uid reaches exactly those."""
    subprocess.run(
        [sys.executable, "-I", "-S", "-c", "import os\ntry: os.kill(-1, 9)\nexcept OSError: pass"],
        user=uid, group=uid, extra_groups=[], env={}, stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False,
    )


def run_many(
    sources: Sequence[str], limits: SandboxLimits | None = None, workers: int | None = None,
    on_done: Callable[[int, RunResult], None] | None = None,
) -> list[RunResult]:
    """Run many programs, each in its own sandboxed child process, `workers` sandboxes at a time."""
    limits = limits or SandboxLimits()
    isolation = current_isolation()
    workers = max(1, min(workers or os.cpu_count() or 1, len(sources) or 1))
    idle: queue.SimpleQueue[Worker | None] = queue.SimpleQueue()
    for _ in range(workers):
        idle.put(None)  # started lazily, in parallel, by the first job that needs one
    started: list[Worker] = []
    started_lock = threading.Lock()
    results: list[RunResult | None] = [None] * len(sources)

    def job(index: int) -> None:
        worker = idle.get()
        try:
            if worker is None or not worker.alive:
                worker = Worker(isolation, limits)
                with started_lock:
                    started.append(worker)
            results[index] = worker.run(sources[index], limits)
        finally:
            idle.put(worker)
        if on_done is not None:
            on_done(index, results[index])

    try:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for future in [pool.submit(job, i) for i in range(len(sources))]:
                future.result()
    finally:
        for worker in started:
            worker.close()
    return [r for r in results if r is not None]


def run_python(source: str, limits: SandboxLimits | None = None) -> RunResult:
    """Run `source` as a Python program in a fresh sandboxed subprocess and report how it ended."""
    return run_many([source], limits, workers=1)[0]
