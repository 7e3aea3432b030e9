"""Reading result files, which may be hostile: every valid result under a folder; a bad one is skipped
with one line. Reading is bounded: regular files only (no FIFO or device is opened for reading), a size
limit, a nesting limit, integers of bounded length, finite scores of a sane magnitude, sample logs only
inside the results folder, and benchmark names that are plain file names."""

from __future__ import annotations

import math
import os
import sys
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Callable, Sequence

from evalsuite.errors import BadInputError
from evalsuite.leaderboard.benchmarks import BenchmarkInfo, benchmark_info
from evalsuite.leaderboard.names import is_plain_name
from evalsuite.results.samples import MAX_SAMPLES_BYTES, read_samples
from evalsuite.results.schema import validate_result
from evalsuite.results.store import WORK_FOLDER_MARK, UnreadableFile, loads_bounded, read_regular_file

MAX_RESULT_BYTES = 16 * 1024 * 1024
MAX_MAGNITUDE = 1e6  # no score, metric or subscore of a benchmark comes near this


def is_number(value: object) -> bool:
    """A finite int or float (not a bool)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def warn(message: str) -> None:
    """One line on stderr: what the leaderboard skipped and why."""
    print(f"leaderboard: {message}", file=sys.stderr)


@dataclass
class MeasuredResult:
    """One result file: a (model run, benchmark) pair and its per-sample rows when logged."""

    path: Path
    run: str  # the folder holding the result, relative to the results folder
    data: dict
    root: Path | None = None  # the results folder: sample logs must lie inside it
    display_name: str = ""
    shown: str = ""  # the file as listed: its path in its results folder (prefixed by the folder when several)
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

    @cached_property
    def info(self) -> BenchmarkInfo:
        """The benchmark as declared (or as stored, when it is no longer declared)."""
        return benchmark_info(self.benchmark, self.protocol)

    def samples(self) -> list[dict]:
        """Per-sample rows with an `item` and a `score` key ([] when no log was written or it is
        unreadable: then one line says why)."""
        if self._samples is None:
            self._samples = []
            rel = self.data.get("samples")
            if isinstance(rel, str) and rel:
                try:
                    self._samples = _read_samples(self.path.parent / rel, self.root or self.path.parent)
                except UnreadableFile as err:
                    warn(f"ignored the samples of {self.path}: {rel!r}: {err}")
        return self._samples


def _inside(path: Path, root: Path) -> bool:
    """Whether `path` resolves to a place inside `root`; UnreadableFile for a link that never
    resolves (`self.json -> self.json`: RuntimeError "Symlink loop" before Python 3.13, OSError after)."""
    try:
        resolved = path.resolve()
    except (RuntimeError, OSError) as err:
        raise UnreadableFile("a symlink loop (the link never resolves)") from err
    try:
        resolved.relative_to(root.resolve())
    except (ValueError, RuntimeError, OSError):
        return False
    return True


def _read_samples(path: Path, root: Path) -> list[dict]:
    if not _inside(path, root):
        raise UnreadableFile("outside the results folder")
    return read_samples(path, MAX_SAMPLES_BYTES)


def _numbers_are_sane(values: dict, where: str) -> None:
    for key, value in values.items():
        if is_number(value) and abs(value) > MAX_MAGNITUDE:
            raise UnreadableFile(f"{where} {key!r} is {value:.3g}, beyond ±{MAX_MAGNITUDE:g}")


def read_result(path: Path) -> dict:
    """One result file, validated and bounded; UnreadableFile says why it is not usable."""
    data = loads_bounded(read_regular_file(path, MAX_RESULT_BYTES))
    problems = validate_result(data)
    if problems:
        raise UnreadableFile(f"not an evalsuite result ({problems[0]})")
    if not is_plain_name(data["benchmark"]):
        raise UnreadableFile(f"benchmark name {data['benchmark']!r} is not a plain name")
    if not isinstance(data["model"]["name"], str) or not data["model"]["name"]:
        raise UnreadableFile("model.name is not a non-empty string")
    score = data["score"]
    if not is_number(score) or abs(score) > MAX_MAGNITUDE:
        raise UnreadableFile(f"score {score!r:.40} is not a finite number within ±{MAX_MAGNITUDE:g}")
    _numbers_are_sane(data["metrics"], "metric")
    _numbers_are_sane(data["subscores"], "subscore")
    return data


def _result_files(results_dir: Path) -> list[Path]:
    """Every *.json under results_dir without following symlinked folders; hidden files and folders
    (temp files of an atomic write in progress) left out, and so are a judged benchmark's working
    folders (marked by the run's `.lock`: official answer and judgment files, some of them JSON)."""
    found = []
    for folder, subfolders, files in os.walk(results_dir):
        subfolders[:] = sorted(d for d in subfolders
                               if not d.startswith(".") and not (Path(folder) / d / WORK_FOLDER_MARK).exists())
        found += [Path(folder) / f for f in files if f.endswith(".json") and not f.startswith(".")]
    return sorted(found)


def normalized_key(data: dict) -> str:
    """The metric key of a run's chance-normalized headline (evalsuite.runner.normalization)."""
    return f"{str(data['protocol'].get('metric') or '').split(',')[0]}_normalized"


def recorded_normalized(data: dict) -> float | None:
    """The chance-normalized headline (0-1) a run recorded, or None when absent or out of range."""
    value = data["metrics"].get(normalized_key(data))
    return float(value) if is_number(value) and 0 <= float(value) <= 1 else None


def _folders(results_dirs: str | Path | Sequence[str | Path]) -> list[Path]:
    """The results folders, each once; a missing one is a BadInputError (before anything is read)."""
    if isinstance(results_dirs, (str, Path)):
        results_dirs = [results_dirs]
    folders: list[Path] = []
    for folder in map(Path, results_dirs):
        if not folder.is_dir():
            raise BadInputError(f"results folder {folder} does not exist (or is not a folder)")
        if all(folder.resolve() != seen.resolve() for seen in folders):
            folders.append(folder)
    return folders


def collect_results(results_dirs: str | Path | Sequence[str | Path]) -> tuple[list[MeasuredResult], list[str]]:
    """Every valid result JSON under one or several results folders (e.g. runs from several machines;
    sorted by folder, then path), plus one line per skipped file. A missing folder is a BadInputError."""
    folders = _folders(results_dirs)
    found: list[MeasuredResult] = []
    skipped: list[str] = []
    for results_dir in folders:
        for path in _result_files(results_dir):
            shown = path.relative_to(results_dir).as_posix()
            if len(folders) > 1:
                shown = f"{results_dir.as_posix().rstrip('/')}/{shown}"
            try:
                if not _inside(path, results_dir):
                    raise UnreadableFile("a link to outside the results folder")
                data = read_result(path)
            except UnreadableFile as err:
                line = f"skipped {shown}: {err}"
                skipped.append(line)
                warn(line)
                continue
            run = path.parent.relative_to(results_dir).as_posix()
            result = MeasuredResult(path=path, run=run if run != "." else "", data=data, root=results_dir,
                                    shown=shown)
            if isinstance(result.info.chance, (dict, str)) and recorded_normalized(data) is None:
                line = f"skipped {shown}: no {normalized_key(data)} in [0, 1] recorded (its chance levels are per subtask)"
                skipped.append(line)
                warn(line)
                continue
            found.append(result)
    return found, skipped


def assign_display_names(results: list[MeasuredResult], names: dict[str, str] | None) -> None:
    """Name each model run: the configured display name (keyed by model name or run folder),
    else the result's `model.display_name`, else `model.name`; runs that would share a name
    while being different runs get their folder appended."""
    names = names or {}
    for result in results:
        model = result.data["model"]
        display = model.get("display_name")
        result.display_name = str(
            names.get(result.model_name)
            or names.get(result.run)
            or (display if isinstance(display, str) and display else None)
            or result.model_name
        )
    runs_by_name: dict[str, set[tuple[str, str]]] = {}
    for result in results:
        runs_by_name.setdefault(result.display_name, set()).add((result.run, result.model_name))
    for result in results:
        if len(runs_by_name[result.display_name]) > 1:
            result.display_name = f"{result.display_name} ({result.run or '.'})"


def _preference(result: MeasuredResult, comparable: Callable[[MeasuredResult], bool]) -> tuple:
    """Which of two results of one (model, benchmark) the leaderboard shows: a complete run (no
    --limit), then one comparable with the report's stated protocol, then more items, then the later."""
    return (not result.limited, comparable(result), result.data["n"],
            str(result.data["provenance"].get("finished_at") or ""))


def _why(kept: MeasuredResult, other: MeasuredResult, comparable: Callable[[MeasuredResult], bool]) -> str:
    if kept.limited != other.limited:
        return "is complete (no --limit)"
    if comparable(kept) != comparable(other):
        return "follows the report's stated protocol"
    if kept.data["n"] != other.data["n"]:
        return f"has more items ({kept.data['n']} vs {other.data['n']})"
    if _preference(kept, comparable) != _preference(other, comparable):
        return "finished later"
    return "comes first in path order"


def pick_results(results: list[MeasuredResult],
                 comparable: Callable[[MeasuredResult], bool]) -> tuple[list[MeasuredResult], list[str]]:
    """One result per (display name, benchmark): the most complete comparable one (`_preference`).
    Returns the kept results and one line per result left out, naming the one shown instead and why;
    results of other protocols are never dropped from disk, only from the tables."""
    kept: dict[tuple[str, str], MeasuredResult] = {}
    for result in results:
        key = (result.display_name, result.benchmark)
        if key not in kept or _preference(result, comparable) > _preference(kept[key], comparable):
            kept[key] = result
    lines = []
    for result in results:
        chosen = kept[(result.display_name, result.benchmark)]
        if chosen is not result:
            line = (f"skipped {result.shown}: same model and benchmark as {chosen.shown}, which "
                    f"{_why(chosen, result, comparable)} (shown instead)")
            lines.append(line)
            warn(line)
    return [r for r in results if kept[(r.display_name, r.benchmark)] is r], lines
