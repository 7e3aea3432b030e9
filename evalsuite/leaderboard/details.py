"""Per-benchmark breakdowns for the detail pages, chosen by what the declaration says: judged
benchmarks by turn and category (raw vs penalized), benchmarks whose groups map to categories by
category and by group (subjects grouped into categories), any other benchmark's subscores by its breakdown name."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

from evalsuite.leaderboard.benchmarks import BenchmarkInfo
from evalsuite.leaderboard.collect import MeasuredResult, is_number
_RAW = re.compile(r"^(raw[/_.:])|([/_.:]raw)$")
_TURN = re.compile(r"^turn[ _-]?(\d+)$")
_TURN_NAME = re.compile(r"^(turn[ _-]?\d+|single[ _-]?turn|multi[ _-]?turn)$")


@dataclass(frozen=True)
class Breakdown:
    """A titled table: one line per subscore, one column per model (or model x variant)."""

    title: str
    frame: pd.DataFrame  # index: row labels; columns: header labels; values: floats or None


def split_variant(key: str) -> tuple[str, str]:
    """'raw/turn1' -> ('raw', 'turn1'); 'turn1' -> ('penalized', 'turn1') (a penalized judge score's naming)."""
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
        if has_raw and is_number(result.data["metrics"].get("score_raw")):
            turns[(result.display_name, "raw")]["Overall"] = float(result.data["metrics"]["score_raw"])
        for key, value in result.data["subscores"].items():
            variant, name = split_variant(key)
            if variant not in variants or not is_number(value):
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


def _subscores(results: list[MeasuredResult]) -> pd.DataFrame:
    return pd.DataFrame({r.display_name: {k: float(v) for k, v in r.data["subscores"].items() if is_number(v)}
                         for r in results}, dtype=float)


def _categorized_breakdowns(info: BenchmarkInfo, results: list[MeasuredResult]) -> list[Breakdown]:
    groups = _subscores(results)
    if groups.empty:
        return []
    group_name = info.breakdown or "group"
    category = pd.Series({g: info.category_of(g) or "unmapped" for g in groups.index}, name="Category")
    by_category = groups.groupby(category).mean()
    by_category.insert(0, f"{group_name.capitalize()}s", groups.groupby(category).size())
    by_group = groups.copy()
    by_group.insert(0, "Category", category)
    by_group = by_group.sort_index().sort_values("Category", kind="stable")
    return [
        Breakdown(f"By category (mean over the category's {group_name}s)", by_category),
        Breakdown(f"By {group_name}", by_group),
    ]


def breakdowns(info: BenchmarkInfo, results: list[MeasuredResult]) -> list[Breakdown]:
    """The breakdown tables of one benchmark across the measured models."""
    if info.judged:
        return _judge_breakdowns(results)
    if info.categories_file is not None:
        return _categorized_breakdowns(info, results)
    frame = _subscores(results)
    if frame.empty:
        return []
    title = f"By {info.breakdown}" if info.breakdown else "Subscores"
    return [Breakdown(title, frame.sort_index())]


def radar_data(results: list[MeasuredResult]) -> dict[str, dict[str, float]]:
    """Per-category scores of each model (penalized where both exist) for a radar chart: categories only,
    i.e. the groups of the result's samples (turn scores such as single_turn/multi_turn left out), or
    without samples every subscore that does not name a turn."""
    data: dict[str, dict[str, float]] = {}
    for result in results:
        groups = {str(row["group"]) for row in result.samples() if row.get("group") is not None}
        values = {}
        for key, value in result.data["subscores"].items():
            variant, name = split_variant(key)
            if variant != "penalized" or not is_number(value):
                continue
            if (name in groups) if groups else not _TURN_NAME.match(name.lower()):
                values[name] = float(value)
        if values:
            data[result.display_name] = values
    return data
