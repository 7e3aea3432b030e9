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
from evalsuite.declarations import DataSource
from evalsuite.errors import BadInputError

if TYPE_CHECKING:
    import datasets

SPLITS = ("dev", "test")
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


def load_kmmlu(
    source: DataSource, subject: str, data_dir: str | Path | None = None, **_task_kwargs: object
) -> "datasets.DatasetDict":
    """One KMMLU subject (dev and test splits) from `data_dir` or, without one, from the Hub.

    Bespoke (declared in tasks/kmmlu/kmmlu.benchmark.yaml): one Hub config per subject, and the
    upstream files differ from the subject names in case and from each other in column order.
    """
    import datasets

    if not subject:
        raise BadInputError("KMMLU needs a subject (dataset_kwargs.subject in the task YAML)")
    root = resolve_data_dir(data_dir)
    if root is None:
        return load_from_hub(str(source.hub), subject, source.local_layout, revision=source.revision)
    return datasets.DatasetDict(
        {split: build_split(_read_subject_file(root, subject, split), features()) for split in SPLITS}
    )


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
    raise BadInputError(f"missing data file {exact} (KMMLU layout: DIR/kmmlu/data/<Subject>-{{dev,test}}.csv)")


def _to_float(path: Path, row_number: int, value: str) -> float | None:
    if not value.strip():
        return None  # korean-history-*.csv leave it blank; the Hub has null there
    try:
        return float(value)
    except ValueError:
        raise BadInputError(
            f"{path}: row {row_number} has Human Accuracy={value!r}, expected a number"
        ) from None
