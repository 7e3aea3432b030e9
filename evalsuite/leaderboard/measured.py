"""A measured cell: the score of a result on a column's scale and its 95% interval."""

from __future__ import annotations

from dataclasses import dataclass

from evalsuite.leaderboard.collect import MeasuredResult, is_number, recorded_normalized
from evalsuite.leaderboard.reference import CHANCE_NORMALIZED, Column
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


def score_scale(result: MeasuredResult) -> float:
    """Factor from the metric's 0-1 (or 1-10 judge) scale to the score's scale."""
    return result.info.scale


def _metric(result: MeasuredResult) -> tuple[str, str]:
    metric = str(result.protocol.get("metric") or "")
    return metric, metric.split(",")[0]


def find_stderr(metrics: dict, metric: str, headline: bool = True) -> float | None:
    """A metric's stderr, under any of the key spellings lm-eval and evalsuite use (the headline's
    also as `score_stderr`)."""
    base = metric.split(",")[0]
    filter_suffix = metric[len(base):]  # ",flexible-extract" or ""
    keys = (f"{base}_stderr{filter_suffix}", f"{metric}_stderr", f"{base}_stderr")
    for key in keys + (("score_stderr",) if headline else ()):
        if is_number(metrics.get(key)):
            return float(metrics[key])
    return None


def normalize(value: float, chance: float) -> float:
    """(value - chance) / (1 - chance) x 100, the Open LLM Leaderboard 2 normalization."""
    return (value - chance) / (1 - chance) * 100


def column_value(result: MeasuredResult, column: Column | None) -> float:
    """The result's score as the column reports it: chance-normalized where the column says so (the
    normalized value the run recorded; for a single chance level, else from the headline metric's
    value or the score); otherwise the score."""
    if column is None or column.transform != CHANCE_NORMALIZED or column.chance is None:
        return result.score
    recorded = recorded_normalized(result.data)
    if recorded is not None:
        return recorded * 100
    metric, _ = _metric(result)
    value = result.data["metrics"].get(metric)
    raw = float(value) if is_number(value) else result.score / score_scale(result)
    return normalize(raw, column.chance)


@dataclass(frozen=True)
class AlsoReported:
    """A metric shown beside the headline (e.g. a strict-match beside a flexible extraction), on the score's scale."""

    metric: str
    value: float
    low: float | None
    high: float | None


def also_reported(result: MeasuredResult) -> list[AlsoReported]:
    """Every metric the declaration lists in `score.also` that the result recorded, with a normal
    interval where its stderr is recorded."""
    metrics, scale, found = result.data["metrics"], score_scale(result), []
    for metric in result.info.also:
        if not is_number(metrics.get(metric)):
            continue
        value = float(metrics[metric]) * scale
        stderr = find_stderr(metrics, metric, headline=False)
        low, high = normal_interval(value, stderr * scale) if stderr is not None else (None, None)
        found.append(AlsoReported(metric, value, low, high))
    return found


def measure(result: MeasuredResult, column: Column | None = None) -> Measurement:
    """Score and 95% interval: a bootstrap over the per-sample rows for judge scores, macro
    averages and macro-F1 (recomputed from pred/label); lm-eval's stderr otherwise; a bootstrap
    when there is no stderr; no interval when neither is available."""
    value = column_value(result, column)
    scale = score_scale(result)
    normalized = column is not None and column.transform == CHANCE_NORMALIZED and column.chance is not None
    if normalized and not isinstance(column.chance, float):  # per-subtask chance: no interval maps onto it
        return Measurement(value, None, None, None)

    def shown(metric_value: float) -> float:
        return normalize(metric_value, column.chance) if normalized else metric_value * scale

    metric, _ = _metric(result)
    aggregation = str(result.protocol.get("aggregation") or "")
    stat = statistic_for(metric, aggregation)
    prefer_bootstrap = stat != "mean" or result.info.judged
    stderr = find_stderr(result.data["metrics"], metric)
    samples = SampleSet.from_rows(result.samples(), need_labels=stat == "macro_f1")
    if len(samples) >= 2 and (prefer_bootstrap or stderr is None):
        low, high = (shown(bound) for bound in bootstrap_interval(stat, samples))
        if value is not None and not low - 1e-9 <= value <= high + 1e-9:
            # the rows' statistic is not the score (e.g. a score that averages two metrics): no interval
            return Measurement(value, None, None, None)
        return Measurement(value, low, high, f"bootstrap ({ITERATIONS}, seed {SEED})")
    if stderr is not None:
        low, high = normal_interval(0.0, stderr)
        half = shown(high) - shown(0.0)
        return Measurement(value, value - half, value + half, "stderr")
    return Measurement(value, None, None, None)
