"""Append-only caches of answers and judgments that survive kill -9 (fsynced JSON lines).

Answers are keyed by (model fingerprint, question, turn, decoding settings); judgments by
(judge model, prompt name, question, turn, hash of the rendered judge messages, repeat). The hash
covers the answer, the question and the reference, so a changed answer is judged again.
"""

from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path
from typing import Iterable

from evalsuite.results.store import append_jsonl, read_jsonl


def stable_hash(obj: object, length: int = 16) -> str:
    """Short sha256 of a JSON-serializable object (sorted keys)."""
    text = json.dumps(obj, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:length]


class JsonlCache:
    """Rows of a JSON-lines file indexed by the tuple of `key_fields`; later rows win."""

    def __init__(self, path: Path, key_fields: Iterable[str]):
        self.path = Path(path)
        self.key_fields = tuple(key_fields)
        self._rows: dict[tuple, dict] = {}
        self._lock = threading.Lock()
        for row in read_jsonl(self.path):
            if all(field in row for field in self.key_fields):
                self._rows[self.key_of(row)] = row

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


def _freeze(value: object) -> object:
    return tuple(_freeze(v) for v in value) if isinstance(value, list) else value


ANSWER_KEY = ("model_fingerprint", "question_id", "turn", "temperature", "max_new_tokens")
JUDGMENT_KEY = ("judge_model", "prompt_name", "question_id", "turn", "input_hash", "repeat")
