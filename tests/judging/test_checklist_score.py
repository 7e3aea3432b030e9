"""WildBench v2 WB-Score (judges/wildbench/, format checklist_score) against allenai/WildBench's own
code: prompts byte-equal to eval.py's rendering, request bodies equal to batch_eval_generate's, the
judgment file equal to batch_results_format.py's, and the score equal to _create_tables.py's, on the
golden files of tests/fixtures/judging/wildbench/ (README.md there says how each was produced)."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow
import pyarrow.parquet
import pytest

from tests.conftest import assert_judge_evidence
from evalsuite.judging.core import JudgeRun
from evalsuite.declarations import get_benchmark
from evalsuite.errors import BadInputError
from evalsuite.judging.definitions import load_benchmark_data, load_definition
from evalsuite.judging.formats import get_format
from evalsuite.judging.formats.checklist_score import (
    STATUS_BAD_SCORE, STATUS_NO_SCORE, STATUS_NOT_JSON, STATUS_OK, STATUS_TWO_SCORES, aggregate, parse_reply,
)
from evalsuite.judging.options import JudgeOptions
from evalsuite.judging.benchmark import build_protocol, resolve_endpoint, run_judge_benchmark
from evalsuite.leaderboard import render_leaderboard
from evalsuite.results.schema import validate_result
from evalsuite.runner.demo import run_isolated
from evalsuite.runner.options import RunOptions
from tests.support.replay_server import ReplayJudgeServer, replay_responder

from tests.conftest import FIXTURE_DATA as FIXTURES, JUDGING_FIXTURES, REPO as ROOT

GOLDEN = JUDGING_FIXTURES / "wildbench"
ANSWERS = GOLDEN / "answers.json"
OFFICIAL_KEYS = ("session_id", "parsed_result", "model_test", "score", "model_output")
MODEL = "fixture-model"  # model_slug of the answers' generator "fixture/fixture-model"


def _json(name: str):
    return json.loads((GOLDEN / name).read_text(encoding="utf-8"))


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="module")
def definition():
    return load_definition("wildbench")


@pytest.fixture(scope="module")
def data(definition):
    return load_benchmark_data(definition, FIXTURES)


def _run(server, out: Path, answers: Path = ANSWERS, **kwargs):
    limit = kwargs.pop("limit", None)
    options = JudgeOptions(judge_base_url=server.base_url, answers_file=answers, progress=False,
                           backoff_base_s=0.01, backoff_cap_s=0.05, **kwargs)
    return run_judge_benchmark("wildbench", model=None, options=options, output_path=out, data_dir=FIXTURES,
                               limit=limit, force=False)


def _official_replies() -> list[dict]:
    """The golden judge replies keyed by the official prompt of each task (the replay table)."""
    replies = _json("judge_replies.json")
    return [{"user_prompt": r["prompt"], "judgment": replies[r["session_id"]]} for r in _json("rendered_prompts.json")]


def test_tasks_parquet_holds_the_fixture_rows():
    """The --data_dir fixture (the Hub's file layout) is tasks.jsonl, written in the Hub's v2 schema."""
    parquet = pyarrow.parquet.read_table(FIXTURES / "wildbench" / "v2" / "test-00000-of-00001.parquet").to_pylist()
    assert parquet == _rows(GOLDEN / "tasks.jsonl")


def test_prompts_are_byte_equal_to_the_official_rendering(definition, data):
    judge_format = get_format(definition.format)
    model_id, answers = judge_format.read_answers(ANSWERS, data.questions)
    tasks = judge_format.build_tasks(JudgeRun(definition, data, data.questions, answers, model_id))
    official = _json("rendered_prompts.json")
    assert [t.question_id for t in tasks] == [r["session_id"] for r in official]
    for task, rendered in zip(tasks, official):
        assert task.prompt.user_prompt == rendered["prompt"]
        assert task.prompt.messages == [{"role": "user", "content": rendered["prompt"]}]
    # the sequential str.replace quirk: placeholders inside the query and the output are filled too
    quirky = next(t for t in tasks if t.question_id == "d4c3f6b5a4e74b43").prompt.user_prompt
    assert "{$checklist}" not in quirky and quirky.count("- Does it keep the travel time") == 4


def test_generation_replays_the_conversation_with_roles_by_position(data):
    question = next(q for q in data.questions if q["question_id"] == "f6a5b4d7e2c94d65")
    assert question["turns"] == ["When did Parliament first sit there?"]
    assert [m["role"] for m in question["history"]] == ["user", "assistant", "user", "assistant"]


@pytest.mark.parametrize("reply,status,score", [
    ('{"strengths": "a", "weaknesses": "b", "score": "8"}', STATUS_OK, 8.0),
    ('{"score": 6}', STATUS_OK, 6.0),
    ('{"score": "10"}', STATUS_OK, 10.0),
    ('{"strengths": "a", "weaknesses": "b"}', STATUS_NO_SCORE, None),                  # no verdict
    ('{"score": "3", "score": "9"}', STATUS_TWO_SCORES, None),                          # two verdicts
    ('{"score": "3"}\n{"score": "9"}', STATUS_NOT_JSON, None),                          # two objects
    ('```json\n{"score": "7"}\n```', STATUS_NOT_JSON, None),                          # fenced: dropped upstream
    ("I would rate this 7/10.", STATUS_NOT_JSON, None),                                # garbage
    ("", STATUS_NOT_JSON, None),
    ('["score", 5]', STATUS_NOT_JSON, None),
    ('{"score": "[1~10]"}', STATUS_BAD_SCORE, None),                                   # the template's placeholder
    ('{"score": "nan"}', STATUS_BAD_SCORE, None),
    ('{"score": "Infinity"}', STATUS_BAD_SCORE, None),
    ('{"score": 11}', STATUS_BAD_SCORE, None),
    ('{"score": 0}', STATUS_BAD_SCORE, None),
    ('{"score": true}', STATUS_BAD_SCORE, None),
    ('{"score": null}', STATUS_BAD_SCORE, None),
    ("[" * 100000, STATUS_NOT_JSON, None),                                            # deep nesting
])
def test_reply_parsing(definition, reply, status, score):
    parsed = parse_reply(reply, definition.settings)
    assert (parsed.status, parsed.score) == (status, score)


def test_scorer_equals_the_official_tables_on_real_judgments(definition):
    """_create_tables.py's numbers on 14 real GPT-4o judgments of gemma-2b-it (official eval_results)."""
    real = _json("real_judgments_gemma-2b-it.subset.json")
    tags = {r["session_id"]: [r["primary_tag"], *r["secondary_tags"]] for r in _rows(GOLDEN / "real_subset_tags.jsonl")}
    ours = aggregate([(r["session_id"], float(r["score"]), r["model_output"]) for r in real], tags, definition.settings)
    golden = _json("golden_scores.json")["gemma-2b-it"]
    for key in ("score", "adjusted_score", "task_macro_score", "adjusted_task_macro_score", "avg_len"):
        assert ours[key] == pytest.approx(golden[key], rel=1e-12, abs=1e-12), key
    assert ours["total"] == golden["total"]
    assert ours["task_categorized_scores"] == pytest.approx(golden["task_categorized_scores"], rel=1e-12, abs=1e-12)


def test_end_to_end_equals_the_official_pipeline_and_renders(tmp_path, definition, capsys):
    """Replayed judge replies -> the official request bodies, batch_results_format.py's file (two replies
    dropped there and counted here), _create_tables.py's score, and a leaderboard row."""
    with ReplayJudgeServer(replay_responder(_official_replies()), lifetime_s=120) as server:
        result = _run(server, tmp_path / "results")
        bodies = [r["payload"] for r in server.requests]
    official_bodies = [line["body"] for line in _rows(GOLDEN / "batch-submit.jsonl")]
    assert len(bodies) == len(official_bodies) == 6  # one request per task, no re-ask
    by_prompt = {b["messages"][0]["content"]: b for b in bodies}
    for official in official_bodies:
        ours = by_prompt[official["messages"][0]["content"]]
        assert {k: ours[k] for k in official} == official  # model, temperature, max_tokens, response_format, messages
    validate_result(result)
    golden = _json("golden_scores.json")["fixture-model"]
    # the leaderboard's WB_score.task_macro: _create_tables.py's adjusted_task_macro_score x10 (_merge_results.py)
    assert result["score"] == pytest.approx(golden["leaderboard"]["WB_score.task_macro"], rel=1e-12)
    assert result["metrics"]["wb_score_task_macro"] == pytest.approx(golden["adjusted_task_macro_score"], rel=1e-12)
    assert result["metrics"]["wb_score"] == pytest.approx(golden["adjusted_score"], rel=1e-12)
    assert result["metrics"]["avg_len"] == pytest.approx(golden["avg_len"])
    assert result["failures"] == {"parse": 2, "api": 0, "timeout": 0}
    assert result["metrics"]["n_not_json"] == 1 and result["metrics"]["n_no_score"] == 1
    assert result["metrics"]["n_valid"] == golden["total"] == 4
    assert result["subscores"] == pytest.approx({**{g: None for g in definition.settings.weights},
                                                 **{g: v * 10 for g, v in golden["task_categorized_scores"].items()}})
    bench = tmp_path / "results" / MODEL / "wildbench"
    written = json.loads((bench / "eval_results" / "v2.0625" / "score.v2" / "eval=gpt-4o-2024-05-13"
                          / f"{MODEL}.json").read_text(encoding="utf-8"))
    official = _json("official_judgments.fixture-model.json")
    assert [{k: r[k] for k in OFFICIAL_KEYS} for r in written] == [{k: r[k] for k in OFFICIAL_KEYS} for r in official]
    failed = json.loads((bench / "eval_results" / "v2.0625" / "score.v2" / "eval=gpt-4o-2024-05-13"
                         / f"{MODEL}.failed.json").read_text(encoding="utf-8"))
    assert sorted((r["session_id"], r["status"]) for r in failed) == [
        ("d4c3f6b5a4e74b43", STATUS_NOT_JSON), ("e5b4a5c6d3f84c54", STATUS_NO_SCORE)]
    assert (bench / "result_dirs" / "wild_bench_v2" / f"{MODEL}.json").read_bytes() == ANSWERS.read_bytes()
    samples = assert_judge_evidence(tmp_path / "results" / MODEL / "samples" / "wildbench.jsonl", calls_per_row=1)
    assert len(samples) == 6 and sum(s["score"] is None for s in samples) == 2

    capsys.readouterr()
    render_leaderboard(tmp_path / "results", tmp_path / "board", ("md", "json"))
    assert "skipped" not in capsys.readouterr().err  # the official .json files are not taken for results
    page = (tmp_path / "board" / "benchmarks" / "wildbench.md").read_text(encoding="utf-8")
    assert "fixture/fixture-model" in page and "44.2" in page
    readme = (tmp_path / "board" / "README.md").read_text(encoding="utf-8")
    row = next(line for line in readme.splitlines() if line.startswith("| **fixture/fixture-model** | measured | ")
               and "44.2 [" in line)  # Table 7: MT-Bench, Arena-Hard, WildBench, AlpacaEval
    assert row.split(" | ")[4].startswith("44.2 [")


def test_bad_judge_replies_are_counted_never_dropped(tmp_path):
    replies = iter(['{"strengths": "a", "weaknesses": "b"}', '{"score": "4", "score": "9"}', "garbage",
                    '{"score": "nan"}', '{"score": "7"}', '{"score": "5"}'])
    with ReplayJudgeServer(lambda messages: next(replies), lifetime_s=120) as server:
        result = _run(server, tmp_path, concurrency=1)
    metrics = result["metrics"]
    assert result["failures"]["parse"] == 4 and metrics["n_valid"] == 2 and result["n"] == 6
    assert (metrics["n_no_score"], metrics["n_two_scores"], metrics["n_not_json"], metrics["n_bad_score"]) == (1, 1, 1, 1)
    assert metrics["judge_score_mean"] == 6.0


def test_api_failures_are_counted_and_only_they_are_asked_again(tmp_path):
    with ReplayJudgeServer(replay_responder(_official_replies()), faults=["500"], lifetime_s=120) as server:
        first = _run(server, tmp_path, concurrency=1, max_retries=0)
        assert first["failures"]["api"] == 1 and first["failures"]["parse"] + first["metrics"]["n_valid"] == 5
        folder = tmp_path / MODEL / "wildbench" / "eval_results" / "v2.0625" / "score.v2" / "eval=gpt-4o-2024-05-13"
        failed = json.loads((folder / f"{MODEL}.failed.json").read_text(encoding="utf-8"))
        assert sum(r["status"] == "api" and "HTTP 500" in r["error"] for r in failed) == 1
        options = JudgeOptions(judge_base_url=server.base_url, answers_file=ANSWERS, progress=False, max_retries=0)
        again = run_judge_benchmark("wildbench", model=None, options=options, output_path=tmp_path,
                                    data_dir=FIXTURES, limit=None, force=False)
        assert len(server.requests) == 7  # six, then (a plain rerun) only the failed one
    golden = _json("golden_scores.json")["fixture-model"]
    assert again["failures"]["api"] == 0 and again["score"] == pytest.approx(golden["leaderboard"]["WB_score.task_macro"])


def test_reask_only_when_asked(tmp_path):
    replies = iter(["no json here", '{"score": "6"}'] * 6)
    with ReplayJudgeServer(lambda messages: next(replies), lifetime_s=120) as server:
        result = _run(server, tmp_path, concurrency=1, reasks=1, limit=1)
        assert len(server.requests) == 2 and server.requests[0]["messages"] == server.requests[1]["messages"]
    assert result["failures"]["parse"] == 0 and result["metrics"]["reasks"] == 1
    assert result["protocol"]["judge"]["reasks"] == 1


def _answers_with(tmp_path, rows) -> Path:
    path = tmp_path / "answers.json"
    path.write_text(json.dumps(rows), encoding="utf-8")
    return path


@pytest.mark.parametrize("mutate,message", [
    (lambda rows: {"not": "a list"}, "JSON list"),
    (lambda rows: rows[1:], "no answer for 1 task"),
    (lambda rows: rows + rows[:1], "duplicate session_id"),
    (lambda rows: [{**r, "output": [7]} for r in rows], "needs session_id and output"),
    (lambda rows: [{**r, "generator": f"m{i}"} for i, r in enumerate(rows)], "one model"),
])
def test_bad_answers_file(tmp_path, mutate, message):
    bad = _answers_with(tmp_path, mutate(_json("answers.json")))
    with ReplayJudgeServer(lambda m: '{"score": "5"}', lifetime_s=30) as server:
        with pytest.raises(BadInputError, match=message):
            _run(server, tmp_path / "out", answers=bad)
        assert server.requests == []


def test_answers_file_that_is_not_json(tmp_path):
    bad = tmp_path / "answers.json"
    bad.write_bytes(b"\xff\xfe not json")
    with ReplayJudgeServer(lambda m: '{"score": "5"}', lifetime_s=30) as server:
        with pytest.raises(BadInputError, match="not a JSON answer file"):
            _run(server, tmp_path / "out", answers=bad)


def _data_dir_with(tmp_path, rows=None, template=None) -> Path:
    base = tmp_path / "data" / "wildbench"
    (base / "v2").mkdir(parents=True)
    (base / "evaluation").mkdir()
    tasks = rows if rows is not None else _rows(GOLDEN / "tasks.jsonl")
    pyarrow.parquet.write_table(pyarrow.Table.from_pylist(tasks), base / "v2" / "test-00000-of-00001.parquet")
    source = (FIXTURES / "wildbench" / "evaluation" / "eval_template.score.v2.md").read_text(encoding="utf-8")
    (base / "evaluation" / "eval_template.score.v2.md").write_text(template or source, encoding="utf-8")
    return tmp_path / "data"


@pytest.mark.parametrize("change,message", [
    (lambda rows: [{**rows[0], "conversation_input": rows[0]["conversation_input"]
                    + [{**rows[0]["conversation_input"][0], "role": "assistant"}]}], "last message"),
    (lambda rows: [{**rows[0], "primary_tag": "Gossip"}], "unknown task tag 'Gossip'"),
    (lambda rows: [{**rows[0], "checklist": "one string"}], "checklist must be a list"),
    (lambda rows: rows + rows[:1], "duplicate question_id"),
])
def test_bad_tasks_are_one_line_errors_before_any_work(tmp_path, definition, change, message):
    data_dir = _data_dir_with(tmp_path, change(_rows(GOLDEN / "tasks.jsonl")))
    with pytest.raises(BadInputError, match=message) as err:
        load_benchmark_data(definition, data_dir)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("edit,message", [
    (lambda t: t.replace("{$checklist}", "{$check_list}"), r"unknown placeholder\(s\) \{\$check_list\}"),
    (lambda t: t.replace("{$model_output}", "(output)"), r"no \{\$model_output\}"),
])
def test_bad_template_is_a_one_line_error(tmp_path, definition, edit, message):
    template = (FIXTURES / "wildbench" / "evaluation" / "eval_template.score.v2.md").read_text(encoding="utf-8")
    data_dir = _data_dir_with(tmp_path, template=edit(template))
    with pytest.raises(BadInputError, match=message):
        load_benchmark_data(definition, data_dir)


def test_generated_answers_are_written_in_the_official_format(tmp_path, definition, data):
    """write_answers gives unified_infer.py's save_outputs rows, which read_answers reads back."""
    judge_format = get_format(definition.format)
    answers = {q["question_id"]: [f"answer to {q['question_id']}"] for q in data.questions}
    path = judge_format.answers_path(tmp_path, "org/My-Model", data)
    judge_format.write_answers(path, "org/My-Model", data, data.questions, answers)
    assert path.relative_to(tmp_path).as_posix() == "result_dirs/wild_bench_v2/My-Model.json"
    rows = json.loads(path.read_text(encoding="utf-8"))
    assert list(rows[0]) == ["session_id", "chat_history", "model_input", "output", "generator", "configs",
                             "dataset", "primary_tag"]
    assert rows[0]["configs"] == {"engine": "evalsuite", "repetition_penalty": 1.0, "temperature": 0.0, "top_p": 1.0}
    assert judge_format.read_answers(path, data.questions) == ("org/My-Model", answers)


def test_embedded_judge_replies_are_constrained_to_the_reply_shape(definition):
    """--judge_model embedded sends the definition's embedded extra_body (a JSON schema) with every call."""
    options = JudgeOptions(judge_model="embedded")
    endpoint = resolve_endpoint(definition, options)
    data = load_benchmark_data(definition, FIXTURES)
    assert build_protocol(definition, get_format(definition.format), data, endpoint, options, None)["judge"][
        "extra_body"] == endpoint.extra_body  # recorded in the result
    schema = endpoint.extra_body["response_format"]["schema"]
    assert endpoint.extra_body["response_format"]["type"] == "json_object"
    assert schema["required"] == ["strengths", "weaknesses", "score"]
    assert all(parse_reply(json.dumps({"strengths": "", "weaknesses": "", "score": value}), definition.settings).status
               == STATUS_OK for value in schema["properties"]["score"]["enum"])


def test_tasks_from_the_hub_fail_in_one_line_when_offline(tmp_path, monkeypatch, definition):
    """Without --data_dir the tasks come from the pinned Hub revision; unreachable -> one line, exit 2."""
    monkeypatch.setenv("EVALSUITE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.delenv("EVALSUITE_DATA_DIR", raising=False)
    with pytest.raises(BadInputError, match=r"allenai/WildBench@7c05c1b4550282b2ed6a2e6ac5db069f1e07df5c .*--data_dir"):
        load_benchmark_data(definition, None)


def test_demo_goes_on_when_a_data_dir_lacks_the_hub_only_tasks(tmp_path):
    """`make demo DATA_DIR=../shared/data`: the shared data has WildBench's templates but not its tasks;
    that benchmark fails in one line (exit 2 alone) and the demo goes on with the others."""
    data_dir = tmp_path / "data"
    (data_dir / "wildbench" / "evaluation").mkdir(parents=True)
    (data_dir / "wildbench" / "evaluation" / "eval_template.score.v2.md").write_bytes(
        (FIXTURES / "wildbench" / "evaluation" / "eval_template.score.v2.md").read_bytes())
    options = RunOptions(model="embedded", output_path=tmp_path / "out", data_dir=data_dir, limit=2,
                         judge=JudgeOptions.for_demo())
    [outcome] = run_isolated(get_benchmark("wildbench"), options, model=None)
    assert outcome.status == "failed" and "test-00000-of-00001.parquet is missing" in outcome.message


CHILD = """
import sys
from pathlib import Path
from evalsuite.judging.options import JudgeOptions
from evalsuite.judging.benchmark import run_judge_benchmark
base_url, out, data, answers = sys.argv[1:5]
options = JudgeOptions(judge_base_url=base_url, answers_file=Path(answers), concurrency=1, progress=False)
run_judge_benchmark("wildbench", model=None, options=options, output_path=Path(out), data_dir=Path(data),
                    limit=None, force=False)
"""


def test_resume_after_kill_9(tmp_path):
    """kill -9 mid-judging: the rerun asks only for what was not judged; no duplicate, nothing lost."""
    cache_file = tmp_path / "out" / MODEL / "wildbench" / "cache" / "judgments.jsonl"
    with ReplayJudgeServer(replay_responder(_official_replies()), latency_s=0.4, lifetime_s=120) as server:
        child = subprocess.Popen([sys.executable, "-c", CHILD, server.base_url, str(tmp_path / "out"), str(FIXTURES),
                                  str(ANSWERS)], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
        deadline = time.time() + 60
        while time.time() < deadline and (not cache_file.exists() or len(_rows(cache_file)) < 2):
            assert child.poll() is None, "the judged run ended before it was killed"
            time.sleep(0.05)
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
        done_before = {r["session_id"] for r in _rows(cache_file)}
        assert 2 <= len(done_before) < 6
        asked_before = len(server.requests)
        result = _run(server, tmp_path / "out")
        resumed = [r["messages"][0]["content"] for r in server.requests[asked_before:]]
    prompts = {r["session_id"]: r["prompt"] for r in _json("rendered_prompts.json")}
    assert not [sid for sid in done_before if prompts[sid] in resumed]  # nothing judged twice
    rows = _rows(cache_file)
    assert len(rows) == len({r["session_id"] for r in rows}) == 6  # no duplicate, nothing lost
    assert result["n"] == 6 and result["metrics"]["n_valid"] == 4 and result["failures"]["parse"] == 2
