"""Fork server run inside each worker's sandbox (passed to `python -I -B -c`, never imported by the harness).

argv[1]: JSON config {"workroot": dir, "guard": bool, "kill_all": bool, "wipe": [dirs]}.
Protocol on fds 0/1: 4-byte big-endian length + UTF-8 JSON, both ways. A request is
{"source", "limits": [[rlimit name, soft, hard], ...], "timeout"}; the reply is
{"returncode", "timed_out", "stderr", "duration"}.

Every program runs in its own forked child process: new session, fresh working directory, stdin
and stdout on /dev/null, stderr to a file, its rlimits lowered (never to be raised again), then
executed as __main__. After it ends (or is killed at its timeout), every other process of the
sandbox uid is killed and the working directory and private temp folders are wiped, so nothing
a program leaves behind reaches the next one. Common modules are imported once here, before any
fork, which is what makes a run cost a fork instead of an interpreter start.
"""

import json
import os
import resource
import select
import shutil
import signal
import struct
import sys
import time
import traceback

PREIMPORTED = (
    "typing", "collections", "math", "re", "itertools", "functools", "string", "heapq", "bisect",
    "hashlib", "random", "statistics", "fractions", "decimal", "copy", "operator", "json",
)
STDERR_TAIL = 4096


def _read_exact(count):
    data = b""
    while len(data) < count:
        chunk = os.read(0, count - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def _receive():
    header = _read_exact(4)
    if header is None:
        return None
    return json.loads(_read_exact(struct.unpack(">I", header)[0]).decode("utf-8"))


def _send(message):
    data = json.dumps(message).encode("utf-8")
    data = struct.pack(">I", len(data)) + data
    while data:
        data = data[os.write(1, data):]


BLOCKED_EVENTS = frozenset({
    "socket.connect", "socket.bind", "socket.sendto", "socket.sendmsg", "os.system", "subprocess.Popen",
    "os.fork", "os.forkpty", "os.posix_spawn", "os.spawn", "os.exec", "os.kill", "os.killpg",
    "os.chmod", "os.chown", "os.putenv", "os.unsetenv", "ctypes.dlopen", "ctypes.dlsym", "ctypes.call_function",
    "ctypes.cdata", "sys.addaudithook", "os.setuid",
})
PATH_EVENTS = frozenset({"os.remove", "os.rmdir", "os.rename", "os.truncate", "shutil.rmtree", "os.mkdir", "os.symlink", "os.link"})
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


def _python_guard(workdir):
    """Fallback without namespaces: an audit hook (which Python code cannot remove) refuses writes
    outside the scratch dir, network, process creation, signals and ctypes. Defense in depth only."""
    own_proc = f"/proc/{os.getpid()}"

    def inside(path):
        if isinstance(path, int):
            return True
        real = os.path.realpath(os.fsdecode(path))
        return real == os.devnull or real == workdir or real.startswith(workdir + os.sep)

    def audit(event, args):
        if event in BLOCKED_EVENTS:
            raise PermissionError(f"{event} is not allowed in the sandbox")
        if event == "open":
            path, mode, flags = args
            if isinstance(path, (str, bytes)) and not isinstance(path, int):
                real = os.path.realpath(os.fsdecode(path))
                if real.startswith("/proc/") and not real.startswith(own_proc):
                    raise PermissionError(f"reading {path!r} (another process) is not allowed")
            writes = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
                isinstance(flags, int) and flags > 0 and flags & WRITE_FLAGS)
            if writes and not inside(path):
                raise PermissionError(f"writing {path!r} outside the scratch dir is not allowed")
        elif event in PATH_EVENTS and args and not all(inside(a) for a in args[:2] if isinstance(a, (str, bytes))):
            raise PermissionError(f"{event} outside the scratch dir is not allowed")

    sys.addaudithook(audit)


def _child(request, workdir, stderr_path, guard):
    """In the forked child: isolate, limit, run the program, exit with its status."""
    code = 1
    try:
        os.setsid()
        os.chdir(workdir)
        devnull = os.open(os.devnull, os.O_RDWR)
        err = os.open(stderr_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(devnull, 0)
        os.dup2(devnull, 1)
        os.dup2(err, 2)
        os.close(devnull)
        os.close(err)
        for name, soft, hard in request["limits"]:
            resource.setrlimit(getattr(resource, name), (soft, hard))
        program = os.path.join(workdir, "program.py")
        with open(program, "w", encoding="utf-8") as handle:
            handle.write(request["source"])
        if guard:
            _python_guard(os.path.realpath(workdir))
        sys.argv = [program]
        namespace = {"__name__": "__main__", "__file__": program, "__builtins__": __builtins__}
        try:
            exec(compile(request["source"], program, "exec"), namespace)
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except BaseException:
            traceback.print_exc()
            code = 1
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except BaseException:
                pass
    finally:
        os._exit(code)


def _wait(pid, timeout):
    """(wait status, timed_out) of the child, killing its session at the timeout."""
    pidfd = os.pidfd_open(pid)
    try:
        ready, _, _ = select.select([pidfd], [], [], timeout)
    finally:
        os.close(pidfd)
    if not ready:
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return os.waitpid(pid, 0)[1], not ready


def _clean(config, workdir):
    """Kill everything the program left running and wipe what it wrote."""
    if config["kill_all"]:
        try:
            os.kill(-1, signal.SIGKILL)  # every process of this uid in reach, except this one
        except OSError:
            pass
    while True:
        try:
            if os.waitpid(-1, os.WNOHANG)[0] == 0:
                break
        except ChildProcessError:
            break
    shutil.rmtree(workdir, ignore_errors=True)
    for folder in config["wipe"]:
        for entry in os.scandir(folder):
            if entry.path == config["workroot"]:
                continue
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path, ignore_errors=True)
            else:
                try:
                    os.unlink(entry.path)
                except OSError:
                    pass


def main():
    config = json.loads(sys.argv[1])
    for module in PREIMPORTED:
        __import__(module)
    os.makedirs(config["workroot"], exist_ok=True)
    number = 0
    while True:
        request = _receive()
        if request is None:
            return
        number += 1
        workdir = os.path.join(config["workroot"], f"run{number}")
        stderr_path = os.path.join(config["workroot"], f".stderr{number}")
        os.mkdir(workdir, 0o700)
        started = time.monotonic()
        pid = os.fork()
        if pid == 0:
            _child(request, workdir, stderr_path, config["guard"])
        status, timed_out = _wait(pid, request["timeout"])
        duration = time.monotonic() - started
        _clean(config, workdir)
        try:
            with open(stderr_path, "rb") as handle:
                handle.seek(max(0, os.fstat(handle.fileno()).st_size - STDERR_TAIL))
                tail = handle.read().decode("utf-8", errors="replace")
            os.unlink(stderr_path)
        except OSError:
            tail = ""
        returncode = os.waitstatus_to_exitcode(status)
        _send({"returncode": returncode, "timed_out": timed_out, "stderr": tail, "duration": duration})


main()
