"""Resource limits of one sandboxed run and the environment it starts with."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

GIB = 1024**3
MIB = 1024**2


@dataclass(frozen=True)
class SandboxLimits:
    """Limits applied to every sandboxed program.

    timeout_s: wall-clock limit; the CPU-time limit is derived from it.
    memory_bytes: address-space limit (RLIMIT_AS).
    max_processes: processes + threads the program may own (RLIMIT_NPROC, per sandbox uid).
    file_size_bytes: largest file the program may write (RLIMIT_FSIZE).
    open_files: RLIMIT_NOFILE.
    disk_bytes: all the program may write together: the size of the private /tmp under bubblewrap;
        without it, the most the watched filesystems' free space may drop while it runs.
    shared_memory_bytes: SysV shared memory the sandbox may hold in all (a kernel limit of its own
        IPC namespace, bubblewrap as root); whatever IPC objects a program leaves are removed
        before the next one starts, in every mode.
    """

    timeout_s: float = 10.0
    memory_bytes: int = 2 * GIB
    max_processes: int = 32
    file_size_bytes: int = 64 * MIB
    open_files: int = 256
    disk_bytes: int = 64 * MIB
    shared_memory_bytes: int = 64 * MIB

    @property
    def cpu_seconds(self) -> int:
        """CPU-time limit: the wall timeout rounded up, plus one second of slack."""
        return int(math.ceil(self.timeout_s)) + 1


def rlimits(limits: SandboxLimits, nproc: int) -> dict[str, tuple[int, int]]:
    """The (soft, hard) rlimits, by `resource` constant name, that the program runs under."""
    return {
        "RLIMIT_CPU": (limits.cpu_seconds, limits.cpu_seconds),
        "RLIMIT_AS": (limits.memory_bytes, limits.memory_bytes),
        "RLIMIT_NPROC": (nproc, nproc),
        "RLIMIT_FSIZE": (limits.file_size_bytes, limits.file_size_bytes),
        "RLIMIT_NOFILE": (limits.open_files, limits.open_files),
        "RLIMIT_CORE": (0, 0),
        "RLIMIT_MSGQUEUE": (0, 0),  # no POSIX message queues: they would outlive the program
    }


def clean_env(home: str, tmpdir: str) -> dict[str, str]:
    """A minimal environment: nothing inherited from the harness (no API keys, tokens, proxies)."""
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": home,
        "TMPDIR": tmpdir,
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONIOENCODING": "utf-8",
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
    }


def count_processes_of_uid(uid: int) -> int:
    """How many tasks (processes and threads) the given real uid owns now (RLIMIT_NPROC's count)."""
    count = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            if entry.stat().st_uid == uid:
                count += len(os.listdir(f"/proc/{entry.name}/task"))
        except OSError:
            continue
    return count
