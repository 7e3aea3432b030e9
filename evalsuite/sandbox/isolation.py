"""Which isolation a sandboxed run gets, and the command line that starts it.

Two levels, chosen once per process (override with EVALSUITE_SANDBOX=auto|bwrap|subprocess):

- "bwrap": bubblewrap with a read-only root, /root, /home and /run hidden (the interpreter bound
  back read-only), a private size-limited /tmp, the scratch dir as the only writable place, new
  network (no interfaces but a down loopback), pid, ipc and uts namespaces, and the program killed
  with its whole pid namespace. As root it drops to a per-slot unprivileged uid (setpriv), because
  the kernel never enforces RLIMIT_NPROC for real uid 0; as a normal user bwrap's user namespace
  gives the program a fresh process count.
- "subprocess": plain subprocess with the same rlimits, scratch dir and clean environment, an
  unprivileged per-slot uid when root (if the interpreter is reachable by it), and a Python audit
  hook refusing writes outside the scratch dir, network, process creation, signals and ctypes. No network or filesystem isolation from the OS.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass

from evalsuite.errors import EvalsuiteError

BWRAP = "bwrap"
SUBPROCESS = "subprocess"
MASKED_DIRS = ("/root", "/home", "/run")
SANDBOX_WORKROOT = "/tmp/work"
UID_BASE = 1_500_000_000
UIDS_PER_PROCESS = 64


@dataclass(frozen=True)
class Isolation:
    """The isolation every run of this process gets."""

    level: str
    run_as_other_uid: bool
    description: str


def sandbox_uid(slot: int) -> int:
    """Unprivileged uid for a worker slot, distinct per harness process so process counts never mix."""
    return UID_BASE + (os.getpid() % 100_000) * UIDS_PER_PROCESS + slot % UIDS_PER_PROCESS


def interpreter_paths() -> list[str]:
    """Folders the interpreter needs that live under a masked folder (bound back read-only)."""
    candidates = {sys.base_prefix, sys.prefix, sys.exec_prefix, os.path.dirname(os.path.realpath(sys.executable))}
    candidates.update(p for p in sys.path if p and os.path.isdir(p))
    needed = set()
    for path in candidates:
        real = os.path.realpath(path)
        for masked in MASKED_DIRS:
            for candidate in (path, real):
                if candidate == masked or candidate.startswith(masked + "/"):
                    needed.add(candidate)
    # Drop paths already covered by a bound parent.
    return sorted(p for p in needed if not any(p != q and p.startswith(q + "/") for q in needed))


def bwrap_command(uid: int | None, tmpfs_bytes: int) -> list[str]:
    """bubblewrap argv prefix for one worker's sandbox; its only writable place is a private /tmp."""
    argv = [shutil.which("bwrap") or "bwrap", "--ro-bind", "/", "/"]
    for masked in MASKED_DIRS:
        if os.path.isdir(masked) and not os.path.islink(masked):
            argv += ["--tmpfs", masked]
    for path in interpreter_paths():
        argv += ["--ro-bind", path, path]
    argv += [
        "--dev", "/dev", "--proc", "/proc",
        "--perms", "1777", "--size", str(tmpfs_bytes), "--tmpfs", "/tmp", "--chdir", "/tmp",
        "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
        "--die-with-parent", "--new-session", "--clearenv",
    ]
    if uid is not None:
        setpriv = shutil.which("setpriv") or "setpriv"
        argv += [
            "--", setpriv, f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
            "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs",
        ]
    else:
        argv += ["--"]
    return argv


def _probe(argv: list[str], user: int | None = None) -> bool:
    """True when `python -c pass` runs under argv prefix (and uid)."""
    kwargs = {"user": user, "group": user, "extra_groups": []} if user is not None else {}
    try:
        done = subprocess.run(
            argv + [sys.executable, "-I", "-B", "-c", "pass"], stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30, env={}, **kwargs,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


def _detect() -> Isolation:
    wanted = os.environ.get("EVALSUITE_SANDBOX", "auto").strip().lower() or "auto"
    if wanted not in ("auto", BWRAP, SUBPROCESS):
        raise EvalsuiteError(f"EVALSUITE_SANDBOX must be auto, bwrap or subprocess, not {wanted!r}")
    is_root = os.geteuid() == 0
    if wanted in ("auto", BWRAP) and shutil.which("bwrap"):
        needs_setpriv = is_root
        if not needs_setpriv or shutil.which("setpriv"):
            uid = sandbox_uid(0) if is_root else None
            if _probe(bwrap_command(uid, 1024 * 1024)):
                who = f"unprivileged uid {uid}+slot" if is_root else "own uid in a user namespace"
                return Isolation(BWRAP, is_root, (
                    "bwrap: read-only root, /root /home /run hidden, private /tmp, no network, "
                    "own pid/ipc/uts namespaces, fresh scratch dir per program, clean env, "
                    f"rlimits cpu/as/nproc/fsize, {who}"))
    if wanted == BWRAP:
        raise EvalsuiteError("EVALSUITE_SANDBOX=bwrap but bubblewrap cannot run here (install bubblewrap)")
    other_uid = is_root and _probe([], user=sandbox_uid(0))
    if other_uid:
        who = "unprivileged uid per slot"
    elif is_root:
        who = "as root: the process-count limit is NOT enforced (interpreter unreachable by other uids)"
    else:
        who = "own uid (the process count includes the user's other processes)"
    return Isolation(SUBPROCESS, other_uid, (
        "subprocess: scratch dir, clean env, rlimits cpu/as/nproc/fsize, Python audit-hook guard "
        f"(no OS-level network or filesystem isolation), {who}"))


_lock = threading.Lock()
_detected: Isolation | None = None


def current_isolation() -> Isolation:
    """The isolation of this process, detected (by a real probe run) on first use."""
    global _detected
    with _lock:
        if _detected is None:
            _detected = _detect()
        return _detected


def reset_isolation() -> None:
    """Forget the detected isolation (tests switch EVALSUITE_SANDBOX)."""
    global _detected
    with _lock:
        _detected = None


def isolation_level() -> str:
    """"bwrap" or "subprocess": the isolation sandboxed runs get in this process."""
    return current_isolation().level


def isolation_description() -> str:
    """One line describing what the sandbox enforces here."""
    return current_isolation().description
