"""LogicKor v2: prompts byte-equal to the official evaluator's, its score parsing and retries, and score.py's
Overall reproduced end to end from the judgments LogicKor published (through the loopback judge)."""

import asyncio
import json
from pathlib import Path

import pytest

from tests.conftest import FIXTURE_DATA as FIXTURES, JUDGING_FIXTURES, REPO, assert_judge_evidence, run_cli
from evalsuite.judging.core import JudgeRun, judge_one
from evalsuite.errors import BadInputError
from evalsuite.judging.client import JudgeOutcome
from evalsuite.judging.definitions import load_benchmark_data, load_definition
from evalsuite.judging.formats import get_format
from evalsuite.judging.formats import load_format_module
from evalsuite.results.schema import validate_result
from tests.support.replay_server import ReplayJudgeServer

parse_reply = load_format_module(REPO / "judges" / "logickor" / "format.py").parse_reply
JUDGING = JUDGING_FIXTURES / "logickor"
# Eight questions (every category) as LogicKor published them judged for Qwen2-7B-Instruct (evaluated/.../default.jsonl)
EVALUATED = JUDGING / "generated" / "Qwen2-7B-Instruct" / "default.jsonl"
# score.py -p <EVALUATED> at instructkr/LogicKor@11c3a84: Single turn 6.62, Multi turn 4.50, Overall 5.56
OFFICIAL_SINGLE, OFFICIAL_MULTI = 53 / 8, 36 / 8


def _rows(path):
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8-sig").splitlines() if line.strip()]


def _prepared(strategy=None):
    definition = load_definition("logickor")
    return definition, get_format(definition.format), load_benchmark_data(definition, FIXTURES, strategy)


def test_prompts_are_byte_equal_to_the_official_evaluator():
    definition, fmt, data = _prepared()
    model_id, answers = fmt.read_answers(EVALUATED, data.questions)
    assert model_id == "Qwen2-7B-Instruct"
    tasks = fmt.build_tasks(JudgeRun(definition, data, data.questions, answers, model_id))
    official = json.loads((JUDGING / "official_renders.json").read_text(encoding="utf-8"))["renders"]
    ours = {(t.question_id, t.part): t.prompt.messages for t in tasks}
    assert len(official) == len(ours) == 16
    for render in official:
        assert ours[(render["id"], render["turn"])] == render["messages"]
    # 5 of the 8 questions carry references; they appear only where they exist
    assert sum("**Additional Reference**" in m[1]["content"] for m in ours.values()) > 0
    assert all(m[1]["content"].endswith("\n\n[[대화 종료. 평가 시작.]]") for m in ours.values())


@pytest.mark.parametrize("reply,expected", [
    ("평가: 좋다.\n점수: 8", ("좋다.", 8.0)),
    ("**평가:** 훌륭하다\n**점수:** 9.5", ("훌륭하다", 9.5)),   # '*' deleted first, as upstream
    ("점수: 7\n점수: 3", ("No judge message found", 7.0)),      # the first score wins
    ("Rating: [[8]]", ("No judge message found", None)),
    ("", ("No judge message found", None)),
])
def test_reply_parsing(reply, expected):
    assert parse_reply(reply, load_definition("logickor").settings) == expected


def test_a_reply_without_score_is_asked_five_times_then_scores_zero_and_counts_as_failure():
    definition, fmt, data = _prepared()
    _, answers = fmt.read_answers(EVALUATED, data.questions)
    run = JudgeRun(definition, data, data.questions[:1], answers, "m")
    tasks = fmt.build_tasks(run)

    class Garbage:
        model = "judge"
        calls = 0

        async def complete(self, messages, reask=False):
            self.calls += 1
            return "I refuse to grade this." if self.calls < 99 else ""

    client = Garbage()
    row = asyncio.run(judge_one(fmt, run)(tasks[0], client))
    assert client.calls == 5 and row["attempts"] == 5
    assert row["judge_score"] == 0.0 and row["status"] == "parse_failure"
    outcomes = [JudgeOutcome(tasks[0], row), JudgeOutcome(tasks[1], {**row, "judge_score": 6.0, "status": "ok"})]
    summary = fmt.summarize(run, outcomes)
    assert summary.failures.parse == 1
    assert summary.score == 3.0  # upstream averages the 0.0 in: (0 + 6) / 2


def test_prompt_strategy_is_the_answer_history():
    _, _, default = _prepared()
    _, _, cot = _prepared("cot-1-shot")
    assert default.strategy == "default" and default.questions[0]["history"] == []
    assert cot.strategy == "cot-1-shot" and [m["role"] for m in cot.questions[0]["history"]] == \
        ["system", "user", "assistant"]
    with pytest.raises(BadInputError, match="offers default, 1-shot, cot-1-shot|offers cot-1-shot"):
        _prepared("2-shot")


