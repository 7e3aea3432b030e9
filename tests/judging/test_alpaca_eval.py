"""AlpacaEval 2.0 (format logprob_preference) against the official alpaca_eval 0.6.6 code.

The goldens in tests/fixtures/judging/alpaca_eval/ were produced by the official package itself
(/work/notes/alpaca_eval_fixtures/make_golden.py, README there): `alpaca_eval.main.evaluate` with the
real weighted_alpaca_eval_gpt4_turbo config, talking to a loopback server that recorded each request
body (official_requests.json) and answered the scripted top-5 log-probabilities of replies.json;
official_annotations.json and golden.json are what it wrote and computed. The fixture rows are 10
real instructions with their real gpt4_1106_preview reference outputs (tests/fixtures/data/alpaca_eval)
and the real FuseChat-Llama-3.2-1B-Instruct outputs (two rows edited: a placeholder text in an answer,
an answer equal to the reference).
"""

import asyncio
import json
import math
import shutil

import pytest

from evalsuite.judging.core import JudgeRun
from evalsuite.errors import BadInputError, EvalsuiteError
from evalsuite.judging.client import JudgeClient, RetryPolicy
from evalsuite.judging.definitions import load_benchmark_data, load_definition
from evalsuite.judging.formats import get_format
from evalsuite.judging.formats.logprob_preference import (
    is_switched, length_controlled, preference_of, render_template, win_rate_of,
)
from evalsuite.judging.options import JudgeOptions
from evalsuite.judging.benchmark import run_judge_benchmark
from evalsuite.leaderboard import render_leaderboard
from evalsuite.results.schema import validate_result
from tests.support.replay_server import ReplayJudgeServer, logprob_reply

from tests.conftest import FIXTURE_DATA as DATA, JUDGING_FIXTURES, assert_judge_evidence, run_cli

GOLD = JUDGING_FIXTURES / "alpaca_eval"
ANSWERS = GOLD / "model_outputs.json"
BENCH = "alpaca_eval"


def _json(name):
    return json.loads((GOLD / name).read_text(encoding="utf-8"))


GOLDEN = _json("golden.json")
INDICES = GOLDEN["fixture_indices"]  # positions in the real 805 of the 10 fixture rows


@pytest.fixture(scope="module")
def prepared():
    definition = load_definition(BENCH)
    data = load_benchmark_data(definition, DATA, None)
    judge_format = get_format(definition.format)
    model_id, answers = judge_format.read_answers(ANSWERS, data.questions)
    return definition, data, judge_format, model_id, answers


def _responder():
    """The scripted judge: the reply of replies.json for the instruction in the prompt."""
    replies = _json("replies.json")

    def respond(messages):
        user = messages[-1]["content"]
        hits = [i for i in replies if f'"instruction": """{i}"""' in user]
        assert len(hits) == 1
        reply = replies[hits[0]]
        top = None if reply["top_logprobs"] is None else [(t["token"], t["logprob"]) for t in reply["top_logprobs"]]
        return logprob_reply(reply["tokens"], top)

    return respond


def _run(server, out, data_dir=DATA, answers=ANSWERS, limit=None, **options):
    return run_judge_benchmark(BENCH, model=None, options=JudgeOptions(
        judge_base_url=server.base_url, answers_file=answers, progress=False, backoff_base_s=0.01,
        backoff_cap_s=0.02, **options), output_path=out, data_dir=data_dir, limit=limit, force=True)


def test_prompts_are_byte_identical_to_the_official_rendering(prepared):
    definition, data, judge_format, model_id, answers = prepared
    tasks = judge_format.build_tasks(JudgeRun(definition, data, data.questions, answers, model_id))
    official = _json("official_requests.json")
    # the row whose answer equals the reference is not sent (upstream: preference 1.5, no call)
    assert [INDICES[t.question_id] for t in tasks] == [r["index"] for r in official]
    for task, request in zip(tasks, official):
        assert task.prompt.messages == request["messages"], f"row {request['index']}"
    # row 1's answer holds "{output_2}": upstream fills that occurrence, and so do we
    row1 = next(t for t in tasks if INDICES[t.question_id] == 1).prompt.messages[1]["content"]
    assert "See The names of U.S. states" in row1 and '"output": """{output_2}"""' in row1


def test_output_order_draw_is_the_packages(prepared):
    _, data, _, _, _ = prepared
    settings = prepared[0].settings
    expected = list(GOLDEN["is_switched_outputs (seed 'is_switched_outputs'+instruction+'0')"].values())
    assert [is_switched(q["turns"][0], settings) for q in data.questions] == expected
    assert 0 < sum(expected) < len(expected)  # both orders occur


