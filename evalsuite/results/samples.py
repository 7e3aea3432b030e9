"""The per-sample log (`samples/<benchmark>.jsonl`): one schema for every benchmark, bounded, written
atomically, read back by `score`, the leaderboard and the browser alike.

Every row has `item`, `score` (on the metric's 0-1 scale, None when unscored) and `group`, plus the
evidence its kind has (docs/architecture.md, "Samples", lists every field):

- lm-eval benchmarks: lm-eval's own `doc_id`, `doc`, `arguments` (the exact rendered requests, one
  list of arguments per request), `resps`, `filtered_resps` (of the headline filter), `target` and
  `metrics` (the per-item metric values, "metric" or "metric,filter");
- multiple choice: `loglikelihoods` (one per choice), `choice_texts`, `pred` (the chosen option's
  index) and `label`;
- generation: `response`, `extracted` and `extraction_rule` (the rule the task reports, else the
  headline filter's name, or "none" when nothing was extracted);
- code: `program`, `verdict` (passed/failed/timeout/error) and `reason`;
- judged: `turns` (the questions), `answers` (the model's, per turn) and `judge` (every request with
  its replies, parsed verdict, re-asks and failure).

Bounds: a string is cut at TEXT_CAP characters (CONTEXT_CAP inside `arguments`), a list at LIST_CAP
entries; a cut string ends with the marker TRUNCATION_MARK and the row's `truncated` maps the field's
path to its original length. Long lines repeated across requests (few-shot examples, a question asked
once per choice) are stored once: the file's first line is then a header
`{"samples_format": 2, "segments": [...]}` and a stored request context may be a list of parts, each a
literal string or the index of a segment; `read_samples` joins them back into the exact string.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any, Iterable

from evalsuite.results.store import UnreadableFile, loads_bounded, read_regular_file, write_text_atomic

SAMPLES_FORMAT = 2
TEXT_CAP = 16_000  # characters of any string field
CONTEXT_CAP = 200_000  # characters of a request's context (`arguments`; shared lines are stored once)
LIST_CAP = 200  # entries of any list (requests, choices, replies, judge calls)
TRUNCATION_MARK = "\u2026[truncated]"
SEGMENT_MIN_CHARS = 24  # shorter repeated lines stay inline: a reference would save little
MAX_SAMPLES_BYTES = 512 * 1024 * 1024
PARSE_FAILURE_PRED = "[invalid]"  # lm-eval's filters' value when no answer could be extracted
_LINE_END = re.compile(r"(?<=\n)")
_PARAGRAPH_END = re.compile(r"(?<=\n\n)(?!\n)")


def plain(value: Any) -> Any:
    """JSON-friendly copy of numpy/torch scalars and tuples."""
    if hasattr(value, "item") and not isinstance(value, (list, dict, str)):
        try:
            return value.item()
        except (TypeError, ValueError):
            return str(value)
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    return value


def lm_eval_evidence(sample: dict, filter_name: str | None = None) -> dict:
    """lm-eval's logged fields of a sample (its `--log_samples` schema, hashes aside): the exact
    requests, raw and filtered responses, target and per-item metrics (keyed "metric,filter" when
    `filter_name` is given)."""
    suffix = f",{filter_name}" if filter_name else ""
    return {
        "doc_id": sample.get("doc_id"),
        "doc": plain(sample.get("doc")),
        "arguments": plain(sample.get("arguments") or []),
        "resps": plain(sample.get("resps") or []),
        "filtered_resps": plain(sample.get("filtered_resps") or []),
        "target": plain(sample.get("target")),
        "metrics": {f"{name}{suffix}": plain(sample.get(name)) for name in sample.get("metrics") or []},
    }


def _bounded(value: Any, path: str, cap: int, truncated: dict[str, int]) -> Any:
    """A copy of value with strings cut at cap and lists at LIST_CAP, the cuts recorded by path."""
    if isinstance(value, str):
        if len(value) <= cap:
            return value
        truncated[path] = len(value)
        return value[:cap] + TRUNCATION_MARK
    if isinstance(value, (list, tuple)):
        if len(value) > LIST_CAP:
            truncated[path] = len(value)
        return [_bounded(v, f"{path}[{i}]", cap, truncated) for i, v in enumerate(value[:LIST_CAP])]
    if isinstance(value, dict):
        return {str(k): _bounded(v, f"{path}.{k}", cap, truncated) for k, v in value.items()}
    return value


def bound_row(row: dict) -> dict:
    """The row within the caps; `truncated` lists what was cut (absent when nothing was)."""
    truncated: dict[str, int] = {}
    bounded = {
        key: _bounded(value, key, CONTEXT_CAP if key == "arguments" else TEXT_CAP, truncated)
        for key, value in row.items() if key != "truncated"
    }
    if truncated:
        bounded["truncated"] = truncated
    return bounded


def _contexts(row: dict) -> Iterable[list]:
    """The requests of a row whose first argument is a string (their context)."""
    for request in row.get("arguments") or []:
        if isinstance(request, list) and request and isinstance(request[0], str):
            yield request


def _pieces(text: str, shared_paragraphs: set[str] | None) -> list[str]:
    """A context cut into paragraphs (each ending in a blank line); with `shared_paragraphs`, the
    paragraphs not in it are cut further into lines."""
    paragraphs = [p for p in _PARAGRAPH_END.split(text) if p]
    if shared_paragraphs is None:
        return paragraphs
    return [piece for p in paragraphs
            for piece in ([p] if p in shared_paragraphs else [line for line in _LINE_END.split(p) if line])]


def pack_rows(rows: list[dict]) -> tuple[list[str], list[dict]]:
    """Store repeated context text once: a request whose context is that of the row's first request
    becomes {"as": 0}; paragraphs (few-shot examples), else lines, of SEGMENT_MIN_CHARS or more that
    occur twice or more become segments, referenced by index from a list of parts. Returns (segments,
    rows) with the rows changed in place."""
    for row in rows:
        requests = list(_contexts(row))
        for request in requests[1:]:
            if request[0] == requests[0][0]:
                request[0] = {"as": 0}
    paragraphs: Counter[str] = Counter()
    for row in rows:
        for request in _contexts(row):
            paragraphs.update(p for p in _pieces(request[0], None) if len(p) >= SEGMENT_MIN_CHARS)
    shared_paragraphs = {p for p, n in paragraphs.items() if n >= 2}
    lines: Counter[str] = Counter()
    for row in rows:
        for request in _contexts(row):
            lines.update(p for p in _pieces(request[0], shared_paragraphs)
                         if p not in shared_paragraphs and len(p) >= SEGMENT_MIN_CHARS)
    shared: dict[str, int | None] = {p: None for p in shared_paragraphs}
    shared.update((line, None) for line, n in lines.items() if n >= 2)
    segments: list[str] = []
    for row in rows:
        for request in _contexts(row):
            parts: list[str | int] = []
            for piece in _pieces(request[0], shared_paragraphs):
                if piece in shared:
                    if shared[piece] is None:
                        shared[piece] = len(segments)
                        segments.append(piece)
                    parts.append(shared[piece])
                elif parts and isinstance(parts[-1], str):
                    parts[-1] += piece
                else:
                    parts.append(piece)
            if any(isinstance(p, int) for p in parts):
                request[0] = parts
    return segments, rows


def dumps_samples(rows: Iterable[dict]) -> str:
    """The samples file's text: the header line (only when lines are shared), then one bounded row per
    line."""
    bounded = [bound_row(row) for row in rows]
    segments, packed = pack_rows(bounded)
    header = {"samples_format": SAMPLES_FORMAT, "segments": segments}
    lines = [json.dumps(header, ensure_ascii=False)] if segments else []
    lines += [json.dumps(row, ensure_ascii=False, default=str) for row in packed]
    return "".join(line + "\n" for line in lines)


def write_samples(path: str | Path, rows: Iterable[dict]) -> None:
    """Write the samples file atomically (beside its result)."""
    write_text_atomic(path, dumps_samples(rows))


def _unpack(row: dict, segments: list[str]) -> None:
    """Rebuild the row's request contexts from their pieces; a context longer than the writer's cap
    (a file whose few bytes name one long segment many times) is refused before it is built."""
    requests = row.get("arguments") or []
    for request in requests:
        if not (isinstance(request, list) and request):
            continue
        context = request[0]
        try:
            if isinstance(context, list):
                pieces = [p if isinstance(p, str) else segments[p] for p in context]
                if sum(map(len, pieces)) > CONTEXT_CAP + len(TRUNCATION_MARK):
                    raise UnreadableFile(f"item {str(row.get('item'))[:40]!r} has a request longer than "
                                         f"{CONTEXT_CAP} characters")
                request[0] = "".join(pieces)
            elif isinstance(context, dict) and set(context) == {"as"}:
                request[0] = requests[context["as"]][0]
                if not isinstance(request[0], str):
                    raise TypeError("a reference to a request without context")
        except (IndexError, TypeError, KeyError) as err:
            raise UnreadableFile(f"item {str(row.get('item'))[:40]!r} names a missing segment or request") from err


def parse_samples(data: bytes) -> list[dict]:
    """Rows of a samples file's bytes (item and score present), request contexts rebuilt; torn lines
    (a killed writer) are skipped; UnreadableFile on anything else unusable."""
    segments: list[str] = []
    rows = []
    for line in data.splitlines():
        if not line.strip():
            continue
        try:
            row = loads_bounded(line)
        except UnreadableFile as err:
            if isinstance(err.__cause__, json.JSONDecodeError):
                continue
            raise
        if not isinstance(row, dict):
            continue
        if "samples_format" in row and not rows:
            found = row.get("segments") or []
            if not isinstance(found, list) or not all(isinstance(s, str) for s in found):
                raise UnreadableFile("the header's segments are not a list of strings")
            segments = found
        elif "item" in row and "score" in row:
            _unpack(row, segments)
            rows.append(row)
    return rows


def read_samples(path: str | Path, max_bytes: int = MAX_SAMPLES_BYTES) -> list[dict]:
    """The rows of a samples file (regular file, at most max_bytes); [] when it does not exist."""
    path = Path(path)
    if not path.exists():
        return []
    return parse_samples(read_regular_file(path, max_bytes))
