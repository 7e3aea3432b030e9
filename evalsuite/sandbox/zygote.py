"""Fork server run inside each worker's sandbox (passed to `python -I -B -c`; the harness imports it
only for verdict_tag).

argv[1]: JSON config {"workroot", "guard", "candidate_uid", "tester_uid", "tester_limits", "namespace",
"wipe", "keep", "watch", "cpu"} (cpu: the one core the whole sandbox runs on). Protocol on fds 0/1:
frames of a 4-byte big-endian length + UTF-8 JSON. Each job is two frames: the job, then {"nonce"}.
The job's untrusted process was forked before the job arrived (a warm child, ready after the
previous job's cleanup), so it never holds the nonce. The reply echoes the nonce.

Two kinds of job:
- "program": run `source` as __main__; the reply has its exit status.
- "check": run `source` (the untrusted solution) in the candidate process and `setup` + `test`
  (+ `check(candidate)` when the job names an `entry_point`) in the tests' process (one per
  sandbox, under its own uid). Each of the job's `names` (the solution's functions the tests call)
  is bound there to a proxy that sends the name and arguments to the candidate process and decodes
  its answers as plain data (no objects of its making, so no `__eq__` of its own, no shared
  builtins or globals); the tests' other names (builtins, their own helpers) stay theirs. Only
  the tests' process holds the pipe its verdict goes through, and it binds the verdict to the nonce
  with an HMAC that the harness checks. The candidate's exit status, output, signals and exit hooks
  therefore decide nothing.

The candidate runs as its own unprivileged uid when the server is root (the server keeps only
CAP_SETUID/SETGID/KILL), every process here is non-dumpable (no ptrace, pidfd_getfd or
/proc/<pid>/fd from the same uid), and everything a job leaves behind is killed and wiped before the
next one starts. Common modules are imported once here, before any fork, so a job costs a fork
instead of an interpreter start.
"""

import builtins
import ctypes
import gc
import hashlib
import hmac
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
    "random", "statistics", "fractions", "decimal", "copy", "operator",
)
STDERR_TAIL = 4096
FRAME_MAX = 64 * 1024 * 1024
DEPTH_MAX = 200
POLL_S = 0.05
NO_ANSWER = "the solution's process ended without answering"
LOOP_ENDING = (StopIteration, StopAsyncIteration)
PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_SET_CHILD_SUBREAPER, PR_SET_NO_NEW_PRIVS = 1, 4, 36, 38
PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 22, 2
_libc = ctypes.CDLL(None, use_errno=True)


def _prctl(option, value):
    _libc.prctl(option, ctypes.c_ulong(value), ctypes.c_ulong(0), ctypes.c_ulong(0), ctypes.c_ulong(0))


# ---------------------------------------------------------------- framing


def _read_exact(fd, count):
    data = b""
    while len(data) < count:
        chunk = os.read(fd, count - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def _read_frame(fd):
    header = _read_exact(fd, 4)
    if header is None:
        return None
    size = struct.unpack(">I", header)[0]
    if size > FRAME_MAX:
        raise ValueError("frame too large")
    body = _read_exact(fd, size)
    if body is None:
        return None
    return json.loads(body.decode("utf-8"))


def _write_frame(fd, message):
    data = json.dumps(message).encode("utf-8")
    data = struct.pack(">I", len(data)) + data
    while data:
        data = data[os.write(fd, data):]


# ---------------------------------------------------------------- plain-data codec


def _encode(value, depth=0):
    """Plain data as tagged JSON: the only thing that crosses from the candidate to the tester."""
    if depth > DEPTH_MAX:
        raise ValueError("value nested too deeply")
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, int):
        return ["i", format(int.__index__(value), "x")]
    if isinstance(value, float):
        return ["f", float.__repr__(value)]
    if isinstance(value, complex):
        return ["c", float.__repr__(value.real), float.__repr__(value.imag)]
    if isinstance(value, bytes):
        return ["b", bytes.hex(value)]
    tags = ((list, "l"), (tuple, "t"), (set, "s"), (frozenset, "z"))
    for kind, tag in tags:
        if isinstance(value, kind):
            return [tag] + [_encode(item, depth + 1) for item in kind.__iter__(value)]
    if isinstance(value, dict):
        return ["d"] + [[_encode(k, depth + 1), _encode(v, depth + 1)] for k, v in dict.items(value)]
    raise TypeError(f"cannot pass a {type(value).__name__} between the tests and the solution")


