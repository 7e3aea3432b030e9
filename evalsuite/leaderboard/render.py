"""Writing the leaderboard: markdown (jinja2 templates), charts, CSV and JSON, from result files."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Sequence

import jinja2
import pandas as pd

from evalsuite.errors import BadInputError
from evalsuite.leaderboard.charts import radar_chart, table_chart
from evalsuite.leaderboard.collect import (
    MeasuredResult,
    assign_display_names,
    collect_results,
    drop_duplicates,
)
from evalsuite.leaderboard.comparisons import Comparison, compare_all
from evalsuite.leaderboard.details import JUDGE_BENCHMARKS, breakdowns, radar_data
from evalsuite.leaderboard.flags import protocol_differences, protocol_summary
from evalsuite.leaderboard.measured import Measurement, measure, normalize
from evalsuite.leaderboard.reference import DEFAULT_REFERENCE, Reference, load_reference
from evalsuite.leaderboard.tables import (
    MEASURED,
    MISSING,
    NO_RESULT,
    NOT_RUN,
    BuiltTable,
    Cell,
    TableRow,
    build_tables,
    rounded,
)
from evalsuite.results.store import write_text_atomic

FORMATS = ("md", "csv", "json")
_TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).resolve().parent / "templates"),
    trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True, autoescape=False,
    undefined=jinja2.StrictUndefined,
)


def _md(text: str) -> str:
    """Text safe inside a markdown table cell."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def _interval(value: float, low: float | None, high: float | None, decimals: int) -> str:
    shown = rounded(value, decimals)
    if low is None or high is None:
        return f"{shown} [no interval]"
    return f"{shown} [{rounded(low, decimals)}, {rounded(high, decimals)}]"


def _cell(cell: Cell, decimals: int, measured: bool) -> str:
    if cell.state == MISSING:
        return "—"
    if cell.state == NOT_RUN:
        return "n/a"
    if cell.state == NO_RESULT:
        return "no result"
    text = _interval(cell.value, cell.low, cell.high, decimals) if measured else rounded(cell.value, decimals)
    return f"{text} ({cell.note})" if cell.note else text


def _average(row: TableRow, table: BuiltTable) -> str:
    if row.average is None:
        return "—"
    shown = rounded(row.average, table.spec.decimals)
    if row.partial:
        return f"{shown} (partial {row.averaged_columns}/{len(table.spec.columns)})"
    return shown


def _table_context(table: BuiltTable, chart: str | None, detail_pages: dict[str, str],
                   reference: Reference) -> dict:
    spec = table.spec
    header = ["Model", "Source"] + [c.title for c in spec.columns] + ["Average", "Report's avg."]
    rows = []
    for row in table.rows:
        measured = row.source == MEASURED
        if measured:
            source = "measured" if row.comparable else "measured, not comparable (--limit)"
        else:
            source = f"paper ({row.provenance})"
        rows.append(
            [f"**{_md(row.model)}**" if measured else _md(row.model), source]
            + [_cell(row.cells[c.key], spec.decimals_of(c), measured) for c in spec.columns]
            + [_average(row, table),
               rounded(row.reported_average, spec.decimals) if row.reported_average is not None else "—"]
        )
    links = [f"[{reference.title_of(c.benchmark)}]({detail_pages[c.benchmark]})"
             for c in spec.measured_columns if c.benchmark in detail_pages]
    details = f" Details: {', '.join(links)}." if links else ""
    return {
        "title": spec.title, "report_table": spec.report_table, "provenance": spec.provenance,
        "average_rule": spec.average_rule, "header": header, "rows": rows, "chart": chart,
        "notes": [(letter, _md(text)) for letter, text in table.notes],
        "mismatches": table.mismatches, "details": details,
    }


def _decimals(benchmark: str) -> int:
    return 2 if benchmark in JUDGE_BENCHMARKS else 1


def _comparison_row(c: Comparison, with_benchmark: bool, reference: Reference) -> list[str]:
    d = _decimals(c.benchmark)
    if c.difference is None:
        cells = [_md(c.model_a), _md(c.model_b), str(c.n_common), "—", "—", "—", f"not testable: {c.note}"]
    else:
        significant = "yes" if c.significant else "no"
        if c.note:
            significant += f" ({c.note})"
        cells = [_md(c.model_a), _md(c.model_b), str(c.n_common),
                 f"{c.difference:+.{d}f} [{c.ci_low:+.{d}f}, {c.ci_high:+.{d}f}]",
                 c.test or "—", f"{c.p_value:.3g}", significant]
    return ([reference.title_of(c.benchmark)] if with_benchmark else []) + cells


