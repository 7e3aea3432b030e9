"""The static results browser (`leaderboard --format html`), written beside the markdown:

    index.html                                   the report's tables (sortable), charts, runs, comparisons
    site/benchmark/<benchmark>.html              one page per benchmark
    site/items/<benchmark>/<run>.html            every item of one (model, benchmark): filters, search, pages
    site/compare/<benchmark>/<run>--<run>.html   two models item by item, disagreements first
    site/browser.js, site/browser.css            the only code and style (no inline script, no network)
    site/data/...                                the data, as <script> chunks loaded on demand

Every page is the same static shell; browser.js fills it from the data chunks with textContent only.
Texts come from result and samples files and are untrusted: they travel as JSON inside the chunks
(`<`, `>`, `&`, U+2028/9 escaped) and never become markup. A Content-Security-Policy meta tag allows
scripts, styles and images from the site's own folder only, and no inline script or handler.
"""

from __future__ import annotations

import html
import json
import math
import shutil
from pathlib import Path
from typing import Any, Iterable

from evalsuite.leaderboard.collect import MeasuredResult
from evalsuite.leaderboard.names import output_path
from evalsuite.results.samples import PARSE_FAILURE_PRED, pack_rows
from evalsuite.results.store import model_slug, write_text_atomic

SITE = "site"
ASSETS = Path(__file__).resolve().parent / "templates" / "browser"
CHUNK_ROWS = 200  # items per detail chunk
PREVIEW_CHARS = 200  # characters of question and answer kept in the listing (searched)
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
       "base-uri 'none'; form-action 'none'")
EXTRACTION_NONE, PARSE_FAILURE = 1, 2  # listing flags
SUMMARY_HEADER = ["Model", "Score [95% CI]", "Interval", "n", "Failures (parse/api/timeout)", "Also reported",
                  "Protocol", "Flags"]
COMPARISON_HEADER = ["A", "B", "Items", "A − B [95% CI]", "Test", "p", "Significant"]


def chunk_script(key: str, payload: Any) -> str:
    """A data chunk: one call `ES.receive(key, <JSON>)`, the JSON unable to close a script or open markup
    (NaN and Infinity, which JSON lacks, are JavaScript literals here)."""
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    for raw, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                         ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(raw, escaped)
    return f"ES.receive({json.dumps(key)},{text});\n"


def shell(root: str, page: str, **attrs: str) -> str:
    """The one static page: CSP, the stylesheet and script of the site, and what the page shows."""
    data = "".join(f' data-{name}="{html.escape(value, quote=True)}"' for name, value in attrs.items())
    return (
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f"<meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">\n"
        "<meta name=\"referrer\" content=\"no-referrer\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        "<title>evalsuite results</title>\n"
        f"<link rel=\"stylesheet\" href=\"{root}{SITE}/browser.css\">\n"
        f"<script src=\"{root}{SITE}/browser.js\" defer></script>\n"
        f"</head>\n<body data-root=\"{root}\" data-page=\"{page}\"{data}>\n"
        "<noscript>This results browser needs JavaScript (no network access is used).</noscript>\n"
        "</body>\n</html>\n"
    )


def plain_cell(text: str) -> Any:
    """A markdown table cell as the browser shows it: the text, bold (`**`) and code (backticks) kept
    as flags ({"t": text, "b": 1} / {"t": text, "c": 1})."""
    text = str(text)
    flag = None
    if len(text) >= 4 and text.startswith("**") and text.endswith("**"):
        text, flag = text[2:-2], "b"
    elif len(text) >= 2 and text.startswith("`") and text.endswith("`"):
        text, flag = text[1:-1], "c"
    text = text.replace("\\|", "|")
    return {"t": text, flag: 1} if flag else text


def _plain_rows(rows: Iterable[Iterable[str]]) -> list[list[Any]]:
    return [[plain_cell(cell) for cell in row] for row in rows]


