"""Judged benchmark definitions (judges/<benchmark>.yaml) and the data files they name.

A definition is data: its judged `format` (a module of evalsuite/judging/formats/), the data files,
answer generation, the judge and an optional language rule; see docs/architecture.md. Questions,
judge prompts and reference answers are read from `--data_dir` in the layout the definition names,
or downloaded once from the official URLs in the YAML into evalsuite's cache.
"""

from __future__ import annotations

import hashlib
import os
import re
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from evalsuite.data.local import read_jsonl, resolve_data_dir
from evalsuite.declarations import discover, get_benchmark
from evalsuite.errors import BadInputError
from evalsuite.models.embedded import cache_root

DATA_FILES = ("questions", "judge_prompts", "reference_answers")
PROMPT_SLOTS = ("turn1", "turn1_reference", "turn2", "turn2_reference")
DOWNLOAD_TIMEOUT_S = 30


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
    reference_categories: frozenset[str]
    prompt_names: dict[str, str]
    rating_patterns: tuple[re.Pattern, ...]
    rating_range: tuple[float, float]
    reask_prompt: str
    embedded: dict[str, Any]
    language_rule: LanguageRule | None

    def temperature_for(self, category: str) -> float:
        """FastChat's per-category sampling temperature."""
        return float(self.temperatures.get(category, self.default_temperature))


@dataclass
class BenchmarkData:
    """Questions, judge prompts (by name) and reference answers (by question id) of one run."""

    questions: list[dict]
    judge_prompts: dict[str, dict]
    references: dict[int, dict]
    provenance: dict = field(default_factory=dict)


def judged_benchmarks() -> list[str]:
    """The names of the declared judged benchmarks (`engine: judge`)."""
    return sorted(name for name, benchmark in discover().items() if benchmark.engine == "judge")


def load_definition(benchmark: str) -> JudgeDefinition:
    """Read and check the judge definition that the benchmark's declaration names."""
    path = get_benchmark(benchmark).judge
    if path is None or not path.is_file():
        raise BadInputError(f"no judge definition for '{benchmark}' ({path} is missing)")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        gen, judge = raw["generation"], raw["judge"]
        rule = raw.get("language_rule")
        definition = JudgeDefinition(
            name=benchmark,
            format=str(raw["format"]),
            source=raw["data"]["source"],
            files={key: dict(raw["data"]["files"][key]) for key in DATA_FILES},
            max_new_tokens=int(gen["max_new_tokens"]),
            greedy_below=float(gen["greedy_below"]),
            default_temperature=float(gen["default_temperature"]),
            temperatures={k: float(v) for k, v in gen["temperatures"].items()},
            default_judge_model=str(judge["default_model"]),
            judge_temperature=float(judge["temperature"]),
            judge_max_tokens=int(judge["max_tokens"]),
            reference_categories=frozenset(judge["reference_categories"]),
            prompt_names={slot: str(judge["prompts"][slot]) for slot in PROMPT_SLOTS},
            rating_patterns=tuple(re.compile(p) for p in judge["rating_patterns"]),
            rating_range=(float(judge["rating_range"][0]), float(judge["rating_range"][1])),
            reask_prompt=str(judge["reask_prompt"]),
            embedded=dict(judge.get("embedded") or {}),
            language_rule=None if not rule else LanguageRule(
                language=str(rule["language"]),
                penalty=str(rule["penalty"]),
                exempt_questions=frozenset(int(q) for q in rule.get("exempt_questions", [])),
            ),
        )
    except (KeyError, TypeError, ValueError, IndexError, re.error, yaml.YAMLError) as err:
        raise BadInputError(f"{path}: bad judge definition ({type(err).__name__}: {err})") from err
    if definition.language_rule and definition.language_rule.penalty != "sqrt":
        raise BadInputError(f"{path}: unknown language penalty '{definition.language_rule.penalty}'")
    return definition


def load_benchmark_data(definition: JudgeDefinition, data_dir: Path | str | None) -> BenchmarkData:
    """Questions, judge prompts and references from `data_dir` (else $EVALSUITE_DATA_DIR) or the URLs."""
    data_dir = resolve_data_dir(data_dir)
    paths = {key: _locate(definition, key, data_dir) for key in DATA_FILES}
    questions = read_jsonl(paths["questions"])
    prompts = {row.get("name"): row for row in read_jsonl(paths["judge_prompts"])}
    references = {row.get("question_id"): row for row in read_jsonl(paths["reference_answers"])}
    _check(definition, paths, questions, prompts, references)
    digest = hashlib.sha256(b"".join(paths[k].read_bytes() for k in DATA_FILES)).hexdigest()[:16]
    provenance = {
        "source": "local" if data_dir else "url",
        "path": str(data_dir) if data_dir else definition.source,
        "revision": f"sha256:{digest}",
        "files": {key: str(path) for key, path in paths.items()},
    }
    return BenchmarkData(questions, prompts, references, provenance)


def _locate(definition: JudgeDefinition, key: str, data_dir: Path | None) -> Path:
    spec = definition.files[key]
    if data_dir is not None:
        path = data_dir / spec["local"]
        if not path.is_file():
            raise BadInputError(f"{definition.name}: {path} is missing (--data_dir layout: {spec['local']})")
        return path
    target = cache_root() / "data" / spec["local"]
    if target.is_file():
        return target
    return _download(spec["url"], target, definition.name, spec["local"])


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


def _check(definition, paths, questions, prompts, references) -> None:
    if not questions:
        raise BadInputError(f"{paths['questions']}: no questions")
    seen: set[int] = set()
    for q in questions:
        turns = q.get("turns")
        if not isinstance(q.get("question_id"), int) or not isinstance(q.get("category"), str) or not (
            isinstance(turns, list) and len(turns) == 2 and all(isinstance(t, str) for t in turns)
        ):
            raise BadInputError(f"{paths['questions']}: question rows need question_id, category, turns[2]")
        if q["question_id"] in seen:
            raise BadInputError(f"{paths['questions']}: duplicate question_id {q['question_id']}")
        seen.add(q["question_id"])
    for slot, name in definition.prompt_names.items():
        prompt = prompts.get(name)
        if not prompt or not {"system_prompt", "prompt_template", "output_format"} <= prompt.keys():
            raise BadInputError(f"{paths['judge_prompts']}: judge prompt '{name}' ({slot}) is missing")
        if not all(isinstance(prompt[k], str) for k in ("system_prompt", "prompt_template")):
            raise BadInputError(f"{paths['judge_prompts']}: judge prompt '{name}' must hold strings")
    for q in questions:
        if q["category"] in definition.reference_categories:
            ref = references.get(q["question_id"])
            try:
                turns = ref["choices"][0]["turns"]
                ok = len(turns) >= 2 and all(isinstance(t, str) for t in turns[:2])
            except (TypeError, KeyError, IndexError):
                ok = False
            if not ok:
                raise BadInputError(
                    f"{paths['reference_answers']}: no two-turn reference answer for question {q['question_id']}"
                )