def test_render_template_replaces_each_placeholder_once_in_order():
    template = "A {instruction} B {output_1} C {output_2}"
    assert render_template(template, {"instruction": "say {output_1}", "output_1": "x", "output_2": "y"}) == \
        "A say x B {output_1} C y"


def test_run_reproduces_the_official_annotations_and_win_rate(tmp_path, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with ReplayJudgeServer(_responder(), lifetime_s=120) as server:
        result = _run(server, tmp_path)
        requests = server.requests
    official = _json("official_requests.json")
    assert len(requests) == len(official) == 9
    for request in requests:  # the official body, plus n=1 (the API default)
        assert request["model"] == official[0]["params"]["model"] == "gpt-4-1106-preview"
        assert {k: request["payload"].get(k) for k in official[0]["params"] if k != "model"} == \
            {k: v for k, v in official[0]["params"].items() if k != "model"}
    assert sorted(json.dumps(r["messages"]) for r in requests) == sorted(json.dumps(r["messages"]) for r in official)

    assert validate_result(result) == []
    row = GOLDEN["official_leaderboard_row"]
    metrics = result["metrics"]
    assert metrics["win_rate"] == pytest.approx(row["win_rate"], abs=1e-9)  # pandas wrote 10 decimals
    assert metrics["win_rate_stderr"] == pytest.approx(row["standard_error"], abs=1e-9)
    assert metrics["discrete_win_rate"] == pytest.approx(row["discrete_win_rate"], abs=1e-9)
    assert (metrics["n_wins"], metrics["n_wins_base"], metrics["n_draws"], metrics["n_total"]) == \
        (row["n_wins"], row["n_wins_base"], row["n_draws"], row["n_total"]) == (2, 4, 1, 7)
    assert metrics["avg_length"] == row["avg_length"]
    # bad replies are counted: no m/M in the top 5 and two tokens (parse), a reply without logprobs
    assert result["failures"] == {"parse": 2, "api": 0, "timeout": 0, "no_logprobs": 1}
    assert metrics["n_placeholder_text"] == 1
    # no df_gamed.csv in the fixture data: the score is the win rate, and the result says why
    assert result["score"] == metrics["win_rate"] and metrics["score_metric"] == "win_rate"
    assert metrics["length_controlled_winrate"] is None and "df_gamed.csv" in metrics["length_controlled_missing"]
    assert result["protocol"]["metric"] == "win_rate"
    assert result["protocol"]["judge"]["annotator"] == "weighted_alpaca_eval_gpt4_turbo"
    assert_judge_evidence(tmp_path / "FuseChat-Llama-3.2-1B-Instruct" / "samples" / f"{BENCH}.jsonl", calls_per_row=1)

    folder = tmp_path / "FuseChat-Llama-3.2-1B-Instruct" / BENCH
    written = json.loads((folder / "results" / "FuseChat-Llama-3.2-1B-Instruct" / "weighted_alpaca_eval_gpt4_turbo" /
                          "annotations.json")
                         .read_text(encoding="utf-8"))
    expected = _json("official_annotations.json")
    assert len(written) == len(expected) == 10
    # official_annotations.json holds pandas' 10 decimals; golden.json the official values in full
    for ours, theirs, exact in zip(written, expected, GOLDEN["official_preferences"]):
        assert {k: ours[k] for k in theirs if k != "preference"} == {k: v for k, v in theirs.items() if k != "preference"}
        if theirs["preference"] is None:
            assert exact is None and ours["preference"] is None and ours["preference_error"]
        else:
            assert ours["preference"] == pytest.approx(exact, abs=1e-12)
            assert ours["preference"] == pytest.approx(theirs["preference"], abs=1e-10)
    errors = [r["preference_error"] for r in written if r["preference"] is None]
    assert any("no token log-probabilities" in e for e in errors) and sum("parse_failure" in e for e in errors) == 2
    # the answers file is copied byte for byte into the official layout
    assert (folder / "results" / "FuseChat-Llama-3.2-1B-Instruct" / "model_outputs.json").read_bytes() == \
        ANSWERS.read_bytes()


def test_result_renders_in_the_papers_table(tmp_path):
    with ReplayJudgeServer(_responder(), lifetime_s=120) as server:
        _run(server, tmp_path / "results")
    render_leaderboard(tmp_path / "results", tmp_path / "out", ("md",), {})
    readme = (tmp_path / "out" / "README.md").read_text(encoding="utf-8")
    # the benchmark's working folder (official model_outputs.json / annotations.json) is not a result
    assert "not an evalsuite result" not in readme
    assert "metric win_rate (paper: length_controlled_winrate)" in readme  # the LC was missing: flagged
    line = next(line for line in readme.splitlines() if "FuseChat-Llama-3.2-1B-Instruct" in line
                and "AlpacaEval" not in line and "| measured" in line)
    assert "35.6" in line


def test_length_controlled_win_rate_is_the_packages(tmp_path):
    """The package's own GLM on the REAL 805 official annotations of FuseChat-Llama-3.2-1B-Instruct (their
    output lengths and preferences), with a synthetic df_gamed.csv in the Hub file's schema."""
    pytest.importorskip("alpaca_eval.metrics.glm_winrate", reason="the alpaca_eval package (a dependency)")
    real = _json("lc_real_lengths.json")
    annotations = [{"instruction": str(i), "output_1": "x" * r["len_1"], "output_2": "x" * r["len_2"],
                    "generator_1": "gpt4_1106_preview", "generator_2": "FuseChat-Llama-3.2-1B-Instruct",
                    "annotator": "weighted_alpaca_eval_gpt4_turbo", "preference": r["preference"]}
                   for i, r in enumerate(real)]
    lc, missing = length_controlled(annotations, list(range(len(real))),
                                    {"df_gamed.csv": GOLD / "df_gamed_synthetic.csv"}, "length_controlled_v1")
    golden = GOLDEN["lc_on_real_805_lengths_with_synthetic_df_gamed"]
    assert missing is None
    assert lc["length_controlled_winrate"] == pytest.approx(golden["length_controlled_winrate"], abs=1e-9)
    assert lc["lc_standard_error"] == pytest.approx(golden["lc_standard_error"], abs=1e-9)
    # and the win rate of the same real annotations is the official leaderboard's
    rate = win_rate_of([r["preference"] for r in real])
    assert rate.win_rate == pytest.approx(29.9219322658882, abs=1e-9)  # leaderboard csv, FuseChat-Llama-3.2-1B
    assert rate.standard_error == pytest.approx(1.3934584328741797, abs=1e-9)
    assert rate.discrete_win_rate == pytest.approx(29.068322981366464, abs=1e-9)
    assert (rate.n_wins, rate.n_wins_base, rate.n_draws, rate.n_total) == (233, 570, 2, 805)


def test_run_with_df_gamed_scores_the_length_controlled_win_rate(tmp_path):
    pytest.importorskip("alpaca_eval.metrics.glm_winrate", reason="the alpaca_eval package (a dependency)")
    data_dir = tmp_path / "data"
    shutil.copytree(DATA / BENCH, data_dir / BENCH)
    shutil.copy(GOLD / "df_gamed_synthetic.csv", data_dir / BENCH / "df_gamed.csv")
    with ReplayJudgeServer(_responder(), lifetime_s=120) as server:
        result = _run(server, tmp_path / "out", data_dir=data_dir)
    golden = GOLDEN["lc_on_fixture_with_synthetic_df_gamed"]
    assert result["score"] == pytest.approx(golden["length_controlled_winrate"], abs=1e-9)
    assert result["metrics"]["score_metric"] == result["protocol"]["metric"] == "length_controlled_winrate"
    assert result["metrics"]["length_controlled_winrate_stderr"] == pytest.approx(golden["lc_standard_error"], abs=1e-9)


@pytest.mark.parametrize("top, expected", [
    ([("m", -0.0202), ("M", -3.912)], 2 - math.exp(-0.0202) / (math.exp(-0.0202) + math.exp(-3.912))),
    ([("M", -0.6), ("m", -0.8), ("m", -9.0)], 2 - math.exp(-9.0) / (math.exp(-9.0) + math.exp(-0.6))),  # last wins
    ([("m", -0.001), (" M", -7.0)], 1.0),   # " M" is not "M": p(M) = 0
    ([("M", -0.1), ("The", -3.0)], 2.0),
    ([("The", -0.1), ("Based", -2.5)], None),  # no verdict
    ([("m", "high")], None),                  # garbage log-probability
    ([], None),
])
def test_preference_from_top_logprobs(prepared, top, expected):
    tokens = [{"token": "x", "logprob": -0.1, "top_logprobs": [{"token": t, "logprob": lp} for t, lp in top]}]
    value, why = preference_of(tokens, prepared[0].settings)
    if expected is None:
        assert value is None and why
    else:
        assert value == pytest.approx(expected, abs=1e-12) and why == ""


def test_two_tokens_or_no_top_logprobs_are_no_verdict(prepared):
    settings = prepared[0].settings
    one = {"token": "m", "logprob": -0.1, "top_logprobs": [{"token": "m", "logprob": -0.1}]}
    assert preference_of([one, one], settings)[0] is None
    assert preference_of([{"token": "m", "logprob": -0.1}], settings)[0] is None
    assert preference_of([], settings)[0] is None


def test_client_reports_an_endpoint_without_logprobs():
    async def ask(server):
        client = JudgeClient("judge", base_url=server.base_url, api_key="sk-x", concurrency=1, temperature=1,
                             max_tokens=1, timeout_s=10, retry=RetryPolicy(0))
        try:
            return await client.complete_with_logprobs([{"role": "user", "content": "hi"}], top_logprobs=5)
        finally:
            await client.close()

    with ReplayJudgeServer(lambda messages: "m", lifetime_s=60) as server:  # a plain-text judge
        reply = asyncio.run(ask(server))
        assert server.requests[0]["payload"]["logprobs"] is True and server.requests[0]["payload"]["top_logprobs"] == 5
    assert reply.text == "m" and reply.tokens is None
    with ReplayJudgeServer(lambda messages: logprob_reply(["M"], [("M", -0.2), ("m", -1.7)]), lifetime_s=60) as server:
        reply = asyncio.run(ask(server))
    assert reply.text == "M" and reply.tokens[0]["top_logprobs"][1] == {"token": "m", "logprob": -1.7, "bytes": [109]}


def test_an_endpoint_without_logprobs_is_counted_never_dropped(tmp_path):
    with ReplayJudgeServer(lambda messages: "m", lifetime_s=60) as server:  # a plain-text judge
        result = _run(server, tmp_path)
        # nothing left but the draw of the identical row: counted, with the reason in the judgments
        assert result["failures"]["no_logprobs"] == 9 and result["metrics"]["n_total"] == 1
        with pytest.raises(EvalsuiteError, match="2 no_logprobs"):
            _run(server, tmp_path, limit=2)  # no valid judgment at all: the run fails, saying why
    written = (tmp_path / "FuseChat-Llama-3.2-1B-Instruct" / BENCH / "results" / "FuseChat-Llama-3.2-1B-Instruct" /
               "weighted_alpaca_eval_gpt4_turbo" / "annotations.json").read_text(encoding="utf-8")
    assert "returned no token log-probabilities" in written


@pytest.mark.parametrize("rows, message", [
    ({"instruction": "x"}, "list of objects"),
    ([{"instruction": "x", "output": 3}], "string 'instruction' and 'output'"),
    ([{"instruction": "x", "output": "a"}, {"instruction": "x", "output": "b"}], "instruction repeated"),
    ([{"instruction": "x", "output": "a", "generator": "A"}, {"instruction": "y", "output": "b", "generator": "B"}],
     "one generator"),
    ([{"instruction": "not one of the 805", "output": "a"}], "no output for 10 instruction"),
])
def test_bad_answer_files_are_one_line_errors(prepared, tmp_path, rows, message):
    path = tmp_path / "model_outputs.json"
    path.write_text(json.dumps(rows), encoding="utf-8")
    with pytest.raises(BadInputError, match=message):
        prepared[2].read_answers(path, prepared[1].questions)


def test_cli_bad_answer_file_exits_2_before_any_work(tmp_path):
    bad = tmp_path / "model_outputs.json"
    bad.write_text("[{\"instruction\": 1}]", encoding="utf-8")
    done = run_cli("run", "--tasks", BENCH, "--answers_file", str(bad), "--data_dir", str(DATA),
                   "--judge_base_url", "http://127.0.0.1:9/v1", "--output_path", str(tmp_path / "out"), timeout=300)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1] == f"error: {bad}: output 1: needs string 'instruction' and 'output'"
    assert not (tmp_path / "out").exists()


