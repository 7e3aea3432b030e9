"""A measured cell: the score of a result on a column's scale and its 95% interval."""

from __future__ import annotations

from dataclasses import dataclass

from evalsuite.leaderboard.collect import MeasuredResult
from evalsuite.leaderboard.reference import Column, Reference
from evalsuite.leaderboard.stats import (
    ITERATIONS,
    SEED,
    SampleSet,
    bootstrap_interval,
    normal_interval,
    statistic_for,
)


@dataclass(frozen=True)
class Measurement:
    """A score on the display scale with its 95% interval (None when nothing supports one)."""

    value: float
    low: float | None
    high: float | None
    method: str | None  # "stderr", "bootstrap ..." or None


def score_scale(result: MeasuredResult, reference: Reference) -> float:
    """Factor from the metric's 0-1 (or 1-10 judge) scale to the score's scale."""
    known = reference.benchmarks.get(result.benchmark)
    if known:
        return known.scale
    return 1.0 if result.protocol.get("aggregation") == "judge_mean" else 100.0


def _metric(result: MeasuredResult) -> tuple[str, str]:
    metric = str(result.protocol.get("metric") or "")
    return metric, metric.split(",")[0]


def find_stderr(result: MeasuredResult) -> float | None:
    """The metric's stderr, under any of the key spellings lm-eval and evalsuite use."""
    metrics = result.data["metrics"]
    metric, base = _metric(result)
    filter_suffix = metric[len(base):]  # ",flexible-extract" or ""
    for key in (f"{base}_stderr{filter_suffix}", f"{metric}_stderr", f"{base}_stderr", "score_stderr"):
        value = metrics.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value == value:
            return float(value)
    return None


def column_value(result: MeasuredResult, column: Column | None) -> float:
    """The result's score as the column reports it (MMLU-Pro: chance-normalized accuracy)."""
    if column is None or column.transform != "chance_normalized":
        return result.score
    metrics = result.data["metrics"]
    if isinstance(metrics.get("acc"), (int, float)):
        return normalize(float(metrics["acc"]), column.chance)
    if isinstance(metrics.get("acc_normalized"), (int, float)):
        value = float(metrics["acc_normalized"])
        return value * 100 if abs(value) <= 1 else value
    return normalize(result.score / 100, column.chance)


def normalize(acc: float, chance: float) -> float:
    """(acc - chance) / (1 - chance) x 100, the Open LLM Leaderboard 2 normalization."""
    return (acc - chance) / (1 - chance) * 100


def measure(result: MeasuredResult, reference: Reference, column: Column | None = None) -> Measurement:
    """Score and 95% interval: a bootstrap over the per-sample rows for judge scores, macro
    averages and macro-F1 (recomputed from pred/label); lm-eval's stderr otherwise; a bootstrap
    when there is no stderr; no interval when neither is available."""
    value = column_value(result, column)
    scale = score_scale(result, reference)
    normalized = column is not None and column.transform == "chance_normalized"

    def shown(metric_value: float) -> float:
        return normalize(metric_value, column.chance) if normalized else metric_value * scale

    metric, _ = _metric(result)
    aggregation = str(result.protocol.get("aggregation") or "")
    stat = statistic_for(metric, aggregation)
    prefer_bootstrap = stat != "mean" or aggregation == "judge_mean"
    stderr = find_stderr(result)
    samples = SampleSet.from_rows(result.samples(), need_labels=stat == "macro_f1")
    if len(samples) >= 2 and (prefer_bootstrap or stderr is None):
        low, high = bootstrap_interval(stat, samples)
        return Measurement(value, shown(low), shown(high), f"bootstrap ({ITERATIONS}, seed {SEED})")
    if stderr is not None:
        low, high = normal_interval(0.0, stderr)
        half = shown(high) - shown(0.0)
        return Measurement(value, value - half, value + half, "stderr")
    return Measurement(value, None, None, None)