def _measurement(result: MeasuredResult, reference: Reference,
                 cache: dict[tuple[str, str | None], Measurement]) -> Measurement:
    key = (result.path.as_posix(), None)
    if key not in cache:
        cache[key] = measure(result, reference)
    return cache[key]


def _run_row(result: MeasuredResult, m: Measurement, results_dir: Path, reference: Reference) -> list[str]:
    failures = result.data["failures"]
    failure_text = "/".join(str(failures.get(k, 0)) for k in ("parse", "api", "timeout"))
    return [
        f"**{_md(result.display_name)}**", reference.title_of(result.benchmark),
        _interval(m.value, m.low, m.high, _decimals(result.benchmark)), m.method or "none",
        str(result.data["n"]), failure_text, _md(protocol_summary(result.protocol)),
        f"`{result.path.relative_to(results_dir).as_posix()}`",
    ]


def _paper_lines(benchmark: str, reference: Reference) -> list[str]:
    lines = []
    for spec in reference.tables:
        for column in spec.columns:
            if column.benchmark != benchmark:
                continue
            for row in spec.rows:
                if column.key in row.values:
                    lines.append(f"{row.model} {rounded(row.values[column.key], spec.decimals_of(column))}")
            if lines:
                what = " (normalized)" if column.transform else ""
                lines[-len(lines)] = f"Table {spec.report_table} ({spec.provenance}){what}: " + lines[0]
    return lines


def _frame_rows(frame, decimals: int) -> tuple[list[str], list[list[str]]]:
    """Header and text rows of a breakdown: integer columns as integers, numbers rounded."""
    header = [""] + [_md(str(c)) for c in frame.columns]
    columns = []
    for name in frame.columns:
        series = frame[name]
        if pd.api.types.is_integer_dtype(series):
            columns.append([str(int(v)) for v in series])
        elif pd.api.types.is_numeric_dtype(series):
            columns.append(["—" if pd.isna(v) else rounded(float(v), decimals) for v in series])
        else:
            columns.append(["—" if v is None or v != v else _md(str(v)) for v in series])
    rows = [[_md(str(label))] + [column[i] for column in columns] for i, label in enumerate(frame.index)]
    return header, rows


def _benchmark_page(benchmark: str, results: list[MeasuredResult], reference: Reference,
                    comparisons: list[Comparison], cache: dict[tuple[str, str | None], Measurement], out_dir: Path,
                    write_charts: bool) -> str:
    d = _decimals(benchmark)
    summary = []
    for result in sorted(results, key=lambda r: (-r.score, r.display_name)):
        m = _measurement(result, reference, cache)
        paper = reference.benchmarks.get(benchmark)
        flags = protocol_differences(result.protocol, paper.protocol) if paper else ["benchmark not in the report"]
        score = _interval(m.value, m.low, m.high, d)
        if benchmark == "mmlu_pro" and isinstance(result.data["metrics"].get("acc"), (int, float)):
            score += f"; normalized {rounded(normalize(float(result.data['metrics']['acc']), 0.10), d)}"
        failures = result.data["failures"]
        summary.append([
            f"**{_md(result.display_name)}**", score, m.method or "none", str(result.data["n"]),
            "/".join(str(failures.get(k, 0)) for k in ("parse", "api", "timeout")),
            _md(protocol_summary(result.protocol)), _md("; ".join(flags)) or "none",
        ])
    charts = []
    radar = radar_data(benchmark, results) if benchmark in JUDGE_BENCHMARKS else {}
    if radar:
        name = f"{benchmark}_categories.png"
        if write_charts:
            radar_chart(f"{reference.title_of(benchmark)} by category", radar, out_dir / "charts" / name)
        charts.append({"alt": f"{reference.title_of(benchmark)} by category", "href": f"../charts/{name}"})
    tables = []
    for breakdown in breakdowns(benchmark, results):
        header, rows = _frame_rows(breakdown.frame, d)
        tables.append({"title": breakdown.title, "header": header, "rows": rows})
    return _TEMPLATES.get_template("benchmark.md.j2").render(
        title=reference.title_of(benchmark),
        paper_lines=_paper_lines(benchmark, reference),
        score_title="Score (accuracy)" if benchmark == "mmlu_pro" else "Score",
        summary=summary, charts=charts, breakdowns=tables,
        comparisons=[_comparison_row(c, False, reference) for c in comparisons if c.benchmark == benchmark],
    )