@pytest.mark.shared_data
def test_real_reference_file_renders_as_upstream_and_judges_itself(shared_data, tmp_path):
    """The real 805: the fixture rows render byte for byte from the real reference file, and the reference
    judged against itself is 805 draws with no judge call (upstream: identical outputs are 1.5)."""
    definition = load_definition(BENCH)
    data = load_benchmark_data(definition, shared_data, None)
    assert len(data.questions) == 805
    judge_format = get_format(definition.format)
    fixture = json.loads(ANSWERS.read_text(encoding="utf-8"))
    by_instruction = {row["instruction"]: row["output"] for row in fixture}
    subset = [q for q in data.questions if q["question_id"] in INDICES]
    answers = {q["question_id"]: [by_instruction[q["turns"][0]]] for q in subset}
    tasks = judge_format.build_tasks(JudgeRun(definition, data, subset, answers, "m"))
    official = {r["index"]: r["messages"] for r in _json("official_requests.json")}
    assert {t.question_id: t.prompt.messages for t in tasks} == official
    reference = shared_data / BENCH / "results" / "gpt4_1106_preview" / "model_outputs.json"
    with ReplayJudgeServer(_responder(), lifetime_s=120) as server:
        result = _run(server, tmp_path, data_dir=shared_data, answers=reference)
        assert server.requests == []
    assert result["metrics"]["n_draws"] == 805 and result["metrics"]["win_rate"] == 50.0


