"""KMMLU (HAERAE-HUB/KMMLU): 45 subjects, 4-option multiple choice, `answer` 1-4 meaning A-D.

Local layout: DIR/kmmlu/data/<Subject>-{dev,test}.csv with the header
`question,answer,A,B,C,D,Category,Human Accuracy`. Upstream quirks: math-*.csv swap the last two
columns (columns are mapped by header name) and math-*/korean-history-* are lower-case while the
Hub configs are "Math"/"Korean-History" (files are found case-insensitively); korean-history-*
leave `Human Accuracy` blank (null, as on the Hub). Subjects are named as the Hub's configs.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from evalsuite.data.local import (
    build_split,
    load_from_hub,
    read_table,
    require_columns,
    resolve_data_dir,
    to_int,
)
from evalsuite.errors import BadInputError

if TYPE_CHECKING:
    import datasets

HUB_PATH = "HAERAE-HUB/KMMLU"
LOCAL_LAYOUT = "kmmlu/data/<Subject>-{dev,test}.csv"
SPLITS = ("dev", "test")
TASK_PREFIX = "es_kmmlu_"
COLUMNS = ["question", "answer", "A", "B", "C", "D", "Category", "Human Accuracy"]


def features() -> "datasets.Features":
    """The Hub dataset's features, which local copies reproduce."""
    import datasets

    text = datasets.Value("string")
    return datasets.Features(
        {
            "question": text,
            "answer": datasets.Value("int64"),
            "A": text,
            "B": text,
            "C": text,
            "D": text,
            "Category": text,
            "Human Accuracy": datasets.Value("float64"),
        }
    )


def load_kmmlu(subject: str, data_dir: str | Path | None = None) -> "datasets.DatasetDict":
    """One KMMLU subject (dev and test splits) from `data_dir` or, without one, from the Hub."""
    import datasets

    if not subject:
        raise BadInputError("KMMLU needs a subject (dataset_kwargs.subject in the task YAML)")
    root = resolve_data_dir(data_dir)
    if root is None:
        return load_from_hub(HUB_PATH, subject, LOCAL_LAYOUT)
    return datasets.DatasetDict(
        {split: build_split(_read_subject_file(root, subject, split), features()) for split in SPLITS}
    )


def subject_from_task(task_name: str) -> str:
    """The subject of an `es_kmmlu_<subject_snake>` task: es_kmmlu_korean_history -> Korean-History."""
    if not task_name.startswith(TASK_PREFIX) or task_name == TASK_PREFIX:
        raise BadInputError(f"{task_name!r} is not a KMMLU subject task ({TASK_PREFIX}<subject>)")
    words = task_name[len(TASK_PREFIX):].split("_")
    return "-".join(word if word == "and" else word.capitalize() for word in words)


def task_from_subject(subject: str) -> str:
    """The lm-eval task name of a subject: Korean-History -> es_kmmlu_korean_history."""
    return TASK_PREFIX + subject.lower().replace("-", "_")


def _read_subject_file(root: Path, subject: str, split: str) -> list[dict[str, Any]]:
    path = _find_file(root / "kmmlu" / "data", f"{subject}-{split}.csv")
    rows = read_table(path)
    require_columns(path, rows, COLUMNS)
    parsed = []
    for number, row in enumerate(rows, start=1):
        record: dict[str, Any] = {name: row[name] for name in COLUMNS}
        record["answer"] = to_int(path, number, "answer", row["answer"], {1, 2, 3, 4})
        record["Human Accuracy"] = _to_float(path, number, row["Human Accuracy"])
        parsed.append(record)
    return parsed


def _find_file(folder: Path, name: str) -> Path:
    exact = folder / name
    if exact.is_file():
        return exact
    if folder.is_dir():
        for candidate in folder.iterdir():
            if candidate.name.lower() == name.lower() and candidate.is_file():
                return candidate
    raise BadInputError(f"missing data file {exact} (KMMLU layout: DIR/{LOCAL_LAYOUT})")


def _to_float(path: Path, row_number: int, value: str) -> float | None:
    if not value.strip():
        return None  # korean-history-*.csv leave it blank; the Hub has null there
    try:
        return float(value)
    except ValueError:
        raise BadInputError(
            f"{path}: row {row_number} has Human Accuracy={value!r}, expected a number"
        ) from None
