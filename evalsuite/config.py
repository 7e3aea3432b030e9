"""The benchmark manifest (tasks/benchmarks.yaml), suites, and checks of the task YAMLs."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from evalsuite.errors import BadInputError

REPO_ROOT = Path(__file__).resolve().parents[1]
TASKS_DIR = REPO_ROOT / "tasks"
MANIFEST_PATH = TASKS_DIR / "benchmarks.yaml"
SUITES_DIR = TASKS_DIR / "suites"


@dataclass(frozen=True)
class Benchmark:
    """One benchmark of the manifest and the protocol it follows."""

    name: str
    title: str
    engine: str
    output: str
    num_fewshot: int
    metric: str
    aggregation: str
    scale: float
    source: str
    local: str
    lm_eval_task: str | None = None
    judge: str | None = None
    executes_code: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def metric_name(self) -> str:
        """The metric without its lm-eval filter (`exact_match` of `exact_match,flexible-extract`)."""
        return self.metric.split(",")[0]

    @property
    def metric_filter(self) -> str:
        """The lm-eval filter of the metric (`none` when the metric names none)."""
        parts = self.metric.split(",", 1)
        return parts[1] if len(parts) > 1 else "none"


class _TaskYamlLoader(yaml.SafeLoader):
    """Safe YAML loader that accepts lm-eval's `!function` tag (as a plain string)."""


_TaskYamlLoader.add_constructor(
    "!function", lambda loader, node: f"!function {loader.construct_scalar(node)}"
)


def read_yaml(path: Path, what: str) -> Any:
    """Parse a YAML file, turning every parse error into one clear BadInputError line."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise BadInputError(f"cannot read {what} {path}: {err.strerror}") from err
    try:
        return yaml.load(text, Loader=_TaskYamlLoader)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise BadInputError(f"malformed YAML in {path}{where}: {problem}") from err


def load_manifest(path: Path = MANIFEST_PATH) -> tuple[dict[str, Benchmark], dict[str, list[str]]]:
    """Read the manifest: benchmarks by name and aliases (e.g. kobest -> its five tasks)."""
    data = read_yaml(path, "benchmark manifest")
    if not isinstance(data, dict) or not isinstance(data.get("benchmarks"), dict):
        raise BadInputError(f"{path}: expected a mapping with a 'benchmarks' section")
    benchmarks: dict[str, Benchmark] = {}
    known = set(Benchmark.__dataclass_fields__) - {"name", "extra"}
    for name, spec in data["benchmarks"].items():
        if not isinstance(spec, dict):
            raise BadInputError(f"{path}: benchmark '{name}' is not a mapping")
        try:
            benchmarks[name] = Benchmark(
                name=name,
                **{k: v for k, v in spec.items() if k in known},
                extra={k: v for k, v in spec.items() if k not in known},
            )
        except TypeError as err:
            raise BadInputError(f"{path}: benchmark '{name}' is incomplete ({err})") from err
    aliases = {k: list(v) for k, v in (data.get("aliases") or {}).items()}
    return benchmarks, aliases


def load_suite(name: str) -> list[str]:
    """Benchmark names of a suite file tasks/suites/<name>.yaml."""
    path = SUITES_DIR / f"{name}.yaml"
    if not path.is_file():
        available = ", ".join(sorted(p.stem for p in SUITES_DIR.glob("*.yaml")))
        raise BadInputError(f"unknown suite '{name}' (available: {available})")
    data = read_yaml(path, "suite")
    if not isinstance(data, dict) or not isinstance(data.get("benchmarks"), list):
        raise BadInputError(f"{path}: expected a 'benchmarks' list")
    return [str(b) for b in data["benchmarks"]]


def resolve_benchmarks(tasks: str | None, suite: str | None) -> list[Benchmark]:
    """Turn --tasks (comma list, aliases allowed) and/or --suite into manifest benchmarks."""
    benchmarks, aliases = load_manifest()
    names: list[str] = []
    if suite:
        names += load_suite(suite)
    if tasks:
        names += [t.strip() for t in tasks.split(",") if t.strip()]
    if not names:
        raise BadInputError("no benchmark given: pass --tasks a,b or --suite paper")
    resolved: list[str] = []
    for name in names:
        expanded = aliases.get(name, [name])
        for item in expanded:
            if item not in benchmarks:
                choices = ", ".join(sorted(benchmarks) + sorted(aliases))
                raise BadInputError(f"unknown task '{item}' (known: {choices})")
            if item not in resolved:
                resolved.append(item)
    return [benchmarks[n] for n in resolved]


def check_task_yamls(folder: Path) -> None:
    """Parse every lm-eval YAML under a task folder; lm-eval itself skips broken ones silently."""
    if not folder.is_dir():
        raise BadInputError(f"task folder {folder} is missing")
    for path in sorted(folder.rglob("*.yaml")):
        config = read_yaml(path, "task config")
        if not isinstance(config, dict):
            raise BadInputError(f"malformed task config {path}: expected a mapping")
