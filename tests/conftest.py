"""The one conftest: the shared paths every test imports (`from tests.conftest import REPO, ...`), the
`shared_data` marker that skips by itself where the real data mirror is absent, and shared helpers
(the CLI runner, HumanEval's problems, the judged evidence check)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
TESTS = REPO / "tests"
FIXTURES = TESTS / "fixtures"  # small files in the real schemas
FIXTURE_DATA = FIXTURES / "data"  # the benchmarks' data in the upstream layouts (a --data_dir)
RESULT_FIXTURES = FIXTURES / "results"  # result files, as `run` writes them
JUDGING_FIXTURES = FIXTURES / "judging"  # official judged outputs (goldens of the judged formats)
GOLDEN = TESTS / "golden"  # the leaderboard's expected markdown
# the real benchmark files (optional): ../shared/data beside the checkout, or $EVALSUITE_SHARED_DATA
SHARED_DATA = Path(os.environ.get("EVALSUITE_SHARED_DATA") or REPO.parent / "shared" / "data")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip, with one line each, every test marked `shared_data` (or asking for the `shared_data`
    fixture) where the real data mirror is absent."""
    if SHARED_DATA.is_dir():
        return
    skip = pytest.mark.skip(reason=f"shared_data: {SHARED_DATA} is absent")
    for item in items:
        if item.get_closest_marker("shared_data") or "shared_data" in getattr(item, "fixturenames", ()):
            item.add_marker(skip)


@pytest.fixture
def shared_data() -> Path:
    """The real benchmark files (SHARED_DATA); a test asking for them is skipped where they are absent."""
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


def assert_judge_evidence(samples_file: Path, calls_per_row: int | None = None) -> list[dict]:
    """Every samples row of a judged benchmark carries its evidence (evalsuite/judging/evidence.py):
    the question's turns, the model's answers and each judge call as sent (its messages) and answered
    (its replies, verdict and status); a scored row has a reply, unless the format decided it without
    the judge and says so in its status (AlpacaEval's identical outputs). Returns the rows."""
    from evalsuite.results.samples import read_samples

    rows = read_samples(samples_file)
    assert rows, samples_file
    for row in rows:
        assert row["turns"] and row["answers"], row.get("item")
        assert row["judge"] or row.get("status") not in (None, "ok"), row["item"]
        if calls_per_row is not None and row["judge"]:
            assert len(row["judge"]) == calls_per_row, row["item"]
        for call in row["judge"]:
            assert call["request"] and all(m["role"] in ("system", "user", "assistant") and isinstance(m["content"], str)
                                           for m in call["request"]), row["item"]
            assert call["status"] and isinstance(call["replies"], list), row["item"]
            # what was sent before each re-ask (the judge conversation, not only its first request)
            assert len(call["follow_ups"]) == max(0, len(call["replies"]) - 1), row["item"]
        if row.get("score") is not None and row["judge"]:
            assert any(call["replies"] for call in row["judge"]), row["item"]
    return rows
