"""Completions generated elsewhere, scored exactly as `run` scores a model's (the `score` command).

The completions are replayed through lm-eval as if a model had produced them: `ReplayLM`
(evalsuite/models/replay.py) answers each generation request of the benchmark's own lm-eval task with
the recorded completion of that item, so the task's own filters, `process_results` and aggregation
score them and the runner writes the same result and samples files as `run`. One scorer per benchmark, shared by `run` and `score`, with no scoring code here.

A samples row names its item by the benchmark's own id (the declaration's `external.id_field`) or by
`doc_id` (its 0-based position in the official test split), or by both when they name the same item
(a row giving two different items is an error: neither wins), and carries the model's text in
`completion` (`external.text_field`). Missing, duplicate or unknown items are one-line errors before
any scoring; `--allow_missing` scores a subset instead, recorded as a limit (not comparable).
"""

from __future__ import annotations

import hashlib
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evalsuite.declarations import Benchmark, check_task_yamls
from evalsuite.errors import BadInputError
from evalsuite.models.loader import LoadedModel
from evalsuite.models.replay import replay_lm
from evalsuite.results.samples import parse_samples
from evalsuite.results.store import (
    UnreadableFile, check_output_folder, loads_bounded, model_slug, read_regular_file,
)
from evalsuite.runner.engines import LmEvalEngine, engine_class
from evalsuite.runner.lm_eval_backend import evaluate_benchmark, task_manager
from evalsuite.runner.options import RunOptions

MAX_SAMPLES_BYTES = 1 << 30  # a completions file of a whole benchmark is megabytes; 1 GiB is hostile
EXTERNAL_MODEL_TYPE = "external"


@dataclass(frozen=True)
class Completion:
    """One row of a completions file: the item it names and the model's text."""

    line: int
    key: str  # "id:<the benchmark's own id>" or "doc:<doc_id>"
    text: str
    doc_key: str | None = None  # "doc:<doc_id>" when the row names its item both ways (must agree)


def read_completions(path: str | Path, benchmark: Benchmark) -> list[Completion]:
    """The rows of a JSONL completions file; any malformed line is a BadInputError naming it."""
    assert benchmark.external is not None
    id_field, text_field = benchmark.external.id_field, benchmark.external.text_field
    try:
        data = read_regular_file(path, MAX_SAMPLES_BYTES)
    except UnreadableFile as err:
        raise BadInputError(f"--samples {path}: {err}") from err
    if _is_samples_file(data):
        return _completions_of_samples(data, benchmark, path)
    rows: list[Completion] = []
    for number, line in enumerate(data.split(b"\n"), start=1):
        if not line.strip():
            continue
        try:
            row = loads_bounded(line)
        except UnreadableFile as err:
            raise BadInputError(f"--samples {path} line {number}: {err}") from err
        if not isinstance(row, dict):
            raise BadInputError(f"--samples {path} line {number}: not a JSON object")
        text = row.get(text_field)
        if not isinstance(text, str):
            raise BadInputError(f"--samples {path} line {number}: '{text_field}' must be a string")
        key, doc_key = _row_keys(row, id_field, path, number)
        rows.append(Completion(number, key, text, doc_key))
    if not rows:
        raise BadInputError(f"--samples {path} holds no completions")
    return rows


def _is_samples_file(data: bytes) -> bool:
    """True for an evalsuite samples file (its header, or rows with `item`, `score` and a reply)."""
    first = data.split(b"\n", 1)[0]
    try:
        row = loads_bounded(first)
    except UnreadableFile:
        return False
    return isinstance(row, dict) and ("samples_format" in row or (
        "item" in row and "score" in row and ("response" in row or "completion" in row)))


def _completions_of_samples(data: bytes, benchmark: Benchmark, path: str | Path) -> list[Completion]:
    """The replies of a run's samples file (evalsuite/results/samples.py), to score them again: each
    row's `response` (or `completion`), named by `doc_id` or by its item id."""
    try:
        rows = parse_samples(data)
    except UnreadableFile as err:
        raise BadInputError(f"--samples {path}: {err}") from err
    by_doc = benchmark.external is not None and benchmark.external.id_field == "doc_id"
    completions = []
    for number, row in enumerate(rows, start=1):
        text = row.get("response", row.get("completion"))
        if not isinstance(text, str):
            raise BadInputError(f"--samples {path}: item {str(row.get('item'))[:40]!r} has no text reply to score")
        key = f"doc:{row.get('doc_id')}" if by_doc else f"id:{row.get('item')}"
        completions.append(Completion(number, key, text))
    if not completions:
        raise BadInputError(f"--samples {path} holds no completions")
    return completions


