"""Provenance block of a result: versions, git commit, data source, timing, host."""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import socket
import subprocess
import evalsuite
from evalsuite import REPO_ROOT


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def git_commit() -> str | None:
    """The commit of the evalsuite checkout (with '+dirty' for local changes), or None."""
    try:
        commit = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "rev-parse", "HEAD"],
            capture_output=True, text=True, timeout=5, check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True, text=True, timeout=5, check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return commit + ("+dirty" if dirty else "")


def iso(timestamp: float) -> str:
    """UTC ISO-8601 time of a POSIX timestamp."""
    return dt.datetime.fromtimestamp(timestamp, tz=dt.timezone.utc).isoformat(timespec="seconds")


def build_provenance(data: dict, started_at: float, finished_at: float, **extra: object) -> dict:
    """Provenance of one result: `data` is {"source": "hf|local|package", "path": ..., "revision": ...}."""
    block = {
        "evalsuite": evalsuite.__version__,
        "lm_eval": _version("lm_eval"),
        "transformers": _version("transformers"),
        "torch": _version("torch"),
        "git_commit": git_commit(),
        "data": data,
        "started_at": iso(started_at),
        "finished_at": iso(finished_at),
        "duration_s": round(finished_at - started_at, 3),
        "host": socket.gethostname(),
    }
    block.update(extra)
    return block
