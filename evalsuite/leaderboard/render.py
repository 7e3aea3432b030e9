"""Writing the leaderboard: markdown (jinja2 templates), charts, CSV and JSON, from result files."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Sequence

import jinja2
import pandas as pd

from evalsuite.errors import BadInputError
from evalsuite.leaderboard.benchmarks import BenchmarkInfo, benchmark_info
from evalsuite.leaderboard.browser import plain_cell, write_site
from evalsuite.leaderboard.charts import radar_chart, table_chart
from evalsuite.leaderboard.collect import (
    MeasuredResult,
    assign_display_names,
    collect_results,
    pick_results,
)
from evalsuite.leaderboard.comparisons import Comparison, compare_all
from evalsuite.leaderboard.details import breakdowns, radar_data
from evalsuite.leaderboard.flags import (
    inferred_differences,
    inferred_summary,
    protocol_differences,
    protocol_summary,
    stated_summary,
)
from evalsuite.leaderboard.measured import Measurement, also_reported, column_value, measure
from evalsuite.leaderboard.names import output_path
from evalsuite.leaderboard.reference import CHANCE_NORMALIZED, DEFAULT_REFERENCE, Reference, load_reference
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

FORMATS = ("md", "csv", "json", "html")
DEFAULT_FORMATS = ("md", "html")
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


def table_context(table: BuiltTable, chart: str | None, detail_pages: dict[str, str],
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
    links = [f"[{_md(c.title)}]({detail_pages[c.benchmark]})"
             for c in spec.measured_columns if c.benchmark in detail_pages]
    details = f" Details: {', '.join(links)}." if links else ""
    return {
        "title": spec.title, "report_table": spec.report_table, "provenance": spec.provenance,
        "average_rule": spec.average_rule, "header": header, "rows": rows, "chart": chart,
        "notes": [(letter, _md(text)) for letter, text in table.notes],
        "mismatches": table.mismatches, "details": details,
        "inferred": [_md(line) for line in table.inferred_notes],
    }


def _info(benchmark: str, results: list[MeasuredResult]) -> BenchmarkInfo:
    """The benchmark's description: its declaration, else that of its (first) stored result."""
    for result in results:
        if result.benchmark == benchmark:
            return result.info
    return benchmark_info(benchmark)


def _comparison_row(c: Comparison, with_benchmark: bool, info: BenchmarkInfo) -> list[str]:
    d = info.decimals
    if c.difference is None:
        cells = [_md(c.model_a), _md(c.model_b), str(c.n_common), "—", "—", "—", f"not testable: {c.note}"]
    else:
        significant = "yes" if c.significant else "no"
        if c.note:
            significant += f" ({c.note})"
        cells = [_md(c.model_a), _md(c.model_b), str(c.n_common),
                 f"{c.difference:+.{d}f} [{c.ci_low:+.{d}f}, {c.ci_high:+.{d}f}]",
                 c.test or "—", f"{c.p_value:.3g}", significant]
    return ([_md(info.title)] if with_benchmark else []) + cells


def _measurement(result: MeasuredResult, cache: dict[tuple[str, str | None], Measurement]) -> Measurement:
    key = (result.path.as_posix(), None)
    if key not in cache:
        cache[key] = measure(result)
    return cache[key]


def _failures(result: MeasuredResult) -> str:
    failures = result.data["failures"]
    return "/".join(_md(str(failures.get(k, 0))) for k in ("parse", "api", "timeout"))


def _run_row(result: MeasuredResult, m: Measurement) -> list[str]:
    return [
        f"**{_md(result.display_name)}**", _md(result.info.title),
        _interval(m.value, m.low, m.high, result.info.decimals), m.method or "none",
        str(result.data["n"]), _failures(result), _md(protocol_summary(result.protocol)),
        f"`{_md(result.shown)}`",
    ]


def _paper_lines(benchmark: str, reference: Reference) -> list[str]:
    lines = []
    for spec, column in reference.columns_of(benchmark):
        values = [f"{row.model} {rounded(row.values[column.key], spec.decimals_of(column))}"
                  for row in spec.rows if column.key in row.values]
        if values:
            what = " (chance-normalized)" if column.transform else ""
            lines.append(f"Table {spec.report_table} ({spec.provenance}){what}: " + "; ".join(values))
    return lines


def _protocol_lines(benchmark: str, reference: Reference) -> list[str]:
    paper = reference.protocol_of(benchmark)
    if paper is None:
        return ["not in the report"]
    return [f"{label}: {text}" for label, text in (
        ("stated (flagged when a run differs)", stated_summary(paper)),
        ("inferred, not stated by the report (notes only)", inferred_summary(paper)),
    ) if text]


def _also_text(result: MeasuredResult, decimals: int) -> str:
    return "; ".join(f"{_md(a.metric)} {_interval(a.value, a.low, a.high, decimals)}"
                     for a in also_reported(result)) or "—"


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


