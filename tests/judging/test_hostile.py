"""Hostile inputs and crashes around judging (issues 10 and 15): torn cache lines, secrets echoed by an
endpoint, two runs on one output folder, duplicate question ids and unknown prompt placeholders; a
judge endpoint that drips, floods, redirects, or sends undecodable or odd replies and headers."""

import asyncio
import gzip
import json
import random
import re
import shutil
import threading
import time
import tracemalloc
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from tests.conftest import FIXTURE_DATA, JUDGING_FIXTURES, REPO, run_cli
from tests.support.replay_server import ReplayJudgeServer

from evalsuite.errors import BadInputError, scrub_secrets
from evalsuite.judging.client import (
    JUDGMENT_KEY, MAX_REPLY_BYTES, JudgeCallFailed, JudgeClient, RetryPolicy,
)
from evalsuite.judging.definitions import load_benchmark_data, load_definition
from evalsuite.judging.embedded_server import EmbeddedJudgeServer
from evalsuite.judging.core import check_template
from evalsuite.judging.formats.checklist_score import STATUS_BAD_SCORE as CHECKLIST_BAD_SCORE
from evalsuite.judging.formats.checklist_score import parse_reply as checklist_reply
from evalsuite.judging.formats.logprob_preference import preference_of
from evalsuite.judging.formats import load_format_module
from evalsuite.judging.options import JudgeOptions
from evalsuite.judging.benchmark import output_lock, run_judge_benchmark
from evalsuite.results.store import JsonlCache

MT_ANSWERS = FIXTURE_DATA / "mt_bench" / "model_answer" / "tiny-model.jsonl"
SECRET = "sk-proj-echoed-secret-0123456789abcdef"
parse_reply = load_format_module(REPO / "judges" / "logickor" / "format.py").parse_reply


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


# ---- issue 15: a judge endpoint that is hostile --------------------------------------------------

def _completion(content: str = "Rating: [[7]]", logprobs=None) -> bytes:
    choice = {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}
    if logprobs is not None:
        choice["logprobs"] = logprobs
    return json.dumps({"id": "x", "object": "chat.completion", "choices": [choice]}).encode()


def _reply(body: bytes, status: int = 200, **headers: str):
    """A raw fault: one reply with exactly these bytes."""

    def fault(handler) -> None:
        handler.send_response(status)
        for name, value in {"Content-Type": "application/json", "Content-Length": str(len(body)),
                            **{k.replace("_", "-"): v for k, v in headers.items()}}.items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(body)

    return fault


def _drip(every_s: float, for_s: float):
    """A raw fault: headers of a whole reply, then its body one byte every `every_s` (for `for_s` at most)."""

    def fault(handler) -> None:
        body = _completion()
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        stop = time.monotonic() + for_s
        for byte in body:
            if time.monotonic() > stop:
                break
            handler.wfile.write(bytes([byte]))
            time.sleep(every_s)
        handler.close_connection = True

    return fault


def _flood(status: int, claimed: int | None, total: int, record: dict):
    """A raw fault: a reply of `total` bytes (Content-Length `claimed`, or none: it ends with the
    connection); `record` gets the bytes actually written before the client hung up."""

    def fault(handler) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header(*(("Content-Length", str(claimed)) if claimed is not None else ("Connection", "close")))
        handler.end_headers()
        chunk, record["sent"] = b" " * 65536, 0
        try:
            while record["sent"] < total:
                handler.wfile.write(chunk)
                record["sent"] += len(chunk)
        except OSError:
            pass
        handler.close_connection = True
        record["done"] = True

    return fault


def _client(server, *, key: str = "k", retries: int = 0, timeout: float = 5.0) -> JudgeClient:
    return JudgeClient("judge-x", base_url=server.base_url, api_key=key, concurrency=1, temperature=0.0,
                       max_tokens=64, timeout_s=timeout, retry=RetryPolicy(max_retries=retries, base_s=0.01, cap_s=0.05))


async def _ask(server, **kwargs) -> tuple[str, JudgeClient]:
    client = _client(server, **kwargs)
    try:
        return await client.complete([{"role": "user", "content": "grade this"}]), client
    finally:
        await client.close()


