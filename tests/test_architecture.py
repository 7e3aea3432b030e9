"""The package holds mechanisms only: no benchmark named in its code, its dependency graph at the top."""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest

from evalsuite.declarations import discover

PACKAGE = Path(__file__).resolve().parents[1] / "evalsuite"
SOURCES = sorted(PACKAGE.rglob("*.py"))


def _declared_words() -> re.Pattern:
    benchmarks = discover().values()
    words = {b.name for b in benchmarks} | {b.lm_eval_task for b in benchmarks if b.lm_eval_task}
    words |= {group for b in benchmarks for group in b.part_of}
    alternatives = "|".join(map(re.escape, sorted(words, key=len, reverse=True)))
    return re.compile(rf"(?<![A-Za-z0-9_])({alternatives})(?![A-Za-z0-9_])")


def _string_literals(tree: ast.AST) -> list[str]:
    """String constants of the code, docstrings left out (prose may say "math problems")."""
    docstrings = {
        id(node.body[0].value) for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)
    }
    return [node.value for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings]


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_string_literal_names_a_benchmark(path):
    pattern = _declared_words()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    literals = [text for text in _string_literals(tree) if text not in sys.stdlib_module_names]  # "math" the module
    found = [match.group(0) for text in literals for match in pattern.finditer(text)]
    assert found == [], f"{path.name} names benchmarks {sorted(set(found))}: declare it in the benchmark's YAML"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_package_imports_are_at_the_top(path):
    """Imports of the package's own modules sit at module level (heavy third-party ones may wait, and so
    may a package module that imports torch at once, marked `# heavy:` on its line)."""
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source)
    lines = source.splitlines()
    nested = []
    for function in ast.walk(tree):
        if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for node in ast.walk(function):
                if "# heavy:" in lines[node.lineno - 1] if hasattr(node, "lineno") else False:
                    continue
                if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("evalsuite"):
                    nested.append(f"{function.name}: from {node.module}")
                elif isinstance(node, ast.Import) and any(a.name.startswith("evalsuite") for a in node.names):
                    nested.append(f"{function.name}: import evalsuite")
    assert nested == []
