"""Atomic writes and the on-disk layout of results: results/<model_slug>/<benchmark>.json."""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any, Iterable


def model_slug(name: str) -> str:
    """File-system-safe name of a model: the last path component, odd characters replaced."""
    base = name.rstrip("/").split("/")[-1] or "model"
    return re.sub(r"[^A-Za-z0-9._-]+", "_", base)


def result_path(output_path: str | Path, slug: str, benchmark: str) -> Path:
    """Where the result JSON of (model, benchmark) lives."""
    return Path(output_path) / slug / f"{benchmark}.json"


def samples_path(output_path: str | Path, slug: str, benchmark: str) -> Path:
    """Where the per-sample log of (model, benchmark) lives."""
    return Path(output_path) / slug / "samples" / f"{benchmark}.jsonl"


def write_bytes_atomic(path: str | Path, data: bytes) -> None:
    """Write bytes to path via a temp file in the same folder and an atomic rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


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


def read_jsonl(path: str | Path) -> list[dict]:
    """Read JSON lines, skipping a torn last line left by a killed writer."""
    rows: list[dict] = []
    path = Path(path)
    if not path.exists():
        return rows
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            line = line.strip()
            if not line:
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return rows
