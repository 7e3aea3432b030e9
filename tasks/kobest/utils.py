"""lm-eval glue for the es_kobest_* tasks: the dataset loader and the macro-F1 aggregation."""

from __future__ import annotations

from typing import Any

from evalsuite.data.kobest import load_kobest


def load_dataset(kobest_task: str, data_dir: str | None = None, **_metadata: Any):
    """lm-eval `custom_dataset`: called with the task metadata (data_dir, version, ...) and dataset_kwargs."""
    return load_kobest(kobest_task, data_dir)


def macro_f1(items: list[tuple[int, int]]) -> float:
    """Macro-averaged F1 over the (gold, prediction) pairs lm-eval collects for the `f1` metric."""
    from sklearn.metrics import f1_score

    golds = [gold for gold, _ in items]
    predictions = [prediction for _, prediction in items]
    return float(f1_score(golds, predictions, average="macro"))
