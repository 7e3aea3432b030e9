"""The leaderboard package holds mechanisms only: no string naming a declared benchmark, and a
benchmark that is no longer declared still renders from its stored fields."""

import ast
import json
import re
import shutil
from pathlib import Path

import pandas as pd

from evalsuite.declarations import discover
from evalsuite.leaderboard import render_leaderboard

PACKAGE = Path(__file__).resolve().parents[1] / "evalsuite" / "leaderboard"
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "results"


def _string_literals(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef)) and node.body
                  and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
    return [node.value for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings]


def test_no_string_literal_names_a_benchmark():
    names = set(discover())
    names |= {b.title for b in discover().values()} | {b.lm_eval_task for b in discover().values() if b.lm_eval_task}
    pattern = re.compile(r"(?<![A-Za-z0-9_])(" + "|".join(map(re.escape, sorted(names, key=len, reverse=True)))
                         + r")(?![A-Za-z0-9_])", re.IGNORECASE)
    found = [(path.name, text) for path in sorted(PACKAGE.rglob("*.py")) for text in _string_literals(path)
             if pattern.search(text)]
    assert found == []
    templates = [(p.name, m.group(0)) for p in sorted((PACKAGE / "templates").glob("*.j2"))
                 for m in pattern.finditer(p.read_text(encoding="utf-8"))]
    assert templates == []


def test_result_of_a_benchmark_no_longer_declared_renders_from_its_stored_fields(tmp_path, capsys):
    results = tmp_path / "results" / "Alpha"
    shutil.copytree(FIXTURES / "Alpha-7B-Instruct", results)
    retired = json.loads((results / "mt_bench.json").read_text(encoding="utf-8"))
    retired["benchmark"] = "retired_chat_bench"
    (results / "retired_chat_bench.json").write_text(json.dumps(retired), encoding="utf-8")
    render_leaderboard(tmp_path / "results", tmp_path / "out", ("md", "json"))
    page = (tmp_path / "out" / "benchmarks" / "retired_chat_bench.md").read_text(encoding="utf-8")
    assert page.startswith("# retired_chat_bench\n") and "not in the report" in page
    assert "| **org/Alpha-7B-Instruct** | 7.45 [" in page  # judge scale and two decimals from the protocol
    assert "## By turn" in page
    readme = (tmp_path / "out" / "README.md").read_text(encoding="utf-8")
    assert "| **org/Alpha-7B-Instruct** | retired_chat_bench | 7.45 [" in readme
    assert capsys.readouterr().err == ""
