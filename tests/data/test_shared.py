"""Every declared benchmark's loader on the real files in ../shared/data: the official row counts."""

from __future__ import annotations

import pytest

from evalsuite.data.loader import load_declared_dataset
from evalsuite.declarations import discover, task_dataset_kwargs

pytestmark = pytest.mark.shared_data
COUNTED = [b for b in discover().values() if b.data.counts and b.engine == "lm_eval"]


@pytest.mark.parametrize("benchmark", COUNTED, ids=lambda b: b.name)
def test_official_counts(shared_data, benchmark):
    splits = benchmark.data.local.splits if benchmark.data.local else {}
    folders = {pattern.split("/")[0] for patterns in splits.values() for pattern in patterns}
    if not all((shared_data / folder).is_dir() for folder in folders):
        pytest.skip(f"{benchmark.name} is not staged in the shared data (Hub only here)")
    totals: dict[str, int] = {}
    for kwargs in task_dataset_kwargs(benchmark.name):
        data = load_declared_dataset(data_dir=str(shared_data), **kwargs)
        for split, rows in data.items():
            totals[split] = totals.get(split, 0) + len(rows)
    for split, count in benchmark.data.counts.items():
        assert totals[split] == count, split


def test_mmlu_pro_quirk_is_kept(shared_data):
    data = load_declared_dataset("mmlu_pro", str(shared_data))
    quirk = data["test"].filter(lambda row: row["question_id"] == 3983)[0]
    assert quirk["answer"] == "C" and quirk["options"][2] == "N—H"