def _row_keys(row: dict, id_field: str, path: str | Path, number: int) -> tuple[str, str | None]:
    """The row's item key (its own id where given, else its doc_id) and, when it gives both, the doc_id key."""
    has_id, has_doc = id_field in row and id_field != "doc_id", "doc_id" in row
    if not has_id and not has_doc:
        raise BadInputError(f"--samples {path} line {number}: name the item by '{id_field}' or by 'doc_id'")
    doc_key = None
    if has_doc:
        doc_id = row["doc_id"]
        if isinstance(doc_id, bool) or not isinstance(doc_id, int) or doc_id < 0:
            raise BadInputError(f"--samples {path} line {number}: doc_id must be a non-negative integer")
        doc_key = f"doc:{doc_id}"
        if not has_id:
            return doc_key, None
    value = row[id_field]
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise BadInputError(f"--samples {path} line {number}: '{id_field}' must be a string or an integer")
    return f"id:{value}", doc_key


@dataclass(frozen=True)
class ItemIndex:
    """Where each item of a benchmark lies: lm-eval task name and doc_id, by both kinds of key."""

    locations: dict[str, tuple[str, int]]  # row key -> (task name, doc_id)
    total: int  # items in the benchmark's test split(s)
    tasks: tuple[str, ...] = ()  # the lm-eval task names indexed


def item_index(benchmark: Benchmark, tasks: dict[str, Any]) -> ItemIndex:
    """Index the evaluation docs of the benchmark's lm-eval task(s) (a group: every subtask).

    `doc_id` keys are positions in the official test split, so they exist only for single-task
    benchmarks; a group's items are named by the benchmark's own id."""
    assert benchmark.external is not None
    id_field = benchmark.external.id_field
    locations: dict[str, tuple[str, int]] = {}
    total = 0
    for task_name, task in sorted(tasks.items()):
        for doc_id, doc in enumerate(task.eval_docs):
            total += 1
            if len(tasks) == 1:
                locations[f"doc:{doc_id}"] = (task_name, doc_id)
            if id_field in doc:
                key = f"id:{doc[id_field]}"
                if key in locations:
                    raise BadInputError(f"{benchmark.name}: item id {doc[id_field]!r} is not unique in the data")
                locations[key] = (task_name, doc_id)
    return ItemIndex(locations, total, tuple(sorted(tasks)))


def match_completions(
    benchmark: Benchmark, rows: list[Completion], index: ItemIndex, allow_missing: bool
) -> dict[tuple[str, int], str]:
    """Completion text per (task name, doc_id); unknown, duplicate or (unless allowed) missing items
    are one-line errors."""
    matched: dict[tuple[str, int], str] = {}
    first_line: dict[tuple[str, int], int] = {}
    for row in rows:
        location = index.locations.get(row.key)
        if location is None:
            kind, _, value = row.key.partition(":")
            name = "doc_id" if kind == "doc" else benchmark.external.id_field  # type: ignore[union-attr]
            raise BadInputError(f"--samples line {row.line}: unknown {benchmark.name} item {name}={value}")
        if row.doc_key is not None and index.locations.get(row.doc_key) != location:
            _, _, given = row.doc_key.partition(":")
            id_value = row.key.partition(":")[2]
            actual = f"doc_id {location[1]}" if len(index.tasks) == 1 else f"task {location[0]}"
            raise BadInputError(
                f"--samples line {row.line}: {benchmark.external.id_field}={id_value} is {actual}, "  # type: ignore[union-attr]
                f"not doc_id {given}; give one of them, or both naming the same item"
            )
        if location in matched:
            raise BadInputError(
                f"--samples line {row.line}: duplicate {benchmark.name} item (also on line {first_line[location]})"
            )
        matched[location] = row.text
        first_line[location] = row.line
    missing = index.total - len(matched)
    if missing and not allow_missing:
        raise BadInputError(
            f"--samples covers {len(matched)} of {index.total} {benchmark.name} items ({missing} missing); "
            "pass --allow_missing to score the subset (marked not comparable)"
        )
    return matched


