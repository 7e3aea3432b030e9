"""The report's numbers and protocol: leaderboards/reference/exaone3_paper.yaml as typed objects."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from evalsuite.errors import BadInputError

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_REFERENCE = REPO_ROOT / "leaderboards" / "reference" / "exaone3_paper.yaml"
KMMLU_CATEGORIES = Path(__file__).resolve().parent / "data" / "kmmlu_categories.yaml"
UNKNOWN = "unknown"


@dataclass(frozen=True)
class Column:
    """One column of a report table; `benchmark` is None where the harness does not run it."""

    key: str
    title: str
    benchmark: str | None
    average_scale: float = 1.0
    transform: str | None = None
    chance: float = 0.0
    decimals: int | None = None  # None: the table's


@dataclass(frozen=True)
class PaperRow:
    """One model's numbers as the report prints them."""

    model: str
    values: dict[str, float]
    reported_average: float | None


@dataclass(frozen=True)
class ReportTable:
    """A table of the report: its columns, averaging rule and the paper's rows."""

    id: str
    title: str
    report_table: int
    provenance: str
    decimals: int
    average_rule: str
    columns: list[Column]
    rows: list[PaperRow]

    def decimals_of(self, column: Column) -> int:
        return self.decimals if column.decimals is None else int(column.decimals)

    @property
    def measured_columns(self) -> list[Column]:
        return [column for column in self.columns if column.benchmark]


@dataclass(frozen=True)
class BenchmarkReference:
    """The paper's protocol and the score scale of one harness benchmark."""

    name: str
    title: str
    scale: float
    protocol: dict[str, Any]


@dataclass(frozen=True)
class Reference:
    """Everything the leaderboard knows about the report."""

    report: dict[str, str]
    provenance: dict[str, str]
    benchmarks: dict[str, BenchmarkReference]
    tables: list[ReportTable]
    path: Path = field(default=DEFAULT_REFERENCE)

    def title_of(self, benchmark: str) -> str:
        known = self.benchmarks.get(benchmark)
        return known.title if known else benchmark


def _table(raw: dict) -> ReportTable:
    columns = [
        Column(
            key=c["key"],
            title=c["title"],
            benchmark=c.get("benchmark"),
            average_scale=float(c.get("average_scale", 1)),
            transform=c.get("transform"),
            chance=float(c.get("chance", 0.0)),
            decimals=c.get("decimals"),
        )
        for c in raw["columns"]
    ]
    keys = {c.key for c in columns}
    rows = []
    for r in raw.get("rows", []):
        unknown = set(r.get("values") or {}) - keys
        if unknown:
            raise BadInputError(f"reference table {raw['id']}: unknown column(s) {sorted(unknown)}")
        rows.append(
            PaperRow(
                model=r["model"],
                values={k: float(v) for k, v in (r.get("values") or {}).items()},
                reported_average=r.get("reported_average"),
            )
        )
    return ReportTable(
        id=raw["id"],
        title=raw["title"],
        report_table=int(raw["report_table"]),
        provenance=raw["provenance"],
        decimals=int(raw.get("decimals", 1)),
        average_rule=raw["average_rule"],
        columns=columns,
        rows=rows,
    )


def load_reference(path: str | Path = DEFAULT_REFERENCE) -> Reference:
    """Read the report's numbers; BadInputError names the file when it is malformed."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        benchmarks = {
            name: BenchmarkReference(name, b["title"], float(b["scale"]), dict(b["protocol"]))
            for name, b in raw["benchmarks"].items()
        }
        tables = [_table(t) for t in raw["tables"]]
        return Reference(raw["report"], raw["provenance"], benchmarks, tables, path)
    except (OSError, yaml.YAMLError, KeyError, TypeError, ValueError) as err:
        raise BadInputError(f"{path}: not a readable reference file ({err})") from err


def subject_key(subject: str) -> str:
    """KMMLU subject names compared without case, spaces, '-' or '_' ('Agricultural Sciences')."""
    return re.sub(r"[^a-z0-9]", "", subject.lower())


@lru_cache(maxsize=1)
def kmmlu_categories() -> dict[str, str]:
    """KMMLU subject (normalized by subject_key) -> category (STEM, Applied Science, HUMSS, Other)."""
    raw = yaml.safe_load(KMMLU_CATEGORIES.read_text(encoding="utf-8"))
    return {subject_key(subject): category for subject, category in raw.items()}


def kmmlu_category(subject: str) -> str | None:
    """The category of a KMMLU subject, or None when the name is not a KMMLU subject."""
    categories = kmmlu_categories()
    key = subject_key(subject)
    for task_prefix in ("eskmmlu", "kmmlu"):  # lm-eval task names: es_kmmlu_math, kmmlu_math
        if key not in categories and key.startswith(task_prefix):
            key = key[len(task_prefix):]
    return categories.get(key)