def _failure(server, **kwargs) -> JudgeCallFailed:
    with pytest.raises(JudgeCallFailed) as info:
        asyncio.run(_ask(server, **kwargs))
    return info.value


def test_a_slow_drip_ends_at_the_request_deadline():
    """Headers, then a byte every 0.5 s: --judge_timeout 2 ends each attempt after 2 s (the whole
    request), retries counted separately; the failure is a counted timeout."""
    with ReplayJudgeServer(lambda m: "[[6]]", faults=[_drip(0.5, 30), _drip(0.5, 30)], lifetime_s=60) as server:
        started = time.monotonic()
        failure = _failure(server, retries=1, timeout=2.0)
        elapsed = time.monotonic() - started
        assert len(server.requests) == 2
    assert failure.kind == "timeout" and "2 s" in failure.detail
    assert 3.9 < elapsed < 8, elapsed
    with ReplayJudgeServer(lambda m: "[[6]]", faults=[_drip(0.5, 30)], lifetime_s=60) as server:
        reply, client = asyncio.run(_ask(server, retries=1, timeout=2.0))
    assert reply == "[[6]]" and client.retries == 1  # the retry after a drip is answered


@pytest.mark.parametrize("status,claimed", [(200, None), (200, 2 * 1024 ** 3), (500, None)])
def test_a_huge_reply_is_refused_at_the_cap_without_being_buffered(status, claimed):
    """A reply of 256 MiB (claimed 2 GB, or without a length; an error body too) is a counted API
    failure: the client stops reading at MAX_REPLY_BYTES, and its memory stays near the cap."""
    record: dict = {}
    total = 256 * 1024 * 1024
    with ReplayJudgeServer(lambda m: "[[6]]", faults=[_flood(status, claimed, total, record)], lifetime_s=60) as server:
        tracemalloc.start()
        try:
            failure = _failure(server)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        for _ in range(100):  # the server notices the hang-up
            if record.get("done"):
                break
            time.sleep(0.05)
    assert failure.kind == "api" and "cap" in failure.detail, failure.detail
    assert record.get("done") and record["sent"] < MAX_REPLY_BYTES + 24 * 1024 * 1024, record  # socket buffers
    assert peak < 4 * MAX_REPLY_BYTES, peak


def test_a_compressed_reply_is_refused():
    """A gzip body can inflate a thousandfold past the cap: only identity bodies are read."""
    bomb = gzip.compress(b" " * (64 * 1024 * 1024))
    with ReplayJudgeServer(lambda m: "[[6]]", faults=[_reply(bomb, Content_Encoding="gzip")], lifetime_s=60) as server:
        failure = _failure(server)
        assert server.requests[0]["headers"].get("accept-encoding") == "identity"
    assert failure.kind == "api" and "compressed reply refused" in failure.detail


UNDECODABLE = {
    "deep": b"[" * 100_000,
    "deep_in_content": b'{"choices": [{"message": {"content": "x"}}], "x": ' + b"[" * 5000 + b"]" * 5000 + b"}",
    "utf8": b'{"choices": [{"message": {"content": "\xff\xfe"}}]}',
    "not_json": b"<html>502 Bad Gateway</html>",
    "huge_int": b'{"choices": [{"message": {"content": "x"}}], "created": ' + b"7" * 5000 + b"}",
    "list": b"[]",
    "no_choices": b'{"choices": []}',
    "choices_str": b'{"choices": "many"}',
    "content_int": b'{"choices": [{"message": {"content": 7}}]}',
    "empty": b"",
    "sse": b'data: {"choices": [{"delta": {"content": "x"}}]}\n\ndata: [DONE]\n\n',
}


