"""The leaderboard package holds mechanisms only: no string naming a declared benchmark, and a
benchmark that is no longer declared still renders from its stored fields."""

import json
import re
import shutil
import sys


from evalsuite.declarations import discover
from evalsuite.leaderboard import render_leaderboard

from tests.conftest import REPO, RESULT_FIXTURES as FIXTURES

PACKAGE = REPO / "evalsuite" / "leaderboard"


def test_no_benchmark_is_named_in_the_package():
    """Not in code, docstrings, comments or templates: the package holds mechanisms only."""
    benchmarks = discover().values()
    names = {b.name for b in benchmarks} | {b.title for b in benchmarks}
    names |= {b.lm_eval_task for b in benchmarks if b.lm_eval_task}
    # a name followed by ".attribute" is Python's module of that name (`math.isfinite`), not a benchmark
    pattern = re.compile(r"(?<![A-Za-z0-9_])(" + "|".join(map(re.escape, sorted(names, key=len, reverse=True)))
                         + r")(?![A-Za-z0-9_])(?!\.[A-Za-z_])", re.IGNORECASE)
    stdlib_import = re.compile(r"^import (" + "|".join(sorted(sys.stdlib_module_names)) + r")$", re.MULTILINE)
    files = sorted(PACKAGE.rglob("*.py")) + sorted((PACKAGE / "templates").glob("*.j2"))
    found = [(path.name, match.group(0)) for path in files
             for match in pattern.finditer(stdlib_import.sub("", path.read_text(encoding="utf-8")))]
    assert found == []


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
