"""KMMLU through the generic loader: upstream CSV quirks, Hub features, one-line errors for bad files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from evalsuite.data.loader import features_of, load_declared_dataset
from evalsuite.declarations import get_benchmark
from evalsuite.errors import BadInputError

from tests.conftest import FIXTURE_DATA as FIXTURES, REPO

TASKS_DIR = REPO / "tasks" / "kmmlu"
LAYOUT = get_benchmark("kmmlu").data.local


def load_kmmlu(subject, data_dir):
    return load_declared_dataset("kmmlu", str(data_dir), subject=subject)


def features():
    return features_of(LAYOUT)


def test_subject_loads_with_hub_features():
    data = load_kmmlu("Accounting", FIXTURES)
    assert set(data) == {"dev", "test"}
    assert data["test"].features == features()
    assert list(data["test"].column_names) == list(features())
    assert len(data["dev"]) == 5 and len(data["test"]) == 3
    first = data["test"][0]
    assert first["answer"] == 1 and first["A"] == "상품" and first["Category"] == "Accounting"
    assert data["dev"][4]["question"].startswith('"재무상태표"')  # CSV quoting undone


def test_swapped_columns_are_mapped_by_header():
    row = load_kmmlu("Math", FIXTURES)["test"][0]
    assert row["Category"] == "Math"
    assert row["Human Accuracy"] == pytest.approx(0.8333)


def test_lower_case_file_and_blank_human_accuracy():
    data = load_kmmlu("Korean-History", FIXTURES)
    assert data["test"][0]["answer"] == 4
    assert data["test"][0]["Human Accuracy"] is None


def test_missing_subject_file_names_the_file(tmp_path):
    _copy_accounting(tmp_path)
    with pytest.raises(BadInputError, match=r"Biology-dev\.csv"):
        load_kmmlu("Biology", tmp_path)


def _copy_accounting(tmp_path: Path) -> Path:
    target = tmp_path / "kmmlu" / "data"
    target.mkdir(parents=True)
    for split in ("dev", "test"):
        shutil.copy(FIXTURES / "kmmlu" / "data" / f"Accounting-{split}.csv", target)
    return target


def test_answer_out_of_range_is_bad_input(tmp_path):
    folder = _copy_accounting(tmp_path)
    path = folder / "Accounting-test.csv"
    text = path.read_text(encoding="utf-8").replace(",1,상품", ",5,상품")
    path.write_text(text, encoding="utf-8")
    with pytest.raises(BadInputError, match=r"Accounting-test\.csv: row 1: answer is not 1-4"):
        load_kmmlu("Accounting", tmp_path)


def test_missing_column_is_bad_input(tmp_path):
    folder = _copy_accounting(tmp_path)
    path = folder / "Accounting-dev.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[0] = lines[0].replace("Category", "Kategorie")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(BadInputError, match=r"Accounting-dev\.csv: missing column\(s\) Category"):
        load_kmmlu("Accounting", tmp_path)


def test_every_subject_task_names_its_subject():
    import yaml

    files = sorted(TASKS_DIR.glob("es_kmmlu_*.yaml"))
    assert len(files) == 45
    for path in files:
        config = yaml.safe_load(path.read_text(encoding="utf-8"))
        subject = config["dataset_kwargs"]["subject"]
        assert config["task"] == path.stem == "es_kmmlu_" + subject.lower().replace("-", "_")
        assert config["dataset_kwargs"]["benchmark"] == "kmmlu"