def file_digest(path: str | Path) -> str:
    """sha256 of the completions file (recorded, and part of the response cache's key)."""
    return hashlib.sha256(read_regular_file(path, MAX_SAMPLES_BYTES)).hexdigest()


def external_model(
    name: str, samples: str | Path, completions: dict[tuple[str, int], str], subset: dict[str, list[int]] | None
) -> LoadedModel:
    """The replayed completions as the model of a result: type `external`, the file and its digest."""
    args = {"samples": Path(samples).name, "sha256": file_digest(samples)}
    info = {"name": name, "type": EXTERNAL_MODEL_TYPE, "args": args, "revision": None}
    return LoadedModel(lm=replay_lm(completions, subset), info=info, slug=model_slug(name), type=EXTERNAL_MODEL_TYPE,
                       args=args)


def scorable(benchmark: Benchmark) -> bool:
    """Whether `score` accepts completions of this benchmark (a generative lm-eval benchmark
    whose declaration says how its outside completions name their items)."""
    replayed = engine_class(benchmark) is LmEvalEngine  # ReplayLM answers the benchmark's lm-eval task
    return replayed and benchmark.output == "generate" and benchmark.external is not None


def score_external(
    benchmark: Benchmark,
    samples: str | Path,
    *,
    model_name: str,
    data_dir: Path | None,
    output_path: Path,
    allow_missing: bool = False,
    allow_code_execution: bool = False,
) -> dict:
    """Score a completions file as `run` scores a model's generations; writes and returns the result."""
    if not scorable(benchmark):
        raise BadInputError(f"{benchmark.name} is not scored from outside completions")
    if data_dir is not None and not Path(data_dir).is_dir():
        raise BadInputError(f"--data_dir {data_dir} is not a directory")
    if benchmark.executes_code and not allow_code_execution:
        raise BadInputError(f"{benchmark.name} runs the generated code: pass --allow_code_execution (sandboxed)")
    check_output_folder(output_path)
    check_task_yamls()
    rows = read_completions(samples, benchmark)
    manager = task_manager(data_dir)
    tasks = _leaf_tasks(manager.load([benchmark.lm_eval_task]))
    index = item_index(benchmark, tasks)
    completions = match_completions(benchmark, rows, index, allow_missing)
    subset = len(completions) < index.total
    items: dict[str, list[int]] = {}
    for task_name, doc_id in completions:
        items.setdefault(task_name, []).append(doc_id)
    if subset and set(items) != set(tasks):
        # lm-eval runs every doc of a task left out of `samples` (an empty selection means all)
        empty = sorted(set(tasks) - set(items))
        raise BadInputError(f"--allow_missing: every lm-eval task of {benchmark.name} needs a completion "
                            f"({len(empty)} have none, e.g. {empty[0]})")
    options = RunOptions(model=EXTERNAL_MODEL_TYPE, output_path=output_path, data_dir=data_dir, force=True,
                         allow_code_execution=allow_code_execution)
    print(f"scoring {len(completions)} {benchmark.name} completions from {samples}", file=sys.stderr, flush=True)
    selection = {name: sorted(ids) for name, ids in items.items()} if subset else None
    return evaluate_benchmark(
        benchmark, external_model(model_name, samples, completions, selection), options, manager,
        chat_template=False, items=selection,
        protocol_overrides=external_protocol(len(completions) if subset else None),
    )


def external_protocol(limit: int | None) -> dict[str, Any]:
    """What a result of outside completions records: generated elsewhere (prompting unknown), and
    the number of items scored when some were missing (a limit: flagged not comparable)."""
    return {"generated": "external", "chat_template": None, "fewshot_as_multiturn": None, "limit": limit}


def _leaf_tasks(loaded: dict) -> dict[str, Any]:
    """The Task objects of an lm-eval load (a group's subtasks, flattened), by task name."""
    from lm_eval.api.task import Task

    found: dict[str, Any] = {}

    def walk(node: Any) -> None:
        if isinstance(node, Task):
            found[node.config.task] = node
        elif isinstance(node, dict):
            for child in node.values():
                walk(child)

    walk(loaded.get("tasks", loaded))
    return found
