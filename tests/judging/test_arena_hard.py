"""Arena-Hard-Auto v0.1 (`arena_hard`) against the official code's own output (lm-sys/arena-hard-auto@efc012e):
judge requests and judgment rows recorded from gen_judgment.judgment() on real rows, scores printed by
show_result.py on fixed judgment files (tests/fixtures/judging/arena_hard/README.md says how each was made)."""

from __future__ import annotations

import csv
import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import assert_judge_evidence
from evalsuite.judging.core import JudgeRun
from evalsuite.errors import BadInputError, EvalsuiteError
from evalsuite.judging.client import JudgeOutcome, JudgeTask, RenderedPrompt
from evalsuite.judging.definitions import load_benchmark_data, load_definition
from evalsuite.judging.formats import get_format
from evalsuite.judging.formats import load_format_module
from evalsuite.judging.options import JudgeOptions
from evalsuite.judging.pairwise_scores import BASELINE_WINS, MODEL_WINS, TIE, percentile, win_rate
from evalsuite.judging.estimate import estimate_judge_benchmark
from evalsuite.judging.benchmark import run_judge_benchmark
from evalsuite.leaderboard import render_leaderboard
from evalsuite.results.schema import validate_result
from tests.support.replay_server import ReplayJudgeServer

from tests.conftest import FIXTURE_DATA as FIXTURES, JUDGING_FIXTURES, REPO as ROOT, SHARED_DATA as SHARED

_ARENA_FORMAT = load_format_module(ROOT / "judges" / "arena_hard" / "format.py")
read_verdict, verdict_status = _ARENA_FORMAT.read_verdict, _ARENA_FORMAT.verdict_status
ARENA = JUDGING_FIXTURES / "arena_hard"
ANSWERS = ARENA / "answers" / "gpt-4-0613.jsonl"
JUDGE = "gpt-4-1106-preview"


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]


def _golden_calls() -> list[dict]:
    """Per question: the canned replies of each game and every message list gen_judgment sent."""
    return _rows(ARENA / "golden_judge_calls.jsonl")


def _golden_case(name: str) -> dict:
    return json.loads((ARENA / "golden_scores.json").read_text(encoding="utf-8"))["cases"][name]


def _csv_row(case: dict, model: str) -> dict:
    return next(row for row in case["csv"] if row["model"] == model)


def _calls_by_game(record: dict) -> list[list[dict]]:
    """The calls of game 1 and of game 2 (one call per canned reply of the game)."""
    first = len(record["replies"][0])
    return [record["calls"][:first], record["calls"][first:]]


def _replayer():
    """A judge that answers each request of a game with that game's next canned reply."""
    table = {}
    for record in _golden_calls():
        for calls, replies in zip(_calls_by_game(record), record["replies"]):
            for call, reply in zip(calls, replies):
                table[json.dumps(call["messages"], ensure_ascii=False)] = reply
    return lambda messages: table[json.dumps(messages, ensure_ascii=False)]


def _run(server, out: Path, answers: Path = ANSWERS, **kwargs):
    limit = kwargs.pop("limit", None)
    options = JudgeOptions(judge_model=JUDGE, judge_base_url=server.base_url, answers_file=answers,
                           progress=False, backoff_base_s=0.01, backoff_cap_s=0.05, **kwargs)
    return run_judge_benchmark("arena_hard", model=None, options=options, output_path=out, data_dir=FIXTURES,
                               limit=limit, force=False)


def test_judge_requests_are_the_official_rendering_on_real_rows():
    definition = load_definition("arena_hard")
    data = load_benchmark_data(definition, FIXTURES)
    arena = get_format(definition.format)
    model_id, answers = arena.read_answers(ANSWERS, data.questions)
    assert model_id == "gpt-4-0613"
    tasks = {(t.question_id, t.part): t for t in arena.build_tasks(JudgeRun(definition, data, data.questions,
                                                                             answers, model_id))}
    assert len(tasks) == 2 * len(data.questions) == 18
    for record in _golden_calls():
        for game, calls in zip((1, 2), _calls_by_game(record)):
            assert tasks[(record["question_id"], game)].prompt.messages == calls[0]["messages"]
            assert {(c["model"], c["temperature"], c["max_tokens"]) for c in calls} == {
                (definition.default_judge_model, definition.judge_temperature, definition.judge_max_tokens)}
    # an official judgment row, judged by GPT-4-Turbo upstream: its prompts are ours, byte for byte
    upstream = json.loads((ARENA / "upstream_judgment_gpt-4-0613_row1.json").read_text(encoding="utf-8"))
    for game, recorded in zip((1, 2), upstream["games"]):
        assert tasks[(upstream["question_id"], game)].prompt.user_prompt == recorded["user_prompt"]
        assert read_verdict(recorded["judgment"], definition.settings.verdict_pattern) == (recorded["score"], False)