_DECODERS = {"l": list, "t": tuple, "s": set, "z": frozenset}


def _decode(data, depth=0):
    """The inverse of _encode, accepting nothing else (run by the tester on the candidate's answers)."""
    if depth > DEPTH_MAX:
        raise ValueError("value nested too deeply")
    if data is None or type(data) is bool or type(data) is str:
        return data
    if type(data) is not list or not data or type(data[0]) is not str:
        raise ValueError("malformed value")
    tag, items = data[0], data[1:]
    if tag == "i" and len(items) == 1 and type(items[0]) is str:
        return int(items[0], 16)
    if tag == "f" and len(items) == 1 and type(items[0]) is str:
        return float(items[0])
    if tag == "c" and len(items) == 2 and all(type(x) is str for x in items):
        return complex(float(items[0]), float(items[1]))
    if tag == "b" and len(items) == 1 and type(items[0]) is str:
        return bytes.fromhex(items[0])
    if tag in _DECODERS:
        return _DECODERS[tag](_decode(item, depth + 1) for item in items)
    if tag == "d":
        pairs = {}
        for pair in items:
            if type(pair) is not list or len(pair) != 2:
                raise ValueError("malformed dict")
            pairs[_decode(pair[0], depth + 1)] = _decode(pair[1], depth + 1)
        return pairs
    raise ValueError("malformed value")


# ---------------------------------------------------------------- entering the sandbox


def _enter(keep_fds, stderr_fd, uid):
    """In a forked child: own session, stdio, no inherited fds, uid, no new privileges."""
    os.setsid()
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    os.dup2(stderr_fd if stderr_fd is not None else devnull, 2)
    keep = sorted(set(keep_fds))
    low = 3
    for fd in keep + [65536]:
        if fd >= low:
            os.closerange(low, fd)
            low = fd + 1
    if uid is not None:
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)  # from root to a non-zero uid: every capability is gone
    _prctl(PR_SET_NO_NEW_PRIVS, 1)
    _prctl(PR_SET_DUMPABLE, 0)
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # after the uid change, which clears it


# ---------------------------------------------------------------- system calls a program may not make

# Refused with EPERM: new namespaces (a user namespace would let a program mount a tmpfs of its own,
# past the disk limit, and widen the kernel's surface), keyrings (kept per uid across jobs), bpf,
# perf, userfaultfd, io_uring, mounts. clone3 gets ENOSYS: its flags cannot be inspected, and the C
# library falls back to clone, whose namespace flags are refused.
SYSCALLS = {  # name: (x86_64, aarch64)
    "unshare": (272, 97), "setns": (308, 268), "mount": (165, 40), "umount2": (166, 39),
    "pivot_root": (155, 41), "add_key": (248, 217), "request_key": (249, 218), "keyctl": (250, 219),
    "bpf": (321, 280), "perf_event_open": (298, 241), "userfaultfd": (323, 282), "io_uring_setup": (425, 425),
    "clone": (56, 220), "clone3": (435, 435),
}
REFUSED = ("unshare", "setns", "mount", "umount2", "pivot_root", "add_key", "request_key", "keyctl", "bpf",
           "perf_event_open", "userfaultfd", "io_uring_setup")
AUDIT_ARCHES = {"x86_64": (0xC000003E, 0), "aarch64": (0xC00000B7, 1)}
CLONE_NAMESPACES = 0x7E020000  # NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET
X32_BIT = 0x40000000
_LD, _JEQ, _JGE, _JSET, _RET = 0x20, 0x15, 0x35, 0x45, 0x06
_ALLOW, _ERRNO, _KILL = 0x7FFF0000, 0x00050000, 0x80000000