@pytest.mark.parametrize("name", sorted(UNDECODABLE))
def test_an_undecodable_reply_is_a_counted_failure_and_the_run_goes_on(tmp_path, name):
    """The first request gets the bad body, the other turn a real judgment: the run finishes with one
    API failure recorded (no RecursionError, no exit 1)."""
    with ReplayJudgeServer(lambda m: "[[6]]", faults=[_reply(UNDECODABLE[name])], lifetime_s=60) as server:
        options = JudgeOptions(judge_model="gpt-4", judge_base_url=server.base_url, answers_file=MT_ANSWERS,
                               concurrency=1, max_retries=0, progress=False)
        result = run_judge_benchmark("mt_bench", model=None, options=options, output_path=tmp_path,
                                     data_dir=FIXTURE_DATA, limit=1, force=False)
    assert result["failures"]["api"] == 1 and result["n"] >= 1
    judged = _lines(tmp_path / "tiny-model" / "mt_bench" / "model_judgment" / "gpt-4_single.jsonl")
    errors = [r["error"] for r in judged if "error" in r]
    assert len(errors) == 1 and errors[0].startswith("malformed response") and len(errors[0]) < 400


KEY = "sk-proj-straddling-the-cut-0123456789abcdefghij"


@pytest.mark.parametrize("message", [
    "x" * 170 + KEY,  # the key straddles the 200-character cut of the detail
    "x" * 170 + f"Authorization: Bearer {KEY}",
    "y" * 20 + KEY[:14] + " (the endpoint cut the key itself)",
    "z" * 190 + KEY[:12],
])
def test_a_key_is_scrubbed_before_the_detail_is_cut(message):
    body = json.dumps({"error": {"message": message}}).encode()
    with ReplayJudgeServer(lambda m: "[[6]]", faults=[_reply(body, status=400)], lifetime_s=60) as server:
        failure = _failure(server, key=KEY)
    assert failure.detail.startswith("HTTP 400")
    for cut in range(6, len(KEY) + 1):
        assert KEY[:cut] not in failure.detail, (cut, failure.detail)


def _logprob_reply(body: bytes, key: str = "k"):
    """complete_with_logprobs against an endpoint that sends `body`."""
    with ReplayJudgeServer(lambda m: "[[6]]", faults=[_reply(body)], lifetime_s=60) as server:
        client = _client(server, key=key)

        async def go():
            try:
                return await client.complete_with_logprobs([{"role": "user", "content": "q"}], top_logprobs=5)
            finally:
                await client.close()

        return asyncio.run(go())


def test_scrub_removes_every_long_prefix_of_the_key():
    text = f"a {KEY[:12]}, b {KEY[:20]}Q, c {KEY[:11]} d {KEY}"
    assert scrub_secrets(text, [KEY]) == f"a ***, b ***Q, c {KEY[:11]} d ***"


def test_a_key_echoed_in_the_reply_text_or_logprobs_is_not_kept():
    tokens = [{"token": KEY, "logprob": -0.1, "top_logprobs": [{"token": KEY[:13], "logprob": -0.1}]}]
    body = _completion(f"my key is {KEY[:16]}", {"content": tokens})
    reply = _logprob_reply(body, key=KEY)
    assert reply.text == "my key is ***"
    assert KEY[:12] not in json.dumps(reply.tokens)


def test_a_redirect_is_not_followed(tmp_path):
    """A 307 to another address (where the prompts and the key would go) is a counted failure, not retried."""
    with ReplayJudgeServer(lambda m: "[[6]]", lifetime_s=60) as elsewhere:
        target = elsewhere.base_url + "/chat/completions"
        with ReplayJudgeServer(lambda m: "[[6]]", faults=[_reply(b"", status=307, Location=target)],
                               lifetime_s=60) as server:
            failure = _failure(server, retries=3)
            assert len(server.requests) == 1
        assert elsewhere.requests == []
    assert failure.kind == "api" and "HTTP 307" in failure.detail and "redirects are not followed" in failure.detail


@pytest.mark.parametrize("value", ["nan", "-5", "inf", "1e309", "99999999999999999999", "Wed, 21 Oct 2099 07:28:00 GMT",
                                   "9" * 5000])
def test_a_hostile_retry_after_is_bounded(value):
    body = b'{"error": {"message": "slow down"}}'
    with ReplayJudgeServer(lambda m: "[[6]]", faults=[_reply(body, status=429, Retry_After=value)],
                           lifetime_s=60) as server:
        started = time.monotonic()
        reply, client = asyncio.run(_ask(server, retries=2))
    assert reply == "[[6]]" and client.retries == 1 and time.monotonic() - started < 5


