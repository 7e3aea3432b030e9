"""Shared test helpers: the repo root, the real data mirror (optional) and the CLI runner."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
FIXTURE_DATA = REPO / "tests" / "fixtures" / "data"


@pytest.fixture
def shared_data() -> Path:
    """../shared/data (real benchmark files); the test is skipped where it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is absent")
    return SHARED_DATA


def run_cli(*args: str, env: dict | None = None, timeout: float = 900) -> subprocess.CompletedProcess:
    """Run `python run_eval.py ARGS` in a subprocess, as a user would."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, str(REPO / "run_eval.py"), *args],
        cwd=REPO, capture_output=True, text=True, timeout=timeout, env=full_env,
    )


def humaneval_problems(data_dir=None) -> dict[str, dict]:
    """HumanEval's problems by task_id, through the declared loader (bundled file or data_dir)."""
    from evalsuite.data.loader import read_items
    from evalsuite.declarations import get_benchmark

    return read_items(get_benchmark("humaneval"), "test", data_dir)
