"""The report's tables with paper and measured rows: cells, protocol flags and averages (pandas)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

import pandas as pd

from evalsuite.leaderboard.collect import MeasuredResult
from evalsuite.leaderboard.flags import inferred_differences, inferred_summary, protocol_differences
from evalsuite.leaderboard.measured import AlsoReported, Measurement, also_reported, measure
from evalsuite.leaderboard.reference import Reference, ReportTable

PAPER, MEASURED = "paper", "measured"
# cell states: a number, no number in the report, not run by the harness, no result for this model
VALUE, MISSING, NOT_RUN, NO_RESULT = "value", "missing", "not_run", "no_result"


@dataclass
class Cell:
    """One table cell; `flags` say how a measured cell's protocol differs from the paper's."""

    state: str
    value: float | None = None
    low: float | None = None
    high: float | None = None
    method: str | None = None
    flags: list[str] = field(default_factory=list)
    note: str | None = None  # footnote letter, assigned once rows are ordered
    inferred: list[str] = field(default_factory=list)  # differences from settings inferred for the report
    also: list[AlsoReported] = field(default_factory=list)  # metrics shown beside the headline


@dataclass
class TableRow:
    """A model's row: the paper's numbers or a measured run's."""

    model: str
    source: str
    provenance: str | None
    cells: dict[str, Cell]
    comparable: bool = True
    average: float | None = None
    averaged_columns: int = 0
    reported_average: float | None = None

    @property
    def partial(self) -> bool:
        return self.averaged_columns < len(self.cells)


@dataclass
class BuiltTable:
    """A report table filled in: ordered rows and lettered footnotes."""

    spec: ReportTable
    rows: list[TableRow]
    notes: list[tuple[str, str]]  # (letter, text)
    mismatches: list[str]  # recomputed averages that differ from the report's
    inferred_notes: list[str] = field(default_factory=list)  # inferred settings, and runs that differ

    def also_metrics(self) -> dict[str, list[str]]:
        """Column key -> the metrics some measured row reports beside the headline, in order."""
        found: dict[str, list[str]] = {}
        for row in self.rows:
            for key, cell in row.cells.items():
                for also in cell.also:
                    if also.metric not in found.setdefault(key, []):
                        found[key].append(also.metric)
        return found

    def frame(self) -> pd.DataFrame:
        """One line per row: values, intervals, flags and averages (CSV/JSON export)."""
        columns = ["model", "source", "provenance", "comparable"]
        also = self.also_metrics()
        for column in self.spec.columns:
            columns += [column.key, f"{column.key}_ci_low", f"{column.key}_ci_high",
                        f"{column.key}_flags", f"{column.key}_state"]
            for metric in also.get(column.key, []):
                columns += [f"{column.key}[{metric}]", f"{column.key}[{metric}]_ci_low",
                            f"{column.key}[{metric}]_ci_high"]
        columns += ["average", "average_partial", "average_columns", "reported_average"]
        records = []
        for row in self.rows:
            record: dict = {"model": row.model, "source": row.source, "provenance": row.provenance,
                            "comparable": row.comparable}
            for column in self.spec.columns:
                cell = row.cells[column.key]
                record[column.key] = cell.value
                record[f"{column.key}_ci_low"] = cell.low
                record[f"{column.key}_ci_high"] = cell.high
                record[f"{column.key}_flags"] = "; ".join(cell.flags) or None
                record[f"{column.key}_state"] = cell.state
                for item in cell.also:
                    record[f"{column.key}[{item.metric}]"] = item.value
                    record[f"{column.key}[{item.metric}]_ci_low"] = item.low
                    record[f"{column.key}[{item.metric}]_ci_high"] = item.high
            record["average"] = row.average
            record["average_partial"] = row.partial
            record["average_columns"] = f"{row.averaged_columns}/{len(self.spec.columns)}"
            record["reported_average"] = row.reported_average
            records.append(record)
        return pd.DataFrame.from_records(records, columns=columns)


def rounded(value: float, decimals: int) -> str:
    """value rounded half-up to `decimals` places, as the report prints it (57.525 -> 57.5)."""
    exact = Decimal(repr(round(value, 9)))
    return str(exact.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP))


def _paper_rows(spec: ReportTable) -> list[TableRow]:
    rows = []
    for paper in spec.rows:
        cells = {
            c.key: Cell(VALUE, paper.values[c.key]) if c.key in paper.values else Cell(MISSING)
            for c in spec.columns
        }
        rows.append(TableRow(paper.model, PAPER, spec.provenance, cells,
                             reported_average=paper.reported_average))
    return rows


