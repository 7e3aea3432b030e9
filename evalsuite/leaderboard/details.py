"""Per-benchmark breakdowns for the detail pages: KMMLU by category and subject, MT-Bench and
KoMT-Bench by turn and category (raw vs penalized), any other benchmark's subscores as logged."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

from evalsuite.leaderboard.collect import MeasuredResult
from evalsuite.leaderboard.reference import kmmlu_category

JUDGE_BENCHMARKS = ("mt_bench", "komt_bench")
_RAW = re.compile(r"^(raw[/_.:])|([/_.:]raw)$")
_TURN = re.compile(r"^turn[ _-]?(\d+)$")


@dataclass(frozen=True)
class Breakdown:
    """A titled table: one line per subscore, one column per model (or model x variant)."""

    title: str
    frame: pd.DataFrame  # index: row labels; columns: header labels; values: floats or None


def split_variant(key: str) -> tuple[str, str]:
    """'raw/turn1' -> ('raw', 'turn1'); 'turn1' -> ('penalized', 'turn1') (KoMT-Bench naming)."""
    match = _RAW.search(key)
    if match:
        return "raw", _RAW.sub("", key)
    return "penalized", key


def _judge_breakdowns(results: list[MeasuredResult]) -> list[Breakdown]:
    has_raw = any(
        split_variant(k)[0] == "raw" for r in results for k in r.data["subscores"]
    ) or any("score_raw" in r.data["metrics"] for r in results)
    turns: dict[tuple[str, str], dict[str, float]] = {}
    categories: dict[tuple[str, str], dict[str, float]] = {}
    for result in results:
        variants = ("penalized", "raw") if has_raw else ("penalized",)
        for variant in variants:
            column = (result.display_name, variant)
            turns[column], categories[column] = {}, {}
        turns[(result.display_name, "penalized")]["Overall"] = result.score
        if has_raw and isinstance(result.data["metrics"].get("score_raw"), (int, float)):
            turns[(result.display_name, "raw")]["Overall"] = float(result.data["metrics"]["score_raw"])
        for key, value in result.data["subscores"].items():
            variant, name = split_variant(key)
            if variant not in variants or not isinstance(value, (int, float)):
                continue
            turn = _TURN.match(name.lower())
            if turn:
                turns[(result.display_name, variant)][f"Turn {turn.group(1)}"] = float(value)
            else:
                categories[(result.display_name, variant)][name] = float(value)

    def frame(data: dict[tuple[str, str], dict[str, float]]) -> pd.DataFrame:
        df = pd.DataFrame({(f"{m} ({v})" if has_raw else m): values for (m, v), values in data.items()})
        return df.sort_index() if not df.empty else df

    out = [Breakdown("By turn" + (" (penalized and raw)" if has_raw else ""), frame(turns))]
    if any(categories.values()):
        out.append(Breakdown("By category" + (" (penalized and raw)" if has_raw else ""), frame(categories)))
    return out


def _kmmlu_breakdowns(results: list[MeasuredResult]) -> list[Breakdown]:
    subjects = pd.DataFrame({r.display_name: r.data["subscores"] for r in results}, dtype=float)
    if subjects.empty:
        return []
    category = pd.Series({s: kmmlu_category(s) or "unmapped" for s in subjects.index}, name="Category")
    by_category = subjects.groupby(category).mean()
    by_category.insert(0, "Subjects", subjects.groupby(category).size())
    by_subject = subjects.copy()
    by_subject.insert(0, "Category", category)
    by_subject = by_subject.sort_index().sort_values("Category", kind="stable")
    return [
        Breakdown("By category (mean over the category's subjects)", by_category),
        Breakdown("By subject", by_subject),
    ]


def breakdowns(benchmark: str, results: list[MeasuredResult]) -> list[Breakdown]:
    """The breakdown tables of one benchmark across the measured models."""
    if benchmark in JUDGE_BENCHMARKS:
        return _judge_breakdowns(results)
    if benchmark == "kmmlu":
        return _kmmlu_breakdowns(results)
    frame = pd.DataFrame({r.display_name: r.data["subscores"] for r in results})
    if frame.empty:
        return []
    title = "By category" if benchmark == "mmlu_pro" else "Subscores"
    return [Breakdown(title, frame.sort_index())]


def radar_data(benchmark: str, results: list[MeasuredResult]) -> dict[str, dict[str, float]]:
    """Per-category scores of each model (penalized where both exist) for a radar chart."""
    data: dict[str, dict[str, float]] = {}
    for result in results:
        values = {}
        for key, value in result.data["subscores"].items():
            variant, name = split_variant(key)
            if variant == "penalized" and not _TURN.match(name.lower()) and isinstance(value, (int, float)):
                values[name] = float(value)
        if values:
            data[result.display_name] = values
    return data
