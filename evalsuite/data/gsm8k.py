"""GSM8K (openai/gsm8k, config `main`): grade-school math word problems.

Local layout: DIR/gsm8k/{train,test}.jsonl with `{"question", "answer"}`; the answer is a worked
solution with `<<a*b=c>>` calculator notes that ends in `#### <number>`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from evalsuite.data.local import build_split, load_from_hub, read_jsonl, require_columns, resolve_data_dir
from evalsuite.errors import BadInputError

if TYPE_CHECKING:
    import datasets

HUB_PATH = "openai/gsm8k"
HUB_CONFIG = "main"
LOCAL_LAYOUT = "gsm8k/{train,test}.jsonl"
SPLITS = ("train", "test")
FINAL_ANSWER_MARK = "####"


def features() -> "datasets.Features":
    """The Hub dataset's features, which local copies reproduce."""
    import datasets

    return datasets.Features({"question": datasets.Value("string"), "answer": datasets.Value("string")})


def load_gsm8k(data_dir: str | Path | None = None) -> "datasets.DatasetDict":
    """GSM8K's train and test splits from `data_dir` or, without one, from the Hub."""
    import datasets

    root = resolve_data_dir(data_dir)
    if root is None:
        return load_from_hub(HUB_PATH, HUB_CONFIG, LOCAL_LAYOUT)
    return datasets.DatasetDict(
        {split: build_split(_read_split(root / "gsm8k" / f"{split}.jsonl"), features()) for split in SPLITS}
    )


def _read_split(path: Path) -> list[dict[str, Any]]:
    rows = read_jsonl(path)
    require_columns(path, rows, ["question", "answer"])
    for number, row in enumerate(rows, start=1):
        if not isinstance(row.get("question"), str) or not isinstance(row.get("answer"), str):
            raise BadInputError(f"{path}: row {number} needs string question and answer")
        if FINAL_ANSWER_MARK not in row["answer"]:
            raise BadInputError(f"{path}: row {number} answer has no '{FINAL_ANSWER_MARK} <number>' line")
    return rows
