"""The package holds mechanisms only: no benchmark named in its code, its layers pointing down, its
dependency graph at the top."""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest

from evalsuite.declarations import discover

PACKAGE = Path(__file__).resolve().parents[1] / "evalsuite"
SOURCES = sorted(PACKAGE.rglob("*.py"))

# The package's layers, bottom to top. A module may import its own unit (a subpackage, or a module at
# the top of the package; "evalsuite" is the package's own __init__) or a unit of a lower layer, never
# one beside it in its layer nor above it. Each entry is one layer: a tuple of units.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("evalsuite", "errors"),                 # the root: REPO_ROOT, the errors and the secret scrubber
    ("results",),                            # storage: atomic writes, caches, result files
    ("declarations",),                       # what each benchmark is
    ("data",),                               # its data (read through its declaration)
    ("models", "sandbox"),                   # the model under test (ReplayLM too); running generated code
    ("scoring", "judging", "leaderboard"),   # code scoring, LLM judging, the leaderboard
    ("runner",),                             # run, the score command, demo, report, the engines
    ("argparsing",),
    ("cli",),
)
LAYER_OF = {unit: index for index, layer in enumerate(LAYERS) for unit in layer}


def _module_name(path: Path, package: Path = PACKAGE) -> str:
    parts = list(path.relative_to(package.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _unit(module: str) -> str:
    """evalsuite.judging.runner -> judging; evalsuite.cli -> cli; evalsuite -> evalsuite."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def _imported_modules(path: Path, package: Path = PACKAGE) -> list[tuple[int, str]]:
    """(line, module) of every evalsuite import of a file, wherever it is (module level, in a function,
    under `if TYPE_CHECKING:`), relative ones resolved; `from evalsuite import x` imports evalsuite.x."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    here = _module_name(path, package).split(".")
    parent = here if path.name == "__init__.py" else here[:-1]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(parent[: len(parent) - node.level + 1] + ([node.module] if node.module else []))
            if base == "evalsuite":
                found += [(node.lineno, f"evalsuite.{alias.name}") for alias in node.names]
            else:
                found.append((node.lineno, base))
    return sorted((line, module) for line, module in found if module.split(".")[0] == "evalsuite")


def test_the_layer_order_names_every_unit_of_the_package():
    units = {_unit(_module_name(path)) for path in SOURCES}
    assert units - set(LAYER_OF) == set(), "place each new package or top-level module in LAYERS"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_point_down_the_layers(path):
    """An import of another unit goes to a lower layer: no cycle between units, no layer reaching up
    (storage never imports a model, a model never the runner, ...)."""
    unit = _unit(_module_name(path))
    upward = [f"line {line}: {module}" for line, module in _imported_modules(path)
              if _unit(module) != unit and LAYER_OF.get(_unit(module), -1) >= LAYER_OF[unit]]
    assert upward == [], f"{path.relative_to(PACKAGE)} ({unit}) imports up or sideways: {upward}"


def test_the_import_scan_sees_every_kind_of_import(tmp_path):
    """Function-local, TYPE_CHECKING, relative and `from evalsuite import x` imports are all seen."""
    package = tmp_path / "evalsuite"
    source = package / "results" / "probe.py"
    source.parent.mkdir(parents=True)
    source.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from evalsuite.runner import run\n"
                      "def f():\n    import evalsuite.cli\n    from ..models import loader\n    from . import store\n"
                      "from evalsuite import judging\nimport json\n")
    assert [module for _, module in _imported_modules(source, package)] == [
        "evalsuite.runner", "evalsuite.cli", "evalsuite.models", "evalsuite.results", "evalsuite.judging"]


def _words(text: str) -> list[str]:
    """Lower-case words of an identifier or a text: `_`, punctuation and camelCase humps separate
    them (LogicKor -> logic, kor; arena_hard_v01 -> arena, hard, v01; GSM8K -> gsm8k)."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", " ", text)
    return [word.lower() for word in re.split(r"[^A-Za-z0-9]+", spaced) if word]


def _declared_names() -> dict[str, str]:
    """Each benchmark, lm-eval task and group name by its words run together (logickor, arenahard)."""
    benchmarks = discover().values()
    names = {b.name for b in benchmarks} | {b.lm_eval_task for b in benchmarks if b.lm_eval_task}
    names |= {group for b in benchmarks for group in b.part_of}
    return {"".join(_words(name)): name for name in names}


def _named_benchmarks(text: str, declared: dict[str, str]) -> set[str]:
    """The declared names that consecutive words of `text` spell (HumanEvalReport: humaneval)."""
    words = _words(text)
    found = set()
    for start in range(len(words)):
        joined = ""
        for word in words[start:]:
            joined += word
            if joined in declared:
                found.add(declared[joined])
    return found


def _string_literals(tree: ast.AST) -> list[str]:
    """String constants of the code, docstrings left out (prose may say "math problems")."""
    docstrings = {
        id(node.body[0].value) for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)
    }
    return [node.value for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings]


def _identifiers(tree: ast.AST) -> list[str]:
    """Names the code gives or uses: classes, functions, arguments, variables, attributes, keywords,
    the package's own modules it imports (a third-party package, e.g. the library a format replicates,
    keeps its name; what it is imported as is the code's)."""
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            names.append(node.name)
        elif isinstance(node, ast.arg):
            names.append(node.arg)
        elif isinstance(node, ast.Name):
            names.append(node.id)
        elif isinstance(node, ast.Attribute):
            names.append(node.attr)
        elif isinstance(node, ast.Import):
            names += [alias.asname or "" for alias in node.names]  # another package's name is its own
            names += [alias.name for alias in node.names if alias.name.split(".")[0] == "evalsuite"]
        elif isinstance(node, ast.ImportFrom):
            ours = node.level > 0 or (node.module or "").split(".")[0] == "evalsuite"
            names += [node.module or ""] if ours else []
            names += [name for alias in node.names for name in (alias.name if ours else "", alias.asname or "")]
        elif isinstance(node, ast.keyword) and node.arg:
            names.append(node.arg)
    return names


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_code_names_a_benchmark(path):
    """Neither the module's path, its identifiers nor its string literals (docstrings aside) name a
    declared benchmark, in any case or spelling (LogicKor, arena_hard_v01, HumanEvalReport)."""
    declared = _declared_names()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    texts = [*path.relative_to(PACKAGE).with_suffix("").parts, *_identifiers(tree), *_string_literals(tree)]
    texts = [text for text in texts if text not in sys.stdlib_module_names]  # "math" the module
    found = sorted({name for text in texts for name in _named_benchmarks(text, declared)})
    assert found == [], f"{path.relative_to(PACKAGE)} names benchmarks {found}: declare it in the benchmark's YAML"


def test_the_benchmark_scan_sees_every_spelling():
    declared = _declared_names()
    for text in ("LogicKor", "ArenaHard", "arena_hard_v01", "HumanEvalReport", "logickor_v2", "KOBEST_COPA",
                 "run math-hard", "evalsuite.judging.formats.logickor_v2"):
        assert _named_benchmarks(text, declared), text
    for text in ("arena", "mathematics", "human_evaluation", "hard_limit", "CodeScoreReport"):
        assert not _named_benchmarks(text, declared), text


RUNNER_FILES = sorted((PACKAGE / "runner").glob("*.py")) + [PACKAGE / "cli.py"]


@pytest.mark.parametrize("path", RUNNER_FILES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_the_runner_never_branches_on_the_engine(path):
    """runner/engines.py chooses a benchmark's engine through ENGINES; nothing compares `.engine`."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    branches = [node.lineno for node in ast.walk(tree) if isinstance(node, ast.Compare)
                and any(isinstance(side, ast.Attribute) and side.attr == "engine"
                        for side in [node.left, *node.comparators])]
    assert branches == [], f"{path.name} compares .engine on lines {branches}: add a method to the engines"


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


def test_the_architecture_page_draws_these_layers():
    """docs/architecture.md's drawing lists the layers of LAYERS, top to bottom, and nothing else."""
    text = (PACKAGE.parent / "docs" / "architecture.md").read_text(encoding="utf-8")
    drawing = text.split("## Layers", 1)[1].split("```", 2)[1]
    drawn: dict[int, list[str]] = {}
    current = None
    for line in drawing.splitlines():
        number, name = line[:5].strip(), line[7:30].strip()
        if number.isdigit():
            current = int(number)
        if current is not None and name:
            drawn.setdefault(current, []).extend(
                part.strip().removesuffix("/").removesuffix(".py").replace("__init__", "evalsuite")
                for part in name.split(","))
    assert sorted(drawn) == list(range(len(LAYERS)))
    assert {layer: sorted(names) for layer, names in drawn.items()} == {
        index: sorted(layer) for index, layer in enumerate(LAYERS)}
