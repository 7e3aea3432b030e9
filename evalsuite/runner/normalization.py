"""Chance normalization as the Open LLM Leaderboard 2 computes it, from a declaration's `score.chance`.

normalized = max(0, (value - chance) / (1 - chance)). A number normalizes the headline metric; a
mapping {subtask: chance} or "choices" (chance = 1 / the number of choices, averaged over the
subtask's items) normalizes each subtask's mean of the per-item metric and then averages the
subtasks with equal weight (the leaderboard's scores of benchmarks made of subtasks).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from evalsuite.declarations import CHANCE_FROM_CHOICES, Score
from evalsuite.errors import BadInputError


def normalized(value: float, chance: float) -> float:
    """(value - chance) / (1 - chance), clipped at 0 as the leaderboard does."""
    return max(0.0, (value - chance) / (1 - chance))


@dataclass(frozen=True)
class Normalization:
    """The benchmark's normalized value (0-1) and, for per-subtask chance, each subtask's figures."""

    value: float
    raw: dict[str, float] = field(default_factory=dict)  # subtask -> mean of the per-item metric
    chance: dict[str, float] = field(default_factory=dict)  # subtask -> its chance level
    per_subtask: dict[str, float] = field(default_factory=dict)  # subtask -> normalized


def subtask_of(row: dict) -> str | None:
    """The subtask an item counts toward: its lm-eval subtask, else its declared group."""
    return row.get("subtask") or row.get("group")


def normalize(score: Score, headline: float, rows: list[dict]) -> Normalization | None:
    """The declared normalization of a result (None when the declaration has no chance level)."""
    if score.chance is None:
        return None
    if not score.per_subtask_chance:
        return Normalization(normalized(headline, float(score.chance)))  # type: ignore[arg-type]
    values: dict[str, list[float]] = {}
    levels: dict[str, list[float]] = {}
    for row in rows:
        subtask = subtask_of(row)
        if subtask is None or row.get("score") is None:
            continue
        values.setdefault(subtask, []).append(float(row["score"]))
        levels.setdefault(subtask, []).append(_item_chance(score, subtask, row))
    if not values:
        raise BadInputError("no scored items to normalize (per-subtask chance needs subtask rows)")
    raw = {s: sum(v) / len(v) for s, v in sorted(values.items())}
    chance = {s: sum(levels[s]) / len(levels[s]) for s in raw}
    per_subtask = {s: normalized(raw[s], chance[s]) for s in raw}
    return Normalization(sum(per_subtask.values()) / len(per_subtask), raw, chance, per_subtask)


def _item_chance(score: Score, subtask: str, row: dict) -> float:
    if score.chance == CHANCE_FROM_CHOICES:
        choices = row.get("choices")
        if not isinstance(choices, int) or choices < 1:
            raise BadInputError(f"item {row.get('item')} of {subtask} records no number of choices")
        return 1 / choices
    declared = score.chance
    if not isinstance(declared, dict) or subtask not in declared:
        raise BadInputError(f"score.chance declares no level for subtask {subtask!r}")
    return declared[subtask]