def test_duplicate_answers_and_bad_rows_are_one_line_errors(tmp_path):
    definition, fmt, data = _prepared()
    rows = EVALUATED.read_text(encoding="utf-8-sig").splitlines()
    duplicate = tmp_path / "m" / "default.jsonl"
    duplicate.parent.mkdir()
    duplicate.write_text("\n".join(rows + rows[:1]) + "\n", encoding="utf-8")
    with pytest.raises(BadInputError, match="duplicate id"):
        fmt.read_answers(duplicate, data.questions)
    short = tmp_path / "short.jsonl"
    short.write_text("\n".join(rows[1:]) + "\n", encoding="utf-8")
    with pytest.raises(BadInputError, match="no answer for 1 question"):
        fmt.read_answers(short, data.questions)
    (tmp_path / "data" / "logickor").mkdir(parents=True)
    questions = (FIXTURES / "logickor" / "questions.jsonl").read_text(encoding="utf-8").splitlines()
    (tmp_path / "data" / "logickor" / "questions.jsonl").write_text("\n".join(questions + questions[:1]) + "\n")
    (tmp_path / "data" / "logickor" / "templates.json").write_bytes((FIXTURES / "logickor" / "templates.json").read_bytes())
    with pytest.raises(BadInputError, match="duplicate question_id"):
        load_benchmark_data(definition, tmp_path / "data")


def test_official_overall_reproduced_end_to_end(tmp_path):
    """The judge replays LogicKor's published judgments (matched by question and answer); our run over the
    published answers writes LogicKor's evaluated file and score.py's Overall."""
    published = _rows(EVALUATED)
    scores = {(f"**Question**\n{row['questions'][0]}\n\n", turn): row[key]["judge_score"]
              for row in published for turn, key in ((1, "query_single"), (2, "query_multi"))}

    def respond(messages):
        user = messages[-1]["content"]
        turn = 2 if "**Follow-up Question.**" in user else 1
        found = [score for (question, t), score in scores.items() if t == turn and question in user]
        return f"**평가:** 재생된 판정\n**점수:** {found[0]:g}" if len(found) == 1 else "no score here"

    out = tmp_path / "out"
    with ReplayJudgeServer(respond, lifetime_s=120) as server:
        done = run_cli("run", "--tasks", "logickor", "--answers_file", str(EVALUATED), "--data_dir", str(FIXTURES),
                       "--judge_base_url", server.base_url, "--output_path", str(out),
                       env={"OPENAI_API_KEY": "sk-test"}, timeout=120)
        assert done.returncode == 0, done.stderr
        assert len(server.requests) == 16
        assert {r["model"] for r in server.requests} == {"gpt-4-1106-preview"}  # the official judge by default
        assert {r["payload"]["temperature"] for r in server.requests} == {0}
    result = json.loads((out / "Qwen2-7B-Instruct" / "logickor.json").read_text(encoding="utf-8"))
    validate_result(result)
    assert result["metrics"]["single_turn"] == pytest.approx(OFFICIAL_SINGLE)
    assert result["metrics"]["multi_turn"] == pytest.approx(OFFICIAL_MULTI)
    assert result["score"] == pytest.approx((OFFICIAL_SINGLE + OFFICIAL_MULTI) / 2)
    assert result["protocol"]["judge"]["prompt_strategy"] == "default"
    assert result["failures"] == {"parse": 0, "api": 0, "timeout": 0}
    rows = assert_judge_evidence(out / "Qwen2-7B-Instruct" / "samples" / "logickor.jsonl")
    assert sum(len(row["judge"]) for row in rows) == 16  # every call the server answered, once
    evaluated = out / "Qwen2-7B-Instruct" / "logickor" / "evaluated" / "Qwen2-7B-Instruct" / "default.jsonl"
    assert evaluated.read_bytes().startswith("\ufeff".encode("utf-8"))  # upstream writes utf-8-sig
    written = {r["id"]: r for r in _rows(evaluated)}
    for row in published:
        assert written[row["id"]]["query_single"]["judge_score"] == row["query_single"]["judge_score"]
        assert written[row["id"]]["query_multi"]["judge_score"] == row["query_multi"]["judge_score"]
        assert written[row["id"]]["outputs"] == row["outputs"]
    copied = out / "Qwen2-7B-Instruct" / "logickor" / "generated" / "Qwen2-7B-Instruct" / "default.jsonl"
    assert copied.read_bytes() == EVALUATED.read_bytes()  # the answer file, as given
    board = run_cli("leaderboard", "--results", str(out), "--out", str(tmp_path / "board"), timeout=120)
    assert board.returncode == 0, board.stderr
    page = (tmp_path / "board" / "README.md").read_text(encoding="utf-8")
    assert f"{result['score']:.2f}" in page
