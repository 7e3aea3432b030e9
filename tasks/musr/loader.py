"""MuSR (Sprague et al.) from the official Zayne-sprague/MuSR `datasets/<domain>.json` files.

Bespoke (declared in tasks/musr/musr.benchmark.yaml): upstream holds one record per story
(`context` and a list of `questions`, each with `choices` and a 0-based `answer`), the Hub's
TAUR-Lab/MuSR one row per question with the choices as a Python-literal string (lm-eval's prompt
parses it with ast.literal_eval) and the answer both as index and as text.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from evalsuite.data.loader import load_reshaped
from evalsuite.declarations import DataSource
from evalsuite.errors import BadInputError

if TYPE_CHECKING:
    import datasets


def load_musr(source: DataSource, data_dir: str | Path | None = None, **_task_kwargs: Any) -> "datasets.DatasetDict":
    """The three MuSR domains (one split each) from the official json files under `data_dir`, else the Hub."""
    return load_reshaped(source, data_dir, _question_rows)


def _question_rows(path: Path, stories: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for number, story in enumerate(stories, start=1):
        questions = story.get("questions")
        if not isinstance(story.get("context"), str) or not isinstance(questions, list) or not questions:
            raise BadInputError(f"{path}: story {number} needs a context and a list of questions")
        for question in questions:
            rows.append(_question_row(path, number, story["context"], question))
    return rows


def _question_row(path: Path, number: int, context: str, question: Any) -> dict[str, Any]:
    choices = question.get("choices") if isinstance(question, dict) else None
    answer = question.get("answer") if isinstance(question, dict) else None
    if not isinstance(choices, list) or len(choices) < 2 or not all(isinstance(c, str) for c in choices):
        raise BadInputError(f"{path}: story {number}: a question needs a list of at least two text choices")
    if isinstance(answer, bool) or not isinstance(answer, int) or not 0 <= answer < len(choices):
        raise BadInputError(f"{path}: story {number}: answer {answer!r} is not a 0-based index of its choices")
    return {
        "narrative": context,
        "question": question.get("question"),
        "choices": repr(choices),
        "answer_index": answer,
        "answer_choice": choices[answer],
    }