def test_replayed_run_writes_the_official_files_and_show_results_score(tmp_path):
    """Through the loopback judge on a real answer file: every request (follow-ups included) is what
    gen_judgment sent, the judgment file is the one it wrote, and the score is show_result.py's on it."""
    golden = _golden_calls()
    with ReplayJudgeServer(_replayer(), lifetime_s=120) as server:
        result = _run(server, tmp_path)
        sent = sorted(json.dumps(r["messages"], ensure_ascii=False) for r in server.requests)
        assert {(r["model"], r["payload"]["temperature"], r["payload"]["max_tokens"]) for r in server.requests} == {
            (JUDGE, 0.0, 4096)}
    assert sent == sorted(json.dumps(c["messages"], ensure_ascii=False) for r in golden for c in r["calls"])
    folder = tmp_path / "gpt-4-0613" / "arena_hard"
    judgments = folder / "model_judgment" / JUDGE / "gpt-4-0613.jsonl"
    assert judgments.read_bytes() == (ARENA / "golden_judgment_rows.jsonl").read_bytes()
    assert (folder / "model_answer" / "gpt-4-0613.jsonl").read_bytes() == ANSWERS.read_bytes()

    assert validate_result(result) == []
    official = _csv_row(_golden_case("gpt-4-0613 replayed"), "gpt-4-0613")
    assert round(result["score"], 2) == float(official["score"])
    assert round(result["metrics"]["win_rate_ci_low"], 2) == float(official["rating_q025"])
    assert round(result["metrics"]["win_rate_ci_high"], 2) == float(official["rating_q975"])
    # bad replies are counted, never dropped: two different labels (3), none after the follow-up (1),
    # a label show_result ignores (A>>>B, 1)
    assert result["failures"] == {"parse": 5, "api": 0, "timeout": 0}
    metrics = result["metrics"]
    assert (metrics["n_multiple_verdicts"], metrics["n_no_verdict"], metrics["n_unknown_verdict"]) == (3, 1, 1)
    assert metrics["n_games"] == 18 and metrics["n_valid_games"] == 13 and metrics["followups"] == 5
    assert metrics["n_battles"] == _golden_case("gpt-4-0613 replayed")["full_precision"]["battles"] == 23
    samples = assert_judge_evidence(tmp_path / "gpt-4-0613" / "samples" / "arena_hard.jsonl")
    assert all(call["prompt_name"] for s in samples for call in s["judge"])
    followed = {(s["item"].split("/")[0], call["turn"], call["repeat"]): call for s in samples for call in s["judge"] if call["reasks"]}
    assert len(followed) == 5  # the five follow-ups are in the evidence, each after the reply it follows
    for call in followed.values():
        assert call["follow_ups"] == [[{"role": "assistant", "content": call["replies"][0]},
                                       {"role": "user", "content": "continue your judgment and finish by "
                                                                   "outputting a final verdict label"}]]
    scored = [s["score"] for s in samples if s["score"] is not None]
    assert len(scored) == 23 and sum(scored) / len(scored) == pytest.approx(result["score"])
    assert sorted(s["status"] for s in samples if s["score"] is None) == [
        "multiple_verdicts"] * 3 + ["no_verdict", "unknown_verdict"]
    assert result["protocol"]["judge"] | {} == {**result["protocol"]["judge"], "model": JUDGE,
                                                "format": "arena_hard_v01", "baseline": "gpt-4-0314",
                                                "games": 2, "attempts": 2, "strong_weight": 3}
    assert set(result["subscores"]) == {"game1", "game2"}

    render_leaderboard(tmp_path, tmp_path / "board", ("csv",))
    with open(tmp_path / "board" / "tables" / "english_real_world.csv", encoding="utf-8") as handle:
        row = next(r for r in csv.DictReader(handle) if r["model"] == "gpt-4-0613")
    assert (row["source"], row["arena_hard_state"]) == ("measured", "value")
    assert float(row["arena_hard"]) == pytest.approx(result["score"])
    assert float(row["arena_hard_ci_low"]) < result["score"] < float(row["arena_hard_ci_high"])


