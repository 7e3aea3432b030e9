"""Judged benchmark definitions (judges/<benchmark>.yaml) and the data files they name.

A definition is data: its judged `format` (a module of evalsuite/judging/formats/), the data files,
answer generation, the judge and an optional language rule; see docs/architecture.md. The keys of
`judge:` beyond the common ones are the format's own settings, which the format parses
(`JudgeFormat.parse_settings`). Data files are read from `--data_dir` in the layout the definition
names, or downloaded once from the official URLs in the YAML (or, for a `hub:` entry, a pinned Hugging
Face dataset revision) into evalsuite's cache; the format reads and checks them (`JudgeFormat.load_data`).
"""

from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from evalsuite.data.local import resolve_data_dir
from evalsuite.declarations import discover, get_benchmark
from evalsuite.errors import BadInputError
from evalsuite.judging.formats import get_format
from evalsuite.results.store import cache_root

DOWNLOAD_TIMEOUT_S = 30
# The keys of `judge:` every format shares; the rest are the format's settings.
COMMON_JUDGE_KEYS = ("default_model", "temperature", "max_tokens", "embedded")


@dataclass(frozen=True)
class LanguageRule:
    """A penalty for answers not in `language`: the turn scores sqrt(score), except `exempt_questions`."""

    language: str
    penalty: str
    exempt_questions: frozenset[int]


@dataclass(frozen=True)
class JudgeDefinition:
    """The judge definition of one judged benchmark (the file its declaration names in `judge`)."""

    name: str
    format: str
    source: str
    files: dict[str, dict[str, str]]
    max_new_tokens: int
    greedy_below: float
    default_temperature: float
    temperatures: dict[str, float]
    default_judge_model: str
    judge_temperature: float
    judge_max_tokens: int
    embedded: dict[str, Any]
    language_rule: LanguageRule | None
    settings: Any  # the format's own settings (its parse_settings of the other `judge:` keys)

    def temperature_for(self, category: str) -> float:
        """The sampling temperature of a question's category (FastChat's per-category table)."""
        return float(self.temperatures.get(category, self.default_temperature))


@dataclass
class BenchmarkData:
    """What a format read for one run: the questions, normalized, and its other files.

    A question is {"question_id": int | str, "category": str, "turns": [user message, ...]} plus,
    optionally, "history": the chat messages before the first turn (a conversation the model
    continues). `files` holds the format's other inputs (judge prompts, references, baselines...).
    """

    questions: list[dict]
    files: dict[str, Any] = field(default_factory=dict)
    strategy: str | None = None  # the answer prompt strategy, where the benchmark offers several
    provenance: dict = field(default_factory=dict)


def judged_benchmarks() -> list[str]:
    """The names of the declared judged benchmarks (`engine: judge`)."""
    return sorted(name for name, benchmark in discover().items() if benchmark.engine == "judge")


def check_questions(where: Path | str, questions: list[dict], turns: int | None = None) -> None:
    """BadInputError (one line) unless `questions` are normalized question rows (BenchmarkData) with
    unique ids, and exactly `turns` turns each when it is given."""
    if not questions:
        raise BadInputError(f"{where}: no questions")
    seen: set = set()
    for question in questions:
        qid, question_turns = question.get("question_id"), question.get("turns")
        history = question.get("history", [])
        if not (
            isinstance(qid, (int, str)) and not isinstance(qid, bool)
            and isinstance(question.get("category"), str)
            and isinstance(question_turns, list) and question_turns
            and all(isinstance(t, str) for t in question_turns)
            and (turns is None or len(question_turns) == turns)
            and isinstance(history, list)
            and all(isinstance(m, dict) and isinstance(m.get("role"), str) and isinstance(m.get("content"), str)
                    for m in history)
        ):
            shape = f"turns[{turns}]" if turns else "turns (strings)"
            raise BadInputError(f"{where}: question rows need question_id, category, {shape}")
        if qid in seen:
            raise BadInputError(f"{where}: duplicate question_id {qid}")
        seen.add(qid)