def _seccomp_program(machine):
    """The classic-BPF filter as (code, jt, jf, k) tuples, or None on an architecture not listed."""
    if machine not in AUDIT_ARCHES:
        return None
    arch, column = AUDIT_ARCHES[machine]
    numbers = {name: pair[column] for name, pair in SYSCALLS.items()}
    program = [(_LD, 0, 0, 4), (_JEQ, 1, 0, arch), (_RET, 0, 0, _KILL), (_LD, 0, 0, 0)]
    program += [(_JEQ, "refuse", 0, numbers[name]) for name in REFUSED]
    program += [(_JEQ, "nosys", 0, numbers["clone3"]), (_JEQ, "clone", 0, numbers["clone"])]
    if machine == "x86_64":
        program.append((_JGE, "refuse", 0, X32_BIT))  # the x32 ABI's numbers of the same calls
    program.append((_RET, 0, 0, _ALLOW))
    labels = {"clone": len(program)}
    program += [(_LD, 0, 0, 16), (_JSET, "refuse", 0, CLONE_NAMESPACES), (_RET, 0, 0, _ALLOW)]
    labels["refuse"] = len(program)
    program.append((_RET, 0, 0, _ERRNO | 1))
    labels["nosys"] = len(program)
    program.append((_RET, 0, 0, _ERRNO | 38))
    return [(code, labels[jt] - index - 1 if isinstance(jt, str) else jt, jf, k)
            for index, (code, jt, jf, k) in enumerate(program)]


def _restrict_syscalls():
    """Install the filter on this process and everything it starts (needs no_new_privs, set first);
    raises OSError when the kernel refuses it."""
    program = _seccomp_program(os.uname().machine)
    if program is None:
        return

    class Instruction(ctypes.Structure):
        _fields_ = [("code", ctypes.c_ushort), ("jt", ctypes.c_ubyte), ("jf", ctypes.c_ubyte), ("k", ctypes.c_uint)]

    class Program(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(Instruction))]

    instructions = (Instruction * len(program))(*[Instruction(*op) for op in program])
    fprog = Program(len(program), instructions)
    if _libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "seccomp filter refused")


def _make_workdir(workdir):
    os.mkdir(workdir, 0o755)  # readable by the server, which checks it was left empty
    os.chdir(workdir)


def _run_source(source, path, namespace):
    """exec the untrusted source as __main__: (exit code, whether it ran to its end without raising)."""
    try:
        exec(compile(source, path, "exec"), namespace)
        return 0, True
    except SystemExit as exc:
        return (exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)), False
    except BaseException:
        try:
            traceback.print_exc()
        except BaseException:
            pass
        return 1, False


def _warm_child(config, job_r, stderr_fd, call_r, answer_w, workdir):
    """Forked ahead of its job, before the job's nonce exists: entered (uid, fds, scratch dir), it
    waits for the job, takes on its limits, and runs it. Untrusted from there on."""
    code = 1
    try:
        _enter([job_r, call_r, answer_w], stderr_fd, config["candidate_uid"])
        _restrict_syscalls()
        _make_workdir(workdir)
        job = _read_frame(job_r)
        os.close(job_r)
        if job is None:
            os._exit(0)
        for name, soft, hard in job["limits"]:
            resource.setrlimit(getattr(resource, name), (soft, hard))
        if config["guard"]:
            _python_guard(os.path.realpath(workdir), config["hidden"])
        if job["kind"] == "check":
            _serve_candidate(job, workdir, call_r, answer_w)
        os.close(call_r)
        os.close(answer_w)
        program = os.path.join(workdir, "program.py")
        sys.argv = [program]
        code = _run_source(job["source"], program,
                           {"__name__": "__main__", "__file__": program, "__builtins__": builtins})[0]
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except BaseException:
                pass
    finally:
        os._exit(code)


def _serve_candidate(job, workdir, call_r, answer_w):
    """Untrusted: run the solution, then answer the tests' calls of its named functions; never returns."""
    program = os.path.join(workdir, "solution.py")
    sys.argv = [program]
    namespace = {"__name__": "__main__", "__file__": program, "__builtins__": builtins}
    code, completed = _run_source(job["source"], program, namespace)
    if not completed:  # any exception, SystemExit included, fails it before a test runs
        os._exit(code)
    while True:
        call = _read_frame(call_r)
        if call is None:
            os._exit(0)
        try:
            name = call[0]
            if name not in job["names"] or name not in namespace:
                raise NameError(f"name {name!r} is not defined")
            function = namespace[name]
            args = _decode(call[1])
            kwargs = _decode(call[2])
            answer = ["ok", _encode(function(*args, **kwargs))]
        except BaseException as exc:
            try:
                message = str(exc)[:500]
            except BaseException:
                message = ""
            answer = ["raise", type(exc).__name__, message]
        _write_frame(answer_w, answer)