def benchmark_context(benchmark: str, results: list[MeasuredResult], reference: Reference,
                      comparisons: list[Comparison], cache: dict[tuple[str, str | None], Measurement], out_dir: Path,
                      write_charts: bool) -> dict:
    """What a benchmark's detail page shows (markdown-escaped texts): paper lines, protocol, per-model
    summary, charts, breakdowns and paired comparisons."""
    info = _info(benchmark, results)
    d = info.decimals
    paper = reference.protocol_of(benchmark)
    normalized = [c for _, c in reference.columns_of(benchmark) if c.transform == CHANCE_NORMALIZED]
    summary, notes = [], []
    for result in sorted(results, key=lambda r: (-r.score, r.display_name)):
        m = _measurement(result, cache)
        flags = protocol_differences(result.protocol, paper) if paper else ["benchmark not in the report"]
        if paper:
            notes += [f"{result.display_name}: {line}" for line in inferred_differences(result.protocol, paper)]
        score = _interval(m.value, m.low, m.high, d)
        if normalized:
            score += f"; chance-normalized {rounded(column_value(result, normalized[0]), d)}"
        summary.append([
            f"**{_md(result.display_name)}**", score, m.method or "none", str(result.data["n"]),
            _failures(result), _also_text(result, d),
            _md(protocol_summary(result.protocol)), _md("; ".join(flags)) or "none",
        ])
    charts = []
    radar = radar_data(results) if info.judged else {}
    if radar:
        chart = output_path(out_dir, "charts", f"{benchmark}_categories", ".png")
        if write_charts:
            radar_chart(f"{info.title} by category", radar, chart)
        charts.append({"alt": f"{_md(info.title)} by category", "href": f"../charts/{chart.name}"})
    tables = []
    for breakdown in breakdowns(info, results):
        header, rows = _frame_rows(breakdown.frame, d)
        tables.append({"title": breakdown.title, "header": header, "rows": rows})
    return dict(
        title=_md(info.title),
        paper_lines=_paper_lines(benchmark, reference),
        protocol_lines=[_md(line) for line in _protocol_lines(benchmark, reference)],
        inferred_notes=[_md(line) for line in notes],
        summary=summary, charts=charts, breakdowns=tables,
        comparisons=[_comparison_row(c, False, info) for c in comparisons if c.benchmark == benchmark],
    )


def _benchmark_page(benchmark: str, results: list[MeasuredResult], reference: Reference,
                    comparisons: list[Comparison], cache: dict[tuple[str, str | None], Measurement], out_dir: Path,
                    write_charts: bool) -> str:
    context = benchmark_context(benchmark, results, reference, comparisons, cache, out_dir, write_charts)
    return _TEMPLATES.get_template("benchmark.md.j2").render(**context)


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


def _comparable(reference: Reference):
    """Whether a result follows the report's stated protocol for its benchmark (no flag)."""
    def comparable(result: MeasuredResult) -> bool:
        paper = reference.protocol_of(result.benchmark)
        return paper is None or not protocol_differences(result.protocol, paper)
    return comparable


def render_leaderboard(results_dir: Path | Sequence[Path], out_dir: Path, formats: Sequence[str] = ("md",),
                       display_names: dict[str, str] | None = None,
                       reference_path: Path = DEFAULT_REFERENCE) -> list[Path]:
    """Read every result file under results_dir (one folder or several: runs from several machines)
    plus the report's numbers and write the leaderboard into out_dir: README.md, benchmarks/<name>.md
    and charts/*.png (md), tables/<table>.csv (csv), leaderboard.json (json), index.html and site/
    (html: the results browser, evalsuite/leaderboard/browser.py). Returns the written paths."""
    out_dir = Path(out_dir)
    formats = parse_formats(formats)
    reference = load_reference(reference_path)
    results, skipped = collect_results(results_dir)  # a missing folder: BadInputError before any write
    assign_display_names(results, display_names)
    results, left_out = pick_results(results, _comparable(reference))
    skipped = skipped + left_out
    cache: dict[tuple[str, str | None], Measurement] = {}
    tables = build_tables(reference, results, cache)
    comparisons = compare_all(results, reference)
    infos = {b: _info(b, results) for b in {r.benchmark for r in results}}
    written: list[Path] = []
    if "md" in formats:
        written += _write_markdown(out_dir, reference, results, skipped, tables, comparisons, cache, infos)
    if "html" in formats:
        written += _write_html(out_dir, reference, results, skipped, tables, comparisons, cache, infos,
                               charts_written="md" in formats)
    if "csv" in formats:
        for table in tables:
            path = output_path(out_dir, "tables", table.spec.id, ".csv")
            write_text_atomic(path, table.frame().to_csv(index=False))
            written.append(path)
    if "json" in formats:
        path = out_dir / "leaderboard.json"
        document = {
            "report": reference.report, "provenance": reference.provenance,
            "tables": [{
                "id": t.spec.id, "title": t.spec.title, "report_table": t.spec.report_table,
                "provenance": t.spec.provenance, "average_rule": t.spec.average_rule,
                "columns": [{"key": c.key, "title": c.title, "benchmark": c.benchmark,
                             "stated": c.protocol.stated, "inferred": c.protocol.inferred} for c in t.spec.columns],
                "rows": t.frame().to_dict(orient="records"),
                "notes": [{"note": letter, "text": text} for letter, text in t.notes],
                "inferred_notes": t.inferred_notes,
            } for t in tables],
            "comparisons": [c.__dict__ | {"significant": c.significant} for c in comparisons],
            "skipped": skipped,
        }
        write_text_atomic(path, json.dumps(_json_ready(document), indent=2, ensure_ascii=False) + "\n")
        written.append(path)
    return written


