"""The ARC, GPQA, BBH and MuSR layouts: the authors' files become the Hub's rows; bad files are one line."""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from evalsuite.data.loader import load_declared_dataset
from evalsuite.errors import BadInputError

from tests.conftest import FIXTURE_DATA as FIXTURES


def _copy(tmp_path: Path, folder: str) -> Path:
    shutil.copytree(FIXTURES / folder, tmp_path / folder)
    return tmp_path / folder


@pytest.mark.parametrize("subset", ["gpqa_diamond", "gpqa_extended", "gpqa_main"])
def test_gpqa_zip_and_extracted_csvs_give_the_same_rows(tmp_path, subset):
    from_zip = load_declared_dataset("gpqa", str(FIXTURES), subset=subset)["train"]
    (_copy(tmp_path, "gpqa") / "dataset.zip").unlink()
    from_csv = load_declared_dataset("gpqa", str(tmp_path), subset=subset)["train"]
    assert from_zip.to_list() == from_csv.to_list() and len(from_zip) > 0
    assert from_zip[0]["Incorrect Answer 3"] == "ohm [title]"  # cleaned by lm-eval's process_docs, not here


def test_gpqa_zip_needs_the_published_password_and_its_members(tmp_path):
    if shutil.which("zip") is None:
        pytest.skip("needs the zip tool to build a differently encrypted archive")
    folder = _copy(tmp_path, "gpqa")
    (folder / "dataset.zip").unlink()
    subprocess.run(["zip", "-q", "-P", "another-password", "dataset.zip", "dataset/gpqa_main.csv"], cwd=folder, check=True)
    shutil.rmtree(folder / "dataset")
    with pytest.raises(BadInputError, match="published password") as caught:
        load_declared_dataset("gpqa", str(tmp_path), subset="gpqa_main")
    assert "\n" not in str(caught.value)
    with pytest.raises(BadInputError, match="has no member dataset/gpqa_diamond.csv"):
        load_declared_dataset("gpqa", str(tmp_path), subset="gpqa_diamond")


def test_arc_rows_match_the_hub_schema_with_every_label_style():
    test = load_declared_dataset("arc_challenge", str(FIXTURES))["test"]
    assert test[1]["choices"] == {"text": ["Mercury", "Venus", "Earth", "Mars"], "label": ["1", "2", "3", "4"]}
    assert test[1]["answerKey"] == "1" and test[1]["question"] == "Which planet is closest to the Sun?"
    assert [len(row["choices"]["text"]) for row in test] == [4, 4, 3, 5]


def test_arc_answer_key_must_name_a_choice(tmp_path):
    path = _copy(tmp_path, "arc_challenge") / "ARC-Challenge" / "ARC-Challenge-Test.jsonl"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    rows[2]["answerKey"] = "D"  # a three-choice row
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    with pytest.raises(BadInputError, match="row 3: answerKey is not one of the choice labels"):
        load_declared_dataset("arc_challenge", str(tmp_path))
    rows[2] = {"id": "x", "question": "flat text", "answerKey": "A"}
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    with pytest.raises(BadInputError, match="row 3: question must hold a stem"):
        load_declared_dataset("arc_challenge", str(tmp_path))


def test_musr_stories_become_one_row_per_question():
    data = load_declared_dataset("musr", str(FIXTURES))
    placements = data["object_placements"]
    assert len(placements) == 2 and placements[0]["narrative"] == placements[1]["narrative"]
    assert ast.literal_eval(placements[1]["choices"]) == ["desk", "drawer", "shelf"]
    assert placements[1]["answer_index"] == 1 and placements[1]["answer_choice"] == "drawer"


def test_musr_answer_outside_the_choices_is_one_line(tmp_path):
    path = _copy(tmp_path, "musr") / "datasets" / "team_allocation.json"
    stories = json.loads(path.read_text(encoding="utf-8"))
    stories[0]["questions"][0]["answer"] = 3
    path.write_text(json.dumps(stories), encoding="utf-8")
    with pytest.raises(BadInputError, match="story 1: answer 3 is not a 0-based index"):
        load_declared_dataset("musr", str(tmp_path))


def test_bbh_reads_the_file_of_the_task_subtask(tmp_path):
    snarks = load_declared_dataset("bbh", str(FIXTURES), subtask="snarks")["test"]
    assert snarks[0]["target"] == "(A)" and snarks.column_names == ["input", "target"]
    (_copy(tmp_path, "bbh") / "bbh" / "navigate.json").unlink()
    with pytest.raises(BadInputError, match=r"missing data file .*bbh/bbh/navigate\.json"):
        load_declared_dataset("bbh", str(tmp_path), subtask="navigate")


def test_gpqa_without_zip_or_csv_names_both(tmp_path):
    (tmp_path / "gpqa").mkdir()
    with pytest.raises(BadInputError, match=r"gpqa_main\.csv .*or the authors' gpqa/dataset\.zip"):
        load_declared_dataset("gpqa", str(tmp_path), subset="gpqa_main")
