"""GSM8K loader: question/answer rows whose answers end in '#### <number>'."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from evalsuite.data.gsm8k import features, load_gsm8k
from evalsuite.errors import BadInputError

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "data"


def test_splits_and_features():
    data = load_gsm8k(FIXTURES)
    assert set(data) == {"train", "test"}
    assert data["test"].features == features()
    assert len(data["train"]) == 6 and len(data["test"]) == 2
    assert data["test"][1]["answer"].endswith("#### 1,000")


def test_answer_without_final_line_is_bad_input(tmp_path):
    folder = tmp_path / "gsm8k"
    shutil.copytree(FIXTURES / "gsm8k", folder)
    (folder / "test.jsonl").write_text('{"question": "1+1?", "answer": "2"}\n', encoding="utf-8")
    with pytest.raises(BadInputError, match=r"test\.jsonl: row 1 answer has no '#### <number>' line"):
        load_gsm8k(tmp_path)


def test_non_utf8_file_is_bad_input(tmp_path):
    folder = tmp_path / "gsm8k"
    shutil.copytree(FIXTURES / "gsm8k", folder)
    (folder / "train.jsonl").write_bytes('{"question": "é"}\n'.encode("latin-1"))
    with pytest.raises(BadInputError, match=r"train\.jsonl: not UTF-8"):
        load_gsm8k(tmp_path)
