"""Atomic writes, bounded reads, the on-disk layout of results (results/<model_slug>/<benchmark>[.<identity>].json)
and evalsuite's cache folder."""

from __future__ import annotations

import json
import os
import re
import stat
import tempfile
import threading
from pathlib import Path
from typing import Any, Iterable

from evalsuite.errors import BadInputError


def cache_root() -> Path:
    """evalsuite's cache folder: $EVALSUITE_CACHE, else $XDG_CACHE_HOME/evalsuite, else ~/.cache/evalsuite."""
    if os.environ.get("EVALSUITE_CACHE"):
        return Path(os.environ["EVALSUITE_CACHE"])
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "evalsuite"


def model_slug(name: str) -> str:
    """File-system-safe name of a model: the last path component, odd characters replaced, never
    `.`/`..` or a hidden name (a model id read from a file must not become a path outside the results)."""
    base = name.rstrip("/").split("/")[-1]
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", base).lstrip(".")
    return slug[:128] or "model"


def result_path(output_path: str | Path, slug: str, benchmark: str) -> Path:
    """The plain result file of (model, benchmark); results of other protocols are keyed beside it
    (evalsuite.results.identity.locate_result)."""
    return Path(output_path) / slug / f"{benchmark}.json"


SYSTEM_TREES = (Path("/proc"), Path("/sys"), Path("/dev"))
# Held in a judged benchmark's working folder (results/<model>/<benchmark>/) while a run writes it; it
# stays there, marking the folder of official answer/judgment files that are not evalsuite results.
WORK_FOLDER_MARK = ".lock"