def test_the_packages_metrics_read_our_annotations(tmp_path):
    """Our annotations.json, read as the package reads it (pd.read_json), gives the package's win rate =
    ours; with the synthetic df_gamed, its LC = ours."""
    pytest.importorskip("alpaca_eval.metrics.glm_winrate", reason="the alpaca_eval package (a dependency)")
    import pandas as pd
    from evalsuite.judging.formats.logprob_preference import _hub_files_from, _import_glm

    data_dir = tmp_path / "data"
    shutil.copytree(DATA / BENCH, data_dir / BENCH)
    shutil.copy(GOLD / "df_gamed_synthetic.csv", data_dir / BENCH / "df_gamed.csv")
    with ReplayJudgeServer(_responder(), lifetime_s=120) as server:
        result = _run(server, tmp_path / "out", data_dir=data_dir)
    path = (tmp_path / "out" / "FuseChat-Llama-3.2-1B-Instruct" / BENCH / "results" / "FuseChat-Llama-3.2-1B-Instruct"
            / "weighted_alpaca_eval_gpt4_turbo" / "annotations.json")
    _, glm_winrate = _import_glm()
    frame = pd.read_json(path)
    official = glm_winrate.get_winrate(frame)
    assert official["win_rate"] == pytest.approx(result["metrics"]["win_rate"], abs=1e-9)
    assert official["n_total"] == result["metrics"]["n_total"] == 7
    with _hub_files_from(glm_winrate, {"df_gamed.csv": data_dir / BENCH / "df_gamed.csv"}):
        lc = glm_winrate.get_length_controlled_winrate(frame, save_weights_dir=None)
    assert lc["length_controlled_winrate"] == pytest.approx(result["score"], abs=1e-9)