class _Warm:
    """The next job's process, forked ahead (after the previous job's cleanup). Its stderr is an
    unnamed in-memory file this server holds (bounded by RLIMIT_FSIZE): there is no name a program
    could link elsewhere, and the server reads it only through its own descriptor."""

    def __init__(self, config, number, tester):
        self.number = number
        self.workdir = os.path.join(config["workroot"], f"run{number}")
        self.stderr_fd = os.memfd_create("stderr", 0)
        job_r, self.job_w = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:
            _warm_child(config, job_r, self.stderr_fd, tester.call_r, tester.answer_w, self.workdir)
        os.close(job_r)

    def start(self, job):
        """Hand it its job (only what the untrusted process needs: never the tests, never the nonce)."""
        _write_frame(self.job_w, job)
        os.close(self.job_w)

    def stderr_tail(self):
        """The last STDERR_TAIL bytes its processes wrote to stderr; the descriptor is closed."""
        try:
            size = os.fstat(self.stderr_fd).st_size
            return os.pread(self.stderr_fd, STDERR_TAIL, max(0, size - STDERR_TAIL)).decode("utf-8", errors="replace")
        except OSError:
            return ""
        finally:
            os.close(self.stderr_fd)


def verdict_tag(nonce, passed, reason):
    """HMAC binding a verdict to its job's nonce (the harness recomputes it; see runner.py)."""
    message = f"{int(passed)}|{reason}".encode("utf-8", "surrogatepass")
    return hmac.new(bytes.fromhex(nonce), message, hashlib.sha256).hexdigest()


class CandidateError(Exception):
    """The solution's process failed to answer a call of the tests."""


class _Candidate:
    """The tests' view of one of the solution's functions: a call that crosses to the candidate process."""

    def __init__(self, call_w, answer_r, name):
        self._call_w, self._answer_r, self.__name__ = call_w, answer_r, name

    def __call__(self, *args, **kwargs):
        try:
            _write_frame(self._call_w, [self.__name__, _encode(list(args)), _encode(kwargs)])
            answer = _read_frame(self._answer_r)
        except (OSError, ValueError, TypeError) as exc:
            raise CandidateError(f"{NO_ANSWER} ({exc})") from None
        if answer is None or answer == ["ended"]:
            raise CandidateError(NO_ANSWER)
        if type(answer) is list and len(answer) == 2 and answer[0] == "ok":
            return _decode(answer[1])
        if type(answer) is list and len(answer) == 3 and answer[0] == "raise":
            name, message = str(answer[1])[:100], str(answer[2])[:500]
            kind = getattr(builtins, name, None)
            # never one that ends a loop of the tests' own making (map(candidate, ...) in all())
            if isinstance(kind, type) and issubclass(kind, Exception) and not issubclass(kind, LOOP_ENDING):
                try:
                    error = kind(message)
                except BaseException:
                    error = CandidateError(f"{name}: {message}")
            else:
                error = CandidateError(f"the solution raised {name}: {message}")
            raise error
        raise CandidateError("malformed answer from the solution's process")


def _check(job, call_w, answer_r):
    """(passed, reason): the prompt's helpers and the tests, in a fresh namespace, against the proxies
    (asserts always run: compiled unoptimized)."""
    namespace = {"__name__": "__check__", "__builtins__": builtins}
    try:
        proxies = {name: _Candidate(call_w, answer_r, name) for name in job["names"]}
        exec(compile(job["setup"], "<prompt>", "exec", optimize=0), namespace)
        namespace.update(proxies)  # tests may name them (HumanEval/33 does; assert-style tests only do)
        exec(compile(job["test"], "<test>", "exec", optimize=0), namespace)
        if job["entry_point"] is not None:
            namespace["check"](proxies[job["entry_point"]])
        return True, ""
    except BaseException as exc:
        try:
            detail = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
        except BaseException:
            detail = ""
        name = "" if isinstance(exc, CandidateError) else type(exc).__name__
        return False, ": ".join(p for p in (name, detail) if p) or type(exc).__name__


def _drain(fd):
    """Discard whatever is waiting in a pipe (frames a previous job's processes left)."""
    os.set_blocking(fd, False)
    try:
        while os.read(fd, 65536):
            pass
    except BlockingIOError:
        pass
    finally:
        os.set_blocking(fd, True)