def _write_markdown(out_dir: Path, reference: Reference, results: list[MeasuredResult],
                    skipped: list[str], tables: list[BuiltTable], comparisons: list[Comparison],
                    cache: dict[tuple[str, str | None], Measurement], infos: dict[str, BenchmarkInfo]) -> list[Path]:
    written: list[Path] = []
    benchmarks = sorted(infos)
    detail_pages = {b: output_path(Path("benchmarks"), None, b, ".md").as_posix() for b in benchmarks}
    for benchmark in benchmarks:
        page = _benchmark_page(benchmark, [r for r in results if r.benchmark == benchmark], reference,
                               comparisons, cache, out_dir, write_charts=True)
        path = output_path(out_dir, "benchmarks", benchmark, ".md")
        write_text_atomic(path, page.rstrip("\n") + "\n")
        written.append(path)
        written += sorted((out_dir / "charts").glob(f"{benchmark}_*.png"))
    table_contexts = []
    for table in tables:
        chart = output_path(out_dir, "charts", table.spec.id, ".png")
        table_chart(table, chart)
        written.append(chart)
        table_contexts.append(table_context(table, f"charts/{chart.name}", detail_pages, reference))
    runs = [_run_row(r, _measurement(r, cache))
            for r in sorted(results, key=lambda r: (r.display_name, r.benchmark))]
    readme = _TEMPLATES.get_template("README.md.j2").render(
        n_results=len(results), report=reference.report, provenance=reference.provenance,
        tables=table_contexts, runs=runs, skipped=[_md(s) for s in skipped],
        comparisons=[_comparison_row(c, True, infos[c.benchmark]) for c in comparisons],
    )
    path = out_dir / "README.md"
    write_text_atomic(path, readme.rstrip("\n") + "\n")
    written.append(path)
    return written


def _write_html(out_dir: Path, reference: Reference, results: list[MeasuredResult],
                skipped: list[str], tables: list[BuiltTable], comparisons: list[Comparison],
                cache: dict[tuple[str, str | None], Measurement], infos: dict[str, BenchmarkInfo],
                charts_written: bool) -> list[Path]:
    """The results browser from the same contexts as the markdown (so its cells are the markdown's)."""
    written: list[Path] = []
    contexts = {}
    for benchmark in sorted(infos):
        contexts[benchmark] = benchmark_context(benchmark, [r for r in results if r.benchmark == benchmark],
                                                reference, comparisons, cache, out_dir, write_charts=not charts_written)
    table_contexts = []
    for table in tables:
        chart = output_path(out_dir, "charts", table.spec.id, ".png")
        if not charts_written:
            table_chart(table, chart)
            written.append(chart)
        context = table_context(table, f"charts/{chart.name}", {}, reference)
        context["benchmarks"] = [c.benchmark for c in table.spec.measured_columns if c.benchmark in infos]
        table_contexts.append(context)
    index = {
        "report": reference.report, "provenance": reference.provenance, "n_results": len(results),
        "tables": table_contexts,
        "runs": [_run_row(r, _measurement(r, cache))
                 for r in sorted(results, key=lambda r: (r.display_name, r.benchmark))],
        "comparisons": [_comparison_row(c, True, infos[c.benchmark]) for c in comparisons],
        "skipped": [_md(s) for s in skipped],
    }
    return written + write_site(out_dir, _plain_index(index), contexts, results)


def _plain_index(index: dict) -> dict:
    """The index's markdown texts as the browser shows them (evalsuite.leaderboard.browser.plain_cell)."""
    def rows(values):
        return [[plain_cell(cell) for cell in row] for row in values]

    tables = [{
        "title": t["title"], "report_table": t["report_table"], "provenance": t["provenance"],
        "average_rule": t["average_rule"], "header": [plain_cell(h) for h in t["header"]], "rows": rows(t["rows"]),
        "chart": t["chart"], "notes": [[letter, plain_cell(text)] for letter, text in t["notes"]],
        "mismatches": t["mismatches"], "inferred": [plain_cell(x) for x in t["inferred"]],
        "benchmarks": t["benchmarks"],
    } for t in index["tables"]]
    return {**index, "tables": tables, "runs": rows(index["runs"]), "comparisons": rows(index["comparisons"]),
            "skipped": [plain_cell(s) for s in index["skipped"]]}