def test_judge_estimate_counts_two_games_per_question_and_skips_cached_ones(tmp_path):
    def estimate():
        return estimate_judge_benchmark("arena_hard", options=JudgeOptions(answers_file=ANSWERS), slug="unused",
                                        output_path=tmp_path, data_dir=FIXTURES, limit=None)

    before = estimate()
    assert (before.judge_model, before.calls, before.cached, before.answers) == (JUDGE, 18, 0, "file")
    assert before.prompt_tokens > 18 * 400  # the system prompt alone is about 430 tokens
    with ReplayJudgeServer(_replayer(), lifetime_s=120) as server:
        _run(server, tmp_path, limit=4)
    after = estimate()
    assert (after.calls, after.cached) == (10, 8) and after.prompt_tokens < before.prompt_tokens


def _outcomes_of(judgment_rows: list[dict]) -> tuple[list[dict], list[JudgeOutcome]]:
    """Questions and judge outcomes as the runner hands them to the format, from official judgment rows."""
    questions, outcomes = [], []
    for row in judgment_rows:
        questions.append({"question_id": row["question_id"], "category": "arena-hard-v0.1", "turns": ["?"]})
        for game, played in zip((1, 2), row["games"]):
            prompt = RenderedPrompt(f"game{game}", played["user_prompt"], [])
            task = JudgeTask(row["question_id"], game, 0, row["model"], prompt, "hash")
            outcomes.append(JudgeOutcome(task, {**played, "attempts": 1}))
    return questions, outcomes


@pytest.mark.parametrize("case,model", [("model-x alone", "model-x"), ("gpt-4-0613 replayed", "gpt-4-0613")])
def test_score_and_interval_equal_show_result(case, model):
    """show_result.py on a judge folder holding this model's file alone: the same win rate and 95%
    interval, to its printed 2 decimals and to the unrounded values of its own functions."""
    source = ARENA / ("golden_judgment_rows.jsonl" if model == "gpt-4-0613"
                      else f"judgments/model_judgment/{JUDGE}/{model}.jsonl")
    questions, outcomes = _outcomes_of(_rows(source))
    definition = load_definition("arena_hard")
    summary = get_format(definition.format).summarize(JudgeRun(definition, None, questions, {}, model), outcomes)
    golden = _golden_case(case)
    official = _csv_row(golden, model)
    precise = golden["full_precision"]["models"][model]
    low, high = summary.metrics["win_rate_ci_low"], summary.metrics["win_rate_ci_high"]
    assert (round(summary.score, 2), round(low, 2), round(high, 2)) == tuple(
        float(official[k]) for k in ("score", "rating_q025", "rating_q975"))
    assert summary.score == pytest.approx(precise["win_rate"], abs=1e-5)
    assert (low, high) == (pytest.approx(precise["win_rate_lower"], abs=1e-5),
                           pytest.approx(precise["win_rate_upper"], abs=1e-5))
    assert summary.metrics["n_battles"] == precise["n_battles"]


def test_point_scores_equal_show_result_with_two_models():
    """With two models in the judge folder show_result bootstraps their battles together (so its
    interval depends on the other model); the win rates do not."""
    golden = _golden_case("model-x and model-y")
    definition = load_definition("arena_hard")
    for model in ("model-x", "model-y"):
        questions, outcomes = _outcomes_of(_rows(ARENA / f"judgments/model_judgment/{JUDGE}/{model}.jsonl"))
        summary = get_format(definition.format).summarize(JudgeRun(definition, None, questions, {}, model), outcomes)
        assert round(summary.score, 2) == float(_csv_row(golden, model)["score"])
        assert summary.score == pytest.approx(golden["full_precision"]["models"][model]["win_rate"], abs=1e-5)


