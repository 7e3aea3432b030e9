"""Reading result files: every valid result under a folder, malformed ones skipped in one line."""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field
from pathlib import Path

from evalsuite.errors import BadInputError
from evalsuite.results.schema import load_result
from evalsuite.results.store import read_jsonl


@dataclass
class MeasuredResult:
    """One result file: a (model run, benchmark) pair and its per-sample rows when logged."""

    path: Path
    run: str  # the folder holding the result, relative to the results folder
    data: dict
    display_name: str = ""
    _samples: list[dict] | None = field(default=None, repr=False)

    @property
    def benchmark(self) -> str:
        return self.data["benchmark"]

    @property
    def model_name(self) -> str:
        return str(self.data["model"]["name"])

    @property
    def protocol(self) -> dict:
        return self.data["protocol"]

    @property
    def score(self) -> float:
        return float(self.data["score"])

    @property
    def limited(self) -> bool:
        return self.protocol.get("limit") is not None

    def samples(self) -> list[dict]:
        """Per-sample rows with an `item` and a `score` key ([] when no log was written)."""
        if self._samples is None:
            rel = self.data.get("samples")
            rows = read_jsonl(self.path.parent / rel) if isinstance(rel, str) and rel else []
            self._samples = [r for r in rows if isinstance(r, dict) and "item" in r and "score" in r]
        return self._samples


def warn(message: str) -> None:
    """One line on stderr: what the leaderboard skipped and why."""
    print(f"leaderboard: {message}", file=sys.stderr)


def _check_score(result: dict, path: Path) -> None:
    score = result["score"]
    if not math.isfinite(float(score)):
        raise BadInputError(f"{path}: score is not a finite number")


def collect_results(results_dir: str | Path) -> tuple[list[MeasuredResult], list[str]]:
    """Every valid result JSON under results_dir (sorted by path), plus one line per skipped file."""
    results_dir = Path(results_dir)
    if not results_dir.is_dir():
        return [], []
    found: list[MeasuredResult] = []
    skipped: list[str] = []
    for path in sorted(results_dir.rglob("*.json")):
        if any(part.startswith(".") for part in path.relative_to(results_dir).parts):
            continue  # temp files of an atomic write in progress, hidden folders
        try:
            data = load_result(path)
            _check_score(data, path)
        except BadInputError as err:
            shown = path.relative_to(results_dir).as_posix()
            reason = str(err).removeprefix(f"{path}: ")
            line = f"skipped {shown}: {reason}"
            skipped.append(line)
            warn(line)
            continue
        run = path.parent.relative_to(results_dir).as_posix()
        found.append(MeasuredResult(path=path, run=run if run != "." else "", data=data))
    return found, skipped


def assign_display_names(results: list[MeasuredResult], names: dict[str, str] | None) -> None:
    """Name each model run: the configured display name (keyed by model name or run folder),
    else the result's `model.display_name`, else `model.name`; runs that would share a name
    while being different runs get their folder appended."""
    names = names or {}
    for result in results:
        model = result.data["model"]
        result.display_name = str(
            names.get(result.model_name)
            or names.get(result.run)
            or model.get("display_name")
            or result.model_name
        )
    runs_by_name: dict[str, set[tuple[str, str]]] = {}
    for result in results:
        runs_by_name.setdefault(result.display_name, set()).add((result.run, result.model_name))
    for result in results:
        if len(runs_by_name[result.display_name]) > 1:
            result.display_name = f"{result.display_name} ({result.run or '.'})"


def drop_duplicates(results: list[MeasuredResult]) -> list[MeasuredResult]:
    """Keep one result per (display name, benchmark): the latest finished; say which was dropped."""
    def finished(result: MeasuredResult) -> str:
        return str(result.data["provenance"].get("finished_at") or "")

    kept: dict[tuple[str, str], MeasuredResult] = {}
    for result in results:
        key = (result.display_name, result.benchmark)
        other = kept.get(key)
        if other is None:
            kept[key] = result
            continue
        newer, older = (result, other) if finished(result) > finished(other) else (other, result)
        kept[key] = newer
        warn(f"skipped {older.path}: same model and benchmark as {newer.path}, which finished later")
    return [r for r in results if kept[(r.display_name, r.benchmark)] is r]
