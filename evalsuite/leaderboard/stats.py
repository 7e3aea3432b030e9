"""Uncertainty of scores: normal intervals from stderr, bootstraps over per-sample rows, and paired
tests (paired bootstrap, exact McNemar) between two models on the same items.

Every bootstrap draws resampling weights (counts of each item) from a fixed seed, so output is deterministic.
A statistic is one of: `mean` (micro over items), `macro` (mean of per-group means, resampled
within each group; over all items at once where some group has a single item, whose own spread is
undefined) and `macro_f1` (F1 averaged over classes, recomputed from pred/label).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

SEED = 20240807
ITERATIONS = 1000
Z95 = 1.959963984540054
_CHUNK_CELLS = 4_000_000  # resampling weights held at once (iterations x items)


@dataclass(frozen=True)
class SampleSet:
    """Per-item arrays of one model on one benchmark, rows with a null score removed."""

    items: np.ndarray  # str
    scores: np.ndarray  # float
    groups: np.ndarray  # str ("" where no group)
    preds: np.ndarray  # str
    labels: np.ndarray  # str

    @classmethod
    def from_rows(cls, rows: list[dict], need_labels: bool = False) -> "SampleSet":
        kept = [
            r for r in rows
            if _is_number(r.get("score"))
            and (not need_labels or (r.get("pred") is not None and r.get("label") is not None))
        ]
        return cls(
            items=np.array([str(r["item"]) for r in kept], dtype=object),
            scores=np.array([float(r["score"]) for r in kept], dtype=float),
            groups=np.array([str(r.get("group") or "") for r in kept], dtype=object),
            preds=np.array([str(r.get("pred")) for r in kept], dtype=object),
            labels=np.array([str(r.get("label")) for r in kept], dtype=object),
        )

    def __len__(self) -> int:
        return len(self.items)

    def take(self, index: np.ndarray) -> "SampleSet":
        return SampleSet(self.items[index], self.scores[index], self.groups[index],
                         self.preds[index], self.labels[index])


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def statistic_for(metric: str, aggregation: str) -> str:
    """Which statistic reproduces a result's score from its samples."""
    if "f1" in metric.lower():
        return "macro_f1"
    if aggregation == "macro":
        return "macro"
    return "mean"


def normal_interval(value: float, stderr: float) -> tuple[float, float]:
    """value +- 1.96 stderr."""
    return value - Z95 * stderr, value + Z95 * stderr


def _weighted(stat: str, data: SampleSet, weights: np.ndarray) -> np.ndarray:
    """The statistic under each row of resampling weights (shape: iterations x items)."""
    if stat == "mean":
        return weights @ data.scores / weights.sum(axis=1)
    if stat == "macro":
        names = sorted(set(data.groups))
        member = np.stack([data.groups == name for name in names], axis=1).astype(float)  # items x groups
        totals = weights @ (member * data.scores[:, None])
        counts = weights @ member
        with np.errstate(invalid="ignore", divide="ignore"):
            means = np.where(counts > 0, totals / np.where(counts > 0, counts, 1), np.nan)
        return np.nanmean(means, axis=1)  # groups absent from a resample are left out of its mean
    if stat == "macro_f1":
        classes = sorted(set(data.labels) | set(data.preds))
        f1s = []
        for cls in classes:
            is_pred, is_gold = data.preds == cls, data.labels == cls
            tp = weights @ (is_pred & is_gold).astype(float)
            fp = weights @ (is_pred & ~is_gold).astype(float)
            fn = weights @ (~is_pred & is_gold).astype(float)
            denominator = 2 * tp + fp + fn
            f1s.append(np.divide(2 * tp, denominator, out=np.zeros_like(tp), where=denominator > 0))
        # sklearn's macro F1 averages over the classes present in gold or predictions
        return np.mean(f1s, axis=0)
    raise ValueError(f"unknown statistic {stat}")


def point_estimate(stat: str, data: SampleSet) -> float:
    """The statistic on the rows as they are."""
    return float(_statistic_draws(stat, [data], iterations=0)[0][0])