def load_definition(benchmark: str) -> JudgeDefinition:
    """Read and check the judge definition that the benchmark's declaration names."""
    path = get_benchmark(benchmark).judge
    if path is None or not path.is_file():
        raise BadInputError(f"no judge definition for '{benchmark}' ({path} is missing)")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        judge_format = get_format(str(raw["format"]))
        gen, judge = raw["generation"], raw["judge"]
        rule = raw.get("language_rule")
        files = {key: dict(spec) for key, spec in raw["data"]["files"].items()}
        missing = [key for key in judge_format.data_files if key not in files]
        if missing:
            raise KeyError(f"data.files needs {', '.join(missing)} for format {judge_format.name}")
        definition = JudgeDefinition(
            name=benchmark,
            format=judge_format.name,
            source=raw["data"]["source"],
            files=files,
            max_new_tokens=int(gen["max_new_tokens"]),
            greedy_below=float(gen["greedy_below"]),
            default_temperature=float(gen["default_temperature"]),
            temperatures={k: float(v) for k, v in (gen.get("temperatures") or {}).items()},
            default_judge_model=str(judge["default_model"]),
            judge_temperature=float(judge["temperature"]),
            judge_max_tokens=int(judge["max_tokens"]),
            embedded=dict(judge.get("embedded") or {}),
            language_rule=None if not rule else LanguageRule(
                language=str(rule["language"]),
                penalty=str(rule["penalty"]),
                exempt_questions=frozenset(int(q) for q in rule.get("exempt_questions", [])),
            ),
            settings=judge_format.parse_settings(
                {k: v for k, v in judge.items() if k not in COMMON_JUDGE_KEYS}
            ),
        )
    except (KeyError, TypeError, ValueError, IndexError, AttributeError, yaml.YAMLError) as err:
        raise BadInputError(f"{path}: bad judge definition ({type(err).__name__}: {err})") from err
    if definition.language_rule and definition.language_rule.penalty != "sqrt":
        raise BadInputError(f"{path}: unknown language penalty '{definition.language_rule.penalty}'")
    return definition


def locate_data_files(definition: JudgeDefinition, data_dir: Path | str | None) -> tuple[dict[str, Path], dict]:
    """The path of every data file of the definition (under `data_dir`, else $EVALSUITE_DATA_DIR, else
    downloaded once from its URL) and the provenance of the set."""
    data_dir = resolve_data_dir(data_dir)
    located = {key: _locate(definition, key, data_dir) for key in definition.files}
    paths = {key: path for key, path in located.items() if path is not None}
    digest = hashlib.sha256(b"".join(paths[k].read_bytes() for k in sorted(paths))).hexdigest()[:16]
    provenance = {
        "source": "local" if data_dir else "url",
        "path": str(data_dir) if data_dir else definition.source,
        "revision": f"sha256:{digest}",
        "files": {key: str(path) for key, path in paths.items()},
    }
    return paths, provenance


def load_benchmark_data(definition: JudgeDefinition, data_dir: Path | str | None,
                        strategy: str | None = None) -> BenchmarkData:
    """The definition's data, read and checked by its format, with provenance."""
    paths, provenance = locate_data_files(definition, data_dir)
    data = get_format(definition.format).load_data(definition, paths, strategy)
    data.provenance = provenance
    return data


def _locate(definition: JudgeDefinition, key: str, data_dir: Path | None) -> Path | None:
    """A data file's path; None for a missing file its spec marks `optional: true` (the format says
    what it does without it)."""
    spec = definition.files[key]
    optional = bool(spec.get("optional"))
    if data_dir is not None:
        path = data_dir / spec["local"]
        if path.is_file():
            return path
        if optional:
            return None
        raise BadInputError(f"{definition.name}: {path} is missing (--data_dir layout: {spec['local']})")
    target = cache_root() / "data" / spec["local"]
    if target.is_file():
        return target
    try:
        if spec.get("hub"):
            return _download_hub(spec["hub"], target, definition.name, spec["local"])
        if not spec.get("url"):
            raise BadInputError(f"{definition.name}: {spec['local']} has no URL; pass --data_dir DIR holding it")
        return _download(spec["url"], target, definition.name, spec["local"])
    except BadInputError:
        if optional:
            return None
        raise


def _download_hub(hub: dict, target: Path, benchmark: str, local: str) -> Path:
    """A Hugging Face Hub dataset split (`hub: {repo, config, split, revision}`, a pinned revision),
    loaded once with `datasets` and kept as parquet at `target` (the layout of the Hub's own files)."""
    import datasets  # heavy (~1 s): only when a Hub file is not cached yet

    try:
        rows = datasets.load_dataset(str(hub["repo"]), hub.get("config"), split=str(hub["split"]),
                                     revision=str(hub["revision"]))
    except Exception as err:  # noqa: BLE001  (datasets raises many kinds: network, auth, revision, schema)
        raise BadInputError(
            f"{benchmark}: cannot load {hub.get('repo')}@{hub.get('revision')} from the Hub "
            f"({type(err).__name__}); pass --data_dir DIR holding {local}"
        ) from None
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.part")
    rows.to_parquet(str(tmp))
    os.replace(tmp, target)
    return target


def _download(url: str, target: Path, benchmark: str, local: str) -> Path:
    try:
        with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as response:
            payload = response.read()
    except (urllib.error.URLError, OSError, ValueError) as err:
        raise BadInputError(
            f"{benchmark}: cannot download {url} ({err}); pass --data_dir DIR holding {local}"
        ) from err
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.part")
    tmp.write_bytes(payload)
    os.replace(tmp, target)
    return target
