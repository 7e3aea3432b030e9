"""Judged formats: how a judged benchmark is asked, read and scored, one module each.

A judge definition (judges/<benchmark>.yaml) names its format (`format: fastchat_single`). Every
module of this package that defines a module-level `FORMAT` (a `JudgeFormat`) is discovered and
registered under `FORMAT.name`; adding a format is adding a module here, with no registration step
and no branch on a benchmark name elsewhere. The runner (evalsuite/judging/runner.py) drives a format through the methods below; see
docs/architecture.md.
"""

from __future__ import annotations

import importlib
import pkgutil
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evalsuite.errors import BadInputError
from evalsuite.judging.client import JudgeOne, JudgeOutcome, JudgeTask

if TYPE_CHECKING:  # definitions.py reads a definition through its format (get_format)
    from evalsuite.judging.definitions import BenchmarkData, JudgeDefinition

# (question_id, turn) -> detected language, per detector name (the scoring detector first)
Languages = dict[str, dict[tuple[Any, int], str]]


@dataclass
class Summary:
    """Everything the result needs from the judgments."""

    score: float | None
    metrics: dict
    subscores: dict
    failures: dict
    samples: list[dict] = field(default_factory=list)
    n: int = 0


class JudgeFormat(ABC):
    """One judged format. Stateless: every method gets the definition it works for.

    `data_files` names the keys the definition's `data.files` must have.
    """

    name: str
    data_files: tuple[str, ...] = ()

    @abstractmethod
    def parse_settings(self, judge: dict) -> Any:
        """The format's own settings from the definition's `judge:` keys beyond the common ones
        (KeyError/TypeError/ValueError on bad ones: the definition loader reports them)."""

    @abstractmethod
    def load_data(self, definition: JudgeDefinition, paths: dict[str, Path], strategy: str | None) -> BenchmarkData:
        """Read and check the data files (one line BadInputError on unusable data, before any work);
        questions normalized as BenchmarkData describes. `strategy` is --prompt_strategy: a format
        whose benchmark offers several answer prompts resolves it (None: the official default) into
        the questions' history and `data.strategy` (BadInputError for one it lacks); a format with
        no strategies ignores it.
        Provenance is filled by the caller."""

    @abstractmethod
    def read_answers(self, path: Path, questions: list[dict]) -> tuple[str, dict[Any, list[str]]]:
        """(model_id, {question_id: answer per turn}) from an answer file in the official format
        (--answers_file); BadInputError when it is unusable or misses a question."""

    @abstractmethod
    def answers_path(self, folder: Path, model_id: str, data: BenchmarkData) -> Path:
        """Where the answers of `model_id` go under the benchmark's folder (the official layout); an
        --answers_file is copied there byte for byte."""

    @abstractmethod
    def write_answers(self, path: Path, model_id: str, data: BenchmarkData, questions: list[dict],
                      answers: dict[Any, list[str]]) -> None:
        """Write generated answers to `path` in the official answer format (atomically)."""

    @abstractmethod
    def protocol(self, definition: JudgeDefinition) -> dict:
        """What the result's protocol["judge"] records about the format (beside model, repeats...)."""

    @abstractmethod
    def build_tasks(self, definition: JudgeDefinition, data: BenchmarkData, questions: list[dict],
                    answers: dict[Any, list[str]], model_id: str, repeats: int) -> list[JudgeTask]:
        """Every judge request of a run (rendered prompts), in a stable order."""

    @abstractmethod
    def judge_one(self, definition: JudgeDefinition, reasks: int) -> JudgeOne:
        """The coroutine that asks the judge about one task and returns the judgment row to cache."""

    @abstractmethod
    def summarize(self, definition: JudgeDefinition, data: BenchmarkData, questions: list[dict],
                  answers: dict[Any, list[str]], outcomes: list[JudgeOutcome], languages: Languages) -> Summary:
        """Per-item rows and the aggregate score, metrics, subscores and failure counts."""

    @abstractmethod
    def write_judgments(self, definition: JudgeDefinition, data: BenchmarkData, questions: list[dict],
                        answers: dict[Any, list[str]], folder: Path, judge_model: str, model_id: str,
                        outcomes: list[JudgeOutcome], languages: Languages) -> Path:
        """Write the judgments in the format's own file layout under the benchmark's `folder`
        (e.g. model_judgment/...); the main file's path."""


@lru_cache(maxsize=1)
def registry() -> dict[str, JudgeFormat]:
    """Every format of this package, by name."""
    formats: dict[str, JudgeFormat] = {}
    for module_info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        judge_format = getattr(module, "FORMAT", None)
        if isinstance(judge_format, JudgeFormat):
            formats[judge_format.name] = judge_format
    return formats


def get_format(name: str) -> JudgeFormat:
    """The format called `name`; BadInputError naming the known ones."""
    formats = registry()
    if name not in formats:
        raise BadInputError(f"unknown judge format '{name}' (known: {', '.join(sorted(formats))})")
    return formats[name]