def _statistic_draws(stat: str, sets: list[SampleSet], iterations: int, seed: int = SEED) -> list[np.ndarray]:
    """Bootstrap draws of the statistic for each aligned set (same weights for all: paired).
    iterations=0 returns the point estimate (unit weights)."""
    rng = np.random.default_rng(seed)
    base = sets[0]
    if stat == "macro" and _groups_resamplable(base):
        group_names = sorted(set(base.groups))
        per_group = [[] for _ in sets]
        for name in group_names:
            index = np.flatnonzero(base.groups == name)
            draws = _statistic_draws("mean", [s.take(index) for s in sets], iterations, int(rng.integers(2**31)))
            for k, d in enumerate(draws):
                per_group[k].append(d)
        return [np.mean(np.vstack(groups), axis=0) for groups in per_group]
    n = len(base)
    if iterations == 0:
        weights = np.ones((1, n))
        return [_weighted(stat, s, weights) for s in sets]
    out: list[list[np.ndarray]] = [[] for _ in sets]
    chunk = max(1, _CHUNK_CELLS // max(n, 1))
    done = 0
    while done < iterations:
        size = min(chunk, iterations - done)
        weights = _resampling_weights(rng, n, size)
        for k, s in enumerate(sets):
            out[k].append(_weighted(stat, s, weights))
        done += size
    return [np.concatenate(parts) for parts in out]


def _groups_resamplable(data: SampleSet) -> bool:
    """True when every group has at least two items, so resampling within groups varies."""
    _, counts = np.unique(data.groups.astype(str), return_counts=True)
    return bool(len(counts)) and int(counts.min()) >= 2


def _resampling_weights(rng: np.random.Generator, n: int, size: int) -> np.ndarray:
    """How often each of n items is drawn in each of `size` resamples with replacement."""
    drawn = rng.integers(0, n, size=(size, n)) + np.arange(size)[:, None] * n
    return np.bincount(drawn.ravel(), minlength=size * n).reshape(size, n).astype(float)


def bootstrap_interval(stat: str, data: SampleSet, iterations: int = ITERATIONS) -> tuple[float, float]:
    """95% percentile interval of the statistic (on the samples' own scale)."""
    draws = _statistic_draws(stat, [data], iterations)[0]
    low, high = np.percentile(draws, [2.5, 97.5])
    return float(low), float(high)


@dataclass(frozen=True)
class PairedComparison:
    """A minus B on the items both scored, on the samples' scale."""

    n_common: int
    difference: float
    ci_low: float
    ci_high: float
    p_value: float
    test: str

    @property
    def significant(self) -> bool:
        return self.p_value < 0.05


def align(a: SampleSet, b: SampleSet) -> tuple[SampleSet, SampleSet]:
    """The rows of a and b on the items both have, in the same (sorted) order."""
    common = sorted(set(a.items) & set(b.items))
    pos_a = {item: i for i, item in enumerate(a.items)}
    pos_b = {item: i for i, item in enumerate(b.items)}
    return (a.take(np.array([pos_a[i] for i in common], dtype=int)),
            b.take(np.array([pos_b[i] for i in common], dtype=int)))


def mcnemar_exact(a_only: int, b_only: int) -> float:
    """Two-sided exact McNemar p-value: binomial test of the discordant pairs at p = 0.5."""
    n = a_only + b_only
    if n == 0:
        return 1.0
    k = min(a_only, b_only)
    log_terms = [math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) - n * math.log(2)
                 for i in range(k + 1)]
    top = max(log_terms)
    tail = math.exp(top) * sum(math.exp(t - top) for t in log_terms)
    return min(1.0, 2 * tail)


def paired_comparison(stat: str, a: SampleSet, b: SampleSet, iterations: int = ITERATIONS) -> PairedComparison | None:
    """Compare two models on their common items; None when they share no item.
    Binary per-item scores under a micro mean use exact McNemar, everything else a paired bootstrap
    (two-sided p from the share of resamples on either side of zero)."""
    a, b = align(a, b)
    if len(a) == 0:
        return None
    diff_point = point_estimate(stat, a) - point_estimate(stat, b)
    draws_a, draws_b = _statistic_draws(stat, [a, b], iterations)
    diffs = draws_a - draws_b
    low, high = np.percentile(diffs, [2.5, 97.5])
    binary = np.isin(a.scores, (0.0, 1.0)).all() and np.isin(b.scores, (0.0, 1.0)).all()
    if stat == "mean" and binary:
        a_only = int(np.sum((a.scores == 1) & (b.scores == 0)))
        b_only = int(np.sum((a.scores == 0) & (b.scores == 1)))
        p_value, test = mcnemar_exact(a_only, b_only), "McNemar (exact)"
    else:
        p_value = min(1.0, 2 * min(np.mean(diffs <= 0), np.mean(diffs >= 0)))
        if np.all(diffs == 0):
            p_value = 1.0
        test = f"paired bootstrap ({iterations})"
    return PairedComparison(len(a), float(diff_point), float(low), float(high), float(p_value), test)