@pytest.mark.parametrize("status", [204, 299, 101, 600, 999])
def test_odd_status_codes_are_counted_failures(status):
    with ReplayJudgeServer(lambda m: "[[6]]", faults=[_reply(b"{}", status=status)] * 3, lifetime_s=60) as server:
        failure = _failure(server, retries=2, timeout=3.0)
    assert failure.kind in ("api", "timeout")


def test_absurd_headers_are_counted_failures():
    faults = [_reply(_completion(), X_Filler="f" * 200_000), _reply(_completion(), Content_Length="9" * 5000),
              _reply(b'{"error": {"message": "x"}}', status=500, Content_Type="application/json; charset=rot13"),
              _reply(b'{"error": {"message": "x"}}', status=500, Content_Type="application/json; charset=utf-7")]
    with ReplayJudgeServer(lambda m: "[[6]]", faults=faults, lifetime_s=60) as server:
        for _ in faults:
            assert _failure(server).kind == "api"


def test_surrogates_and_non_finite_numbers_in_a_reply_are_cleaned():
    """A lone surrogate cannot be written as UTF-8 (the cache append would crash the run); NaN and
    1e400 are no JSON numbers a reader accepts: both are cleaned before anyone keeps the reply."""
    tokens = [{"token": "m", "logprob": float("nan"),
               "top_logprobs": [{"token": "M", "logprob": "BIG"}, {"token": "N", "logprob": float("-inf")}]}]
    body = _completion("Rating: [[7]] \ud800", {"content": tokens}).replace(b'"BIG"', b"1e400")
    assert b"NaN" in body and b"1e400" in body and b"-Infinity" in body
    reply = _logprob_reply(body)
    assert reply.text == "Rating: [[7]] ?"
    assert reply.tokens == [{"token": "m", "logprob": None, "top_logprobs": [{"token": "M", "logprob": None},
                                                                             {"token": "N", "logprob": None}]}]
    json.dumps(reply.tokens, allow_nan=False).encode("utf-8")  # writable as strict JSON


ARENA_ANSWERS = JUDGING_FIXTURES / "arena_hard" / "answers" / "gpt-4-0613.jsonl"


def _first_line_twice(source: Path, target: Path) -> Path:
    first = source.read_text(encoding="utf-8").splitlines()[0]
    target.write_text(source.read_text(encoding="utf-8") + first + "\n", encoding="utf-8")
    return target


def _huge_integer_line(source: Path, target: Path) -> Path:
    lines = source.read_text(encoding="utf-8").splitlines()
    lines[1] = lines[1][:-1] + ', "seed": ' + "7" * 4301 + "}"
    target.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return target


def _lone_surrogate(source: Path, target: Path) -> Path:
    text = source.read_text(encoding="utf-8")
    target.write_text(text.replace('"turns": ["', '"turns": ["\\ud800', 1), encoding="utf-8")
    return target


