"""The report's numbers, tables and per-column protocol: leaderboards/reference/exaone3_paper.yaml as
typed objects. Titles, scales, decimals and chance levels of the measured columns come from the
benchmarks' declarations (evalsuite.leaderboard.benchmarks)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evalsuite import REPO_ROOT
from evalsuite.declarations import discover, read_yaml
from evalsuite.errors import BadInputError
from evalsuite.leaderboard.benchmarks import benchmark_info
from evalsuite.leaderboard.names import is_plain_name

DEFAULT_REFERENCE = REPO_ROOT / "leaderboards" / "reference" / "exaone3_paper.yaml"
CHANCE_NORMALIZED = "chance_normalized"
TRANSFORMS = (CHANCE_NORMALIZED,)
# the protocol settings a column may state or infer, in the order flags and notes list them
PROTOCOL_SETTINGS = ("num_fewshot", "output", "metric", "aggregation", "chat_template", "judge")


@dataclass(frozen=True)
class ColumnProtocol:
    """The report's protocol for one column: settings it states (flagged when a run differs) and
    settings inferred from elsewhere (notes only); a setting in neither is unknown."""

    stated: dict[str, Any] = field(default_factory=dict)
    inferred: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Column:
    """One column of a report table; `benchmark` is None where the harness does not run it."""

    key: str
    title: str
    benchmark: str | None
    average_scale: float = 1.0
    transform: str | None = None
    chance: float | dict[str, float] | str | None = None  # the declared chance level(s) (chance-normalized columns)
    decimals: int | None = None  # None: the table's
    protocol: ColumnProtocol = field(default_factory=ColumnProtocol)


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
class Reference:
    """Everything the leaderboard knows about the report."""

    report: dict[str, str]
    provenance: dict[str, str]
    tables: list[ReportTable]
    path: Path = field(default=DEFAULT_REFERENCE)

    def columns_of(self, benchmark: str) -> list[tuple[ReportTable, Column]]:
        """Every report column measured by `benchmark`, in table order."""
        return [(t, c) for t in self.tables for c in t.columns if c.benchmark == benchmark]

    def protocol_of(self, benchmark: str) -> ColumnProtocol | None:
        """The report's protocol for a benchmark: that of its first column (None: not in the report)."""
        columns = self.columns_of(benchmark)
        return columns[0][1].protocol if columns else None

    def is_normalized(self, benchmark: str) -> bool:
        """True when some report column shows the benchmark chance-normalized."""
        return any(c.transform == CHANCE_NORMALIZED for _, c in self.columns_of(benchmark))


def _settings(raw: Any, where: str) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise BadInputError(f"{where} must be a mapping of protocol settings")
    unknown = sorted(set(raw) - set(PROTOCOL_SETTINGS))
    if unknown:
        raise BadInputError(f"{where}: unknown protocol setting(s) {', '.join(map(str, unknown))}")
    return dict(raw)


def _column(raw: dict, table_id: str, declared: set[str]) -> Column:
    where = f"reference table {table_id}, column {raw.get('key')}"
    benchmark = raw.get("benchmark")
    if benchmark is not None and benchmark not in declared:
        raise BadInputError(f"{where}: benchmark {benchmark!r} is not declared")
    info = benchmark_info(benchmark) if benchmark else None
    transform = raw.get("transform")
    if transform is not None and transform not in TRANSFORMS:
        raise BadInputError(f"{where}: unknown transform {transform!r} (known: {', '.join(TRANSFORMS)})")
    if transform == CHANCE_NORMALIZED and (info is None or info.chance is None):
        raise BadInputError(f"{where}: a chance-normalized column needs a benchmark that declares score.chance")
    stated = _settings(raw.get("stated"), f"{where}, stated")
    inferred = _settings(raw.get("inferred"), f"{where}, inferred")
    both = sorted(set(stated) & set(inferred))
    if both:
        raise BadInputError(f"{where}: {', '.join(both)} both stated and inferred")
    title = raw.get("title") or (info.title if info else None)
    if not title:
        raise BadInputError(f"{where}: a column without a benchmark needs a title")
    decimals = raw.get("decimals", info.decimals if info else None)
    return Column(
        key=str(raw["key"]),
        title=str(title),
        benchmark=benchmark,
        average_scale=float(raw.get("average_scale", 1)),
        transform=transform,
        chance=info.chance if info else None,
        decimals=None if decimals is None else int(decimals),
        protocol=ColumnProtocol(stated, inferred),
    )


def _table(raw: dict, declared: set[str]) -> ReportTable:
    if not is_plain_name(raw["id"]):
        raise BadInputError(f"reference table id {raw['id']!r} is not a plain name (it names output files)")
    columns = [_column(c, raw["id"], declared) for c in raw["columns"]]
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
    raw = read_yaml(path, "reference file")
    declared = set(discover())
    try:
        tables = [_table(t, declared) for t in raw["tables"]]
        return Reference(raw["report"], raw["provenance"], tables, path)
    except (KeyError, TypeError, ValueError) as err:
        raise BadInputError(f"{path}: not a readable reference file ({err})") from err