@pytest.mark.parametrize("judgment,label,ask_again,status", [
    ("\nMy final verdict is: [[A>B]].", "A>B", False, "ok"),
    ("\n[[B>>A]] and again [[B>>A]]", "B>>A", False, "ok"),               # repeats of one label
    ("\n[[A>B]] ... on reflection [[B>A]]", None, False, "multiple_verdicts"),
    ("\n1. [[A>>B]]\n2. [[A>B]]\n3. [[A=B]]", None, False, "multiple_verdicts"),  # the label list echoed
    ("\ngarbage \x00 \ufffd {{}}", None, True, "no_verdict"),
    ("\n[[b>a]]", None, True, "no_verdict"),                               # the regex is case-sensitive
    ("\n[[]] [[ A>B ]]", None, True, "no_verdict"),
    ("\n[[A>>>B]]", "A>>>B", False, "unknown_verdict"),                    # admitted by the regex only
])
def test_verdict_reading(judgment, label, ask_again, status):
    pattern = load_definition("arena_hard").settings.verdict_pattern
    assert read_verdict(judgment, pattern) == (label, ask_again)
    assert verdict_status(label, ask_again) == status


def test_api_failure_is_written_as_upstream_counted_and_judged_again(tmp_path):
    replay = _replayer()
    with ReplayJudgeServer(replay, faults=["500"], lifetime_s=120) as server:
        result = _run(server, tmp_path, limit=1, max_retries=0, concurrency=1)
        assert result["failures"] == {"parse": 0, "api": 1, "timeout": 0}
        judged = _rows(tmp_path / "gpt-4-0613" / "arena_hard" / "model_judgment" / JUDGE / "gpt-4-0613.jsonl")
        assert [g["score"] for g in judged[0]["games"]].count(None) == 1
        assert "$ERROR$" in [g["judgment"] for g in judged[0]["games"]]
        asked = len(server.requests)
        again = run_judge_benchmark(
            "arena_hard", model=None, output_path=tmp_path, data_dir=FIXTURES, limit=1, force=False,
            options=JudgeOptions(judge_model=JUDGE, judge_base_url=server.base_url, answers_file=ANSWERS,
                                 progress=False, max_retries=0))
        assert len(server.requests) == asked + 1  # a plain rerun: only the failed game is asked again
    assert again["failures"]["api"] == 0 and again["metrics"]["n_valid_games"] == 2


def test_repeats_judge_both_games_again_and_count_every_battle(tmp_path):
    with ReplayJudgeServer(_replayer(), lifetime_s=120) as server:
        once = _run(server, tmp_path / "once", limit=3)
        twice = _run(server, tmp_path / "twice", limit=3, repeats=2)
    assert twice["metrics"]["n_battles"] == 2 * once["metrics"]["n_battles"] and twice["score"] == once["score"]
    judged = _rows(tmp_path / "twice" / "gpt-4-0613" / "arena_hard" / "model_judgment" / JUDGE / "gpt-4-0613.jsonl")
    assert [r["question_id"] for r in judged] == [q for q in [r["question_id"] for r in judged[::2]] for _ in (0, 1)]
    samples = _rows(tmp_path / "twice" / "gpt-4-0613" / "samples" / "arena_hard.jsonl")
    assert len({s["item"] for s in samples}) == len(samples) and "/r1/game2" in samples[-1]["item"]


def test_no_valid_verdict_is_an_error_naming_the_counts(tmp_path):
    with ReplayJudgeServer(lambda messages: "I cannot decide.", lifetime_s=120) as server:
        with pytest.raises(EvalsuiteError, match="no valid judgment .2 parse failures"):
            _run(server, tmp_path, limit=1)
        assert len(server.requests) == 4  # each game followed up once, as gen_judgment
    judged = _rows(tmp_path / "gpt-4-0613" / "arena_hard" / "model_judgment" / JUDGE / "gpt-4-0613.jsonl")
    assert [g["judgment"] for g in judged[0]["games"]] == ["\nI cannot decide.\nI cannot decide."] * 2


CHILD = """
import sys
from pathlib import Path
from evalsuite.judging.options import JudgeOptions
from evalsuite.judging.estimate import estimate_judge_benchmark
from evalsuite.judging.benchmark import run_judge_benchmark
base_url, out, data, answers = sys.argv[1:5]
options = JudgeOptions(judge_model="gpt-4-1106-preview", judge_base_url=base_url, answers_file=Path(answers),
                       concurrency=1, progress=False)
run_judge_benchmark("arena_hard", model=None, options=options, output_path=Path(out), data_dir=Path(data),
                    limit=None, force=False)
"""


