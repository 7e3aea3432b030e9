"""End to end through the CLI with the real embedded model and real lm-eval (marked real_model)."""

import json

import pytest

from tests.conftest import FIXTURE_DATA, run_cli
from evalsuite.results.schema import validate_result
from evalsuite.results.samples import read_samples
from evalsuite.sandbox import os_isolation_available

pytestmark = [pytest.mark.real_model, pytest.mark.timeout(900)]  # the first run: 149 s on 2 cores
SLUG = "SmolLM2-135M-Instruct"


@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("results")
    done = run_cli("run", "--model", "embedded", "--tasks", "kobest_copa,kmmlu,mmlu_pro,gsm8k,humaneval,belebele",
                   "--limit", "2", "--data_dir", str(FIXTURE_DATA), "--output_path", str(out), "--batch_size", "4",
                   "--allow_code_execution", "--gen_kwargs", "max_gen_toks=96",
                   *([] if os_isolation_available() else ["--allow_unisolated_execution"]))
    return out, done


def test_run_writes_one_valid_result_per_benchmark(first_run):
    out, done = first_run
    assert done.returncode == 0, done.stderr[-3000:]
    for name in ("kobest_copa", "kmmlu", "mmlu_pro", "gsm8k", "humaneval", "belebele"):
        result = json.loads((out / SLUG / f"{name}.json").read_text())
        assert validate_result(result) == [], name
        assert result["protocol"]["limit"] == 2 and result["protocol"]["chat_template"] is True
        rows = read_samples(out / SLUG / result["samples"])
        assert len(rows) == result["n"] > 0
        assert all({"item", "score", "group"} <= set(row) for row in rows)
        assert 0 <= result["score"] <= 100
        assert result["provenance"]["data"]["source"] == "local"
        assert result["model"]["implementation"].startswith("hf-fast (")  # embedded runs on hf-fast
    copa = json.loads((out / SLUG / "kobest_copa.json").read_text())
    assert copa["protocol"]["num_fewshot"] == 5 and copa["protocol"]["metric"] == "f1"
    assert copa["score"] == pytest.approx(copa["metrics"]["f1"] * 100)
    assert all(row["pred"] is not None and row["label"] is not None for row in read_samples(out / SLUG / copa["samples"]))
    kmmlu = json.loads((out / SLUG / "kmmlu.json").read_text())
    subjects = kmmlu["subscores"]
    assert len(subjects) >= 2
    assert kmmlu["score"] == pytest.approx(sum(subjects.values()) / len(subjects))  # macro over subjects
    gsm8k = json.loads((out / SLUG / "gsm8k.json").read_text())
    assert {"exact_match", "exact_match_strict-match"} <= set(gsm8k["metrics"])
    humaneval = json.loads((out / SLUG / "humaneval.json").read_text())
    assert humaneval["provenance"]["isolation"] == ("bwrap" if os_isolation_available() else "subprocess")
    assert humaneval["provenance"]["unisolated_opt_in"] is (not os_isolation_available())
    assert humaneval["protocol"]["gen_kwargs"] == "max_gen_toks=96"
    assert {row["item"] for row in read_samples(out / SLUG / humaneval["samples"])} <= {f"HumanEval/{i}" for i in range(164)}
    mmlu_pro = json.loads((out / SLUG / "mmlu_pro.json").read_text())
    assert mmlu_pro["metrics"]["acc_normalized"] == pytest.approx(max(0.0, (mmlu_pro["metrics"]["acc"] - 0.1) / 0.9))
    belebele = json.loads((out / SLUG / "belebele.json").read_text())
    assert belebele["protocol"]["num_fewshot"] == 5 and {"acc", "acc_norm"} <= set(belebele["metrics"])
    assert belebele["provenance"]["data"]["layout"] == "belebele/Belebele/kor_Hang.jsonl"
    assert "sk-" not in done.stdout + done.stderr


def test_rerun_skips_what_is_done(first_run):
    out, _ = first_run
    before = (out / SLUG / "kobest_copa.json").read_text()
    done = run_cli("run", "--model", "embedded", "--tasks", "kobest_copa", "--limit", "2",
                   "--data_dir", str(FIXTURE_DATA), "--output_path", str(out))
    assert done.returncode == 0, done.stderr[-2000:]
    assert "skipped" in done.stdout
    assert (out / SLUG / "kobest_copa.json").read_text() == before


def test_missing_data_file_is_one_line_and_keeps_earlier_results(first_run, tmp_path):
    out, _ = first_run
    (tmp_path / "kobest").mkdir()
    done = run_cli("run", "--model", "embedded", "--tasks", "kobest_boolq", "--limit", "2",
                   "--data_dir", str(tmp_path), "--output_path", str(out))
    assert done.returncode == 2, done.stderr[-2000:]
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ") and "BoolQ" in last
    assert (out / SLUG / "kobest_copa.json").is_file()


def test_another_limit_keeps_the_first_result_and_the_leaderboard_shows_the_larger(tmp_path):
    """A --limit 3 rerun beside a --limit 2 result: a file of its own (keyed by its identity), both
    resumable, and the leaderboard shows the larger one and names the other."""
    out = tmp_path / "results"
    first = run_cli("run", "--model", "embedded", "--tasks", "kobest_copa", "--limit", "2",
                    "--data_dir", str(FIXTURE_DATA), "--output_path", str(out))
    assert first.returncode == 0, first.stderr[-2000:]
    before = (out / SLUG / "kobest_copa.json").read_text()
    args = ["run", "--model", "embedded", "--tasks", "kobest_copa", "--limit", "3",
            "--data_dir", str(FIXTURE_DATA), "--output_path", str(out)]
    done = run_cli(*args)
    assert done.returncode == 0, done.stderr[-2000:]
    assert (out / SLUG / "kobest_copa.json").read_text() == before  # the --limit 2 result is untouched
    [keyed] = (out / SLUG).glob("kobest_copa.*.json")
    third = json.loads(keyed.read_text())
    assert third["protocol"]["limit"] == 3 and keyed.name == f"kobest_copa.{third['identity']}.json"
    assert len(read_samples(out / SLUG / third["samples"])) == third["n"]
    assert "skipped" in run_cli(*args).stdout  # found again: resumed, not rerun
    board = run_cli("leaderboard", "--results", str(out), "--out", str(tmp_path / "board"), "--format", "md")
    assert board.returncode == 0, board.stderr[-2000:]
    assert (f"skipped {SLUG}/kobest_copa.json: same model and benchmark as {SLUG}/{keyed.name}, which has more "
            "items") in board.stderr
