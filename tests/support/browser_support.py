"""Headless Chromium for the browser tests (Debian's `chromium`, installed by `make setup` where root and
apt allow) and result folders written through the real writers (result JSON + samples file)."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from html.parser import HTMLParser
from pathlib import Path

import pytest

from evalsuite.results.samples import write_samples
from evalsuite.results.schema import build_result
from evalsuite.results.store import model_slug, write_json_atomic

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def chromium_binary() -> str:
    """The headless browser; the test is skipped (one line) where none is installed."""
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    pytest.skip("headless Chromium is not installed (make setup installs Debian's chromium where root and apt allow)")


def _flags(budget_ms: int | None) -> list[str]:
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
             "--disable-background-networking", "--user-data-dir=/tmp/evalsuite-chromium-profile"]
    return flags + ([f"--virtual-time-budget={budget_ms}"] if budget_ms else [])


def dump_dom(url: str, budget_ms: int | None = 8000) -> tuple[str, float]:
    """The page's DOM after its scripts ran (`--dump-dom`) and the seconds Chromium took."""
    started = time.perf_counter()
    done = subprocess.run([chromium_binary(), *_flags(budget_ms), "--dump-dom", url],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout, time.perf_counter() - started


def screenshot(url: str, path: Path, size: str = "1280,900", budget_ms: int = 8000) -> None:
    """A PNG of the page as Chromium renders it."""
    done = subprocess.run([chromium_binary(), *_flags(budget_ms), f"--window-size={size}", "--hide-scrollbars",
                           f"--screenshot={path}", url], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and path.is_file(), done.stderr[-2000:]


def body_attrs(dom: str) -> dict[str, str]:
    """The <body> element's attributes of a dumped DOM."""
    match = re.search(r"<body([^>]*)>", dom)
    assert match, dom[:500]
    return dict(re.findall(r'([\w-]+)="([^"]*)"', match.group(1)))


class Tables(HTMLParser):
    """Every <table> of a DOM as rows of cell texts (thead and tbody rows alike)."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self._cell: list[str] | None = None
        self._depth = 0

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append([])
        elif tag == "tr" and self.tables:
            self.tables[-1].append([])
        elif tag in ("td", "th") and self.tables:
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append("".join(self._cell))
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def dom_tables(dom: str) -> list[list[list[str]]]:
    parser = Tables()
    parser.feed(dom)
    return parser.tables


def write_run(results: Path, model: str, benchmark: str, rows: list[dict], *, score: float,
              protocol: dict | None = None) -> Path:
    """A result and its samples file, as `run` writes them."""
    folder = results / model_slug(model)
    write_samples(folder / "samples" / f"{benchmark}.jsonl", rows)
    result = build_result(
        benchmark=benchmark, model={"name": model, "type": "hf", "args": {}, "revision": None},
        protocol=protocol or {"num_fewshot": 5, "output": "loglikelihood", "chat_template": True,
                              "fewshot_as_multiturn": False, "metric": "acc", "aggregation": "micro",
                              "judge": None, "limit": None},
        score=score, metrics={"acc": score / 100, "acc_stderr": 0.01}, subscores={}, n=len(rows), failures=None,
        provenance={"finished_at": "2026-01-01T00:00:00"}, samples=f"samples/{benchmark}.jsonl",
    )
    path = folder / f"{benchmark}.json"
    write_json_atomic(path, result)
    return path


class Elements(HTMLParser):
    """Every element of a DOM as (tag, attributes)."""

    def __init__(self) -> None:
        super().__init__()
        self.elements: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, attrs))


def dom_elements(dom: str) -> list[tuple[str, list[tuple[str, str | None]]]]:
    parser = Elements()
    parser.feed(dom)
    return parser.elements