def test_resume_after_kill_9_judges_each_game_once(tmp_path):
    cache_file = tmp_path / "out" / "gpt-4-0613" / "arena_hard" / "cache" / "judgments.jsonl"
    with ReplayJudgeServer(_replayer(), latency_s=0.3, lifetime_s=300) as server:
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, server.base_url, str(tmp_path / "out"), str(FIXTURES), str(ANSWERS)],
            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        deadline = time.time() + 180  # the child imports the harness first (slow on a busy machine)
        while time.time() < deadline and (not cache_file.exists() or len(_rows(cache_file)) < 4):
            assert child.poll() is None, "the judged run ended before it was killed"
            time.sleep(0.05)
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
        done_before = {(r["question_id"], r["game"]) for r in _rows(cache_file)}
        assert 4 <= len(done_before) < 18
        asked_before = len(server.requests)
        result = _run(server, tmp_path / "out")
        resumed = server.requests[asked_before:]
    cached_prompts = {r["user_prompt"] for r in _rows(cache_file) if (r["question_id"], r["game"]) in done_before}
    assert not [q for q in resumed if q["messages"][1]["content"] in cached_prompts]  # nothing judged twice
    rows = _rows(cache_file)
    assert len(rows) == len({(r["question_id"], r["game"], r["repeat"]) for r in rows}) == 18  # no duplicate
    assert result["metrics"]["n_games"] == 18 and result["failures"]["api"] == 0              # nothing lost
    judgments = tmp_path / "out" / "gpt-4-0613" / "arena_hard" / "model_judgment" / JUDGE / "gpt-4-0613.jsonl"
    assert judgments.read_bytes() == (ARENA / "golden_judgment_rows.jsonl").read_bytes()