def _tester_loop(config, job_r, verdict_w, call_w, answer_r):
    """Trusted, one per sandbox, forked before any program: under its own uid, it runs each job's
    tests and writes the verdict, bound to the job's nonce, on a pipe only it holds."""
    try:
        _enter([job_r, verdict_w, call_w, answer_r], None, config["tester_uid"])
        for name, soft, hard in config["tester_limits"]:  # answers are the candidate's to size
            resource.setrlimit(getattr(resource, name), (soft, hard))
        os.chdir("/")
        while True:
            job = _read_frame(job_r)
            if job is None:
                os._exit(0)
            _drain(answer_r)
            passed, reason = _check(job, call_w, answer_r)
            nonce = _read_frame(job_r)  # sent once the candidate was forked, never before
            if nonce is None:
                os._exit(0)
            _write_frame(verdict_w, {"passed": passed, "reason": reason,
                                     "tag": verdict_tag(nonce["nonce"], passed, reason)})
    finally:
        os._exit(1)


class _Tester:
    """The server's handle on the tests' process and the pipes between it and each candidate."""

    def __init__(self, config):
        job_r, self.job_w = os.pipe()
        self.verdict_r, verdict_w = os.pipe()
        self.call_r, call_w = os.pipe()
        answer_r, self.answer_w = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:
            _tester_loop(config, job_r, verdict_w, call_w, answer_r)
        for fd in (job_r, verdict_w, call_w, answer_r):
            os.close(fd)

    def close(self):
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except OSError:
            pass
        try:
            os.waitpid(self.pid, 0)
        except ChildProcessError:
            pass
        for fd in (self.job_w, self.verdict_r, self.call_r, self.answer_w):
            os.close(fd)


# ---------------------------------------------------------------- the fallback's audit hook


BLOCKED_EVENTS = frozenset({
    "socket.connect", "socket.bind", "socket.sendto", "socket.sendmsg", "os.system", "subprocess.Popen",
    "os.fork", "os.forkpty", "os.posix_spawn", "os.spawn", "os.exec", "os.kill", "os.killpg",
    "os.chmod", "os.chown", "os.putenv", "os.unsetenv", "ctypes.dlopen", "ctypes.dlsym", "ctypes.call_function",
    "ctypes.cdata", "sys.addaudithook", "os.setuid", "os.chdir", "os.chroot",
})
BLOCKED_MODULES = frozenset({"_posixsubprocess", "_ctypes"})  # native process creation, foreign calls
PATH_EVENTS = frozenset({"os.remove", "os.rmdir", "os.rename", "os.truncate", "shutil.rmtree", "os.mkdir", "os.symlink", "os.link"})
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


def _python_guard(workdir, hidden):
    """Fallback without namespaces: an audit hook (which Python code cannot remove) refuses writes
    outside the scratch dir, reading the hidden files (answer keys), network, process creation,
    signals and ctypes. Defense in depth only: the OS-level bounds there are the unprivileged uid
    and the rlimits."""
    own_proc = f"/proc/{os.getpid()}"

    def inside(path):
        if isinstance(path, int):
            return True
        real = os.path.realpath(os.fsdecode(path))
        return real == os.devnull or real == workdir or real.startswith(workdir + os.sep)

    def audit(event, args):
        if event in BLOCKED_EVENTS or (event == "import" and args and args[0] in BLOCKED_MODULES):
            raise PermissionError(f"{event} {args[0] if event == 'import' else ''} is not allowed in the sandbox")
        if event == "open":
            path, mode, flags = args
            if isinstance(path, (str, bytes)):
                real = os.path.realpath(os.fsdecode(path))
                if real.startswith("/proc/") and not real.startswith(own_proc):
                    raise PermissionError(f"reading {path!r} (another process) is not allowed")
                if any(real == h or real.startswith(h + "/") for h in hidden):
                    raise PermissionError(f"reading {path!r} is not allowed")
                if os.path.isdir(real) and not inside(path):
                    raise PermissionError(f"opening the folder {path!r} is not allowed")  # no dir_fd escapes
            writes = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
                isinstance(flags, int) and flags > 0 and flags & WRITE_FLAGS)
            if writes and not inside(path):
                raise PermissionError(f"writing {path!r} outside the scratch dir is not allowed")
        elif event in PATH_EVENTS and args and not all(inside(a) for a in args[:2] if isinstance(a, (str, bytes))):
            raise PermissionError(f"{event} outside the scratch dir is not allowed")

    sys.addaudithook(audit)


# ---------------------------------------------------------------- the server