@pytest.mark.parametrize("benchmark,answers,damage,message", [
    ("mt_bench", MT_ANSWERS, _first_line_twice, "answer 5: duplicate question_id 81"),
    ("arena_hard", ARENA_ANSWERS, _first_line_twice, "duplicate question_id 1b0157a79499418ebe22a567f9059e7f"),
    ("mt_bench", MT_ANSWERS, _huge_integer_line, "line 2 holds an integer too long to read"),
    ("arena_hard", ARENA_ANSWERS, _huge_integer_line, "line 2 holds an integer too long to read"),
    ("mt_bench", MT_ANSWERS, _lone_surrogate, "line 1 holds text that is not valid Unicode"),
])
def test_a_bad_answers_file_is_one_line_and_exit_2(tmp_path, benchmark, answers, damage, message):
    bad = damage(answers, tmp_path / answers.name)
    with ReplayJudgeServer(lambda m: "[[6]]", lifetime_s=60) as server:
        completed = run_cli("run", "--tasks", benchmark, "--answers_file", str(bad), "--data_dir", str(FIXTURE_DATA),
                            "--judge_model", "gpt-4", "--judge_base_url", server.base_url,
                            "--output_path", str(tmp_path / "out"), env={"OPENAI_API_KEY": "sk-test"}, timeout=120)
        assert server.requests == []
    assert completed.returncode == 2, completed.stderr
    errors = [line for line in completed.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and message in errors[0] and "Traceback" not in completed.stderr, completed.stderr


def test_a_logickor_score_that_is_no_finite_number_is_no_score():
    settings = load_definition("logickor").settings
    assert parse_reply("평가: 좋다.\n점수: " + "9" * 400, settings) == ("좋다.", None)
    assert parse_reply("평가: 좋다.\n점수: 8", settings) == ("좋다.", 8.0)


@pytest.mark.parametrize("timeout", [0.0, -1.0, float("nan"), float("inf")])
def test_a_judge_timeout_that_is_no_deadline_is_bad_input(timeout):
    with pytest.raises(BadInputError, match="--judge_timeout"):
        JudgeOptions(timeout_s=timeout)


@pytest.mark.parametrize("body,ready", [
    (b'{"object": "list", "data": [{"id": "m"}]}', True),
    (b"[" * 100_000, False),
    (b'[{"data": []}]', False),
    (b'{"data": "x"}', False),
    (b'{"data": []}' + b" " * (1024 * 1024), False),
])
def test_the_embedded_servers_readiness_check_reads_bounded(body, ready):
    """The port was free a moment before llama.cpp bound it: whatever answers /v1/models is read bounded."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        server = EmbeddedJudgeServer(Path("unused.gguf"))
        server.port = httpd.server_address[1]
        assert server._lists_models() is ready
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.mark.parametrize("token", [["m"], {"m": 1}, 7, None])
def test_a_logprob_candidate_of_the_wrong_shape_is_no_candidate(token):
    settings = load_definition("alpaca_eval").settings
    tokens = [{"token": "m", "logprob": -0.1, "top_logprobs": [{"token": token, "logprob": -0.1},
                                                               {"token": settings.numerator_token, "logprob": -0.7}]}]
    value, problem = preference_of(tokens, settings)
    assert value is None or 1 <= value <= 2, problem


@pytest.mark.parametrize("raw", ["1" + "0" * 400, '"1' + "0" * 400 + '"', "1e400", "NaN"])
def test_a_checklist_score_that_is_no_finite_number_is_a_bad_score(raw):
    parsed = checklist_reply('{"strengths": "s", "score": ' + raw + "}", load_definition("wildbench").settings)
    assert parsed.score is None and parsed.status == CHECKLIST_BAD_SCORE


OFFICIAL_PATTERNS = {  # as upstream writes them (FastChat's, LogicKor's, and our earlier Korean form)
    ("mt_bench", 0): r"\[\[(\d+\.?\d*)\]\]",
    ("mt_bench", 1): r"\[(\d+\.?\d*)\]",
    ("komt_bench", 3): r"(?:점수|평가|평점)\s*[:：]\s*\[{0,2}\s*(\d+(?:\.\d+)?)",
    ("logickor", "message"): r"평가:(.*?)점수:",
}


def _declared_pattern(benchmark: str, which) -> re.Pattern:
    settings = load_definition(benchmark).settings
    return settings.message_pattern if which == "message" else settings.rating_patterns[which]


@pytest.mark.parametrize("benchmark,which", sorted(OFFICIAL_PATTERNS, key=str))
def test_reply_patterns_match_as_upstream_in_linear_time(benchmark, which):
    """The declared patterns find what upstream's find (fuzzed replies), and a hostile reply that
    takes upstream's pattern quadratic time (16 s to a minute at 20,000 repeats) takes ours milliseconds."""
    ours = _declared_pattern(benchmark, which)
    official = re.compile(OFFICIAL_PATTERNS[(benchmark, which)], ours.flags)
    rng = random.Random(15)
    alphabet = ["[", "]", "[[", "]]", "1", "7", "10", ".", " ", "\n", "점수", "평가", "평점", ":", "：", "점", "x"]
    for _ in range(20_000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 14)))
        expected, found = official.search(text), ours.search(text)
        assert (expected and expected.group(1)) == (found and found.group(1)), text
    for hostile in ("[[" + "9" * 200_000, "[" + "9" * 200_000, "점수:" + " " * 200_000, "평가:" * 50_000):
        started = time.perf_counter()
        ours.search(hostile)
        assert time.perf_counter() - started < 0.5
