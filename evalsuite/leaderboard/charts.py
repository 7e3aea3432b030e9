"""PNG charts (matplotlib, Agg backend): a grouped bar chart per report table, paper and measured
models together, and a per-category radar for judged benchmarks. Labels may be Korean: every chart
draws with DejaVu Sans and a Hangul font as fallback (Debian's fonts-nanum, installed by `make setup`,
or Noto Sans CJK)."""

from __future__ import annotations

import io
import sys
from functools import lru_cache
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib import font_manager  # noqa: E402

from evalsuite.leaderboard.tables import MEASURED, VALUE, BuiltTable  # noqa: E402
from evalsuite.results.store import write_bytes_atomic  # noqa: E402

HANGUL_FAMILIES = ("NanumGothic", "Noto Sans CJK KR", "Noto Sans KR", "NanumBarunGothic", "UnDotum")
HANGUL_FILES = ("NanumGothic", "NotoSansCJK", "NotoSansKR", "NanumBarunGothic", "UnDotum")
SCORE_RANGE = (0.0, 100.0)  # every charted value is on a 0-100 scale (judge scores x10)
PAPER_COLORS = plt.get_cmap("Blues")


@lru_cache(maxsize=1)
def hangul_family() -> str | None:
    """An installed font family with Hangul glyphs (fonts installed after matplotlib cached its font
    list are added from the system's font folders); None, with one line on stderr, when there is none."""
    def installed() -> str | None:
        names = {font.name for font in font_manager.fontManager.ttflist}
        return next((name for name in HANGUL_FAMILIES if name in names), None)

    if installed() is None:
        for path in font_manager.findSystemFonts():
            if any(Path(path).name.startswith(prefix) for prefix in HANGUL_FILES):
                font_manager.fontManager.addfont(path)
    family = installed()
    if family is None:
        print("charts: no Hangul font installed (apt-get install fonts-nanum): Korean labels draw as boxes",
              file=sys.stderr)
    return family


def font_settings() -> dict:
    """matplotlib settings of every chart: DejaVu Sans, then the Hangul font for glyphs it lacks."""
    return {"font.family": ["DejaVu Sans", *filter(None, [hangul_family()])]}
MEASURED_COLORS = plt.get_cmap("Oranges")


def _write_png_atomic(figure: plt.Figure, path: Path) -> None:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
    plt.close(figure)
    write_bytes_atomic(path, buffer.getvalue())


def _shades(cmap, count: int) -> list:
    return [cmap(x) for x in np.linspace(0.85, 0.4, count)] if count else []


def table_chart(table: BuiltTable, path: Path) -> Path:
    """Grouped bars: one group per column (on the average's scale, e.g. a 10-point judge score x10), one bar
    per model; measured bars hatched, with their 95% interval as error bars (clipped to the score's range)."""
    with plt.rc_context(font_settings()):
        return _table_chart(table, path)


def _table_chart(table: BuiltTable, path: Path) -> Path:
    columns = table.spec.columns
    rows = [r for r in table.rows if any(c.state == VALUE for c in r.cells.values())]
    paper_rows = [r for r in rows if r.source != MEASURED]
    measured_rows = [r for r in rows if r.source == MEASURED]
    colors = dict(zip([r.model for r in paper_rows], _shades(PAPER_COLORS, len(paper_rows))))
    colors.update(zip([r.model + "\0m" for r in measured_rows], _shades(MEASURED_COLORS, len(measured_rows))))
    figure, axes = plt.subplots(figsize=(max(6.0, 1.6 * len(columns) + 2), 4.2))
    width = 0.8 / max(len(rows), 1)
    x = np.arange(len(columns))
    for i, row in enumerate(paper_rows + measured_rows):
        measured = row.source == MEASURED
        heights, errors = [], [[], []]
        for column in columns:
            cell = row.cells[column.key]
            value = cell.value * column.average_scale if cell.state == VALUE else np.nan
            heights.append(value)
            has_ci = measured and cell.low is not None and cell.state == VALUE
            low = max(cell.low * column.average_scale, min(SCORE_RANGE[0], value)) if has_ci else value
            high = min(cell.high * column.average_scale, max(SCORE_RANGE[1], value)) if has_ci else value
            errors[0].append(max(0.0, value - low) if has_ci else 0)
            errors[1].append(max(0.0, high - value) if has_ci else 0)
        label = f"{row.model} ({'measured' if measured else 'paper'})"
        axes.bar(x + (i - (len(rows) - 1) / 2) * width, heights, width, label=label,
                 color=colors[row.model + ("\0m" if measured else "")],
                 hatch="//" if measured else None, edgecolor="black" if measured else "none",
                 linewidth=0.5, yerr=np.array(errors) if measured else None, capsize=2)
    axes.set_xticks(x, [c.title + (f" (x{c.average_scale:g})" if c.average_scale != 1 else "")
                        for c in columns], rotation=20 if len(columns) > 4 else 0, ha="right" if len(columns) > 4 else "center")
    axes.set_title(f"{table.spec.title} (report Table {table.spec.report_table})")
    axes.set_ylabel("score")
    axes.grid(axis="y", alpha=0.3)
    axes.set_axisbelow(True)
    axes.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    _write_png_atomic(figure, path)
    return path


def radar_chart(title: str, data: dict[str, dict[str, float]], path: Path, maximum: float = 10.0) -> Path:
    """One polygon per model over the categories (axes sorted by name), scale 0..maximum."""
    with plt.rc_context(font_settings()):
        return _radar_chart(title, data, path, maximum)


def _radar_chart(title: str, data: dict[str, dict[str, float]], path: Path, maximum: float) -> Path:
    categories = sorted({c for values in data.values() for c in values})
    angles = np.linspace(0, 2 * np.pi, len(categories), endpoint=False).tolist()
    figure, axes = plt.subplots(figsize=(5.5, 5.5), subplot_kw={"projection": "polar"})
    palette = plt.get_cmap("tab10")
    for index, (model, values) in enumerate(data.items()):
        color = palette(index % 10)
        points = [values.get(c, np.nan) for c in categories]
        axes.plot(angles + angles[:1], points + points[:1], color=color, linewidth=1.5, label=model)
        axes.fill(angles + angles[:1], points + points[:1], color=color, alpha=0.15)
    axes.set_xticks(angles, categories)
    axes.set_ylim(0, maximum)
    axes.set_title(title, pad=18)
    axes.legend(fontsize=7, loc="upper right", bbox_to_anchor=(1.35, 1.1), frameon=False)
    _write_png_atomic(figure, path)
    return path
