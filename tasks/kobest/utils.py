"""lm-eval glue for the es_kobest_* tasks: the macro-F1 aggregation (lm-eval's kobest utils)."""

from __future__ import annotations


def macro_f1(items: list[tuple[int, int]]) -> float:
    """Macro-averaged F1 over the (gold, prediction) pairs lm-eval collects for the `f1` metric."""
    from sklearn.metrics import f1_score

    golds = [gold for gold, _ in items]
    predictions = [prediction for _, prediction in items]
    return float(f1_score(golds, predictions, average="macro"))
