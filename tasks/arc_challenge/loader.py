"""ARC (AI2 Reasoning Challenge) from AI2's `ARC-V1-Feb2018` jsonl files, as the Hub's `allenai/ai2_arc`.

Bespoke (named by arc_challenge.benchmark.yaml beside it): upstream nests the question
as `question.stem` and its options as a list of `{text, label}`; the Hub has a `question` string and a
`choices` struct of two lists. Rows are otherwise unchanged (labels A-E or 1-5, as published).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from evalsuite.data.loader import load_reshaped
from evalsuite.declarations import DataSource
from evalsuite.errors import BadInputError

if TYPE_CHECKING:
    import datasets


def load_arc(source: DataSource, data_dir: str | Path | None = None, **_task_kwargs: Any) -> "datasets.DatasetDict":
    """The declared ARC splits from AI2's jsonl files under `data_dir`, else from the Hub."""
    return load_reshaped(source, data_dir, _hub_rows)


def _hub_rows(path: Path, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [_hub_row(path, number, row) for number, row in enumerate(rows, start=1)]


def _hub_row(path: Path, number: int, row: dict[str, Any]) -> dict[str, Any]:
    question = row.get("question")
    options = question.get("choices") if isinstance(question, dict) else None
    if not isinstance(options, list) or not all(isinstance(o, dict) for o in options):
        raise BadInputError(f"{path}: row {number}: question must hold a stem and a list of {{text, label}} choices")
    try:
        choices = {"text": [o["text"] for o in options], "label": [o["label"] for o in options]}
        return {"id": row.get("id"), "question": question["stem"], "choices": choices, "answerKey": row.get("answerKey")}
    except KeyError as err:
        raise BadInputError(f"{path}: row {number}: question lacks {err}") from None