def _json_ready(value):
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _json_ready(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_ready(v) for v in value]
    return value


def parse_formats(values: Sequence[str]) -> list[str]:
    """'md', 'csv,json', ... -> the formats in a fixed order; BadInputError for an unknown one."""
    formats = {part.strip() for value in values for part in value.split(",") if part.strip()}
    unknown = formats - set(FORMATS)
    if unknown:
        raise BadInputError(f"unknown leaderboard format(s) {sorted(unknown)}; choose from {', '.join(FORMATS)}")
    return [f for f in FORMATS if f in formats] or ["md"]


def render_leaderboard(results_dir: Path, out_dir: Path, formats: Sequence[str] = ("md",),
                       display_names: dict[str, str] | None = None,
                       reference_path: Path = DEFAULT_REFERENCE) -> list[Path]:
    """Read every result file under results_dir plus the report's numbers and write the
    leaderboard into out_dir: README.md, benchmarks/<name>.md and charts/*.png (md),
    tables/<table>.csv (csv), leaderboard.json (json). Returns the written paths."""
    results_dir, out_dir = Path(results_dir), Path(out_dir)
    formats = parse_formats(formats)
    reference = load_reference(reference_path)
    results, skipped = collect_results(results_dir)
    assign_display_names(results, display_names)
    results = drop_duplicates(results)
    cache: dict[tuple[str, str | None], Measurement] = {}
    tables = build_tables(reference, results, cache)
    comparisons = compare_all(results, reference)
    written: list[Path] = []
    if "md" in formats:
        written += _write_markdown(results_dir, out_dir, reference, results, skipped, tables, comparisons, cache)
    if "csv" in formats:
        for table in tables:
            path = out_dir / "tables" / f"{table.spec.id}.csv"
            write_text_atomic(path, table.frame().to_csv(index=False))
            written.append(path)
    if "json" in formats:
        path = out_dir / "leaderboard.json"
        document = {
            "report": reference.report, "provenance": reference.provenance,
            "tables": [{
                "id": t.spec.id, "title": t.spec.title, "report_table": t.spec.report_table,
                "provenance": t.spec.provenance, "average_rule": t.spec.average_rule,
                "columns": [{"key": c.key, "title": c.title, "benchmark": c.benchmark} for c in t.spec.columns],
                "rows": t.frame().to_dict(orient="records"),
                "notes": [{"note": letter, "text": text} for letter, text in t.notes],
            } for t in tables],
            "comparisons": [c.__dict__ | {"significant": c.significant} for c in comparisons],
            "skipped": skipped,
        }
        write_text_atomic(path, json.dumps(_json_ready(document), indent=2, ensure_ascii=False) + "\n")
        written.append(path)
    return written


def _write_markdown(results_dir: Path, out_dir: Path, reference: Reference, results: list[MeasuredResult],
                    skipped: list[str], tables: list[BuiltTable], comparisons: list[Comparison],
                    cache: dict[tuple[str, str | None], Measurement]) -> list[Path]:
    written: list[Path] = []
    benchmarks = sorted({r.benchmark for r in results})
    detail_pages = {b: f"benchmarks/{b}.md" for b in benchmarks}
    for benchmark in benchmarks:
        page = _benchmark_page(benchmark, [r for r in results if r.benchmark == benchmark], reference,
                               comparisons, cache, out_dir, write_charts=True)
        path = out_dir / detail_pages[benchmark]
        write_text_atomic(path, page.rstrip("\n") + "\n")
        written.append(path)
        written += sorted((out_dir / "charts").glob(f"{benchmark}_*.png"))
    table_contexts = []
    for table in tables:
        chart = out_dir / "charts" / f"{table.spec.id}.png"
        table_chart(table, chart)
        written.append(chart)
        table_contexts.append(_table_context(table, f"charts/{chart.name}", detail_pages, reference))
    runs = [_run_row(r, _measurement(r, reference, cache), results_dir, reference)
            for r in sorted(results, key=lambda r: (r.display_name, r.benchmark))]
    readme = _TEMPLATES.get_template("README.md.j2").render(
        n_results=len(results), report=reference.report, provenance=reference.provenance,
        tables=table_contexts, runs=runs, skipped=[_md(s) for s in skipped],
        comparisons=[_comparison_row(c, True, reference) for c in comparisons],
    )
    path = out_dir / "README.md"
    write_text_atomic(path, readme.rstrip("\n") + "\n")
    written.append(path)
    return written
