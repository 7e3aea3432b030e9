"""Shared plumbing for the dataset loaders: where the data comes from and how local files are read.

Every loader follows one rule: with a data directory (the `data_dir` argument, else the
`EVALSUITE_DATA_DIR` environment variable) it reads the upstream files under it; without one it
loads the official Hugging Face Hub dataset. Both paths return a `datasets.DatasetDict` with the
same columns and features, so one prompt serves both. Bad or missing files raise
`BadInputError` naming the file and what is wrong.
"""

from __future__ import annotations

import csv
import gzip
import json
import os
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evalsuite.errors import BadInputError

if TYPE_CHECKING:
    import datasets

DATA_DIR_ENV = "EVALSUITE_DATA_DIR"
_TOO_LONG_INTEGER = "an integer too long to read (over 4,300 digits)"
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")  # "\ud800".."\udfff": half of a pair, or a lone one


def resolve_data_dir(data_dir: str | os.PathLike[str] | None) -> Path | None:
    """The local data directory to read: `data_dir`, else $EVALSUITE_DATA_DIR, else None (the Hub)."""
    chosen = data_dir if data_dir not in (None, "") else os.environ.get(DATA_DIR_ENV) or None
    if chosen is None:
        return None
    path = Path(chosen).expanduser()
    if not path.is_dir():
        raise BadInputError(f"data directory {path} does not exist or is not a directory")
    return path


def load_from_hub(
    path: str, name: str | None, local_layout: str, revision: str | None = None, split: str | None = None
) -> "datasets.DatasetDict":
    """Load an official dataset (or only its `split`) from the HF Hub: the one Hub loader. Any failure
    becomes one line with the --data_dir hint."""
    import datasets  # heavy (~1 s): only when the Hub is read

    try:
        loaded = datasets.load_dataset(path, name, revision=revision, split=split)
    except Exception as exc:  # network, missing config, auth, revision, schema: all mean "use local copies"
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        which = (f"{path}@{revision}" if revision else path) + (f" ({name})" if name else "")
        raise BadInputError(
            f"cannot load {which} from the Hugging Face Hub ({reason}); pass --data_dir DIR "
            f"(or set {DATA_DIR_ENV}) with local copies laid out as DIR/{local_layout}"
        ) from exc
    if split is not None and isinstance(loaded, datasets.Dataset):
        loaded = datasets.DatasetDict({split: loaded})
    if not isinstance(loaded, datasets.DatasetDict):
        raise BadInputError(f"{path}: expected a dataset with splits, got {type(loaded).__name__}")
    return loaded


def require_file(path: Path) -> Path:
    """`path` if it is a readable file, else BadInputError naming it."""
    if not path.is_file():
        raise BadInputError(f"missing data file {path}")
    return path


def read_jsonl(path: Path, string_fields: Sequence[str] = ()) -> list[dict[str, Any]]:
    """Every JSON object of a .jsonl (or .jsonl.gz) file, blank lines skipped: the one JSONL reader
    (data files, answer files, samples, caches).

    Each object must hold `string_fields` as strings; any problem is a BadInputError naming the line.
    """
    rows: list[dict[str, Any]] = []
    with _open_text(path) as handle, _decoding(path):
        try:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise BadInputError(f"{path}: line {number} is not valid JSON ({exc.msg})") from exc
                except RecursionError as exc:
                    raise BadInputError(f"{path}: line {number} is nested too deeply") from exc
                except ValueError as exc:  # json's int limit: "Exceeds the limit (4300 digits) ..."
                    raise BadInputError(f"{path}: line {number} holds {_TOO_LONG_INTEGER}") from exc
                if not isinstance(row, dict):
                    raise BadInputError(f"{path}: line {number} is not a JSON object")
                if _SURROGATE_ESCAPE.search(line) and _has_lone_surrogate(row):
                    raise BadInputError(f"{path}: line {number} holds text that is not valid Unicode (a lone surrogate)")
                missing = [name for name in string_fields if not isinstance(row.get(name), str)]
                if missing:
                    raise BadInputError(f"{path}: line {number} lacks string field(s) {', '.join(missing)}")
                rows.append(row)
        except (OSError, EOFError) as exc:  # a corrupt .gz surfaces while reading
            raise BadInputError(f"cannot read {path} ({exc})") from exc
    return rows


