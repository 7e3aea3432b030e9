"""`run_eval.py score`: completions made elsewhere, scored through the benchmark's own lm-eval task."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from tests.conftest import FIXTURE_DATA
from evalsuite.cli import main
from evalsuite.declarations import get_benchmark
from evalsuite.leaderboard.flags import protocol_differences
from evalsuite.leaderboard.reference import ColumnProtocol
from evalsuite.results.schema import validate_result
from evalsuite.data.local import read_jsonl
from evalsuite.results.samples import read_samples
from evalsuite.models.replay import cut_at_stop_sequences


def _write(path: Path, rows: list) -> Path:
    path.write_text("".join((row if isinstance(row, str) else json.dumps(row)) + "\n" for row in rows))
    return path


def _score(tmp_path: Path, benchmark: str, rows: list, *extra: str) -> int:
    samples = _write(tmp_path / "model-x.jsonl", rows)
    return main(["score", benchmark, "--samples", str(samples), "--data_dir", str(FIXTURE_DATA),
                 "--output_path", str(tmp_path / "out"), *extra])


def _result(tmp_path: Path, benchmark: str) -> dict:
    return json.loads((tmp_path / "out" / "model-x" / f"{benchmark}.json").read_text())


def test_stop_sequences_cut_as_lm_evals_models_do():
    assert cut_at_stop_sequences("a\nQuestion: b", ["Question:"]) == "a\n"
    assert cut_at_stop_sequences("x</s>yQuestion:", ["Question:", "</s>"]) == "x"
    assert cut_at_stop_sequences("keep all", []) == "keep all"
    assert cut_at_stop_sequences("one stop", "stop") == "one "


def test_gsm8k_completions_score_as_run_would(tmp_path, capsys):
    rows = [
        {"doc_id": 0, "completion": "He has 2 + 3 = 5 pets.\n#### 5"},
        # without the cut at "Question:" the last number would be the right 1000
        {"doc_id": 1, "completion": "It costs 999.\n\nQuestion: and 1000"},
    ]
    assert _score(tmp_path, "gsm8k", rows) == 0
    result = _result(tmp_path, "gsm8k")
    assert validate_result(result) == []
    assert result["score"] == 50.0 and result["metrics"]["exact_match_strict-match"] == 0.5
    assert result["protocol"]["generated"] == "external" and result["protocol"]["limit"] is None
    assert result["model"]["type"] == "external" and len(result["model"]["args"]["sha256"]) == 64
    samples = read_samples(tmp_path / "out" / "model-x" / result["samples"])
    assert [row["pred"] for row in samples] == ["5", "999."]  # lm-eval's flexible-extract keeps the dot
    # the evidence: the exact request (5-shot prompt ending in the question), raw reply, extraction
    first = samples[0]
    assert first["arguments"][0][0].endswith(first["doc"]["question"] + "\nAnswer:")
    assert first["arguments"][0][0].count("Question:") == 6
    assert first["resps"] == [["He has 2 + 3 = 5 pets.\n#### 5"]] and first["response"] == first["resps"][0][0]
    assert (first["extracted"], first["extraction_rule"]) == ("5", "flexible-extract")
    assert first["metrics"] == {"exact_match,strict-match": 1.0, "exact_match,flexible-extract": 1.0}
    # `score` reads a samples file back as completions: the same replies, the same score
    again = main(["score", "gsm8k", "--samples", str(tmp_path / "out" / "model-x" / result["samples"]),
                  "--model_name", "again", "--data_dir", str(FIXTURE_DATA), "--output_path", str(tmp_path / "out")])
    assert again == 0
    rescored = json.loads((tmp_path / "out" / "again" / "gsm8k.json").read_text())
    assert rescored["score"] == result["score"] and rescored["metrics"] == result["metrics"]
    assert "gsm8k: 50.0" in capsys.readouterr().out


def test_mmlu_pro_cot_extracts_as_the_official_script(tmp_path):
    guess = random.Random(12345).randint(0, 3)  # the official fallback for question 72 (4 options, index 1)
    rows = [
        {"question_id": 70, "completion": "Cells divide. The answer is (B)."},
        {"question_id": 71, "completion": "Work it out.\nAnswer: C"},
        {"question_id": 72, "completion": "no letter to find here"},
        {"question_id": 3983, "completion": "so the answer is C"},  # scored on `answer` C, not answer_index 1
    ]
    others = read_jsonl(FIXTURE_DATA / "mmlu_pro" / "test.jsonl")[4:]  # one question per other category
    rows += [{"question_id": q["question_id"], "completion": f"Hence the answer is ({q['answer']})"} for q in others]
    assert _score(tmp_path, "mmlu_pro_cot", rows) == 0
    result = _result(tmp_path, "mmlu_pro_cot")
    assert result["score"] == pytest.approx(100 * (3 + (guess == 1) + len(others)) / (4 + len(others)))
    assert len(result["subscores"]) == 14
    samples = {row["item"]: row for row in read_samples(tmp_path / "out" / "model-x" / result["samples"])}
    assert {item: samples[item]["pred"] for item in ("70", "71", "72", "3983")} == \
        {"70": "B", "71": "C", "72": "[invalid]", "3983": "C"}
    # which extraction step gave each letter, per item; the unextracted count and the score without
    # the official random guess beside the headline
    assert {item: samples[item]["extracted_extraction-rule"] for item in ("70", "71", "72", "3983")} == \
        {"70": "answer is", "71": "Answer:", "72": "none", "3983": "answer is"}
    assert "exact_match_extraction-rule" not in samples["70"]
    assert result["metrics"]["unextracted"] == 1 == result["failures"]["parse"]
    assert result["metrics"]["exact_match_no_guess_official-extract"] == pytest.approx((3 + len(others)) / (4 + len(others)))
    assert "exact_match_no_guess_official-extract" in get_benchmark("mmlu_pro_cot").score.also


@pytest.mark.parametrize(
    "rows, message",
    [
        ([{"doc_id": 0, "completion": "#### 5"}], "covers 1 of 2 gsm8k items (1 missing)"),
        ([{"doc_id": 0, "completion": "a"}, {"doc_id": 0, "completion": "b"}, {"doc_id": 1, "completion": "c"}],
         "line 2: duplicate gsm8k item (also on line 1)"),
        ([{"doc_id": 0, "completion": "a"}, {"doc_id": 7, "completion": "b"}], "line 2: unknown gsm8k item doc_id=7"),
        ([{"doc_id": -1, "completion": "a"}], "doc_id must be a non-negative integer"),
        ([{"doc_id": 0, "completion": 5}], "'completion' must be a string"),
        ([{"completion": "a"}], "name the item by 'doc_id'"),
        (["[1, 2]"], "line 1: not a JSON object"),
        (["{not json"], "line 1: not JSON"),
        ([], "holds no completions"),
    ],
)
def test_bad_completion_files_are_one_line_exit_2(tmp_path, capsys, rows, message):
    assert _score(tmp_path, "gsm8k", rows) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err, err
    assert not (tmp_path / "out" / "model-x").exists()


def test_unknown_own_id_is_named(tmp_path, capsys):
    assert _score(tmp_path, "mmlu_pro_cot", [{"question_id": 999999, "completion": "A"}]) == 2
    assert "unknown mmlu_pro_cot item question_id=999999" in capsys.readouterr().err


def test_a_row_may_give_its_own_id_and_doc_id_when_they_agree(tmp_path):
    rows = [{"key": 1000, "doc_id": 0, "completion": "a"}, {"key": 1005, "doc_id": 2, "completion": "b"}]
    assert _score(tmp_path, "ifeval", rows, "--allow_missing") == 0
    scored = read_jsonl(tmp_path / "out" / "model-x" / _result(tmp_path, "ifeval")["samples"])
    assert [(row["item"], row["response"]) for row in scored] == [("1000", "a"), ("1005", "b")]


def test_a_row_whose_own_id_and_doc_id_disagree_is_refused(tmp_path, capsys):
    # neither wins: doc_id depends on the data's row order, the key does not, and a row that names
    # two items is a broken file
    assert _score(tmp_path, "ifeval", [{"key": 1005, "doc_id": 0, "completion": "a"}], "--allow_missing") == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "line 1: key=1005 is doc_id 2, not doc_id 0" in err, err
    assert not (tmp_path / "out" / "model-x").exists()


def test_a_subset_needs_allow_missing_and_is_flagged_not_comparable(tmp_path):
    assert _score(tmp_path, "gsm8k", [{"doc_id": 1, "completion": "#### 1,000"}], "--allow_missing") == 0
    result = _result(tmp_path, "gsm8k")
    assert result["n"] == 1 and result["score"] == 100.0 and result["protocol"]["limit"] == 1
    rows = read_samples(tmp_path / "out" / "model-x" / result["samples"])
    assert [(row["doc_id"], row["item"]) for row in rows] == [(1, "1")]  # lm-eval renumbers a selection from 0 for the model only
    flags = protocol_differences(result["protocol"], ColumnProtocol(stated={}, inferred={}))
    assert any("not comparable" in flag for flag in flags)


def test_fifo_samples_file_is_refused_without_blocking(tmp_path, capsys):
    import os

    fifo = tmp_path / "fifo.jsonl"
    os.mkfifo(fifo)
    assert main(["score", "gsm8k", "--samples", str(fifo), "--output_path", str(tmp_path / "out")]) == 2
    assert "not a regular file" in capsys.readouterr().err


def test_every_generative_lm_eval_benchmark_is_scorable():
    from evalsuite.declarations import discover
    from evalsuite.runner.external import scorable

    generative = {b.name for b in discover().values() if b.engine == "lm_eval" and b.output == "generate"}
    assert {"gsm8k", "math", "math_hard", "ifeval", "mmlu_pro_cot", "humaneval"} <= generative
    assert all(scorable(get_benchmark(name)) for name in generative)


@pytest.mark.parametrize("benchmark,row", [
    ("humaneval", '{"task_id": "HumanEval/0", "completion": "pass", "seed": ' + "7" * 4301 + "}"),
    ("gsm8k", '{"doc_id": 1, "completion": "#### 1", "seed": ' + "7" * 4301 + "}"),
])
def test_an_integer_past_4300_digits_is_bad_input_naming_the_line(tmp_path, capsys, benchmark, row):
    first = '{"task_id": "HumanEval/0", "completion": "pass"}' if benchmark == "humaneval" else '{"doc_id": 0, "completion": "#### 5"}'
    assert _score(tmp_path, benchmark, [first, row], "--allow_code_execution") == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "line 2" in err and "Traceback" not in err, err
    assert not (tmp_path / "out" / "model-x").exists()
