"""Intervals and paired tests of the leaderboard."""

import numpy as np
import pytest

from evalsuite.leaderboard.stats import (
    SampleSet,
    bootstrap_interval,
    mcnemar_exact,
    paired_comparison,
    point_estimate,
    statistic_for,
)


def _rows(scores, groups=None, preds=None, labels=None):
    return [
        {"item": f"q{i}", "score": s, "group": groups[i] if groups else None,
         "pred": preds[i] if preds else None, "label": labels[i] if labels else None}
        for i, s in enumerate(scores)
    ]


def test_statistic_choice():
    assert statistic_for("f1", "per_task") == "macro_f1"
    assert statistic_for("acc", "macro") == "macro"
    assert statistic_for("judge_score", "judge_mean") == "mean"
    assert statistic_for("exact_match,flexible-extract", "micro") == "mean"


def test_macro_f1_recomputed_from_pred_and_label():
    preds = ["1", "1", "0", "0", "1", "0"]
    labels = ["1", "0", "0", "0", "1", "1"]
    data = SampleSet.from_rows(_rows([float(p == l) for p, l in zip(preds, labels)], preds=preds, labels=labels),
                               need_labels=True)
    # class 1: tp 2 fp 1 fn 1 -> 2/3; class 0: tp 2 fp 1 fn 1 -> 2/3
    assert point_estimate("macro_f1", data) == pytest.approx(2 / 3)
    preds = ["1", "1", "1", "0"]
    labels = ["1", "1", "0", "0"]
    data = SampleSet.from_rows(_rows([1.0] * 4, preds=preds, labels=labels), need_labels=True)
    # class 1: 2*2/(4+1) = 0.8; class 0: 2*1/(2+1) = 2/3
    assert point_estimate("macro_f1", data) == pytest.approx((0.8 + 2 / 3) / 2)


def test_macro_mean_weights_groups_equally():
    data = SampleSet.from_rows(_rows([1, 1, 1, 1, 0, 1], groups=["a", "a", "a", "a", "b", "b"]))
    assert point_estimate("macro", data) == pytest.approx((1.0 + 0.5) / 2)
    assert point_estimate("mean", data) == pytest.approx(5 / 6)


def test_null_scores_are_left_out():
    data = SampleSet.from_rows(_rows([8.0, None, 6.0]))
    assert len(data) == 2 and point_estimate("mean", data) == 7.0


def test_bootstrap_is_deterministic_and_brackets_the_estimate():
    rng = np.random.default_rng(3)
    data = SampleSet.from_rows(_rows(list(rng.integers(1, 11, 200).astype(float))))
    first, second = bootstrap_interval("mean", data), bootstrap_interval("mean", data)
    assert first == second
    low, high = first
    estimate = point_estimate("mean", data)
    assert low < estimate < high
    stderr = data.scores.std(ddof=1) / np.sqrt(len(data))
    assert (high - low) == pytest.approx(2 * 1.96 * stderr, rel=0.15)


def test_mcnemar_exact_matches_the_binomial_test():
    assert mcnemar_exact(0, 6) == pytest.approx(2 / 64)
    assert mcnemar_exact(10, 20) == pytest.approx(0.0987371467, rel=1e-8)
    assert mcnemar_exact(0, 0) == 1.0
    assert mcnemar_exact(500, 500) == 1.0


def test_paired_comparison_of_identical_models_is_not_significant():
    rng = np.random.default_rng(5)
    data = SampleSet.from_rows(_rows(list(rng.integers(0, 2, 100).astype(float))))
    result = paired_comparison("mean", data, data)
    assert result.difference == 0 and result.p_value == 1.0 and not result.significant
    assert result.test == "McNemar (exact)"


def test_paired_comparison_detects_a_real_difference_on_common_items_only():
    rng = np.random.default_rng(6)
    strong = _rows(list((rng.random(300) < 0.7).astype(float)))
    weak = _rows(list((rng.random(300) < 0.4).astype(float)))
    weak.append({"item": "only-in-weak", "score": 1.0})
    result = paired_comparison("mean", SampleSet.from_rows(strong), SampleSet.from_rows(weak))
    assert result.n_common == 300
    assert result.significant and result.difference > 0.2 and result.ci_low > 0


def test_paired_bootstrap_for_judge_scores():
    rng = np.random.default_rng(8)
    a = _rows(list(rng.integers(5, 11, 80).astype(float)))
    b = [dict(r, score=r["score"] - 1.0) for r in a]
    result = paired_comparison("mean", SampleSet.from_rows(a), SampleSet.from_rows(b))
    assert result.test.startswith("paired bootstrap")
    assert result.difference == pytest.approx(1.0) and result.significant
    assert result.ci_low == pytest.approx(1.0) and result.ci_high == pytest.approx(1.0)


def test_macro_over_single_item_groups_gets_an_interval_from_the_items():
    """Subjects of one item each have no spread of their own: resampling within them gave [x, x]."""
    rng = np.random.default_rng(9)
    scores = list((rng.random(45) < 0.45).astype(float))
    data = SampleSet.from_rows(_rows(scores, groups=[f"subject{i}" for i in range(45)]))
    low, high = bootstrap_interval("macro", data)
    estimate = point_estimate("macro", data)
    assert estimate == pytest.approx(np.mean(scores))
    assert low < estimate < high and high - low > 0.15


def test_macro_with_a_single_item_group_among_larger_ones_still_varies():
    groups = ["a"] * 20 + ["b"]
    data = SampleSet.from_rows(_rows([1.0] * 10 + [0.0] * 10 + [1.0], groups=groups))
    assert point_estimate("macro", data) == pytest.approx(0.75)
    low, high = bootstrap_interval("macro", data)
    assert low < 0.75 < high


def test_stratified_macro_is_kept_when_every_group_has_two_items_or_more():
    data = SampleSet.from_rows(_rows([1, 0, 1, 1, 0, 0], groups=["a", "a", "b", "b", "c", "c"]))
    low, high = bootstrap_interval("macro", data)
    assert low < point_estimate("macro", data) < high