def _free_bytes(folders):
    total = 0
    for folder in folders:
        try:
            stats = os.statvfs(folder)
        except OSError:
            continue
        total += stats.f_bavail * stats.f_frsize
    return total


def _raise(error):
    raise error


def _disk_use(config, workdir):
    """Bytes the job's files take: its scratch dir and, with a uid of its own, what that uid owns at
    the top of the shared folders (an unreadable folder of its own raises OSError)."""
    uid = config["candidate_uid"]
    roots = [workdir] if os.path.isdir(workdir) else []
    if uid is not None:
        for folder in config["wipe"]:
            try:
                roots += [e.path for e in os.scandir(folder)
                          if e.path != config["workroot"] and e.stat(follow_symlinks=False).st_uid == uid]
            except OSError:
                continue
    total = 0
    for root in roots:
        total += os.lstat(root).st_blocks * 512
        for folder, dirs, files in os.walk(root, onerror=_raise):
            for name in dirs + files:
                total += os.lstat(os.path.join(folder, name)).st_blocks * 512
    return total


def _over_disk(config, workdir, limit):
    """True when the job's own files take more than limit (counted under its uid, in a helper)."""
    uid = config["candidate_uid"]
    if uid is None:
        try:
            return _disk_use(config, workdir) > limit
        except OSError:
            return True
    read_end, write_end = os.pipe()
    helper = os.fork()
    if helper == 0:
        over = True
        try:
            os.setgroups([])
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)
            over = _disk_use(config, workdir) > limit
        finally:
            os.write(write_end, b"1" if over else b"0")
            os._exit(0)
    os.close(write_end)
    answer = os.read(read_end, 1)
    os.close(read_end)
    os.waitpid(helper, 0)
    return answer != b"0"


def _wait(pids, timeout, config, disk_bytes, workdir):
    """Wait until pids[0] ends; kill every pid's session at the timeout or when the job's files take
    more than disk_bytes. Returns (status, timed_out, over_disk). Without namespaces the watched
    filesystems' free space is polled, and only a drop beyond the limit makes the job's own files
    be counted (others' writes never stop it)."""
    pidfd = os.pidfd_open(pids[0])
    deadline = time.monotonic() + timeout
    watch = config["watch"]
    free_before = _free_bytes(watch) if watch else 0
    timed_out = over_disk = False
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                timed_out = True
                break
            if select.select([pidfd], [], [], min(remaining, POLL_S) if watch else remaining)[0]:
                break
            if watch and free_before - _free_bytes(watch) > disk_bytes and _over_disk(config, workdir, disk_bytes):
                over_disk = True
                break
    finally:
        os.close(pidfd)
    if timed_out or over_disk:
        for pid in pids:
            try:
                os.killpg(pid, signal.SIGKILL)
            except OSError:
                pass
    return os.waitpid(pids[0], 0)[1], timed_out, over_disk


def _reap():
    """Reap every child that has ended."""
    while True:
        try:
            if os.waitpid(-1, os.WNOHANG)[0] == 0:
                return
        except ChildProcessError:
            return


def _strays(config, tester):
    """True when a process of the job may still run: one of its uid (as root), or anything in this
    pid namespace but init, this server and the tests' process (bwrap as a normal user)."""
    uid = config["candidate_uid"]
    if uid is None and not config["namespace"]:
        return False  # no way to tell them from the user's own: their sessions were killed
    spared = {1, os.getpid(), tester.pid if tester else None}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or int(entry.name) in spared:
            continue
        if uid is None:
            return True
        try:
            with open(f"/proc/{entry.name}/status") as handle:
                line = next(line for line in handle if line.startswith("Uid:"))
        except (OSError, StopIteration):
            continue
        if int(line.split()[1]) == uid:
            return True
    return False


