"""The loaders on the real benchmark files in ../shared/data: the full official row counts."""

from __future__ import annotations

import pytest

from evalsuite.data.gsm8k import load_gsm8k
from evalsuite.data.kmmlu import load_kmmlu, subject_from_task
from evalsuite.data.kobest import load_kobest
from evalsuite.data.mmlu_pro import load_mmlu_pro

pytestmark = pytest.mark.shared_data


def _kmmlu_subjects() -> list[str]:
    from pathlib import Path

    tasks = sorted((Path(__file__).resolve().parents[1] / "tasks" / "kmmlu").glob("es_kmmlu_*.yaml"))
    return [subject_from_task(path.stem) for path in tasks]


def test_kmmlu_full_counts(shared_data):
    subjects = _kmmlu_subjects()
    assert len(subjects) == 45
    loaded = [load_kmmlu(subject, shared_data) for subject in subjects]
    assert sum(len(data["test"]) for data in loaded) == 35030
    assert sum(len(data["dev"]) for data in loaded) == 225
    assert all(len(data["dev"]) == 5 for data in loaded)


@pytest.mark.parametrize(
    ("task", "test_rows"),
    [("boolq", 1404), ("copa", 1000), ("wic", 1260), ("hellaswag", 500), ("sentineg", 397)],
)
def test_kobest_full_counts(shared_data, task, test_rows):
    data = load_kobest(task, shared_data)
    assert len(data["test"]) == test_rows
    assert set(data["test"]["label"]) == ({0, 1, 2, 3} if task == "hellaswag" else {0, 1})


def test_mmlu_pro_full_counts(shared_data):
    data = load_mmlu_pro(shared_data)
    assert (len(data["test"]), len(data["validation"])) == (12032, 70)
    quirk = data["test"].filter(lambda row: row["question_id"] == 3983)[0]
    assert quirk["answer"] == "C" and quirk["options"][2] == "N—H"


def test_gsm8k_full_counts(shared_data):
    data = load_gsm8k(shared_data)
    assert (len(data["test"]), len(data["train"])) == (1319, 7473)
