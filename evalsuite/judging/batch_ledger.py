"""The record of a benchmark's Batch API work, kept so that no request is ever paid for twice.

<benchmark work folder>/batches/
    ledger.jsonl              append-only, fsynced events (a line torn by kill -9 is repaired on open):
        {"event": "uploaded", "file_id", "lines": {custom_id: request_hash}}   after the upload
        {"event": "created", "batch_id", "file_id", "lines": {...}}             right after the batch exists
        {"event": "finished", "batch_id", "status"}                             after its results are saved
        {"event": "consumed", "custom_ids": [...]}                              replies handed to judgments
    <batch_id>.results.jsonl  each line's outcome as read back (written atomically before "finished")

A rerun reads it: a finished batch's replies not yet handed out serve requests with the same hash, a
batch created but not finished is polled again (re-attached), and only the rest is submitted.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from evalsuite.data.local import read_jsonl
from evalsuite.results.store import append_jsonl, repair_torn_tail, write_jsonl_atomic

LEDGER_NAME = "ledger.jsonl"


def request_hash(body: dict) -> str:
    """The hash of a request body (key order ignored): what a reply is matched to across runs."""
    text = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


@dataclass
class LedgerBatch:
    """One created batch: its lines (custom_id -> request hash) and, once finished, its status."""

    batch_id: str
    file_id: str
    lines: dict[str, str]
    status: str | None = None  # the terminal status, once its results are saved

    @property
    def finished(self) -> bool:
        return self.status is not None


@dataclass
class BatchLedger:
    """The ledger of one benchmark's output folder (see the module docstring)."""

    folder: Path
    batches: dict[str, LedgerBatch] = field(default_factory=dict)
    uploads: dict[str, dict[str, str]] = field(default_factory=dict)  # file_id -> lines, not yet a batch
    consumed: set[str] = field(default_factory=set)
    next_line: int = 0  # the number of the next custom_id ("req-<n>"): unique in the ledger

    @classmethod
    def open(cls, folder: Path) -> "BatchLedger":
        """Read the ledger under `folder` (empty when there is none)."""
        ledger = cls(Path(folder))
        path = ledger.path
        if not path.is_file():
            return ledger
        repair_torn_tail(path)
        for event in read_jsonl(path):
            if isinstance(event, dict):
                ledger._apply(event)
        return ledger

    @property
    def path(self) -> Path:
        return self.folder / LEDGER_NAME

    def _apply(self, event: dict) -> None:
        kind = event.get("event")
        lines = event.get("lines") if isinstance(event.get("lines"), dict) else {}
        if kind == "uploaded":
            self.uploads[str(event["file_id"])] = lines
        elif kind == "created":
            self.uploads.pop(str(event["file_id"]), None)
            self.batches[str(event["batch_id"])] = LedgerBatch(str(event["batch_id"]), str(event["file_id"]), lines)
        elif kind == "finished" and event.get("batch_id") in self.batches:
            self.batches[event["batch_id"]].status = str(event.get("status"))
        elif kind == "consumed":
            self.consumed.update(str(c) for c in event.get("custom_ids") or [])
        for custom_id in lines:
            number = custom_id.rpartition("-")[2]
            if number.isdigit():
                self.next_line = max(self.next_line, int(number) + 1)

    def _append(self, event: dict) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        append_jsonl(self.path, event)
        self._apply(event)

    def new_custom_ids(self, count: int) -> list[str]:
        """`count` custom_ids no line of this ledger has used."""
        ids = [f"req-{self.next_line + k}" for k in range(count)]
        self.next_line += count
        return ids

    def uploaded(self, file_id: str, lines: dict[str, str]) -> None:
        self._append({"event": "uploaded", "file_id": file_id, "lines": lines})

    def created(self, batch_id: str, file_id: str, lines: dict[str, str]) -> None:
        self._append({"event": "created", "batch_id": batch_id, "file_id": file_id, "lines": lines})

    def finished(self, batch_id: str, status: str, results: dict[str, dict]) -> None:
        """Save a terminal batch's line outcomes, then mark it finished (in that order: a finished batch
        always has its results on disk)."""
        write_jsonl_atomic(self.results_path(batch_id), [{"custom_id": c, **r} for c, r in results.items()])
        self._append({"event": "finished", "batch_id": batch_id, "status": status})

    def consume(self, custom_ids: list[str]) -> None:
        if custom_ids:
            self._append({"event": "consumed", "custom_ids": custom_ids})

    def results_path(self, batch_id: str) -> Path:
        return self.folder / f"{_file_safe(batch_id)}.results.jsonl"

    def results(self, batch_id: str) -> dict[str, dict]:
        """The saved line outcomes of a finished batch (custom_id -> outcome)."""
        path = self.results_path(batch_id)
        rows = read_jsonl(path) if path.is_file() else []
        return {str(r.pop("custom_id")): r for r in rows if isinstance(r, dict) and "custom_id" in r}


def _file_safe(name: str) -> str:
    """A batch id as a file name (ids come from the endpoint: nothing but [A-Za-z0-9_-] is kept)."""
    kept = "".join(ch if ch.isascii() and (ch.isalnum() or ch in "-_") else "_" for ch in name)[:100]
    return f"{kept}-{hashlib.sha256(name.encode('utf-8', 'replace')).hexdigest()[:8]}"