def _has_lone_surrogate(row: dict) -> bool:
    """Whether a decoded row holds a lone surrogate ("\\ud800" in its JSON): such text cannot be
    written, hashed or sent as UTF-8 (only an escape in the line can make one)."""
    try:
        json.dumps(row, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def read_json_records(path: Path, records_key: str | None = None, one_per_file: bool = False) -> list[dict[str, Any]]:
    """The objects of a JSON file holding a list of them (or `{records_key: [...]}`), or its one
    object when `one_per_file`."""
    with _open_text(path) as handle, _decoding(path):
        try:
            data = json.load(handle)
        except (json.JSONDecodeError, RecursionError) as exc:
            raise BadInputError(f"{path}: not valid JSON ({getattr(exc, 'msg', 'nested too deeply')})") from exc
        except ValueError as exc:
            raise BadInputError(f"{path}: holds {_TOO_LONG_INTEGER}") from exc
    if one_per_file:
        if not isinstance(data, dict):
            raise BadInputError(f"{path}: expected one JSON object")
        return [data]
    if records_key is not None:
        data = data.get(records_key) if isinstance(data, dict) else None
    if not isinstance(data, list) or not all(isinstance(row, dict) for row in data):
        where = f"'{records_key}'" if records_key else "the file"
        raise BadInputError(f"{path}: expected {where} to hold a list of objects")
    return data


def read_parquet(path: Path) -> list[dict[str, Any]]:
    """The rows of a parquet file as dicts."""
    import pandas

    require_file(path)
    try:
        frame = pandas.read_parquet(path)
    except Exception as exc:  # pyarrow raises many types for a damaged file
        raise BadInputError(f"cannot read parquet file {path} ({exc})") from exc
    return [{k: (v.tolist() if hasattr(v, "tolist") else v) for k, v in row.items()} for row in frame.to_dict("records")]


def read_table(path: Path, **csv_options: Any) -> list[dict[str, str]]:
    """Rows of a CSV/TSV file as dicts keyed by its header; ragged rows raise BadInputError."""
    with _open_text(path, newline="") as handle, _decoding(path):
        reader = csv.reader(handle, **csv_options)
        try:
            header = next(reader)
        except StopIteration:
            raise BadInputError(f"{path}: empty file (no header row)") from None
        except csv.Error as exc:
            raise BadInputError(f"{path}: unreadable header ({exc})") from exc
        header = [name.lstrip("\ufeff").strip() for name in header]
        rows: list[dict[str, str]] = []
        try:
            for record in reader:
                if not any(cell.strip() for cell in record):
                    continue
                if len(record) != len(header):
                    raise BadInputError(
                        f"{path}: line {reader.line_num} has {len(record)} fields, "
                        f"the header has {len(header)}"
                    )
                rows.append(dict(zip(header, record)))
        except csv.Error as exc:
            raise BadInputError(f"{path}: line {reader.line_num} is malformed ({exc})") from exc
    return rows


def require_columns(path: Path, rows: list[dict[str, Any]], columns: list[str]) -> None:
    """BadInputError naming the file when its rows lack any of `columns`."""
    if not rows:
        raise BadInputError(f"{path}: no data rows")
    missing = [name for name in columns if name not in rows[0]]
    if missing:
        raise BadInputError(f"{path}: missing column(s) {', '.join(missing)}")


def build_split(rows: list[dict[str, Any]], features: "datasets.Features") -> "datasets.Dataset":
    """A `datasets.Dataset` holding exactly `features`' columns, in their order."""
    import datasets

    columns = {name: [row[name] for row in rows] for name in features}
    return datasets.Dataset.from_dict(columns, features=features)


@contextmanager
def _decoding(path: Path) -> Iterator[None]:
    """Turn a UTF-8 decoding failure while reading `path` into BadInputError."""
    try:
        yield
    except UnicodeDecodeError as exc:
        raise BadInputError(f"{path}: not UTF-8 text (byte {exc.start})") from exc


def _open_text(path: Path, newline: str | None = None):
    require_file(path)
    try:
        if path.suffix == ".gz":
            return gzip.open(path, "rt", encoding="utf-8-sig", newline=newline)
        return open(path, encoding="utf-8-sig", newline=newline)
    except OSError as exc:
        raise BadInputError(f"cannot read {path} ({exc.strerror})") from exc
