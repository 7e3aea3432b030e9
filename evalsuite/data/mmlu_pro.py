"""MMLU-Pro (TIGER-Lab/MMLU-Pro): 12,032 test questions with 3-10 options, 70 validation (few-shot).

Local layout: DIR/mmlu_pro/{test,validation}.jsonl, one object per line with the Hub's fields
`question_id, question, options, answer (A-J), answer_index, cot_content, category, src`.

Rows are kept exactly as published. One upstream row disagrees with itself: question_id 3983
("In which of the following is not the negative end of the bond written last?") has `answer` "C"
(N—H: N is the negative end and is written first, which is what the question asks for) but
`answer_index` 1 (P—Cl, whose negative end Cl is written last). The letter is right; the task
scores against `answer`, as lm-eval's leaderboard_mmlu_pro does, so nothing is rewritten.
"""

from __future__ import annotations

import string
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evalsuite.data.local import (
    build_split,
    load_from_hub,
    read_jsonl,
    require_columns,
    resolve_data_dir,
)
from evalsuite.errors import BadInputError

if TYPE_CHECKING:
    import datasets

HUB_PATH = "TIGER-Lab/MMLU-Pro"
LOCAL_LAYOUT = "mmlu_pro/{test,validation}.jsonl"
SPLITS = ("test", "validation")
COLUMNS = ["question_id", "question", "options", "answer", "answer_index", "cot_content", "category", "src"]
MAX_OPTIONS = 10


def features() -> "datasets.Features":
    """The Hub dataset's features, which local copies reproduce."""
    import datasets

    text = datasets.Value("string")
    return datasets.Features(
        {
            "question_id": datasets.Value("int64"),
            "question": text,
            "options": datasets.Sequence(text),
            "answer": text,
            "answer_index": datasets.Value("int64"),
            "cot_content": text,
            "category": text,
            "src": text,
        }
    )


def load_mmlu_pro(data_dir: str | Path | None = None) -> "datasets.DatasetDict":
    """MMLU-Pro's test and validation splits from `data_dir` or, without one, from the Hub."""
    import datasets

    root = resolve_data_dir(data_dir)
    if root is None:
        return load_from_hub(HUB_PATH, None, LOCAL_LAYOUT)
    return datasets.DatasetDict(
        {split: build_split(_read_split(root / "mmlu_pro" / f"{split}.jsonl"), features()) for split in SPLITS}
    )


def _read_split(path: Path) -> list[dict[str, Any]]:
    rows = read_jsonl(path)
    require_columns(path, rows, COLUMNS)
    for number, row in enumerate(rows, start=1):
        _check_row(path, number, row)
    return rows


def _check_row(path: Path, number: int, row: dict[str, Any]) -> None:
    where = f"{path}: row {number} (question_id {row.get('question_id')!r})"
    missing = [name for name in COLUMNS if name not in row]
    if missing:
        raise BadInputError(f"{where} lacks {', '.join(missing)}")
    options = row["options"]
    if not isinstance(options, list) or not 2 <= len(options) <= MAX_OPTIONS:
        raise BadInputError(f"{where}: options must be a list of 2-{MAX_OPTIONS} strings")
    if not all(isinstance(option, str) for option in options):
        raise BadInputError(f"{where}: options must be strings")
    letters = string.ascii_uppercase[: len(options)]
    if not isinstance(row["answer"], str) or len(row["answer"]) != 1 or row["answer"] not in letters:
        raise BadInputError(f"{where}: answer {row['answer']!r} is not one of {letters}")
    if not isinstance(row["question_id"], int) or not isinstance(row["answer_index"], int):
        raise BadInputError(f"{where}: question_id and answer_index must be integers")
