"""KoBEST loader: the SKT TSVs read with QUOTE_NONE and renamed to the Hub's columns and labels."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from evalsuite.data.kobest import TASKS, features, load_kobest
from evalsuite.errors import BadInputError

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "data"

HUB_COLUMNS = {
    "boolq": ["paragraph", "question", "label"],
    "copa": ["premise", "question", "alternative_1", "alternative_2", "label"],
    "wic": ["word", "context_1", "context_2", "label"],
    "hellaswag": ["context", "ending_1", "ending_2", "ending_3", "ending_4", "label"],
    "sentineg": ["sentence", "label"],
}


@pytest.mark.parametrize("task", TASKS)
def test_columns_and_splits_match_the_hub(task):
    data = load_kobest(task, FIXTURES)
    expected_splits = {"train", "validation", "test"} | ({"test_originated"} if task == "sentineg" else set())
    assert set(data) == expected_splits
    for split in data.values():
        assert split.column_names == HUB_COLUMNS[task]
        assert split.features == features(task)


def test_boolq_mixed_case_labels_and_stray_quotes():
    data = load_kobest("boolq", FIXTURES)
    assert data["train"]["label"] == [1, 0, 1, 0, 1, 0]  # TRUE, FALSE, True, False, TRUE, FALSE
    assert data["train"][4]["paragraph"] == '"백두산"은 북쪽에 있는 산이다.'  # QUOTE_NONE keeps quotes
    assert data["test"][0]["question"] == "한강은 서울을 지나는가?"


def test_copa_answer_one_two_becomes_zero_one():
    data = load_kobest("copa", FIXTURES)
    assert data["train"]["label"] == [0, 0, 1, 1, 0]
    assert data["train"][0] == {
        "premise": "비가 내렸다.", "question": "결과",
        "alternative_1": "땅이 젖었다.", "alternative_2": "땅이 말랐다.", "label": 0,
    }


def test_wic_renames_and_blank_link_cell():
    row = load_kobest("wic", FIXTURES)["train"][0]
    assert row == {"word": "배", "context_1": "[배]가 고프다.", "context_2": "[배]를 타고 강을 건넜다.", "label": 0}


def test_hellaswag_without_id_column():
    data = load_kobest("hellaswag", FIXTURES)
    assert data["train"]["label"] == [0, 1, 2, 3, 0]
    assert data["train"][3]["ending_4"] == "학생이 문제를 풀기 시작한다."


def test_sentineg_column_orders_and_test_splits():
    data = load_kobest("sentineg", FIXTURES)
    assert data["train"][0] == {"sentence": "정말 좋아요", "label": 1}
    assert data["validation"][1] == {"sentence": "별로예요", "label": 0}  # dev.tsv is ID Label Text
    assert data["test"][0] == {"sentence": "포장이 마음에 듬", "label": 1}
    assert data["test_originated"][0] == {"sentence": "포장이 마음에 안들음", "label": 0}


def test_unknown_task_is_bad_input():
    with pytest.raises(BadInputError, match="unknown KoBEST task"):
        load_kobest("nli", FIXTURES)


def _copy_task(tmp_path: Path, folder: str) -> Path:
    target = tmp_path / "kobest" / folder
    shutil.copytree(FIXTURES / "kobest" / folder, target)
    return target


def test_bad_label_names_file_and_row(tmp_path):
    folder = _copy_task(tmp_path, "BoolQ")
    path = folder / "test.tsv"
    path.write_bytes(path.read_bytes().replace(b"\tFalse\r\n", b"\tmaybe\r\n"))
    with pytest.raises(BadInputError, match=r"BoolQ/test\.tsv: row 2 has Answer='maybe'"):
        load_kobest("boolq", tmp_path)


def test_ragged_row_is_bad_input(tmp_path):
    folder = _copy_task(tmp_path, "COPA")
    path = folder / "train.tsv"
    path.write_bytes(path.read_bytes() + "9\t문장\t결과\t하나\r\n".encode())
    with pytest.raises(BadInputError, match=r"COPA/train\.tsv: line 7 has 4 fields, the header has 6"):
        load_kobest("copa", tmp_path)


def test_missing_split_file_is_bad_input(tmp_path):
    folder = _copy_task(tmp_path, "WiC")
    (folder / "dev.tsv").unlink()
    with pytest.raises(BadInputError, match=r"missing data file .*WiC/dev\.tsv"):
        load_kobest("wic", tmp_path)
