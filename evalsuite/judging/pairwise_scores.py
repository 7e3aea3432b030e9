"""A model's win rate against a baseline from pairwise battles, as Arena-Hard's show_result.py computes it.

Every battle is the model under test against the one baseline: the baseline wins, the model wins, or a
tie. show_result.py fits a Bradley-Terry model (sklearn LogisticRegression without penalty on the
battles duplicated, a tie counted once as a win of each side) and reports the predicted win rate
against the baseline. With the baseline in every battle, each model's rating is a separate parameter
and the maximum-likelihood fit has a closed form: the win rate is the model's share of the points,
(wins + ties / 2) / battles. sklearn's iterative fit reaches the same value to about 1e-9, and is no
dependency here.

The 95% interval is show_result.py's bootstrap: `rounds` resamples of the battles with replacement
drawn from numpy's legacy RandomState(seed) exactly as pandas' `DataFrame.sample(frac=1.0,
replace=True)` draws them (one `choice(n, size=n, replace=True)` per round, seed 42 set at
import), each refitted; the 2.5 and 97.5 percentiles are taken (numpy's linear interpolation) on
the rating scale (400 log10 odds) and mapped back to win rates. Identical draws need the battles in
the official order (judgment rows in file order, each row's game 1 copies, then game 2's).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

BASELINE_WINS, TIE, MODEL_WINS = 0, 1, 2
RATING_SCALE = 400.0  # show_result.py / utils_math.py: SCALE=400, BASE=10
PERCENTILES = (2.5, 97.5)


@dataclass(frozen=True)
class BootstrapWinRate:
    """The model's win rate against the baseline in percent, with its bootstrap interval."""

    score: float
    low: float | None
    high: float | None


def points(outcomes: np.ndarray) -> np.ndarray:
    """The model's points per battle: 1 for a win, 0.5 for a tie, 0 for a loss."""
    return np.asarray(outcomes, dtype=float) / 2.0


def win_share(outcomes: np.ndarray) -> float:
    """The closed-form Bradley-Terry win probability against the baseline (nan without battles)."""
    return float(points(outcomes).mean()) if len(outcomes) else math.nan


def rating_gap(share: np.ndarray) -> np.ndarray:
    """The model's rating minus the baseline's, 400 log10(p / (1 - p)) (+-inf at p = 1 or 0)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return RATING_SCALE * np.log10(share / (1.0 - share))


def share_of(gap: float) -> float:
    """The win probability of a rating gap (show_result's predict_win_rate against the baseline)."""
    if math.isinf(gap):
        return 1.0 if gap > 0 else 0.0
    return 1.0 / (1.0 + 10.0 ** (-gap / RATING_SCALE))


def percentile(values: np.ndarray, q: float) -> float:
    """numpy's default (linear) percentile, also when the neighbours are infinite (a bootstrap round
    the model won, or lost, entirely: upstream's sklearn fit stops at a large finite rating there)."""
    ordered = np.sort(values)
    position = (len(ordered) - 1) * q / 100.0
    below, above = ordered[math.floor(position)], ordered[math.ceil(position)]
    if np.isfinite(below) and np.isfinite(above):
        return float(np.percentile(values, q))
    if position == math.floor(position) or below == above:
        return float(below)
    return float(above if math.isinf(above) else below)


def win_rate(outcomes: list[int], rounds: int, seed: int) -> BootstrapWinRate:
    """Win rate (percent) and its bootstrap interval from the battles in the official order.

    `outcomes` holds BASELINE_WINS / TIE / MODEL_WINS per battle (a strong verdict repeated as
    many times as it weighs). No battle: score nan and no interval. The rounds resample the battles
    given, as show_result.py does on a judgment folder holding this model's file alone.
    """
    battles = np.asarray(outcomes, dtype=np.int64)
    score = win_share(battles)
    if not len(battles) or rounds < 1:
        return BootstrapWinRate(100.0 * score, None, None)
    state = np.random.RandomState(seed)
    gaps = np.empty(rounds)
    for round_index in range(rounds):
        sample = battles[state.choice(len(battles), size=len(battles), replace=True)]
        gaps[round_index] = rating_gap(np.asarray(win_share(sample)))
    low, high = (100.0 * share_of(percentile(gaps, q)) for q in PERCENTILES)
    return BootstrapWinRate(100.0 * score, low, high)