def _copy_data(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    for path in (FIXTURES / "arena_hard").rglob("*"):
        if path.is_file():
            target = data / "arena_hard" / path.relative_to(FIXTURES / "arena_hard")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(path.read_bytes())
    return data


CONFIG = "arena_hard/config/judge_config.yaml"
QUESTIONS = "arena_hard/data/arena-hard-v0.1/question.jsonl"
BASELINE = "arena_hard/data/arena-hard-v0.1/model_answer/gpt-4-0314.jsonl"


@pytest.mark.parametrize("file,damage,message", [
    (CONFIG, lambda t: t.replace("{answer_2}", "{answer_3}"), "unknown placeholder"),
    (CONFIG, lambda t: t.replace("pairwise: True", "pairwise: False"), "pairwise is False"),
    (CONFIG, lambda t: t.replace("judge_model: gpt-4-1106-preview", "judge_model: gpt-4o"), "judge_model is 'gpt-4o'"),
    (CONFIG, lambda t: t.replace(r"\[\[([AB<>=]+)\]\]", r"\[\[([AB<>]+)\]\]"), "regex_pattern"),
    (CONFIG, lambda t: t.replace("number_of_judgment_attempts: 2", "number_of_judgment_attempts: 5"),
     "number_of_judgment_attempts"),
    (CONFIG, lambda t: "- just\n- a list\n", "must be a mapping"),
    (CONFIG, lambda t: "system_prompt: [unclosed\n", "unreadable judge config"),
    (QUESTIONS, lambda t: t.replace('"turns":[{"content":', '"turns":[{"text":', 1), "turns must be"),
    (QUESTIONS, lambda t: t + t.splitlines()[0] + "\n", "duplicate question_id"),
    (BASELINE, lambda t: "".join(t.splitlines(keepends=True)[1:]), "no baseline answer for 1"),
    (BASELINE, lambda t: t.replace('"model_id":"gpt-4-0314"', '"model_id":"gpt-4-0613"', 1), "not of the baseline"),
])
def test_bad_data_is_one_line_before_any_work(tmp_path, file, damage, message):
    data = _copy_data(tmp_path)
    path = data / file
    path.write_text(damage(path.read_text(encoding="utf-8")), encoding="utf-8")
    with ReplayJudgeServer(lambda m: "[[A=B]]", lifetime_s=30) as server:
        with pytest.raises(BadInputError, match=message) as raised:
            run_judge_benchmark("arena_hard", model=None, output_path=tmp_path / "out", data_dir=data, limit=None,
                                force=False, options=JudgeOptions(judge_model=JUDGE, judge_base_url=server.base_url,
                                                                  answers_file=ANSWERS, progress=False))
        assert server.requests == []
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize("content,message", [
    ("not json\n", "line 1 is not valid JSON"),
    ('{"question_id": "x", "choices": [{"turns": ["a string, not {content}"]}]}\n', "not an Arena-Hard answer"),
    ('{"question_id": true, "choices": [{"turns": [{"content": "a"}]}]}\n', "not an Arena-Hard answer"),
    ('{"question_id": "x", "model_id": "m", "choices": [{"index": 0, "turns": [{"content": "a"}]}]}\n',
     "no answer for 9"),
])
def test_bad_answers_file(tmp_path, content, message):
    bad = tmp_path / "answers.jsonl"
    bad.write_text(content, encoding="utf-8")
    with ReplayJudgeServer(lambda m: "[[A=B]]", lifetime_s=30) as server:
        with pytest.raises(BadInputError, match=message):
            _run(server, tmp_path / "out", answers=bad)
        assert server.requests == []


def test_answers_of_two_models_are_refused(tmp_path):
    rows = _rows(ANSWERS)
    rows[0]["model_id"] = "someone-else"
    bad = tmp_path / "answers.jsonl"
    bad.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    with pytest.raises(BadInputError, match="one model"):
        get_format("arena_hard_v01").read_answers(bad, [])


def test_win_rate_at_the_extremes():
    assert win_rate([], rounds=100, seed=42).low is None and math.isnan(win_rate([], 100, 42).score)
    every = win_rate([MODEL_WINS] * 7, rounds=100, seed=42)
    assert (every.score, every.low, every.high) == (100.0, 100.0, 100.0)
    none = win_rate([BASELINE_WINS] * 5 + [TIE], rounds=100, seed=42)
    assert none.score == pytest.approx(100 / 12) and none.low == 0.0 and none.high > none.score
    assert percentile([float("-inf"), 1.0, 2.0, 3.0], 2.5) == float("-inf")
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5


def test_generated_answers_are_written_in_the_official_format(tmp_path):
    definition = load_definition("arena_hard")
    data = load_benchmark_data(definition, FIXTURES)
    arena = get_format(definition.format)
    answers = {q["question_id"]: [f"answer to {q['question_id']} \u00e9"] for q in data.questions}
    path = arena.answers_path(tmp_path, "org/Model 7B", data)
    arena.write_answers(path, "org/Model 7B", data, data.questions, answers)
    assert path == tmp_path / "model_answer" / "Model_7B.jsonl"
    rows = _rows(path)
    assert [r["question_id"] for r in rows] == sorted(q["question_id"] for q in data.questions)
    assert set(rows[0]) == {"question_id", "answer_id", "model_id", "choices", "tstamp"}
    assert "\\u00e9" in path.read_text(encoding="utf-8")  # json.dumps defaults, as gen_answer.py
    assert arena.read_answers(path, data.questions) == ("org/Model 7B", answers)


@pytest.mark.shared_data
def test_real_data_loads_and_renders_as_the_fixture_rows(tmp_path):
    definition = load_definition("arena_hard")
    real = load_benchmark_data(definition, SHARED)
    assert len(real.questions) == 500 and len({q["cluster"] for q in real.questions}) == 250
    fixture = load_benchmark_data(definition, FIXTURES)
    arena = get_format(definition.format)
    _, answers = arena.read_answers(ANSWERS, fixture.questions)
    picked = [q for q in real.questions if q["question_id"] in answers]
    assert [q["question_id"] for q in picked] == [q["question_id"] for q in fixture.questions]
    real_tasks = arena.build_tasks(JudgeRun(definition, real, picked, answers, "gpt-4-0613"))
    fixture_tasks = arena.build_tasks(JudgeRun(definition, fixture, fixture.questions, answers, "gpt-4-0613"))
    assert [t.prompt for t in real_tasks] == [t.prompt for t in fixture_tasks]
    # the whole benchmark: 1,000 judge calls (the baseline's own answers stand in for a model's)
    estimate = estimate_judge_benchmark("arena_hard", options=JudgeOptions(answers_file=SHARED / BASELINE),
                                        slug="unused", output_path=tmp_path, data_dir=SHARED, limit=None)
    assert (estimate.calls, estimate.cached, estimate.judge_model) == (1000, 0, JUDGE)
