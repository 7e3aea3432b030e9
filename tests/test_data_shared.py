"""Every declared benchmark's loader on the real files in ../shared/data: the official row counts."""

from __future__ import annotations

import pytest
from conftest import task_kwargs_of

from evalsuite.data.loader import load_declared_dataset
from evalsuite.declarations import discover

pytestmark = pytest.mark.shared_data
COUNTED = [b for b in discover().values() if b.data.counts and b.engine == "lm_eval"]


@pytest.mark.parametrize("benchmark", COUNTED, ids=lambda b: b.name)
def test_official_counts(shared_data, benchmark):
    totals: dict[str, int] = {}
    for kwargs in task_kwargs_of(benchmark.name) or [{"benchmark": benchmark.name}]:
        data = load_declared_dataset(data_dir=str(shared_data), **kwargs)
        for split, rows in data.items():
            totals[split] = totals.get(split, 0) + len(rows)
    for split, count in benchmark.data.counts.items():
        assert totals[split] == count, split


def test_mmlu_pro_quirk_is_kept(shared_data):
    data = load_declared_dataset("mmlu_pro", str(shared_data))
    quirk = data["test"].filter(lambda row: row["question_id"] == 3983)[0]
    assert quirk["answer"] == "C" and quirk["options"][2] == "N—H"