def _leftovers(config, workdir, own_files):
    """True unless the job left nothing: an empty (or absent) scratch dir, nothing else in the
    scratch root, no file of its uid in the shared folders and no IPC object of its making."""
    uid = config["candidate_uid"]
    try:
        folder = os.open(workdir, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except FileNotFoundError:
        folder = None
    except OSError:
        return True  # replaced by a link, or made unreadable: only its uid can clean it
    if folder is not None:
        try:
            if os.listdir(folder):
                return True
        except OSError:
            return True
        finally:
            os.close(folder)
    try:
        if set(os.listdir(config["workroot"])) - own_files:
            return True
    except OSError:
        return True
    keep = set(config["keep"]) | {config["workroot"]}
    for folder in config["wipe"]:
        try:
            for entry in os.scandir(folder):
                if entry.path not in keep and entry.stat(follow_symlinks=False).st_uid == uid:
                    return True
        except OSError:
            continue
    return bool(_ipc_objects(config))


def _ipc_objects(config):
    """(kind, id) of every SysV IPC object the job's uid made (its creator uid, which no IPC_SET
    changes); in a sandbox's own IPC namespace without a uid of its own, every object there."""
    uid = config["candidate_uid"]
    if uid is None and not config["namespace"]:
        return []  # the user's own objects look the same: the audit hook keeps programs from IPC
    found = []
    for kind in ("shm", "msg", "sem"):
        try:
            with open(f"/proc/sysvipc/{kind}", encoding="ascii", errors="replace") as handle:
                header = handle.readline().split()
                rows = [line.split() for line in handle]
        except OSError:
            continue
        for row in rows:
            try:
                if uid is None or int(row[header.index("cuid")]) == uid:
                    found.append((kind, int(row[1])))
            except (ValueError, IndexError):
                continue
    return found


def _remove_ipc(config):
    """IPC_RMID on every SysV IPC object of the job (as its uid: the creator may always remove)."""
    removers = {"shm": lambda ident: _libc.shmctl(ident, 0, None),
                "msg": lambda ident: _libc.msgctl(ident, 0, None),
                "sem": lambda ident: _libc.semctl(ident, 0, 0)}
    for kind, ident in _ipc_objects(config):
        removers[kind](ident)


def _wipe(config, workdir):
    """Remove the scratch dir, everything else in the scratch root, what the job's uid left in the
    shared folders (not the kept ones) and its IPC objects. Links are removed, never followed."""
    uid = config["candidate_uid"]
    keep = set(config["keep"]) | {config["workroot"]}
    shutil.rmtree(workdir, ignore_errors=True)
    _remove_ipc(config)
    for folder in [config["workroot"], *config["wipe"]]:
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.path in keep or (uid is not None and entry.stat(follow_symlinks=False).st_uid != uid):
                    continue
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path, ignore_errors=True)
                else:
                    os.unlink(entry.path)
            except OSError:
                pass


def _clean(config, workdir, pids, own_files):
    """Kill everything the job left running and wipe what it wrote (never the tests' process)."""
    uid = config["candidate_uid"]
    for pid in pids:
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            pass
        try:
            os.waitpid(pid, 0)  # dead before anything of the next job starts
        except ChildProcessError:
            pass
    _reap()
    tester = _TESTER[0]
    strays = _strays(config, tester)
    if uid is None:
        if strays and config["namespace"]:
            try:
                os.kill(-1, signal.SIGKILL)  # all of this pid namespace but init and this server
            except OSError:
                pass
            if tester is not None:  # it shares the uid: it went too
                tester.close()
                _TESTER[0] = None
        _wipe(config, workdir)
    elif not strays and not _leftovers(config, workdir, own_files):
        try:
            os.rmdir(workdir)  # empty, in a sticky folder this server owns
        except OSError:
            pass
    else:
        # a helper under the job's uid: kill(-1) from it reaches exactly that uid's processes, and
        # it can remove that uid's files, which this server, without CAP_DAC_OVERRIDE, cannot
        helper = os.fork()
        if helper == 0:
            try:
                os.setgroups([])
                os.setresgid(uid, uid, uid)
                os.setresuid(uid, uid, uid)
                try:
                    os.kill(-1, signal.SIGKILL)
                except OSError:
                    pass
                _wipe(config, workdir)
            finally:
                os._exit(0)
        os.waitpid(helper, 0)
    # nothing of this job may still hold a pipe end when the next one starts
    deadline = time.monotonic() + 5
    while True:
        _reap()
        if not strays or not _strays(config, _TESTER[0]) or time.monotonic() > deadline:
            break
        time.sleep(0.001)


_TESTER = [None]


