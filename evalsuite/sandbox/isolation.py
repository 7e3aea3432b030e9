"""Which isolation a sandboxed run gets, and the command line that starts its fork server.

Two levels, chosen once per process (override with EVALSUITE_SANDBOX=auto|bwrap|subprocess):

- "bwrap": bubblewrap showing only the system folders (/usr, /etc, ...) and the interpreter's own
  (its prefix and virtualenv, wherever they live, /tmp included) read-only, with the files given to
  hide_from_programs masked, a private size-limited /tmp, no network (a down loopback only), own
  pid, ipc and uts namespaces, the whole sandbox killed with its pid namespace. As root the IPC namespace's kernel limits bound SysV shared memory
  (ipc_sysctls), then the fork server keeps only CAP_SETUID/SETGID/KILL and runs each program as its
  own unprivileged uid (the kernel never enforces RLIMIT_NPROC for uid 0, and a different uid cannot
  reach the server); as a normal user bwrap's user namespace holds it.
- "subprocess": no OS-level isolation (same filesystem, network and pid space as the host): the same
  rlimits, a scratch dir, a clean environment, a Python audit hook, and as root an unprivileged uid
  per program. It only runs with an explicit opt-in (`--allow_unisolated_execution`, or
  allow_unisolated(True)), recorded in every result; without bubblewrap the default refuses.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass

from evalsuite.errors import BadInputError

BWRAP = "bwrap"
SUBPROCESS = "subprocess"
UNISOLATED_FLAG = "--allow_unisolated_execution"
INSTALL_HINT = "apt-get install bubblewrap"
# The only host folders a program sees (read-only), besides the interpreter's own: no home, no
# checkout, no data set, no cache (an answer key there would let a wrong completion pass).
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc")
PRIVATE_TMP = "/tmp"
SANDBOX_WORKROOT = "/tmp/work"
UID_BASE = 1_500_000_000
UIDS_PER_PROCESS = 128
SERVER_CAPS = ("CAP_SETUID", "CAP_SETGID", "CAP_KILL")
# Held only by the shell that bounds the sandbox's own IPC namespace, then dropped (setpriv).
IPC_SETUP_CAPS = ("CAP_SYS_ADMIN", "CAP_SETPCAP")
PAGE_BYTES = 4096


@dataclass(frozen=True)
class Isolation:
    """The isolation every run of this process gets.

    switch_uid: the harness is root, so each program (and the tests) run under their own
    unprivileged uids. unisolated_opt_in: the user allowed running without OS-level isolation.
    """

    level: str
    switch_uid: bool
    unisolated_opt_in: bool
    description: str


def sandbox_uids(slot: int) -> tuple[int, int]:
    """(program uid, tests uid) of a worker slot, distinct per harness process so counts never mix."""
    base = UID_BASE + (os.getpid() % 100_000) * UIDS_PER_PROCESS + 2 * (slot % (UIDS_PER_PROCESS // 2))
    return base, base + 1


_hidden: set[str] = set()
_hidden_lock = threading.Lock()


def hide_from_programs(paths) -> None:
    """Files (or folders) no sandboxed program may read, for this process: the data a benchmark's
    answers come from, where it lies inside a folder programs see (a package's data file)."""
    with _hidden_lock:
        _hidden.update(os.path.realpath(path) for path in paths)


def hidden_paths() -> list[str]:
    """What hide_from_programs was given, as real paths."""
    with _hidden_lock:
        return sorted(_hidden)


def _under(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def bound_paths() -> list[str]:
    """The interpreter's folders outside SYSTEM_DIRS (its prefix, a virtualenv, the executable's
    folder), bound read-only wherever they live, /tmp included. Never sys.path's other entries
    (the checkout): the sandboxed interpreter runs isolated (-I) and does not look there."""
    candidates = {sys.base_prefix, sys.prefix, sys.exec_prefix, os.path.dirname(sys.executable),
                  os.path.dirname(os.path.realpath(sys.executable))}
    needed = set()
    for path in candidates:
        for candidate in (os.path.abspath(path), os.path.realpath(path)):
            if os.path.isdir(candidate) and not any(_under(candidate, d) for d in SYSTEM_DIRS):
                needed.add(candidate)
    # Drop paths already covered by a bound parent.
    return sorted(p for p in needed if not any(p != q and _under(p, q) for q in needed))


def ipc_sysctls(shared_memory_bytes: int) -> dict[str, str]:
    """Kernel limits of a sandbox's own IPC namespace (they never touch the host's): SysV shared
    memory at most shared_memory_bytes in all, destroyed as soon as no process holds it
    (shm_rmid_forced); a few small message queues and semaphore sets; no POSIX message queues."""
    return {"kernel/shm_rmid_forced": "1", "kernel/shmmax": str(shared_memory_bytes),
            "kernel/shmall": str(max(1, shared_memory_bytes // PAGE_BYTES)), "kernel/shmmni": "32",
            "kernel/msgmni": "8", "kernel/msgmnb": "16384", "kernel/sem": "32 256 32 8",
            "fs/mqueue/queues_max": "0"}


def ipc_bounding_wrapper(shared_memory_bytes: int) -> list[str]:
    """argv run first inside bubblewrap as root: sets ipc_sysctls, then drops CAP_SYS_ADMIN and
    CAP_SETPCAP for good (bounding, inheritable and ambient sets) before it execs the fork server."""
    setpriv = shutil.which("setpriv") or "setpriv"
    writes = " && ".join(f"printf '%s' '{value}' > /proc/sys/{key}" for key, value in ipc_sysctls(
        shared_memory_bytes).items())
    caps = ",".join("+" + cap.removeprefix("CAP_").lower() for cap in SERVER_CAPS)
    return ["/bin/sh", "-c", f'{writes} && exec "$@"', "sh", setpriv, "--inh-caps=-all", "--ambient-caps=-all",
            f"--bounding-set=-all,{caps}", "--"]


def bwrap_command(as_root: bool, tmpfs_bytes: int, shared_memory_bytes: int) -> list[str]:
    """bubblewrap argv prefix for one worker's sandbox: bwrap's options up to its "--", then (as
    root) the wrapper that bounds the sandbox's IPC namespace."""
    argv = [shutil.which("bwrap") or "bwrap"]
    for folder in SYSTEM_DIRS:
        if os.path.islink(folder):
            argv += ["--symlink", os.readlink(folder), folder]
        elif os.path.isdir(folder):
            argv += ["--ro-bind", folder, folder]
    argv += ["--dev", "/dev", "--proc", "/proc",
             "--perms", "1777", "--size", str(tmpfs_bytes), "--tmpfs", PRIVATE_TMP]
    made: set[str] = set()
    bound = bound_paths()
    for path in bound:
        # the folders above it are made here world-traversable (bwrap would make them 0700, out
        # of reach of the programs' uid)
        parts = path.strip("/").split("/")
        for depth in range(1, len(parts)):
            folder = "/" + "/".join(parts[:depth])
            if folder not in made and not any(_under(folder, d) for d in (*SYSTEM_DIRS, PRIVATE_TMP)):
                made.add(folder)
                argv += ["--perms", "0755", "--dir", folder]
        argv += ["--ro-bind", path, path]
    for hidden in hidden_paths():
        if any(_under(hidden, folder) for folder in (*bound, *SYSTEM_DIRS)) and os.path.exists(hidden):
            argv += ["--tmpfs", hidden] if os.path.isdir(hidden) else ["--ro-bind", "/dev/null", hidden]
    argv += ["--chdir", PRIVATE_TMP, "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
             "--die-with-parent", "--new-session", "--clearenv"]
    if not as_root:
        return argv + ["--"]
    argv += ["--cap-drop", "ALL"]
    for cap in SERVER_CAPS + IPC_SETUP_CAPS:
        argv += ["--cap-add", cap]
    return argv + ["--"] + ipc_bounding_wrapper(shared_memory_bytes)


def unisolated_command() -> list[str]:
    """argv prefix of the fallback's fork server: as root, only the capabilities it needs."""
    setpriv = shutil.which("setpriv")
    if os.geteuid() != 0 or setpriv is None:
        return []
    caps = ",".join("+" + cap.removeprefix("CAP_").lower() for cap in SERVER_CAPS)
    return [setpriv, f"--bounding-set=-all,{caps}", "--"]


def _probe_code(as_root: bool) -> str:
    """What the probe runs: the uid switch the fork server does for every program (exit 3 when it
    works but the standard library is out of that uid's reach)."""
    if not as_root:
        return "pass"
    uid = sandbox_uids(0)[0]
    return (f"import os\nos.setgroups([])\nos.setresgid({uid}, {uid}, {uid})\nos.setresuid({uid}, {uid}, {uid})\n"
            "try:\n    os.listdir(os.path.dirname(os.__file__))\nexcept OSError:\n    raise SystemExit(3)")


def _probe(argv: list[str], as_root: bool) -> int | None:
    """Exit code of the probe under argv prefix (0: works; 3: stdlib unreachable), None if it cannot start."""
    try:
        done = subprocess.run(
            argv + [sys.executable, "-I", "-B", "-c", _probe_code(as_root)], stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30, env={},
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.returncode


def _detect(allow_unisolated: bool) -> Isolation:
    wanted = os.environ.get("EVALSUITE_SANDBOX", "auto").strip().lower() or "auto"
    if wanted not in ("auto", BWRAP, SUBPROCESS):
        raise BadInputError(f"EVALSUITE_SANDBOX must be auto, bwrap or subprocess, not {wanted!r}")
    is_root = os.geteuid() == 0
    have_bwrap = shutil.which("bwrap") is not None
    if wanted in ("auto", BWRAP) and have_bwrap and _probe(bwrap_command(is_root, 1024 * 1024, 1024 * 1024), is_root) == 0:
        who = ("the program and the tests each under their own unprivileged uid, the fork server with "
               "CAP_SETUID/SETGID/KILL only" if is_root else "own uid in a user namespace")
        return Isolation(BWRAP, is_root, False, (
            "bwrap: only system folders and the interpreter's visible (read-only; no home, checkout, data or "
            "answer key), private size-limited /tmp, no network, "
            "own pid/ipc/uts namespaces" + (", SysV shared memory bounded" if is_root else "") +
            ", fresh scratch dir per program, nothing a program leaves (files, IPC objects) seen by the next, "
            f"clean env, rlimits cpu/as/nproc/fsize/msgqueue, seccomp (no namespaces, mounts, keyrings), "
            f"non-dumpable fork server, {who}"))
    why = "cannot run here" if have_bwrap else "is not installed"
    if wanted == BWRAP:
        raise BadInputError(f"EVALSUITE_SANDBOX=bwrap but bubblewrap {why} ({INSTALL_HINT})")
    if not allow_unisolated and wanted == SUBPROCESS:
        raise BadInputError(f"EVALSUITE_SANDBOX=subprocess runs generated code without OS-level isolation: "
                            f"pass {UNISOLATED_FLAG} to allow it (or unset it; {INSTALL_HINT})")
    if not allow_unisolated:
        raise BadInputError(
            f"generated code needs an OS-level sandbox and bubblewrap {why}: {INSTALL_HINT} "
            f"(or pass {UNISOLATED_FLAG} to run it without one)")
    probe = _probe(unisolated_command(), True) if is_root else None
    switch_uid = probe in (0, 3)
    if switch_uid:
        who = "each program under its own unprivileged uid" + (
            "" if probe == 0 else " (the interpreter is out of its reach: only preloaded modules import)")
    elif is_root:
        who = "AS ROOT (no unprivileged uid could be used)"
    else:
        who = "as this user"
    return Isolation(SUBPROCESS, switch_uid, True, (
        f"subprocess, UNISOLATED (opted in with {UNISOLATED_FLAG}): no OS-level filesystem, network or "
        "pid isolation; scratch dir, clean env, rlimits cpu/as/nproc/fsize/msgqueue, seccomp (no namespaces, "
        "mounts, keyrings), disk use watched, "
        f"Python audit hook, non-dumpable fork server, {who}"))


_lock = threading.Lock()
_allowed = False
_detected: Isolation | None = None


def allow_unisolated(allowed: bool) -> None:
    """Allow (or forbid again) running generated code without OS-level isolation, for this process."""
    global _allowed, _detected
    with _lock:
        if allowed != _allowed:
            _allowed, _detected = allowed, None


def os_isolation_available() -> bool:
    """True when bubblewrap runs here, so no opt-in is needed (probed once per process)."""
    try:
        current = current_isolation()
    except BadInputError:
        return False
    return not current.unisolated_opt_in


def current_isolation() -> Isolation:
    """The isolation of this process, detected (by a real probe run) on first use.

    Raises BadInputError (exit 2) when no OS-level isolation works here and the user did not opt in.
    """
    global _detected
    with _lock:
        if _detected is None:
            _detected = _detect(_allowed)
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


def isolation_record() -> dict:
    """What a result records about the isolation that ran its code."""
    isolation = current_isolation()
    return {"isolation": isolation.level, "isolation_detail": isolation.description,
            "unisolated_opt_in": isolation.unisolated_opt_in}
