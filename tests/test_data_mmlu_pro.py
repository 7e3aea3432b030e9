"""MMLU-Pro loader: the Hub's fields, 3-10 options, and the question_id 3983 quirk kept as published."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from evalsuite.data.mmlu_pro import features, load_mmlu_pro
from evalsuite.errors import BadInputError

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "data"


def test_splits_and_features():
    data = load_mmlu_pro(FIXTURES)
    assert set(data) == {"test", "validation"}
    assert data["test"].features == features()
    assert [len(options) for options in data["test"]["options"]] == [3, 10, 4, 5]
    assert data["test"][0]["question_id"] == 70 and data["test"][0]["category"] == "biology"


def test_question_3983_keeps_its_published_fields():
    row = [r for r in load_mmlu_pro(FIXTURES)["test"] if r["question_id"] == 3983][0]
    assert row["answer"] == "C" and row["answer_index"] == 1


def _rewrite_test(tmp_path: Path, edit) -> None:
    folder = tmp_path / "mmlu_pro"
    shutil.copytree(FIXTURES / "mmlu_pro", folder)
    rows = [json.loads(line) for line in (folder / "test.jsonl").read_text(encoding="utf-8").splitlines()]
    edit(rows)
    (folder / "test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def test_answer_beyond_the_options_is_bad_input(tmp_path):
    _rewrite_test(tmp_path, lambda rows: rows[0].update(answer="D"))
    with pytest.raises(BadInputError, match=r"test\.jsonl: row 1 \(question_id 70\): answer 'D' is not one of ABC"):
        load_mmlu_pro(tmp_path)


def test_missing_field_is_bad_input(tmp_path):
    _rewrite_test(tmp_path, lambda rows: rows[1].pop("options"))
    with pytest.raises(BadInputError, match=r"row 2 \(question_id 71\) lacks options"):
        load_mmlu_pro(tmp_path)


def test_broken_json_line_is_bad_input(tmp_path):
    folder = tmp_path / "mmlu_pro"
    shutil.copytree(FIXTURES / "mmlu_pro", folder)
    with open(folder / "validation.jsonl", "a", encoding="utf-8") as handle:
        handle.write('{"question_id": 99, "question": \n')
    with pytest.raises(BadInputError, match=r"validation\.jsonl: line 7 is not valid JSON"):
        load_mmlu_pro(tmp_path)
