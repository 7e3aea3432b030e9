"""What the leaderboard needs to know of a benchmark: read from its declaration, or, for a result of a
benchmark that is no longer declared, from the result's own stored fields."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from evalsuite.declarations import Benchmark, discover, read_yaml
from evalsuite.errors import BadInputError

JUDGE_AGGREGATION = "judge_mean"


@dataclass(frozen=True)
class BenchmarkInfo:
    """Title, score scale and display rules of one benchmark, as the leaderboard uses them."""

    name: str
    title: str
    scale: float  # score = metric value x scale
    decimals: int
    chance: float | dict[str, float] | str | None  # random-guess level(s) (declarations.Score.chance)
    judged: bool  # scored by an LLM judge (turns, categories, raw vs penalized)
    breakdown: str | None  # what the per-item groups are called ("subject", "category")
    also: tuple[str, ...]  # metrics shown beside the headline
    categories_file: Path | None  # group -> category mapping
    task_prefix: str = ""  # lm-eval task whose subtask names (<task>_<group>) may key the groups

    def category_of(self, group: str) -> str | None:
        """The category of a group (e.g. a subject), or None when it is not mapped."""
        if self.categories_file is None:
            return None
        categories = _categories(self.categories_file)
        key = group_key(group)
        prefix = group_key(self.task_prefix)
        if key not in categories and prefix and key.startswith(prefix):
            key = key[len(prefix):]
        return categories.get(key)


def group_key(name: str) -> str:
    """Group names compared without case, spaces, '-' or '_' ('Agricultural Sciences')."""
    return re.sub(r"[^a-z0-9]", "", name.lower())


@lru_cache(maxsize=16)
def _categories(path: Path) -> dict[str, str]:
    raw = read_yaml(path, "category mapping")
    if not isinstance(raw, dict) or not all(isinstance(v, str) for v in raw.values()):
        raise BadInputError(f"{path}: a category mapping must map each group to a category name")
    return {group_key(str(group)): category for group, category in raw.items()}


def _declared(benchmark: Benchmark) -> BenchmarkInfo:
    return BenchmarkInfo(
        name=benchmark.name,
        title=benchmark.title,
        scale=benchmark.score.scale,
        decimals=benchmark.score.decimals,
        chance=benchmark.score.chance,
        judged=benchmark.engine == "judge",
        breakdown=benchmark.breakdown,
        also=benchmark.score.also,
        categories_file=benchmark.categories,
        task_prefix=benchmark.lm_eval_task or "",
    )


def benchmark_info(name: str, protocol: dict | None = None) -> BenchmarkInfo:
    """The declared benchmark `name`; an undeclared one (a result of a benchmark since removed)
    is described from its stored protocol: judge scores on their 1-10 scale, others as percentages."""
    declared = discover().get(name)
    if declared is not None:
        return _declared(declared)
    judged = (protocol or {}).get("aggregation") == JUDGE_AGGREGATION
    return BenchmarkInfo(name=name, title=name, scale=1.0 if judged else 100.0, decimals=2 if judged else 1,
                         chance=None, judged=judged, breakdown=None, also=(), categories_file=None)
