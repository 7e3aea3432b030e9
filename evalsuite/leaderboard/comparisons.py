"""Paired comparisons of every two measured models on the same benchmark and the same items."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

from evalsuite.leaderboard.collect import MeasuredResult
from evalsuite.leaderboard.measured import score_scale
from evalsuite.leaderboard.reference import Reference
from evalsuite.leaderboard.stats import SampleSet, paired_comparison, statistic_for


@dataclass(frozen=True)
class Comparison:
    """Model A minus model B on one benchmark, on the score's scale (None fields: not testable)."""

    benchmark: str
    model_a: str
    model_b: str
    n_common: int
    difference: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    test: str | None
    note: str | None

    @property
    def significant(self) -> bool | None:
        return None if self.p_value is None else self.p_value < 0.05


def _compare(a: MeasuredResult, b: MeasuredResult, reference: Reference) -> Comparison:
    metric = str(a.protocol.get("metric") or "")
    stat = statistic_for(metric, str(a.protocol.get("aggregation") or ""))
    notes = []
    for name in ("metric", "aggregation", "num_fewshot", "chat_template", "judge", "limit"):
        if a.protocol.get(name) != b.protocol.get(name):
            notes.append(f"{name.replace('_', ' ')} differs")
    need_labels = stat == "macro_f1"
    set_a = SampleSet.from_rows(a.samples(), need_labels)
    set_b = SampleSet.from_rows(b.samples(), need_labels)
    if len(set_a) == 0 or len(set_b) == 0:
        missing = [r.display_name for r, s in ((a, set_a), (b, set_b)) if len(s) == 0]
        notes.append("no per-sample rows for " + " and ".join(missing))
        return Comparison(a.benchmark, a.display_name, b.display_name, 0, None, None, None, None, None,
                          "; ".join(notes))
    result = paired_comparison(stat, set_a, set_b)
    if result is None:
        notes.append("no item in common")
        return Comparison(a.benchmark, a.display_name, b.display_name, 0, None, None, None, None, None,
                          "; ".join(notes))
    scale = score_scale(a)
    if reference.is_normalized(a.benchmark):
        notes.append("difference before chance normalization")
    return Comparison(a.benchmark, a.display_name, b.display_name, result.n_common,
                      result.difference * scale, result.ci_low * scale, result.ci_high * scale,
                      result.p_value, result.test, "; ".join(notes) or None)


def compare_all(results: list[MeasuredResult], reference: Reference) -> list[Comparison]:
    """Every pair of measured models per benchmark (benchmarks and names in sorted order)."""
    by_benchmark: dict[str, list[MeasuredResult]] = {}
    for result in results:
        by_benchmark.setdefault(result.benchmark, []).append(result)
    comparisons = []
    for benchmark in sorted(by_benchmark):
        runs = sorted(by_benchmark[benchmark], key=lambda r: r.display_name)
        comparisons.extend(_compare(a, b, reference) for a, b in combinations(runs, 2))
    return comparisons
