"""run_judge_benchmark end to end against loopback judges: FastChat reproduction, KoMT-Bench penalty,
repeats, result files, skip/force, bad answer files, and resume after kill -9."""

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from evalsuite.cli import build_parser
from evalsuite.errors import BadInputError, EvalsuiteError
from evalsuite.judging.options import JudgeOptions
from tests.support.replay_server import ReplayJudgeServer, replay_responder
from evalsuite.judging.benchmark import run_judge_benchmark
from evalsuite.results.schema import validate_result
from evalsuite.results.samples import read_samples
from evalsuite.judging.definitions import load_definition

from tests.conftest import FIXTURE_DATA as FIXTURES, JUDGING_FIXTURES as JUDGING, REPO as ROOT, SHARED_DATA as SHARED

MT_ANSWERS = FIXTURES / "mt_bench" / "model_answer" / "tiny-model.jsonl"
KO_ANSWERS = FIXTURES / "komt_bench" / "model_answer" / "tiny-ko-model.jsonl"
SECRET = "sk-test-secret-never-written-0123456789"


def _rows(path):
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]


def _options(server, answers, **kwargs):
    return JudgeOptions(judge_model="gpt-4", judge_base_url=server.base_url, answers_file=answers,
                        progress=False, backoff_base_s=0.01, backoff_cap_s=0.05, **kwargs)


def _run(benchmark, server, answers, out, **kwargs):
    force = kwargs.pop("force", False)
    limit = kwargs.pop("limit", None)
    return run_judge_benchmark(benchmark, model=None, options=_options(server, answers, **kwargs),
                               output_path=out, data_dir=FIXTURES, limit=limit, force=force)


def _all_text(folder: Path) -> str:
    return "".join(p.read_text(encoding="utf-8") for p in folder.rglob("*") if p.is_file())