def _measured_rows(spec: ReportTable, results: list[MeasuredResult],
                   measurements: dict[tuple[str, str | None], Measurement]) -> list[TableRow]:
    by_model: dict[str, dict[str, MeasuredResult]] = {}
    benchmarks = {c.benchmark for c in spec.measured_columns}
    for result in results:
        if result.benchmark in benchmarks:
            by_model.setdefault(result.display_name, {})[result.benchmark] = result
    rows = []
    for model, found in by_model.items():
        cells: dict[str, Cell] = {}
        for column in spec.columns:
            result = found.get(column.benchmark) if column.benchmark else None
            if column.benchmark is None:
                cells[column.key] = Cell(NOT_RUN)
            elif result is None:
                cells[column.key] = Cell(NO_RESULT)
            else:
                key = (result.path.as_posix(), column.transform)
                if key not in measurements:
                    measurements[key] = measure(result, column)
                m = measurements[key]
                cells[column.key] = Cell(VALUE, m.value, m.low, m.high, m.method,
                                         protocol_differences(result.protocol, column.protocol),
                                         inferred=inferred_differences(result.protocol, column.protocol),
                                         also=[] if column.transform else also_reported(result))
        comparable = not any(r.limited for r in found.values())
        rows.append(TableRow(model, MEASURED, None, cells, comparable=comparable))
    return rows


def _averages(spec: ReportTable, rows: list[TableRow]) -> None:
    """Average by the report's rule: the mean over all columns, each times its average_scale;
    computed over the columns present, and marked partial when any is missing."""
    scale = {c.key: c.average_scale for c in spec.columns}
    long = pd.DataFrame.from_records(
        [{"row": i, "column": key, "value": cell.value * scale[key]}
         for i, row in enumerate(rows) for key, cell in row.cells.items() if cell.state == VALUE],
        columns=["row", "column", "value"],
    )
    summary = long.groupby("row")["value"].agg(["mean", "count"])
    for i, row in enumerate(rows):
        if i in summary.index:
            row.average = float(summary.loc[i, "mean"])
            row.averaged_columns = int(summary.loc[i, "count"])


def sort_key(row: TableRow) -> tuple:
    """Best first: rows with the table's full average (recomputed, else the report's) by it, then
    rows with a partial average by that, then rows with none; paper before measured on ties."""
    if row.average is not None and not row.partial:
        rank, shown = 0, row.average
    elif row.reported_average is not None:
        rank, shown = 0, row.reported_average
    elif row.average is not None:
        rank, shown = 1, row.average
    else:
        rank, shown = 2, 0.0
    return (rank, -shown, row.source != PAPER, row.model)


def _letters():
    index = 0
    while True:
        letter, n = "", index
        while True:
            letter = chr(ord("a") + n % 26) + letter
            n = n // 26 - 1
            if n < 0:
                break
        yield letter
        index += 1


def _inferred_notes(spec: ReportTable, rows: list[TableRow]) -> list[str]:
    titles = {c.key: c.title for c in spec.columns}
    notes = [f"{column.title}: {inferred_summary(column.protocol)}"
             for column in spec.measured_columns if column.protocol.inferred]
    notes += [f"{row.model}, {titles[key]}: " + "; ".join(cell.inferred)
              for row in rows for key, cell in row.cells.items() if cell.inferred]
    return notes


def build_table(spec: ReportTable, results: list[MeasuredResult],
                measurements: dict[tuple[str, str | None], Measurement] | None = None) -> BuiltTable:
    """Paper rows and measured rows of one report table, averaged, sorted, flags lettered."""
    measurements = {} if measurements is None else measurements
    rows = _paper_rows(spec) + _measured_rows(spec, results, measurements)
    _averages(spec, rows)
    rows.sort(key=sort_key)
    letters, notes = _letters(), []
    titles = {c.key: c.title for c in spec.columns}
    for row in rows:
        for key, cell in row.cells.items():
            if cell.flags:
                cell.note = next(letters)
                notes.append((cell.note, f"{row.model}, {titles[key]}: " + "; ".join(cell.flags)))
    mismatches = [
        f"{row.model}: recomputed average {rounded(row.average, spec.decimals)} "
        f"differs from the report's {rounded(row.reported_average, spec.decimals)}"
        for row in rows
        if row.source == PAPER and row.reported_average is not None and row.average is not None
        and not row.partial
        and rounded(row.average, spec.decimals) != rounded(row.reported_average, spec.decimals)
    ]
    return BuiltTable(spec, rows, notes, mismatches, _inferred_notes(spec, rows))


def build_tables(reference: Reference, results: list[MeasuredResult],
                 measurements: dict[tuple[str, str | None], Measurement] | None = None) -> list[BuiltTable]:
    """Every report table, in the reference file's order; `measurements` caches each result's
    score and interval by (result path, column transform) across tables and pages."""
    measurements = {} if measurements is None else measurements
    return [build_table(spec, results, measurements) for spec in reference.tables]