def _wait_verdict(tester, candidate, request, config, workdir):
    """(verdict frame or None, timed_out, over_disk, candidate ended): wait for the tests' verdict;
    when the candidate ends first, tell the tests' process so (a frame the server writes)."""
    deadline = time.monotonic() + request["timeout"]
    watch = config["watch"]
    free_before = _free_bytes(watch) if watch else 0
    pidfd = os.pidfd_open(candidate)
    waiting = [tester.verdict_r, pidfd]
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None, True, False, pidfd not in waiting
            ready = select.select(waiting, [], [], min(remaining, POLL_S) if watch else remaining)[0]
            if tester.verdict_r in ready:
                try:
                    return _read_frame(tester.verdict_r), False, False, pidfd not in waiting
                except (OSError, ValueError):
                    return None, False, False, pidfd not in waiting
            if pidfd in ready:
                waiting.remove(pidfd)
                _write_frame(tester.answer_w, ["ended"])
            if watch and free_before - _free_bytes(watch) > request["disk_bytes"] and _over_disk(
                    config, workdir, request["disk_bytes"]):
                return None, False, True, pidfd not in waiting
    finally:
        os.close(pidfd)


def _job(config, request, warm):
    """Run one job in the warm child; (reply, cleanup to run once the reply is sent)."""
    started = time.monotonic()
    verdict = None
    untrusted = {"kind": request["kind"], "source": request["source"], "limits": request["limits"],
                 "names": request.get("names")}
    candidate = warm.pid
    if request["kind"] == "check":
        tester = _TESTER[0]
        # the tests start while the candidate sets up
        _write_frame(tester.job_w, {"setup": request["setup"], "test": request["test"],
                                    "entry_point": request["entry_point"], "names": request["names"]})
        warm.start(untrusted)
        nonce = _read_frame(0)  # the candidate was forked before this job even arrived
        _write_frame(tester.job_w, nonce)
        verdict, timed_out, over_disk, ended = _wait_verdict(tester, candidate, request, config, warm.workdir)
        if verdict is None:  # stopped, or it died: a fresh one for the next job
            tester.close()
            _TESTER[0] = None
        try:
            os.killpg(candidate, signal.SIGKILL)
        except OSError:
            pass
        # still answering when the tests were done: stopped now, reaped by the cleanup
        status = os.waitpid(candidate, 0)[1] if ended or verdict is None else None
    else:
        warm.start(untrusted)
        nonce = _read_frame(0)
        status, timed_out, over_disk = _wait([candidate], request["timeout"], config, request["disk_bytes"],
                                             warm.workdir)
    duration = time.monotonic() - started
    tail = warm.stderr_tail()
    reply = {"nonce": nonce["nonce"] if nonce else None, "status": status, "timed_out": timed_out,
             "over_disk": over_disk, "stderr": tail, "duration": duration, "verdict": verdict}

    def clean():
        _clean(config, warm.workdir, [candidate], {f"run{warm.number}"})
        if _TESTER[0] is not None:
            _drain(_TESTER[0].call_r)  # calls the candidate never read

    return reply, clean


def _distinct_filesystems(folders):
    seen, distinct = set(), []
    for folder in folders:
        try:
            device = os.stat(folder).st_dev
        except OSError:
            continue
        if device not in seen:
            seen.add(device)
            distinct.append(folder)
    return distinct


def main():
    config = json.loads(sys.argv[1])
    _prctl(PR_SET_DUMPABLE, 0)  # no ptrace, pidfd_getfd or /proc/<pid>/fd from the same uid
    _prctl(PR_SET_CHILD_SUBREAPER, 1)  # orphans of a job come back here to be reaped
    try:  # the server, the tests and the solution take turns: on one core, no cross-core wakeups
        os.sched_setaffinity(0, {config["cpu"]})
    except OSError:
        pass
    for module in PREIMPORTED:
        __import__(module)
    gc.collect()
    gc.freeze()  # forked children's collections never touch (and copy) the server's objects
    os.makedirs(config["workroot"], exist_ok=True)
    os.chmod(config["workroot"], 0o1777 if config["candidate_uid"] is not None else 0o700)
    config["watch"] = _distinct_filesystems(config["watch"])
    number = 1
    _TESTER[0] = _Tester(config)
    warm = _Warm(config, number, _TESTER[0])
    while True:
        request = _read_frame(0)
        if request is None:
            return
        reply, clean = _job(config, request, warm)
        _write_frame(1, reply)
        clean()  # while the harness reads the reply; the next job waits for it
        number += 1
        if _TESTER[0] is None:
            _TESTER[0] = _Tester(config)
        warm = _Warm(config, number, _TESTER[0])  # while the harness sends the next job


if __name__ == "__main__":  # `python -c`; the harness imports this module only for verdict_tag
    main()