def test_reproduces_fastchat_score_from_replayed_judgments(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    fastchat = _rows(JUDGING / "mt_bench_tiny-model_gpt-4_single.jsonl")
    valid = [r["score"] for r in fastchat if r["score"] != -1]           # show_result.py: drop -1, mean
    turn1 = [r["score"] for r in fastchat if r["score"] != -1 and r["turn"] == 1]
    with ReplayJudgeServer(replay_responder(fastchat), lifetime_s=120) as server:
        result = _run("mt_bench", server, MT_ANSWERS, tmp_path)
        # every request is exactly the recorded FastChat prompt (system + user)
        replayed = {r["user_prompt"] for r in fastchat}
        assert {req["messages"][1]["content"] for req in server.requests} == replayed
        assert len(server.requests) == len(fastchat)  # as FastChat: one request per judgment, no re-ask
        assert all(req["model"] == "gpt-4" for req in server.requests)
    assert validate_result(result) == []
    assert result["score"] == sum(valid) / len(valid)
    assert result["metrics"]["turn1"] == sum(turn1) / len(turn1)
    assert result["failures"] == {"parse": 1, "api": 0, "timeout": 0}
    assert result["n"] == 8 and result["metrics"]["n_valid"] == 7 and result["metrics"]["reasks"] == 0
    assert result["subscores"]["math"] == 9.5 and result["subscores"]["reasoning"] == 2.0
    assert result["model"]["name"] == "tiny-model"
    assert result["protocol"]["judge"] == {"model": "gpt-4", "format": "fastchat_single",
                                           "prompts": "single-v1/single-math-v1 (+multi-turn)",
                                           "repeats": 1, "reasks": 0, "temperature": 0.0, "max_tokens": 2048}
    assert result["provenance"]["judge"]["endpoint_host"] == "127.0.0.1"
    folder = tmp_path / "tiny-model"
    samples = _rows(folder / "samples" / "mt_bench.jsonl")
    assert [s["item"] for s in samples][:2] == ["81/turn1", "81/turn2"]
    failed = [s for s in samples if s["score"] is None]
    assert [(s["item"], s["status"]) for s in failed] == [("101/turn2", "parse_failure")]
    # the evidence: both turns, the answers, every judge request as sent and its reply as received
    sent = {json.dumps(req["messages"], sort_keys=True) for req in server.requests}
    for sample in samples:
        assert len(sample["turns"]) == 2 and len(sample["answers"]) == 2
        (call,) = sample["judge"]
        assert json.dumps(call["request"], sort_keys=True) in sent and call["turn"] == sample["turn"]
        assert len(call["replies"]) == 1 and call["reasks"] == 0
    assert failed[0]["judge"][0]["status"] == "parse_failure" and failed[0]["judge"][0]["verdict"] == -1
    judgments = _rows(folder / "mt_bench" / "model_judgment" / "gpt-4_single.jsonl")
    assert sorted((j["question_id"], j["turn"], j["score"]) for j in judgments) == \
        sorted((r["question_id"], r["turn"], r["score"]) for r in fastchat)
    answers = _rows(folder / "mt_bench" / "model_answer" / "tiny-model.jsonl")
    assert answers == _rows(MT_ANSWERS)
    assert SECRET not in _all_text(tmp_path)


def test_komt_bench_penalty_raw_and_penalized(tmp_path):
    replies = _rows(JUDGING / "komt_bench_tiny-ko-model_gpt-4_single.jsonl")
    with ReplayJudgeServer(replay_responder(replies), lifetime_s=120) as server:
        result = _run("komt_bench", server, KO_ANSWERS, tmp_path)
    # raw ratings 8, 4 | 10, 9 | 7, 6 | 9, 8 ("[[8점]]" is read by the Korean form)
    # English turns: 111/2 -> sqrt(9) = 3, 152/1 -> sqrt(9) = 3; 138 is exempt; 138/1 is data only
    assert result["metrics"]["score_raw"] == 61 / 8
    assert result["score"] == (8 + 4 + 10 + 3 + 7 + 6 + 3 + 8) / 8
    assert result["metrics"]["n_penalized"] == result["metrics"]["n_penalized_lingua"] == 2
    assert "n_penalized_mediapipe" not in result["metrics"]  # not computable without MediaPipe's model
    assert result["protocol"]["judge"]["language_detector"] == "lingua"
    assert result["subscores"]["raw_math"] == 9.5 and result["subscores"]["math"] == 6.5
    assert result["subscores"]["turn2"] == (4 + 3 + 6 + 8) / 4 and result["subscores"]["raw_turn2"] == 27 / 4
    samples = {s["item"]: s for s in _rows(tmp_path / "tiny-ko-model" / "samples" / "komt_bench.jsonl")}
    assert samples["111/turn2"] | {} == {**samples["111/turn2"], "raw_score": 9.0, "score": 3.0,
                                         "penalized": True, "language": "en"}
    assert samples["138/turn2"]["language"] == "en" and samples["138/turn2"]["penalized"] is False
    assert samples["138/turn1"]["language"] == "und"
    final = _rows(tmp_path / "tiny-ko-model" / "komt_bench" / "model_judgment" / "gpt-4_single_final.jsonl")
    assert {(r["question_id"], r["turn"]): r["score"] for r in final}[(152, 1)] == 3.0


def test_reasks_only_when_asked_and_recorded(tmp_path):
    def respond(messages):  # no rating at first; a rating when re-asked
        return "Rating: [[6]]" if len(messages) > 2 else "A fine answer."

    args = build_parser().parse_args(["run", "--tasks", "mt_bench", "--judge_reask", "2"])
    assert JudgeOptions.from_args(args).reasks == 2
    assert JudgeOptions.from_args(build_parser().parse_args(["run", "--tasks", "mt_bench"])).reasks == 0
    with ReplayJudgeServer(respond, lifetime_s=120) as server:
        with pytest.raises(EvalsuiteError, match="2 parse failures"):  # FastChat: -1, nothing re-asked
            _run("mt_bench", server, MT_ANSWERS, tmp_path / "a", limit=1)
        assert len(server.requests) == 2
    with ReplayJudgeServer(respond, lifetime_s=120) as server:
        reasked = _run("mt_bench", server, MT_ANSWERS, tmp_path / "b", limit=1, reasks=2)
        assert len(server.requests) == 4
    assert reasked["score"] == 6.0 and reasked["metrics"]["reasks"] == 2
    assert reasked["protocol"]["judge"]["reasks"] == 2
    calls = [c for row in read_samples(tmp_path / "b" / "tiny-model" / "samples" / "mt_bench.jsonl")
             for c in row["judge"]]
    assert [len(c["follow_ups"]) for c in calls] == [1, 1]  # the re-ask prompt is in the evidence
    reask_prompt = load_definition("mt_bench").settings.reask_prompt
    assert all(c["follow_ups"][0] == [{"role": "assistant", "content": "A fine answer."},
                                      {"role": "user", "content": reask_prompt}] for c in calls)


def test_repeats_use_the_median_and_report_the_spread(tmp_path):
    counts, lock = {}, threading.Lock()

    def respond(messages):
        with lock:
            n = counts[messages[-1]["content"]] = counts.get(messages[-1]["content"], 0) + 1
        return f"Rating: [[{[6, 8, 7][(n - 1) % 3]}]]"

    with ReplayJudgeServer(respond, lifetime_s=120) as server:
        result = _run("mt_bench", server, MT_ANSWERS, tmp_path, repeats=3, limit=2)
        assert len(server.requests) == 2 * 2 * 3
    assert result["score"] == 7.0 and result["protocol"]["judge"]["repeats"] == 3
    assert result["metrics"]["judge_spread_mean"] == 2.0 and result["metrics"]["judge_stdev_mean"] == 1.0
    samples = _rows(tmp_path / "tiny-model" / "samples" / "mt_bench.jsonl")
    assert all(sorted(s["ratings"]) == [6.0, 7.0, 8.0] for s in samples)


def test_skip_when_done_force_rejudges_and_api_failures_are_retried_on_a_rerun(tmp_path, capfd):
    with ReplayJudgeServer(lambda m: "[[5]]", lifetime_s=120) as server:
        first = _run("mt_bench", server, MT_ANSWERS, tmp_path, limit=1)
        n = len(server.requests)
        assert "mt_bench: 2 judge requests, none cached" in capfd.readouterr().err
        assert _run("mt_bench", server, MT_ANSWERS, tmp_path, limit=1) == first
        assert len(server.requests) == n == 2
        forced = _run("mt_bench", server, MT_ANSWERS, tmp_path, limit=1, force=True)  # judged again
        assert len(server.requests) == 4 and forced["score"] == 5.0
    with ReplayJudgeServer(lambda m: "[[5]]", faults=["500"], lifetime_s=120) as server:
        result = _run("mt_bench", server, MT_ANSWERS, tmp_path / "b", limit=1, max_retries=0, concurrency=1)
        assert result["failures"] == {"parse": 0, "api": 1, "timeout": 0}
        assert result["score"] == 5.0 and result["metrics"]["n_valid"] == 1
        judged = _rows(tmp_path / "b" / "tiny-model" / "mt_bench" / "model_judgment" / "gpt-4_single.jsonl")
        assert sorted(j["judgment"] for j in judged) == ["$ERROR$", "[[5]]"]
        capfd.readouterr()
        # a failure is not a result: a plain rerun asks again for the failed judgment only
        again = _run("mt_bench", server, MT_ANSWERS, tmp_path / "b", limit=1, max_retries=0)
        assert len(server.requests) == 3 and again["failures"]["api"] == 0 and again["metrics"]["n_valid"] == 2
        assert "resuming mt_bench: 1/2 judge requests cached" in capfd.readouterr().err
    with ReplayJudgeServer(lambda m: "no idea", lifetime_s=120) as server:
        with pytest.raises(EvalsuiteError, match="no valid judgment"):
            _run("mt_bench", server, MT_ANSWERS, tmp_path / "c", limit=1)
    judged = _rows(tmp_path / "c" / "tiny-model" / "mt_bench" / "model_judgment" / "gpt-4_single.jsonl")
    assert [j["score"] for j in judged] == [-1, -1]


def test_a_new_judge_reask_does_not_reuse_judgments_without_a_rating(tmp_path):
    def respond(messages):  # no rating at first; a rating when re-asked
        return "Rating: [[6]]" if len(messages) > 2 else "A fine answer."

    with ReplayJudgeServer(respond, lifetime_s=120) as server:
        with pytest.raises(EvalsuiteError, match="2 parse failures"):
            _run("mt_bench", server, MT_ANSWERS, tmp_path, limit=1)
        assert len(server.requests) == 2
        reasked = _run("mt_bench", server, MT_ANSWERS, tmp_path, limit=1, reasks=1)
        assert len(server.requests) == 6 and reasked["score"] == 6.0 and reasked["metrics"]["n_valid"] == 2
        again = _run("mt_bench", server, MT_ANSWERS, tmp_path, limit=1, reasks=1, force=False)
        assert len(server.requests) == 6 and again == reasked


def test_unreachable_judge_fails_in_seconds_before_the_model_loads(tmp_path):
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    started = time.time()
    done = subprocess.run(
        [sys.executable, str(ROOT / "run_eval.py"), "run", "--tasks", "mt_bench", "--data_dir", str(FIXTURES),
         "--judge_model", "gpt-4", "--judge_base_url", f"http://127.0.0.1:{port}/v1", "--limit", "1",
         "--output_path", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: judge endpoint") and "does not answer" in lines[0]
    assert "refused" in lines[0].lower() and time.time() - started < 30
    assert "loading model" not in done.stderr and not any(tmp_path.iterdir())


def test_judge_that_refuses_the_key_is_bad_input_before_any_work(tmp_path, monkeypatch):
    from evalsuite.judging.benchmark import check_judge_ready

    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    with ReplayJudgeServer(lambda m: "[[5]]", models_status=401, lifetime_s=30) as server:
        with pytest.raises(BadInputError, match="refused the key") as err:
            check_judge_ready("mt_bench", JudgeOptions(judge_model="gpt-4", judge_base_url=server.base_url))
        assert SECRET not in str(err.value)
    with ReplayJudgeServer(lambda m: "[[5]]", lifetime_s=30) as server:  # an answering server: no error
        check_judge_ready("mt_bench", JudgeOptions(judge_model="gpt-4", judge_base_url=server.base_url))
    monkeypatch.delenv("OPENAI_API_KEY")
    with pytest.raises(BadInputError, match="OPENAI_API_KEY"):
        check_judge_ready("mt_bench", JudgeOptions())


@pytest.mark.parametrize("content,message", [
    ("not json\n", "line 1 is not valid JSON"),
    ('{"question_id": 81}\n', "not a FastChat answer"),
    ('{"question_id": 81, "model_id": "a", "choices": [{"index": 0, "turns": ["x", "y"]}]}\n', "no answer for 3"),
    ("".join(json.dumps({"question_id": q, "model_id": m, "choices": [{"index": 0, "turns": ["x", "y"]}]}) + "\n"
             for q, m in [(81, "a"), (101, "b"), (111, "a"), (131, "a")]), "one model"),
    ("".join(json.dumps({"question_id": q, "model_id": "a", "choices": [{"index": 0, "turns": ["x"]}]}) + "\n"
             for q in (81, 101, 111, 131)), "two turns"),
])
def test_bad_answers_file(tmp_path, content, message):
    bad = tmp_path / "answers.jsonl"
    bad.write_text(content)
    with ReplayJudgeServer(lambda m: "[[5]]", lifetime_s=30) as server:
        with pytest.raises(BadInputError, match=message):
            _run("mt_bench", server, bad, tmp_path)


def test_openai_judge_without_key_is_bad_input(tmp_path, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(BadInputError, match="OPENAI_API_KEY"):
        run_judge_benchmark("mt_bench", model=None, options=JudgeOptions(answers_file=MT_ANSWERS),
                            output_path=tmp_path, data_dir=FIXTURES, limit=None, force=False)


CHILD = """
import sys
from pathlib import Path
from evalsuite.judging.options import JudgeOptions
from evalsuite.judging.benchmark import run_judge_benchmark
base_url, out, data, answers = sys.argv[1:5]
options = JudgeOptions(judge_model="gpt-4", judge_base_url=base_url, answers_file=Path(answers),
                       concurrency=1, progress=False)
run_judge_benchmark("mt_bench", model=None, options=options, output_path=Path(out), data_dir=Path(data),
                    limit=None, force=False)
"""


def test_resume_after_kill_9(tmp_path):
    cache_file = tmp_path / "out" / "tiny-model" / "mt_bench" / "cache" / "judgments.jsonl"
    with ReplayJudgeServer(lambda m: f"Rating: [[{len(m[-1]['content']) % 9 + 1}]]", latency_s=0.4,
                           lifetime_s=120) as server:
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, server.base_url, str(tmp_path / "out"), str(FIXTURES), str(MT_ANSWERS)],
            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        deadline = time.time() + 60
        while time.time() < deadline and (not cache_file.exists() or len(_rows(cache_file)) < 3):
            assert child.poll() is None, "the judged run ended before it was killed"
            time.sleep(0.05)
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
        done_before = {(r["question_id"], r["turn"]) for r in _rows(cache_file)}
        assert 3 <= len(done_before) < 8
        asked_before = len(server.requests)
        result = _run("mt_bench", server, MT_ANSWERS, tmp_path / "out")
        resumed = server.requests[asked_before:]
    cached_prompts = {r["user_prompt"] for r in _rows(cache_file) if (r["question_id"], r["turn"]) in done_before}
    assert not [q for q in resumed if q["messages"][-1]["content"] in cached_prompts]   # nothing judged twice
    rows = _rows(cache_file)
    assert len(rows) == len({(r["question_id"], r["turn"], r["repeat"]) for r in rows}) == 8  # no duplicate
    assert result["n"] == 8 and result["metrics"]["n_valid"] == 8                           # nothing lost
    judged = _rows(tmp_path / "out" / "tiny-model" / "mt_bench" / "model_judgment" / "gpt-4_single.jsonl")
    assert len(judged) == 8




@pytest.mark.shared_data
def test_real_fastchat_answer_file_matches_fastchat_pipeline(tmp_path):
    """A real FastChat answer file (vicuna-13b-v1.3, 80 questions): every judge request is the prompt
    FastChat's gen_judgment renders, and the score is show_result's mean of the replayed ratings."""
    import hashlib

    def reply_for(user_prompt):  # a deterministic judge; one reply in 11 has no rating (-1 in FastChat)
        h = int(hashlib.sha256(user_prompt.encode()).hexdigest(), 16)
        return "I cannot judge this." if h % 11 == 0 else f"Explanation. Rating: [[{h % 10 + 1}]]"

    questions = _rows(SHARED / "mt_bench/question.jsonl")
    prompts = {p["name"]: p for p in _rows(SHARED / "mt_bench/judge_prompts.jsonl")}
    refs = {r["question_id"]: r for r in _rows(SHARED / "mt_bench/reference_answer/gpt-4.jsonl")}
    answers = {a["question_id"]: a for a in _rows(SHARED / "mt_bench/model_answer/vicuna-13b-v1.3.jsonl")}
    expected_prompts, ratings = set(), []
    for q in questions:  # FastChat gen_judgment.py + common.run_judge_single, restated
        a = answers[q["question_id"]]["choices"][0]["turns"]
        ref = q["category"] in ("math", "reasoning", "coding")
        r = refs[q["question_id"]]["choices"][0]["turns"] if ref else None
        one = prompts["single-math-v1" if ref else "single-v1"]["prompt_template"]
        two = prompts["single-math-v1-multi-turn" if ref else "single-v1-multi-turn"]["prompt_template"]
        p1 = one.format(question=q["turns"][0], answer=a[0], **({"ref_answer_1": r[0]} if ref else {}))
        p2 = two.format(question_1=q["turns"][0], question_2=q["turns"][1], answer_1=a[0], answer_2=a[1],
                        **({"ref_answer_1": r[0], "ref_answer_2": r[1]} if ref else {}))
        for p in (p1, p2):
            expected_prompts.add(p)
            h = int(hashlib.sha256(p.encode()).hexdigest(), 16)
            ratings.append(-1 if h % 11 == 0 else h % 10 + 1)
    valid = [x for x in ratings if x != -1]
    with ReplayJudgeServer(lambda m: reply_for(m[1]["content"]), lifetime_s=300) as server:
        result = run_judge_benchmark(
            "mt_bench", model=None, output_path=tmp_path, data_dir=SHARED, limit=None, force=False,
            options=_options(server, SHARED / "mt_bench/model_answer/vicuna-13b-v1.3.jsonl"))
        assert {req["messages"][1]["content"] for req in server.requests} == expected_prompts
    assert result["score"] == sum(valid) / len(valid)
    assert result["failures"]["parse"] == len(ratings) - len(valid) and result["n"] == 160


def test_fractional_and_bad_limit(tmp_path):
    with ReplayJudgeServer(lambda m: "[[4]]", lifetime_s=60) as server:
        result = _run("mt_bench", server, MT_ANSWERS, tmp_path, limit=0.5)
        assert result["n"] == 4 and result["protocol"]["limit"] == 0.5  # 2 of the 4 questions, 2 turns each
        with pytest.raises(BadInputError, match="positive"):
            _run("mt_bench", server, MT_ANSWERS, tmp_path, limit=0)


@pytest.mark.parametrize("model_id", ["..", ".", "../../escape", ".hidden"])
def test_model_id_from_an_answers_file_never_leaves_the_output_folder(tmp_path, model_id):
    answers = tmp_path / "answers.jsonl"
    rows = _rows(MT_ANSWERS)
    answers.write_text("".join(json.dumps({**row, "model_id": model_id}) + "\n" for row in rows), encoding="utf-8")
    out = tmp_path / "nested" / "out"
    with ReplayJudgeServer(lambda messages: "Rating: [[5]]", lifetime_s=120) as server:
        _run("mt_bench", server, answers, out, limit=1)
    outside = [p for p in tmp_path.rglob("*") if p.is_file() and out not in p.parents and p != answers]
    assert outside == []
    assert [p.name for p in out.iterdir()] and not any(p.name.startswith(".") for p in out.iterdir())


def _estimate_lines(capsys, argv, code=0):
    from evalsuite.cli import main

    capsys.readouterr()
    assert main([*argv, "--judge_estimate"]) == code
    return {line.split()[0]: line for line in capsys.readouterr().out.splitlines()[2:]}


def _figures(line: str) -> list[int]:
    """calls, calls max, cached, prompt, prompt max, output, output max of an estimate line."""
    import re

    found = re.search(r": ([\d,]+) calls \(([\d,]+)\), ([\d,]+) cached; prompt ([\d,]+) \(([\d,]+)\) tokens; "
                      r"output ([\d,]+) \(([\d,]+)\) tokens", line)
    assert found, line
    return [int(g.replace(",", "")) for g in found.groups()]


def test_judge_estimate_counts_what_is_left_to_send_and_calls_nothing(tmp_path, monkeypatch, capsys):
    """--judge_estimate: calls, tokens and dollars still to spend (cache hits excluded), no key, no judge call."""
    from evalsuite.cli import main

    args = ["run", "--tasks", "mt_bench", "--answers_file", str(MT_ANSWERS), "--data_dir", str(FIXTURES),
            "--output_path", str(tmp_path)]
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    lines = _estimate_lines(capsys, args)
    calls, calls_max, cached, prompt, prompt_max, output, output_max = _figures(lines["mt_bench"])
    assert (calls, calls_max, cached) == (8, 8, 0) and prompt == prompt_max > 500
    assert output == 8 * 200 and output_max == 8 * 2048  # the table's typical reply; max_tokens 2048
    dollars = (prompt * 30 + output * 60) / 1e6, (prompt_max * 30 + output_max * 60) / 1e6  # gpt-4-0613
    assert f"${dollars[0]:,.2f} (${dollars[1]:,.2f})" in lines["mt_bench"]
    assert lines["total"].startswith("total") and f"${dollars[0]:,.2f}" in lines["total"]
    assert not (tmp_path / "tiny-model" / "mt_bench.json").exists()
    with ReplayJudgeServer(lambda m: "Rating: [[7]]", lifetime_s=120) as server:
        monkeypatch.setenv("OPENAI_API_KEY", "sk-x")
        assert main([*args, "--judge_base_url", server.base_url]) == 0
        monkeypatch.delenv("OPENAI_API_KEY")
        after = _estimate_lines(capsys, [*args, "--judge_base_url", server.base_url])
        assert _figures(after["mt_bench"])[:3] == [0, 0, 8] and "$0.00 ($0.00)" in after["mt_bench"]
        assert len(server.requests) == 8  # the estimates sent nothing


def test_judge_estimate_never_runs_a_benchmark_and_a_missing_data_set_is_its_own_line(tmp_path, capsys):
    data = tmp_path / "data"
    (data / "mt_bench").mkdir(parents=True)
    for name in ("question.jsonl", "judge_prompts.jsonl", "reference_answer"):
        source = FIXTURES / "mt_bench" / name
        (data / "mt_bench" / name).symlink_to(source, target_is_directory=source.is_dir())
    out = tmp_path / "out"
    lines = _estimate_lines(capsys, ["run", "--tasks", "gsm8k,mt_bench,komt_bench", "--data_dir", str(data),
                                     "--output_path", str(out)], code=2)
    assert "not a judged benchmark" in lines["gsm8k"]
    assert "komt_bench" in lines and "calls" not in lines["komt_bench"]  # its data is missing: that line's error
    assert _figures(lines["mt_bench"])[0] == 8 and "answer turns not generated yet" in lines["mt_bench"]
    assert lines["total"].split()[1:3] == ["8", "calls"]
    only = _estimate_lines(capsys, ["run", "--tasks", "gsm8k,kobest", "--output_path", str(out)])
    assert set(only) == {"gsm8k", "kobest_boolq", "kobest_copa", "kobest_hellaswag", "kobest_sentineg",
                         "kobest_wic", "total"}
    assert all("not a judged benchmark" in line for name, line in only.items() if name != "total")
    assert not out.exists()  # nothing ran


def test_judge_estimate_prices_come_from_a_dated_table_that_can_be_replaced(tmp_path, monkeypatch, capsys):
    from evalsuite.judging.estimate import DEFAULT_PRICES, load_prices

    table = load_prices(None)
    assert table.path == DEFAULT_PRICES and table.as_of and table.price("gpt-4-0613") == (30.0, 60.0)
    assert table.price("embedded-smollm2") == (0.0, 0.0) and table.price("my-local-judge") is None
    mine = tmp_path / "prices.yaml"
    mine.write_text('as_of: "2030-01-01"\nper_million_tokens:\n  gpt-4-0613: [1, 2]\n')
    args = ["run", "--tasks", "mt_bench", "--answers_file", str(MT_ANSWERS), "--data_dir", str(FIXTURES),
            "--output_path", str(tmp_path / "out")]
    lines = _estimate_lines(capsys, [*args, "--judge_prices", str(mine)])
    _, _, _, prompt, prompt_max, output, output_max = _figures(lines["mt_bench"])
    assert output == output_max == 8 * 2048  # no typical length in this table: the max is expected
    assert f"${(prompt + 2 * output) / 1e6:,.2f}" in lines["mt_bench"]
    monkeypatch.setenv("EVALSUITE_JUDGE_PRICES", str(mine))
    assert load_prices(None).as_of == "2030-01-01"
    lines = _estimate_lines(capsys, [*args, "--judge_model", "my-local-judge"])
    assert "no price for my-local-judge" in lines["mt_bench"] and "without my-local-judge" in lines["total"]
    mine.write_text("per_million_tokens: 3\n")
    with pytest.raises(BadInputError, match="price table"):
        load_prices(mine)
