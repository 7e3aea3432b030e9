"""Judged formats: how a judged benchmark is asked, read and scored, one module each.

A judge definition (judges/<benchmark>.yaml) names its format (`format: fastchat_single`). Every
module of this package that defines a module-level `FORMAT` (a `JudgeFormat`) is discovered and
registered under `FORMAT.name`; adding a format (LogicKor, Arena-Hard pairwise, AlpacaEval) is
adding a module here, with no registration step and no branch on a benchmark name elsewhere.
The runner (evalsuite/judging/runner.py) drives a format through the methods below; see
docs/architecture.md.
"""

from __future__ import annotations

import importlib
import pkgutil
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from evalsuite.errors import BadInputError
from evalsuite.judging.client import JudgeOne, JudgeOutcome, JudgeTask
from evalsuite.judging.definitions import BenchmarkData, JudgeDefinition

# (question_id, turn) -> detected language, per detector name (the scoring detector first)
Languages = dict[str, dict[tuple[int, int], str]]


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
    """One judged format. Stateless: every method gets the definition it works for."""

    name: str

    @abstractmethod
    def check_data(self, definition: JudgeDefinition, data: BenchmarkData) -> None:
        """BadInputError (one line) for data this format cannot use, before any work."""

    @abstractmethod
    def protocol(self, definition: JudgeDefinition) -> dict:
        """What the result's protocol["judge"] records about the format (beside model, repeats...)."""

    @abstractmethod
    def build_tasks(self, definition: JudgeDefinition, data: BenchmarkData, questions: list[dict],
                    answers: dict[int, list[str]], model_id: str, repeats: int) -> list[JudgeTask]:
        """Every judge request of a run (rendered prompts), in a stable order."""

    @abstractmethod
    def judge_one(self, definition: JudgeDefinition, reasks: int) -> JudgeOne:
        """The coroutine that asks the judge about one task and returns the judgment row to cache."""

    @abstractmethod
    def summarize(self, definition: JudgeDefinition, questions: list[dict], answers: dict[int, list[str]],
                  outcomes: list[JudgeOutcome], languages: Languages) -> Summary:
        """Per-item rows and the aggregate score, metrics, subscores and failure counts."""

    @abstractmethod
    def write_judgments(self, definition: JudgeDefinition, folder: Path, judge_model: str,
                        outcomes: list[JudgeOutcome], languages: Languages) -> Path:
        """Write the judgments in the format's own file layout under `folder`; the main file's path."""


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
