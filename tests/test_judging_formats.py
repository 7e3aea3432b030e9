"""Judged formats: every judge definition names a registered format, and the judging package holds
mechanisms only (no string literal naming a declared benchmark)."""

import ast
from pathlib import Path

import pytest

from evalsuite.errors import BadInputError
from evalsuite.judging.definitions import judged_benchmarks, load_definition
from evalsuite.judging.formats import JudgeFormat, get_format, registry

JUDGING = Path(__file__).resolve().parents[1] / "evalsuite" / "judging"


def test_every_definition_names_a_registered_format():
    names = judged_benchmarks()
    assert names, "no judges/*.yaml found"
    for name in names:
        definition = load_definition(name)
        assert isinstance(get_format(definition.format), JudgeFormat)
    assert all(fmt.name == name for name, fmt in registry().items())


def test_unknown_format_is_bad_input():
    with pytest.raises(BadInputError, match="unknown judge format 'pairwise_x'.*fastchat_single"):
        get_format("pairwise_x")


def _string_literals(tree: ast.AST) -> list[str]:
    docstrings = {
        id(node.body[0].value) for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)
    }
    return [node.value for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings]


def test_no_benchmark_name_in_the_judging_package():
    names = set(judged_benchmarks())
    offenders = []
    for path in JUDGING.rglob("*.py"):
        for literal in _string_literals(ast.parse(path.read_text(encoding="utf-8"))):
            offenders += [f"{path.name}: {literal!r}" for name in names if name in literal]
    assert offenders == []
