"""KoBEST (skt/kobest_v1): BoolQ, COPA, WiC, HellaSwag, SentiNeg.

Local layout: DIR/kobest/<Task>/{train,dev,test}.tsv, the SKT-LSL/KoBEST_datarepo v1.0 files the Hub
dataset was built from. They are read with `csv.reader(delimiter="\\t", quoting=csv.QUOTE_NONE)`
(texts hold stray quotes) and renamed to the Hub's columns:

  boolq     Text, Question, Answer (True/TRUE/False/FALSE)      -> paragraph, question, label 0|1
  copa      sentence, question, 1, 2, Answer (1|2)              -> premise, question,
                                                                   alternative_1, alternative_2, label 0|1
  wic       Target, SENTENCE1, SENTENCE2, ANSWER (True/TRUE...) -> word, context_1, context_2, label 0|1
  hellaswag context, choice1-4, label (0-3; no ID column)        -> context, ending_1-4, label
  sentineg  Text, Label (0 negative, 1 positive)                 -> sentence, label

SentiNeg's test.tsv has `ID Label_origin Text_origin Label Text Category_neg`: `Text`/`Label` (the
negated sentences) form the `test` split, `Text_origin`/`Label_origin` the Hub's `test_originated`.
dev.tsv becomes the Hub's `validation` split.
"""

from __future__ import annotations

from dataclasses import dataclass
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

HUB_PATH = "skt/kobest_v1"
LOCAL_LAYOUT = "kobest/<Task>/{train,dev,test}.tsv"
SPLIT_FILES = {"train": "train.tsv", "validation": "dev.tsv", "test": "test.tsv"}
BOOLEAN_LABELS = {"true": 1, "false": 0}


@dataclass(frozen=True)
class _Layout:
    folder: str
    columns: dict[str, str]  # Hub column -> TSV column (label last)
    label_kind: str  # "boolean" | "one_based" | "index"
    num_labels: int


_LAYOUTS = {
    "boolq": _Layout(
        "BoolQ", {"paragraph": "Text", "question": "Question", "label": "Answer"}, "boolean", 2
    ),
    "copa": _Layout(
        "COPA",
        {
            "premise": "sentence",
            "question": "question",
            "alternative_1": "1",
            "alternative_2": "2",
            "label": "Answer",
        },
        "one_based",
        2,
    ),
    "wic": _Layout(
        "WiC",
        {"word": "Target", "context_1": "SENTENCE1", "context_2": "SENTENCE2", "label": "ANSWER"},
        "boolean",
        2,
    ),
    "hellaswag": _Layout(
        "HellaSwag",
        {
            "context": "context",
            "ending_1": "choice1",
            "ending_2": "choice2",
            "ending_3": "choice3",
            "ending_4": "choice4",
            "label": "label",
        },
        "index",
        4,
    ),
    "sentineg": _Layout("SentiNeg", {"sentence": "Text", "label": "Label"}, "index", 2),
}
_SENTINEG_ORIGINAL = {"sentence": "Text_origin", "label": "Label_origin"}

TASKS = tuple(_LAYOUTS)


def features(task: str) -> "datasets.Features":
    """The Hub dataset's features for one KoBEST task (texts as strings, label as int64)."""
    import datasets

    layout = _layout(task)
    return datasets.Features(
        {
            name: datasets.Value("int64" if name == "label" else "string")
            for name in layout.columns
        }
    )


def load_kobest(task: str, data_dir: str | Path | None = None) -> "datasets.DatasetDict":
    """One KoBEST task (train, validation, test splits) from `data_dir` or, without one, the Hub."""
    import datasets

    layout = _layout(task)
    root = resolve_data_dir(data_dir)
    if root is None:
        return load_from_hub(HUB_PATH, task, LOCAL_LAYOUT)
    folder = root / "kobest" / layout.folder
    splits = {
        split: build_split(_read_split(folder / file_name, layout, layout.columns), features(task))
        for split, file_name in SPLIT_FILES.items()
    }
    if task == "sentineg":
        splits["test_originated"] = build_split(
            _read_split(folder / SPLIT_FILES["test"], layout, _SENTINEG_ORIGINAL), features(task)
        )
    return datasets.DatasetDict(splits)


def _layout(task: str) -> _Layout:
    if task not in _LAYOUTS:
        raise BadInputError(f"unknown KoBEST task {task!r}; expected one of {', '.join(_LAYOUTS)}")
    return _LAYOUTS[task]


def _read_split(path: Path, layout: _Layout, columns: dict[str, str]) -> list[dict[str, Any]]:
    import csv

    rows = read_table(path, delimiter="\t", quoting=csv.QUOTE_NONE)
    require_columns(path, rows, list(columns.values()))
    label_column = columns["label"]
    parsed = []
    for number, row in enumerate(rows, start=1):
        record: dict[str, Any] = {name: row[source] for name, source in columns.items() if name != "label"}
        record["label"] = _label(path, number, label_column, row[label_column], layout)
        parsed.append(record)
    return parsed


def _label(path: Path, row_number: int, column: str, value: str, layout: _Layout) -> int:
    if layout.label_kind == "boolean":
        label = BOOLEAN_LABELS.get(value.strip().lower())
        if label is None:
            raise BadInputError(f"{path}: row {row_number} has {column}={value!r}, expected True or False")
        return label
    if layout.label_kind == "one_based":
        return to_int(path, row_number, column, value, set(range(1, layout.num_labels + 1))) - 1
    return to_int(path, row_number, column, value, set(range(layout.num_labels)))
