"""Hostile inputs and crashes around judging (issue 10): torn cache lines, secrets echoed by an
endpoint, two runs on one output folder, duplicate question ids and unknown prompt placeholders."""

import json
import shutil
from pathlib import Path

import pytest
from conftest import FIXTURE_DATA, run_cli
from replay_server import ReplayJudgeServer

from evalsuite.errors import BadInputError
from evalsuite.judging.client import JUDGMENT_KEY, JsonlCache, scrub_secrets
from evalsuite.judging.definitions import load_benchmark_data, load_definition
from evalsuite.judging.formats.fastchat_single import FORMAT, check_template
from evalsuite.judging.options import JudgeOptions
from evalsuite.judging.runner import output_lock, run_judge_benchmark

MT_ANSWERS = FIXTURE_DATA / "mt_bench" / "model_answer" / "tiny-model.jsonl"
SECRET = "sk-proj-echoed-secret-0123456789abcdef"


def _row(qid: int, turn: int, score: int) -> dict:
    return {"judge_model": "j", "prompt_name": "single-v1", "question_id": qid, "turn": turn,
            "input_hash": f"h{qid}{turn}", "repeat": 0, "score": score, "judgment": "x" * 200}


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]  # every line whole


def test_append_after_a_torn_line_starts_on_a_fresh_line(tmp_path):
    path = tmp_path / "judgments.jsonl"
    whole = json.dumps(_row(81, 1, 8)) + "\n"
    path.write_text(whole + json.dumps(_row(81, 2, 7))[:57], encoding="utf-8")  # kill -9 mid-append
    cache = JsonlCache(path, JUDGMENT_KEY)
    assert len(cache) == 1
    cache.put(_row(101, 1, 5))
    rows = _lines(path)
    assert [(r["question_id"], r["turn"]) for r in rows] == [(81, 1), (101, 1)]
    assert len(JsonlCache(path, JUDGMENT_KEY)) == 2  # the new judgment survives a reload


def test_a_whole_last_row_without_newline_is_kept(tmp_path):
    path = tmp_path / "judgments.jsonl"
    path.write_text(json.dumps(_row(81, 1, 8)), encoding="utf-8")
    cache = JsonlCache(path, JUDGMENT_KEY)
    cache.put(_row(81, 2, 6))
    assert [r["score"] for r in _lines(path)] == [8, 6]


def test_scrub_removes_key_and_authorization_values():
    text = ('HTTP 400: {"Authorization": "Bearer sk-abc"} authorization=sk-other bearer tok.en '
            f"key {SECRET}")
    scrubbed = scrub_secrets(text, [SECRET])
    for secret in ("sk-abc", "sk-other", "tok.en", SECRET):
        assert secret not in scrubbed


