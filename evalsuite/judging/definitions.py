"""A judged benchmark's definition, ready to run: its declared `judge:` block with the format's own
settings parsed, and the data its format read.

The declaration parser (evalsuite/declarations.py) reads and checks the whole `judge:` block of
judges/<benchmark>/<benchmark>.benchmark.yaml; the keys of `judge.settings` beyond the common ones are
the format's own, parsed here by the format (`JudgeFormat.parse_settings`). The format is a generic one
of evalsuite/judging/formats/, or the `FORMAT` of the Python file the block names in `format_module`
(benchmark code beside its declaration). Data files are located by evalsuite.data.files; the format
reads and checks them (`JudgeFormat.load_data`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from evalsuite.data.files import locate_files
from evalsuite.declarations import JudgeDefinition, LanguageRule, discover, get_benchmark
from evalsuite.errors import BadInputError
from evalsuite.judging.formats import JudgeFormat, get_format, load_format_module

__all__ = ["BenchmarkData", "JudgeDefinition", "LanguageRule", "check_questions", "format_of", "judged_benchmarks",
           "load_benchmark_data", "load_definition"]


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


def format_of(definition: JudgeDefinition) -> JudgeFormat:
    """The definition's format: the `FORMAT` of its `format_module` (a Python file beside the
    declaration), else the generic format it names."""
    if definition.format_module is None:
        return get_format(definition.format)
    module = definition.format_module
    judge_format = load_format_module(module).FORMAT
    if judge_format.name != definition.format:
        raise BadInputError(f"{module}: FORMAT must be the JudgeFormat named '{definition.format}' (judge.format)")
    return judge_format


def load_definition(benchmark: str) -> JudgeDefinition:
    """The judged benchmark's declared definition, with its format's own settings parsed."""
    declared = get_benchmark(benchmark)
    definition = declared.judge
    if definition is None:
        raise BadInputError(f"'{benchmark}' is not a judged benchmark (no judge block in {declared.path})")
    judge_format = format_of(definition)
    missing = [key for key in judge_format.data_files if key not in definition.files]
    if missing:
        raise BadInputError(f"{declared.path}: judge.data.files needs {', '.join(missing)} for format {judge_format.name}")
    try:
        settings = judge_format.parse_settings(dict(definition.format_settings))
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as err:
        raise BadInputError(f"{declared.path}: bad judge.settings ({type(err).__name__}: {err})") from err
    return replace(definition, settings=settings)


def load_benchmark_data(definition: JudgeDefinition, data_dir: Path | str | None,
                        strategy: str | None = None) -> BenchmarkData:
    """The definition's data, read and checked by its format, with provenance."""
    paths, provenance = locate_files(definition.name, definition.files, definition.source, data_dir)
    data = format_of(definition).load_data(definition, paths, strategy)
    data.provenance = provenance
    return data