def run_ids(results: list[MeasuredResult]) -> dict[int, str]:
    """A plain, unique file name per result (its model's display name, numbered on a clash)."""
    ids: dict[int, str] = {}
    taken: set[tuple[str, str]] = set()
    for result in sorted(results, key=lambda r: (r.benchmark, r.display_name)):
        base = model_slug(result.display_name).strip("-_.") or "model"
        name, n = base, 1
        while (result.benchmark, name) in taken:
            n += 1
            name = f"{base}-{n}"
        taken.add((result.benchmark, name))
        ids[id(result)] = name
    return ids


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _question(row: dict) -> str:
    """What the item asked, for the listing and its search: the first turn, else the request's end."""
    turns = row.get("turns")
    if isinstance(turns, list) and turns:
        return _text(turns[0])[:PREVIEW_CHARS]
    arguments = row.get("arguments")
    if isinstance(arguments, list) and arguments and isinstance(arguments[0], list) and arguments[0]:
        return _text(arguments[0][0])[-PREVIEW_CHARS:]
    return _text(row.get("doc"))[:PREVIEW_CHARS]


def _choice(row: dict, index: Any) -> str:
    texts = row.get("choice_texts")
    if isinstance(index, int) and not isinstance(index, bool) and isinstance(texts, list) and 0 <= index < len(texts):
        return f"{index}: {_text(texts[index]).strip()}"
    return _text(index)


def _answer(row: dict) -> str:
    """What the model answered, for the listing: its first answer, reply, completion or chosen option."""
    answers = row.get("answers")
    if isinstance(answers, list) and answers:
        return _text(answers[0])[:PREVIEW_CHARS]
    for key in ("response", "completion"):
        if key in row:
            return _text(row[key])[:PREVIEW_CHARS]
    return _choice(row, row.get("pred"))[:PREVIEW_CHARS]


def _flags(row: dict) -> int:
    flags = 0
    if row.get("extraction_rule") == "none":
        flags |= EXTRACTION_NONE
    if row.get("pred") == PARSE_FAILURE_PRED or str(row.get("status") or "").startswith("parse"):
        flags |= PARSE_FAILURE
    return flags


def _status(score: Any, binary: bool) -> str:
    if not isinstance(score, (int, float)) or isinstance(score, bool) or not math.isfinite(score):
        return "failed"
    if not binary:
        return "scored"
    return "correct" if score >= 1 else "wrong"


def listing(result: MeasuredResult, rows: list[dict]) -> dict:
    """The (model, benchmark) listing: one short line per item, in the samples file's order (its group
    as an index into `groups`; a multiple-choice answer is its `pred` column)."""
    scores = [r.get("score") for r in rows]
    binary = all(s in (0, 1, None) or s is True or s is False for s in scores)
    groups = sorted({_text(r.get("group")) for r in rows if r.get("group") is not None})
    group_index = {g: i for i, g in enumerate(groups)}
    lines = [[_text(r.get("item")), group_index[_text(r.get("group"))] if r.get("group") is not None else -1,
              r.get("score") if isinstance(r.get("score"), (int, float)) else None,
              _status(r.get("score"), binary), _flags(r),
              _choice(r, r.get("pred")) if "choice_texts" in r else _text(r.get("extracted", r.get("pred")))[:PREVIEW_CHARS],
              _choice(r, r.get("label")) if "choice_texts" in r else _text(r.get("label", r.get("target")))[:PREVIEW_CHARS],
              _question(r), "" if "choice_texts" in r and "response" not in r else _answer(r)]
             for r in rows]
    return {"benchmark": result.benchmark, "title": result.info.title, "model": result.display_name,
            "n": len(rows), "binary": binary, "groups": groups, "chunk": CHUNK_ROWS,
            "columns": ["item", "group", "score", "status", "flags", "pred", "label", "question", "answer"],
            "rows": lines}


def _requests_copied(row: dict) -> dict:
    """The row with its requests copied (packing rewrites their contexts; the result's rows stay whole)."""
    arguments = row.get("arguments")
    if not isinstance(arguments, list):
        return dict(row)
    return {**row, "arguments": [list(a) if isinstance(a, list) else a for a in arguments]}