def test_api_key_echoed_in_an_error_body_is_not_written(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    with ReplayJudgeServer(lambda m: "[[6]]", faults=["echo_auth"], lifetime_s=60) as server:
        options = JudgeOptions(judge_model="gpt-4", judge_base_url=server.base_url, answers_file=MT_ANSWERS,
                               concurrency=1, max_retries=0, progress=False)
        result = run_judge_benchmark("mt_bench", model=None, options=options, output_path=tmp_path,
                                     data_dir=FIXTURE_DATA, limit=1, force=False)
    assert result["failures"]["api"] == 1
    judged = _lines(tmp_path / "tiny-model" / "mt_bench" / "model_judgment" / "gpt-4_single.jsonl")
    errors = [r["error"] for r in judged if "error" in r]
    assert len(errors) == 1 and "HTTP 400" in errors[0] and "Authorization" in errors[0]
    written = "".join(p.read_text(encoding="utf-8", errors="replace") for p in tmp_path.rglob("*") if p.is_file())
    assert SECRET not in written and "Bearer sk-" not in written


def _cli_run(server_url: str, out: Path, data_dir: Path):
    return run_cli("run", "--tasks", "mt_bench", "--answers_file", str(MT_ANSWERS), "--data_dir", str(data_dir),
                   "--judge_model", "gpt-4", "--judge_base_url", server_url, "--output_path", str(out),
                   env={"OPENAI_API_KEY": "sk-test"}, timeout=120)


def test_second_run_on_the_same_output_exits_2(tmp_path):
    with ReplayJudgeServer(lambda m: "[[6]]", lifetime_s=120) as server:
        with output_lock(tmp_path / "tiny-model" / "mt_bench"):  # a first run still writing
            busy = _cli_run(server.base_url, tmp_path, FIXTURE_DATA)
            assert server.requests == []
        assert busy.returncode == 2
        assert "another run is writing" in busy.stderr and "Traceback" not in busy.stderr
        assert not (tmp_path / "tiny-model" / "mt_bench.json").exists()
        with output_lock(tmp_path / "tiny-model" / "mt_bench"):
            pass  # released: a later run takes it
        done = _cli_run(server.base_url, tmp_path, FIXTURE_DATA)
        assert done.returncode == 0, done.stderr
        assert len(server.requests) == 8
    # the summary points at the result of the answers file's model, not at --model's
    assert str(tmp_path / "tiny-model" / "mt_bench.json") in done.stdout


def _copy_data(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    shutil.copytree(FIXTURE_DATA / "mt_bench", data / "mt_bench")
    return data


def _duplicate_question(data: Path) -> None:
    questions = data / "mt_bench" / "question.jsonl"
    first = questions.read_text(encoding="utf-8").splitlines()[0]
    questions.write_text(questions.read_text(encoding="utf-8") + first + "\n", encoding="utf-8")


def _unknown_placeholder(data: Path) -> None:
    prompts = data / "mt_bench" / "judge_prompts.jsonl"
    rows = [json.loads(line) for line in prompts.read_text(encoding="utf-8").splitlines() if line.strip()]
    for row in rows:
        if row["name"] == "single-v1":
            row["prompt_template"] += "\n{answer_3}"
    prompts.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


@pytest.mark.parametrize("damage,message", [
    (_duplicate_question, "duplicate question_id 81"),
    (_unknown_placeholder, "unknown placeholder(s) {answer_3}"),
])
def test_bad_data_is_one_line_and_exit_2_before_any_work(tmp_path, damage, message):
    data = _copy_data(tmp_path)
    damage(data)
    with pytest.raises(BadInputError) as info:
        load_benchmark_data(load_definition("mt_bench"), data)
    assert message in str(info.value) and "\n" not in str(info.value)
    with ReplayJudgeServer(lambda m: "[[6]]", lifetime_s=60) as server:
        completed = _cli_run(server.base_url, tmp_path / "out", data)
        assert server.requests == []
    assert completed.returncode == 2
    assert message in completed.stderr and "Traceback" not in completed.stderr
    assert not (tmp_path / "out").exists()


def test_bad_judge_data_fails_before_the_model_is_loaded(tmp_path):
    data = _copy_data(tmp_path)
    _duplicate_question(data)
    completed = run_cli("run", "--model", "hf", "--model_args", f"pretrained={tmp_path / 'no-such-model'}",
                        "--tasks", "mt_bench", "--data_dir", str(data), "--judge_base_url", "http://127.0.0.1:9/v1",
                        "--output_path", str(tmp_path / "out"), timeout=120)
    assert completed.returncode == 2, completed.stderr
    assert "duplicate question_id 81" in completed.stderr and "loading model" not in completed.stderr


@pytest.mark.parametrize("template,problem", [
    ("{question} {answer}", None),
    ("{{literal}} {question}", None),
    ("{question} {answer_2}", "unknown placeholder(s) {answer_2}"),
    ("{question.__class__}", "unknown placeholder(s) {question.__class__}"),
    ("{answer[0]}", "unknown placeholder(s) {answer[0]}"),
    ("{}", "unknown placeholder(s) {}"),
    ("{question", "malformed template"),
    ("{answer:{oops}}", "unusable template"),
])
def test_template_check(template, problem):
    found = check_template(template, {"question", "answer"})
    assert (found is None) if problem is None else (problem in found)