def test_generated_answers_are_written_as_model_outputs_json(prepared, tmp_path):
    definition, data, judge_format, _, answers = prepared
    path = judge_format.answers_path(tmp_path, "org/My Model", data)
    assert path == tmp_path / "results" / "My_Model" / "model_outputs.json"  # AlpacaEval's results/<model>/
    judge_format.write_answers(path, "org/My Model", data, data.questions, answers)
    rows = json.loads(path.read_text(encoding="utf-8"))
    assert [set(r) for r in rows] == [{"dataset", "instruction", "output", "generator"}] * 10
    assert rows[3]["dataset"] == data.questions[3]["category"] and rows[3]["generator"] == "org/My Model"
    assert judge_format.read_answers(path, data.questions) == ("org/My Model", answers)


def test_garbage_responses_are_counted_as_api_failures(tmp_path):
    """A 200 whose body is not a chat completion is retried; when retries run out it is counted (api), and
    its row is in annotations.json with preference null and the reason."""
    with ReplayJudgeServer(_responder(), faults=["garbage", "garbage"], lifetime_s=120) as server:
        result = _run(server, tmp_path, max_retries=0)
    # which two requests got the garbage depends on arrival order; every row is accounted for either way
    assert result["failures"]["api"] == 2 and result["metrics"]["n_total"] + sum(result["failures"].values()) == 10
    folder = tmp_path / "FuseChat-Llama-3.2-1B-Instruct" / BENCH / "results" / "FuseChat-Llama-3.2-1B-Instruct"
    rows = json.loads((folder / "weighted_alpaca_eval_gpt4_turbo" / "annotations.json").read_text(encoding="utf-8"))
    assert sum(r["preference"] is None and r["preference_error"].startswith("api: malformed response")
               for r in rows) == 2