def _write(path: Path, text: str, written: list[Path]) -> None:
    write_text_atomic(path, text)
    written.append(path)


def _write_run(result: MeasuredResult, rid: str, site: Path, written: list[Path]) -> None:
    rows = result.samples()
    data = site / "data" / result.benchmark / rid
    _write(data / "items.js", chunk_script(f"items/{result.benchmark}/{rid}", listing(result, rows)), written)
    for index in range(0, len(rows), CHUNK_ROWS):
        segments, packed = pack_rows([_requests_copied(r) for r in rows[index:index + CHUNK_ROWS]])
        key = f"detail/{result.benchmark}/{rid}/{index // CHUNK_ROWS}"
        _write(data / f"d{index // CHUNK_ROWS}.js", chunk_script(key, {"segments": segments, "rows": packed}), written)
    page = output_path(site / "items" / result.benchmark, None, rid, ".html")
    _write(page, shell("../../../", "items", benchmark=result.benchmark, run=rid), written)


def write_site(out_dir: Path, index: dict, benchmarks: dict[str, dict], results: list[MeasuredResult]) -> list[Path]:
    """Write the browser into out_dir from the markdown's contexts (`index`: tables, runs, comparisons;
    `benchmarks`: each benchmark page's context) and the results' samples. Returns the written paths."""
    site = out_dir / SITE
    written: list[Path] = []
    for asset in sorted(ASSETS.iterdir()):
        target = site / asset.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(asset, target)
        written.append(target)
    rids = run_ids(results)
    runs: dict[str, list[dict]] = {}
    for result in results:
        rid = rids[id(result)]
        _write_run(result, rid, site, written)
        runs.setdefault(result.benchmark, []).append({"run": rid, "model": result.display_name})
    pages: dict[str, Any] = {}
    for name, context in benchmarks.items():
        by_model = {r["model"]: r["run"] for r in runs.get(name, [])}
        comparisons = []
        for row in context["comparisons"]:
            cells = _plain_rows([row])[0]
            a, b = (by_model.get(c if isinstance(c, str) else c["t"]) for c in cells[:2])
            comparisons.append({"cells": cells, "a": a, "b": b})
        pages[name] = {
            "title": plain_cell(context["title"]), "paper_lines": context["paper_lines"],
            "protocol_lines": [plain_cell(x) for x in context["protocol_lines"]],
            "inferred_notes": [plain_cell(x) for x in context["inferred_notes"]],
            "summary": {"header": SUMMARY_HEADER, "rows": _plain_rows(context["summary"])},
            "charts": [{"alt": plain_cell(c["alt"]), "href": c["href"].removeprefix("../")} for c in context["charts"]],
            "breakdowns": [{"title": b["title"], "header": [plain_cell(h) for h in b["header"]],
                            "rows": _plain_rows(b["rows"])} for b in context["breakdowns"]],
            "comparisons": {"header": COMPARISON_HEADER, "rows": comparisons},
            "runs": sorted(runs.get(name, []), key=lambda r: r["model"]),
        }
        _write(output_path(site / "benchmark", None, name, ".html"), shell("../../", "benchmark", benchmark=name),
               written)
        for comparison in comparisons:
            if comparison["a"] and comparison["b"]:
                page = output_path(site / "compare" / name, None, f"{comparison['a']}--{comparison['b']}", ".html")
                _write(page, shell("../../../", "compare", benchmark=name, a=comparison["a"], b=comparison["b"]),
                       written)
    ordered = sorted(results, key=lambda r: (r.display_name, r.benchmark))  # the order of index["runs"]
    links = {
        "run_links": [f"{SITE}/items/{r.benchmark}/{rids[id(r)]}.html" for r in ordered],
        "comparison_links": [f"{SITE}/compare/{name}/{c['a']}--{c['b']}.html" if c["a"] and c["b"] else None
                             for name in sorted(pages) for c in pages[name]["comparisons"]["rows"]],
    }
    _write(site / "data" / "index.js", chunk_script("index", {**index, **links, "benchmarks": pages}), written)
    _write(out_dir / "index.html", shell("", "index"), written)
    return written