def check_output_folder(path: str | Path, flag: str = "--output_path") -> Path:
    """The output folder, checked before any work (nothing is created): a folder or a path that can
    become one, outside /proc, /sys and /dev, writable. Any problem is one BadInputError line."""
    folder = Path(path).expanduser().absolute()
    if any(folder == tree or tree in folder.parents for tree in SYSTEM_TREES):
        raise BadInputError(f"{flag} {path} lies in a system folder ({folder.parts[1]}): choose a results folder")
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        what = "is a file" if existing == folder else f"lies below the file {existing}"
        raise BadInputError(f"{flag} {path} {what}, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise BadInputError(f"{flag} {path} cannot hold results ({existing} is not writable)")
    return folder


def write_bytes_atomic(path: str | Path, data: bytes) -> None:
    """Write bytes to path via a temp file in the same folder and an atomic rename.

    The file gets the usual permissions (0666 less the umask), not mkstemp's private 0600."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fchmod(handle.fileno(), 0o666 & ~_umask())
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def write_text_atomic(path: str | Path, text: str) -> None:
    """Write UTF-8 text to path atomically."""
    write_bytes_atomic(path, text.encode("utf-8"))


def write_json_atomic(path: str | Path, obj: Any) -> None:
    """Write obj as pretty JSON, atomically."""
    write_text_atomic(path, json.dumps(obj, indent=2, ensure_ascii=False, default=str) + "\n")


def write_jsonl_atomic(path: str | Path, rows: Iterable[dict]) -> None:
    """Write rows as JSON lines, atomically."""
    text = "".join(json.dumps(row, ensure_ascii=False, default=str) + "\n" for row in rows)
    write_text_atomic(path, text)


def append_jsonl(path: str | Path, row: dict) -> None:
    """Append one JSON line and fsync it (caches that must survive kill -9)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
        handle.flush()
        os.fsync(handle.fileno())


MAX_JSON_DEPTH = 64  # result and sample objects nest a few levels; deeper is hostile input
MAX_INT_DIGITS = 30  # counts and ids; longer integers (thousands of digits) are hostile input


class UnreadableFile(ValueError):
    """A file that is not a bounded, regular, well-formed input (the message says why, in a line)."""


def read_regular_file(path: str | Path, max_bytes: int) -> bytes:
    """The bytes of a regular file of at most max_bytes; FIFOs, devices and folders are refused
    without blocking (opened non-blocking, checked with fstat before reading)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as err:
        raise UnreadableFile(f"cannot open: {err.strerror}") from err
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise UnreadableFile("not a regular file")
        if info.st_size > max_bytes:
            raise UnreadableFile(f"larger than {max_bytes} bytes")
        data = handle.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise UnreadableFile(f"larger than {max_bytes} bytes")
    return data


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise UnreadableFile(f"an integer with {len(text.lstrip('-'))} digits")
    return int(text)


def _depth(value: Any) -> int:
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, (dict, list)):
            deepest = max(deepest, level)
            if deepest > MAX_JSON_DEPTH:
                return deepest
            stack.extend((child, level + 1) for child in (node.values() if isinstance(node, dict) else node))
    return deepest


def loads_bounded(text: str | bytes) -> Any:
    """json.loads for untrusted text: UTF-8 only, nesting at most MAX_JSON_DEPTH, integers of at
    most MAX_INT_DIGITS digits; every failure is an UnreadableFile with a one-line reason."""
    try:
        if isinstance(text, bytes):
            text = text.decode("utf-8")
        value = json.loads(text, parse_int=_bounded_int)
    except UnicodeDecodeError as err:
        raise UnreadableFile(f"not UTF-8 (byte {err.start})") from err
    except RecursionError as err:
        raise UnreadableFile(f"nested deeper than {MAX_JSON_DEPTH} levels") from err
    except json.JSONDecodeError as err:
        raise UnreadableFile(f"not JSON ({err.msg}, line {err.lineno})") from err
    except ValueError as err:
        raise UnreadableFile(str(err).splitlines()[0]) from err
    if text.count("[") + text.count("{") > MAX_JSON_DEPTH and _depth(value) > MAX_JSON_DEPTH:
        raise UnreadableFile(f"nested deeper than {MAX_JSON_DEPTH} levels")
    return value


class JsonlCache:
    """Append-only, fsynced JSON-lines rows indexed by the tuple of `key_fields`; later rows win.

    The judge's answers are keyed by evalsuite/judging/client.py's ANSWER_KEY, its judgments by
    JUDGMENT_KEY (the input hash covers the answer, the question and the reference, so a changed
    answer is judged again). A line torn by kill -9 is
    repaired on open (kept if it is a whole row, cut otherwise), so the next append starts on a
    fresh line instead of being glued onto the fragment.
    """

    def __init__(self, path: Path, key_fields: Iterable[str]):
        self.path = Path(path)
        self.key_fields = tuple(key_fields)
        self._rows: dict[tuple, dict] = {}
        self._lock = threading.Lock()
        repair_torn_tail(self.path)
        for row in _cache_rows(self.path):
            if isinstance(row, dict) and all(field in row for field in self.key_fields):
                try:
                    self._rows[self.key_of(row)] = row
                except TypeError:  # an unhashable key value: a foreign row, not ours
                    continue

    def key_of(self, row: dict) -> tuple:
        """The cache key of a row."""
        return tuple(_freeze(row[field]) for field in self.key_fields)

    def get(self, key: tuple) -> dict | None:
        """The cached row for a key, or None."""
        return self._rows.get(key)

    def put(self, row: dict) -> None:
        """Append a row durably and index it (thread-safe: the judge writes from worker threads)."""
        with self._lock:
            append_jsonl(self.path, row)
            self._rows[self.key_of(row)] = row

    def __len__(self) -> int:
        return len(self._rows)

    def rows(self) -> list[dict]:
        """All indexed rows (one per key)."""
        return list(self._rows.values())


def repair_torn_tail(path: Path) -> None:
    """Make a JSON-lines file end with a newline: finish a whole last row, cut a torn fragment."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return
    if size == 0:
        return
    with open(path, "rb+") as handle:
        handle.seek(size - 1)
        if handle.read(1) == b"\n":
            return
        # find the start of the last line (scan back in blocks: the file can be large)
        position, block = size, 1 << 16
        start = 0
        while position > 0:
            step = min(block, position)
            position -= step
            handle.seek(position)
            chunk = handle.read(step)
            newline = chunk.rfind(b"\n")
            if newline != -1:
                start = position + newline + 1
                break
        handle.seek(start)
        tail = handle.read()
        try:
            whole = isinstance(json.loads(tail.decode("utf-8")), dict)
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
            whole = False
        if whole:
            handle.seek(size)
            handle.write(b"\n")
        else:
            handle.truncate(start)
        handle.flush()
        os.fsync(handle.fileno())


def _freeze(value: object) -> object:
    return tuple(_freeze(v) for v in value) if isinstance(value, list) else value


def _cache_rows(path: Path) -> list[Any]:
    """The rows of a cache file (none when it does not exist); BadInputError naming a line that is
    not JSON (a torn last line is repaired before)."""
    if not path.is_file():
        return []
    rows, number = [], 0
    try:
        with open(path, encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if line.strip():
                    rows.append(json.loads(line))
    except (ValueError, RecursionError) as err:  # UnicodeDecodeError and JSONDecodeError included
        raise BadInputError(f"{path}: line {number + isinstance(err, UnicodeDecodeError)} is not valid JSON "
                            f"({type(err).__name__}); delete the cache file to start it afresh") from None
    return rows
