"""`--judge_mode batch`: every judged format gives, through the Batch API of a loopback server
(tests/support/batch_server.py), the judgment files and results an online run gives over the same replies; a run
killed mid-poll re-attaches without paying twice; expired, cancelled, failed and partial batches are
retried or counted as online failures are; the API's limits split batches; the cost is recorded."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.batch_server import BatchJudgeServer
from evalsuite.judging.batch import BatchJudgeClient, BatchSettings
from evalsuite.judging.batch_ledger import BatchLedger
from evalsuite.judging.client import JudgeCallFailed, JudgeClient, RetryPolicy
from evalsuite.judging.options import JudgeOptions
from evalsuite.judging.benchmark import run_judge_benchmark
from evalsuite.results.schema import validate_result
from evalsuite.results.samples import read_samples
from evalsuite.errors import EvalsuiteError
from evalsuite.judging.usage import usage_record
from tests.support.replay_server import replay_responder

from tests.conftest import FIXTURE_DATA as FIXTURES, REPO as ROOT
JUDGING = ROOT / "tests" / "fixtures" / "judging"
SECRET = "sk-test-secret-never-written-0123456789"
FAST = {"backoff_base_s": 0.01, "backoff_cap_s": 0.02, "batch_poll_s": 0.01, "batch_poll_cap_s": 0.02}


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8-sig").splitlines() if line.strip()]


def _mt_bench():
    rows = _rows(JUDGING / "mt_bench_tiny-model_gpt-4_single.jsonl")
    return replay_responder(rows), FIXTURES / "mt_bench" / "model_answer" / "tiny-model.jsonl", {
        "judge_model": "gpt-4", "reasks": 1}


def _komt_bench():
    rows = _rows(JUDGING / "komt_bench_tiny-ko-model_gpt-4_single.jsonl")
    return replay_responder(rows), FIXTURES / "komt_bench" / "model_answer" / "tiny-ko-model.jsonl", {
        "judge_model": "gpt-4"}


def _logickor():
    published = _rows(JUDGING / "logickor" / "generated" / "Qwen2-7B-Instruct" / "default.jsonl")
    scores = {(f"**Question**\n{row['questions'][0]}\n\n", turn): row[key]["judge_score"]
              for row in published for turn, key in ((1, "query_single"), (2, "query_multi"))}

    def respond(messages):  # the second turn of the first question has no score: LogicKor asks again
        user = messages[-1]["content"]
        turn = 2 if "**Follow-up Question.**" in user else 1
        found = [score for (question, t), score in scores.items() if t == turn and question in user]
        if turn == 2 and published[0]["questions"][0] in user:
            return "no score here"
        return f"**평가:** 재생된 판정\n**점수:** {found[0]:g}" if len(found) == 1 else "no score here"

    return respond, JUDGING / "logickor" / "generated" / "Qwen2-7B-Instruct" / "default.jsonl", {}


def _arena_hard():
    from tests.judging.test_arena_hard import ANSWERS, JUDGE, _replayer  # the golden judge calls' replayer

    return _replayer(), ANSWERS, {"judge_model": JUDGE}


def _alpaca_eval():
    from tests.judging.test_alpaca_eval import ANSWERS, _responder

    return _responder(), ANSWERS, {}


def _wildbench():
    from tests.judging.test_checklist_score import ANSWERS, _official_replies

    return replay_responder(_official_replies()), ANSWERS, {}


CASES = {"mt_bench": _mt_bench, "komt_bench": _komt_bench, "logickor": _logickor, "arena_hard": _arena_hard,
         "alpaca_eval": _alpaca_eval, "wildbench": _wildbench}


def _run(benchmark: str, server, answers: Path, out: Path, force: bool = False, **options) -> dict:
    judge = JudgeOptions(judge_base_url=server.base_url, answers_file=answers, progress=False,
                         **{**FAST, **options})
    return run_judge_benchmark(benchmark, model=None, options=judge, output_path=out, data_dir=FIXTURES,
                               limit=None, force=force)


def _files(out: Path) -> dict[str, bytes]:
    """Every file a run wrote but its caches, ledger, lock and result (the judgment files, answers, samples),
    with the wall-clock time FastChat's judgment rows carry (`tstamp`: two online runs differ there too)."""
    kept = {}
    for path in sorted(out.rglob("*")):
        parts = path.relative_to(out).parts
        if path.is_file() and not {"cache", "batches"} & set(parts) and path.name != ".lock" and not (
                len(parts) == 2 and path.suffix == ".json"):
            kept["/".join(parts)] = re.sub(rb'"tstamp": [0-9.e+]+', b'"tstamp": T', path.read_bytes())
    return kept


def _comparable(result: dict) -> dict:
    """A result without what differs between two runs by design: provenance, and the mode it records."""
    judge = {k: v for k, v in result["protocol"]["judge"].items() if k != "mode"}
    return {**result, "provenance": None, "protocol": {**result["protocol"], "judge": judge}}


@pytest.mark.parametrize("benchmark", sorted(CASES))
def test_batch_and_online_runs_write_the_same_bytes(benchmark, tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    responder, answers, options = CASES[benchmark]()
    with BatchJudgeServer(responder, lifetime_s=120) as server:
        online = _run(benchmark, server, answers, tmp_path / "online", **options)
        online_bodies = [r["payload"] for r in server.requests]
        batch = _run(benchmark, server, answers, tmp_path / "batch", mode="batch", **options)
        batch_bodies = [line["body"] for line in server.batch_lines]
        assert len(server.requests) == len(online_bodies)  # the batch run sent no online request
    # each request body is the online one, byte for byte (keys in the same order)
    assert sorted(json.dumps(b, ensure_ascii=False) for b in batch_bodies) == \
        sorted(json.dumps(b, ensure_ascii=False) for b in online_bodies)
    assert server.creates >= 1 and server.creates == server.uploads
    online_files, batch_files = _files(tmp_path / "online"), _files(tmp_path / "batch")
    assert online_files.keys() == batch_files.keys() and len(online_files) >= 3  # judgments, answers, samples
    for name, data in online_files.items():
        assert batch_files[name] == data, name
    assert validate_result(batch) == []
    assert _comparable(batch) == _comparable(online)
    assert batch["protocol"]["judge"]["mode"] == "batch" and "mode" not in online["protocol"]["judge"]
    assert batch["provenance"]["judge"]["mode"] == "batch" and online["provenance"]["judge"]["mode"] == "online"
    # the tokens each call used, from the replies' usage, and their cost: the Batch API's is half
    used, paid = batch["provenance"]["judge"]["usage"], online["provenance"]["judge"]["usage"]
    assert used["prompt_tokens"] == paid["prompt_tokens"] > 0 and used["completion_tokens"] == paid["completion_tokens"]
    assert used["calls_with_usage"] == paid["calls_with_usage"] == len(online_bodies)
    assert used["cost_usd"] == pytest.approx(paid["cost_usd"] / 2, abs=2e-6) and paid["cost_usd"] > 0
    if benchmark in ("arena_hard", "logickor", "mt_bench"):  # a second step: a batch of only what needs it
        sizes = [len(b["lines"]) for b in server.batches.values()]
        assert len(sizes) >= 2 and sizes[1] < sizes[0], sizes
    for path in (tmp_path / "batch").rglob("*"):
        assert not path.is_file() or SECRET.encode() not in path.read_bytes(), path


def _client(server, folder: Path, **settings) -> BatchJudgeClient:
    retries = settings.pop("max_retries", 2)
    return BatchJudgeClient("judge-x", base_url=server.base_url, api_key=SECRET, temperature=0.0, max_tokens=64,
                            timeout_s=10, retry=RetryPolicy(retries, 0.01, 0.02), ledger_folder=folder,
                            settings=BatchSettings(**{"poll_s": 0.01, "poll_cap_s": 0.02, **settings}))


def _echo(messages):
    return f"reply to {messages[-1]['content']}"


def test_each_step_is_one_batch_of_the_coroutines_that_need_it(tmp_path):
    """Coroutine k asks k+1 questions in a row: the rounds are batches of 5, 4, 3, 2 and 1 lines, and
    each body is the online client's body for the same call."""

    async def main(server):
        client = _client(server, tmp_path)
        online = JudgeClient("judge-x", base_url=server.base_url, api_key=SECRET, concurrency=1, temperature=0.0,
                             max_tokens=64, timeout_s=10, retry=RetryPolicy(0))

        async def chain(k):
            replies = []
            for step in range(k + 1):
                messages = [{"role": "user", "content": f"q{k}.{step}"}]
                replies.append(await client.complete(messages, reask=step > 0))
                await asyncio.sleep(0.01 * k)  # some work between two steps (a cache write)
            return replies

        try:
            got = await asyncio.gather(*(chain(k) for k in range(5)))
            assert await online.complete([{"role": "user", "content": "q0.0"}]) == got[0][0]
        finally:
            await client.close()
            await online.close()
        return got, client

    with BatchJudgeServer(_echo, lifetime_s=60) as server:
        got, client = asyncio.run(main(server))
        sizes = [len(b["lines"]) for b in server.batches.values()]
        assert json.dumps(server.requests[0]["payload"]) == json.dumps(server.batch_lines[0]["body"])
    assert got == [[f"reply to q{k}.{s}" for s in range(k + 1)] for k in range(5)]
    assert sizes == [5, 4, 3, 2, 1] and client.calls == 15 and client.batches_created == 5
    assert client.usage.calls == 15 and client.usage.completion_tokens > 0


def test_limits_split_a_round_into_several_batches(tmp_path):
    async def ask(server, **settings):
        client = _client(server, tmp_path / str(settings), **settings)
        try:
            return await asyncio.gather(*(client.complete([{"role": "user", "content": f"q{i:02d}" + "x" * 300}])
                                          for i in range(10)))
        finally:
            await client.close()

    with BatchJudgeServer(_echo, lifetime_s=60) as server:
        assert len(asyncio.run(ask(server, max_requests=4))) == 10
        assert [len(b["lines"]) for b in server.batches.values()] == [4, 4, 2]
        asyncio.run(ask(server, max_bytes=1500))  # about 430 bytes a line: three lines a file
        sizes = [len(b["lines"]) for b in list(server.batches.values())[3:]]
        files = [server.files[b["object"]["input_file_id"]]["object"]["bytes"] for b in list(server.batches.values())[3:]]
    assert sizes == [3, 3, 3, 1] and max(files) <= 1500


def test_expired_cancelled_and_failed_batches_are_retried_then_counted(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    responder, answers, options = _mt_bench()
    options["reasks"] = 0
    with BatchJudgeServer(responder, lifetime_s=60) as server:
        reference = _run("mt_bench", server, answers, tmp_path / "online", **options)
    # expired after 3 lines: the other 5 go into the next batch; a failed and a cancelled batch are sent again
    with BatchJudgeServer(responder, batch_faults=["expire", "fail", "cancel"], expire_after=3, lifetime_s=60) as server:
        result = _run("mt_bench", server, answers, tmp_path / "retried", mode="batch", **options)
        assert [len(b["lines"]) for b in server.batches.values()] == [8, 5, 5, 5]
        assert [b["object"]["status"] for b in server.batches.values()] == ["expired", "failed", "cancelled",
                                                                             "completed"]
    assert result["failures"] == reference["failures"] and result["score"] == reference["score"]
    assert result["provenance"]["judge"]["retries"] == 15 and result["provenance"]["judge"]["calls"] == 23
    # without retries they are counted as online failures are: an expired batch's lines are timeouts
    with BatchJudgeServer(responder, batch_faults=["expire"], expire_after=3, lifetime_s=60) as server:
        counted = _run("mt_bench", server, answers, tmp_path / "counted", mode="batch", max_retries=0, **options)
        assert server.creates == 1
    assert counted["failures"]["timeout"] == 5 and counted["failures"]["api"] == 0
    samples = _rows(tmp_path / "counted" / "tiny-model" / "samples" / "mt_bench.jsonl")
    assert sum(s["status"] == "timeout" for s in samples) == 5
    # a rerun judges the failed items again in a new batch, reusing nothing that failed
    with BatchJudgeServer(responder, batch_faults=["cancel"], lifetime_s=60) as server:
        cancelled = _run("mt_bench", server, answers, tmp_path / "counted", mode="batch", max_retries=0, **options)
        assert [len(b["lines"]) for b in server.batches.values()] == [5]
    assert cancelled["failures"] == {"parse": 0, "api": 5, "timeout": 0}  # (the parse failure is among the 5)
    with BatchJudgeServer(responder, lifetime_s=60) as server:
        final = _run("mt_bench", server, answers, tmp_path / "counted", mode="batch", max_retries=0, **options)
        assert [len(b["lines"]) for b in server.batches.values()] == [5]
    assert _comparable(final)["failures"] == reference["failures"] and final["score"] == reference["score"]


def test_per_line_errors_and_missing_lines_as_online_failures(tmp_path):
    """A 500 line and a line missing from the output are retried in the next round; a 400 is not (as
    online); a 401 stops the run (the key is refused)."""
    seen: dict[str, int] = {}

    def fault(body):
        text = body["messages"][-1]["content"]
        seen[text] = seen.get(text, 0) + 1
        if text == "bad":
            return 400
        if text == "refused":
            return 401
        return {"flaky": 500, "lost": "missing"}.get(text) if seen[text] == 1 else None

    async def ask(server, texts, folder):
        client = _client(server, folder)
        try:
            return await asyncio.gather(*(client.complete([{"role": "user", "content": t}]) for t in texts),
                                        return_exceptions=True)
        finally:
            await client.close()

    with BatchJudgeServer(_echo, line_fault=fault, lifetime_s=60) as server:
        ok, flaky, lost, bad = asyncio.run(ask(server, ["ok", "flaky", "lost", "bad"], tmp_path / "a"))
        assert [len(b["lines"]) for b in server.batches.values()] == [4, 2]
        refused = asyncio.run(ask(server, ["refused"], tmp_path / "b"))[0]
    assert (ok, flaky, lost) == ("reply to ok", "reply to flaky", "reply to lost")
    assert isinstance(bad, JudgeCallFailed) and bad.kind == "api" and bad.detail.startswith("HTTP 400")
    from evalsuite.judging.client import JudgeEndpointRefused

    assert isinstance(refused, JudgeEndpointRefused) and "401" in str(refused)


def test_kill_9_mid_poll_reattaches_without_a_second_create(tmp_path, monkeypatch):
    """A run killed while it waits on its batch: the rerun polls the same batch (no new upload nor create)
    and writes what an online run writes."""
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    responder, answers, options = _mt_bench()
    options["reasks"] = 0
    out = tmp_path / "out"
    ledger = out / "tiny-model" / "mt_bench" / "batches" / "ledger.jsonl"
    with BatchJudgeServer(responder, hold=True, lifetime_s=120) as server:
        child = subprocess.Popen(
            [sys.executable, str(ROOT / "run_eval.py"), "run", "--tasks", "mt_bench", "--answers_file", str(answers),
             "--data_dir", str(FIXTURES), "--judge_base_url", server.base_url, "--judge_model", "gpt-4",
             "--judge_mode", "batch", "--output_path", str(out)],
            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.time() + 90
        while time.time() < deadline and not (ledger.is_file() and '"created"' in ledger.read_text(encoding="utf-8")):
            assert child.poll() is None, child.stderr.read().decode()
            time.sleep(0.05)
        time.sleep(0.3)  # it is polling now
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
        assert server.creates == 1 and server.uploads == 1
        (batch_id,) = BatchLedger.open(ledger.parent).batches
        server.release()
        result = _run("mt_bench", server, answers, out, mode="batch", **options)
        assert server.creates == 1 and server.uploads == 1 and not server.requests  # re-attached, paid once
        online = _run("mt_bench", server, answers, tmp_path / "online", **options)
    assert BatchLedger.open(ledger.parent).batches[batch_id].status == "completed"
    assert _comparable(result) == _comparable(online)
    assert _files(out) == _files(tmp_path / "online")


def test_replies_read_back_but_not_yet_judged_are_used_not_bought_again(tmp_path, monkeypatch):
    """The window between saving a batch's replies and writing the judgments (a kill there): the rerun
    takes the saved replies; a reply already handed to a judgment is never handed to another."""
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    responder, answers, options = _mt_bench()
    options["reasks"] = 0
    out = tmp_path / "out"
    bench = out / "tiny-model" / "mt_bench"
    with BatchJudgeServer(responder, lifetime_s=60) as server:
        first = _run("mt_bench", server, answers, out, mode="batch", **options)
        ledger = bench / "batches" / "ledger.jsonl"
        events = _rows(ledger)
        assert [e["event"] for e in events] == ["uploaded", "created", "finished", "consumed"]
        ledger.write_text("".join(json.dumps(e) + "\n" for e in events[:3]), encoding="utf-8")  # not consumed
        (bench / "cache" / "judgments.jsonl").unlink()  # nor judged
        again = _run("mt_bench", server, answers, out, mode="batch", force=True, **options)
        assert server.creates == 1 and not server.requests
        # now every saved reply is consumed: judging again (forced) buys new ones
        third = _run("mt_bench", server, answers, out, mode="batch", force=True, **options)
        assert server.creates == 2
    assert _comparable(again) == _comparable(first) == _comparable(third)


def test_judge_estimate_prints_online_and_batch_dollars(tmp_path, monkeypatch, capsys):
    from evalsuite.cli import main

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    capsys.readouterr()
    answers = FIXTURES / "mt_bench" / "model_answer" / "tiny-model.jsonl"
    assert main(["run", "--tasks", "mt_bench", "--answers_file", str(answers), "--data_dir", str(FIXTURES),
                 "--output_path", str(tmp_path), "--judge_estimate"]) == 0
    line = next(l for l in capsys.readouterr().out.splitlines() if l.startswith("mt_bench"))
    found = re.search(r"\$([\d.,]+) \(\$([\d.,]+)\) online, \$([\d.,]+) \(\$([\d.,]+)\) batch", line)
    assert found, line
    online, online_max, batch, batch_max = (float(g.replace(",", "")) for g in found.groups())
    assert batch == pytest.approx(online / 2, abs=0.01) and batch_max == pytest.approx(online_max / 2, abs=0.01)


def test_a_price_table_may_list_batch_prices(tmp_path):
    from evalsuite.judging.prices import load_prices

    table = tmp_path / "prices.yaml"
    table.write_text("as_of: '2025-01-01'\nper_million_tokens: {judge-a: [10, 20], judge-b: [4, 8]}\n"
                     "batch_per_million_tokens: {judge-a: [3, 6]}\n", encoding="utf-8")
    prices = load_prices(table)
    assert prices.price("judge-a", batch=True) == (3, 6) and prices.price("judge-b", batch=True) == (2, 4)
    assert prices.price("judge-a") == (10, 20) and prices.price("judge-c", batch=True) is None


def test_a_batch_created_but_not_recorded_is_found_from_its_upload(tmp_path):
    """Killed between creating the batch and recording it: the ledger has the upload, the rerun finds
    the batch made from it (GET /v1/batches) and waits on it instead of submitting again."""
    import openai

    with BatchJudgeServer(_echo, lifetime_s=60) as server:
        client = _client(server, tmp_path)
        messages = [{"role": "user", "content": "q"}]
        body = client.request_body(messages, None, False)
        line = json.dumps({"custom_id": "req-0", "method": "POST", "url": "/v1/chat/completions", "body": body})
        api = openai.OpenAI(base_url=server.base_url, api_key=SECRET)
        uploaded = api.files.create(file=("in.jsonl", line.encode() + b"\n"), purpose="batch")
        api.batches.create(input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h")
        from evalsuite.judging.batch_ledger import request_hash

        BatchLedger.open(tmp_path).uploaded(uploaded.id, {"req-0": request_hash(body)})

        async def ask():
            rerun = _client(server, tmp_path)
            try:
                return await rerun.complete(messages)
            finally:
                await rerun.close()

        assert asyncio.run(ask()) == "reply to q"
        assert server.creates == 1 and server.uploads == 1
    ledger = BatchLedger.open(tmp_path)
    assert not ledger.uploads and [b.status for b in ledger.batches.values()] == ["completed"]
    asyncio.run(client.close())


@pytest.mark.parametrize("options,message", [
    ({"mode": "bulk"}, "--judge_mode must be"),
    ({"mode": "batch", "judge_model": "embedded"}, "the embedded judge has none"),
    ({"batch_max_requests": 0}, "--judge_batch_max_requests"),
    ({"batch_max_bytes": 10}, "--judge_batch_max_bytes"),
])
def test_bad_batch_options_are_one_line_errors(options, message):
    from evalsuite.errors import BadInputError

    with pytest.raises(BadInputError, match=message):
        JudgeOptions(**options)


def test_what_is_read_back_is_bounded_and_scrubbed_as_online(tmp_path):
    """The key in a reply or an error line never reaches a file (ledger included); a line longer than a
    reply's cap is refused, retried, then counted."""
    def respond(messages):
        text = messages[-1]["content"]
        return "x" * 200_000 if text == "huge" else f"reply with {SECRET} and Bearer {SECRET[:14]}"

    def fault(body):
        return (400, f"bad request with key {SECRET} (Authorization: Bearer {SECRET})") \
            if body["messages"][-1]["content"] == "echo" else None

    async def ask(server):
        client = BatchJudgeClient("judge-x", base_url=server.base_url, api_key=SECRET, temperature=0.0,
                                  max_tokens=64, timeout_s=10, retry=RetryPolicy(1, 0.01, 0.02),
                                  ledger_folder=tmp_path, settings=BatchSettings(poll_s=0.01, poll_cap_s=0.02),
                                  max_reply_bytes=1000)
        try:
            return await asyncio.gather(*(client.complete([{"role": "user", "content": t}])
                                          for t in ("ok", "echo", "huge")), return_exceptions=True)
        finally:
            await client.close()

    with BatchJudgeServer(respond, line_fault=fault, lifetime_s=60) as server:
        ok, echo, huge = asyncio.run(ask(server))
        assert server.creates == 2  # the huge reply's line asked once more
    assert SECRET not in ok and SECRET[:12] not in ok and ok.startswith("reply with ***")
    assert isinstance(echo, JudgeCallFailed) and SECRET[:12] not in echo.detail and "HTTP 400" in echo.detail
    assert isinstance(huge, JudgeCallFailed) and huge.kind == "api" and "missing" in huge.detail
    for path in tmp_path.rglob("*"):
        assert SECRET[:12].encode() not in path.read_bytes(), path


def test_a_cancelled_coroutine_leaves_its_reply_for_a_rerun(tmp_path):
    async def main(server):
        client = _client(server, tmp_path)
        try:
            keep = asyncio.ensure_future(client.complete([{"role": "user", "content": "kept"}]))
            drop = asyncio.ensure_future(client.complete([{"role": "user", "content": "dropped"}]))
            for _ in range(1000):  # until both are in a created batch (not a fixed sleep: a busy machine)
                if sum(len(batch["lines"]) for batch in server.batches.values()) >= 2:
                    break
                await asyncio.sleep(0.01)
            drop.cancel()
            return await keep
        finally:
            await client.close()

    async def rerun(server):
        client = _client(server, tmp_path)
        try:
            return await client.complete([{"role": "user", "content": "dropped"}])
        finally:
            await client.close()

    with BatchJudgeServer(_echo, lifetime_s=60) as server:
        assert asyncio.run(main(server)) == "reply to kept"
        assert asyncio.run(rerun(server)) == "reply to dropped" and server.creates == 1


def test_the_loopback_server_speaks_the_documented_shapes(tmp_path):
    """tests/support/batch_server.py's objects validate as the openai package's own types (strictly), through every
    status; its output lines are the documented {id, custom_id, response: {status_code, request_id, body},
    error} and its error lines carry {code, message}."""
    import openai
    from openai.types import Batch, FileObject

    def fault(body):
        return 500 if body["messages"][-1]["content"] == "b" else None

    with BatchJudgeServer(_echo, line_fault=fault, lifetime_s=60) as server:
        api = openai.OpenAI(base_url=server.base_url, api_key=SECRET)
        lines = [{"custom_id": c, "method": "POST", "url": "/v1/chat/completions",
                  "body": {"model": "m", "messages": [{"role": "user", "content": c}]}} for c in "ab"]
        data = "".join(json.dumps(line) + "\n" for line in lines).encode()
        uploaded = api.files.create(file=("in.jsonl", data), purpose="batch")
        FileObject.model_validate(server.files[uploaded.id]["object"], strict=True)
        created = api.batches.create(input_file_id=uploaded.id, endpoint="/v1/chat/completions",
                                     completion_window="24h")
        statuses = [created.status]
        while statuses[-1] != "completed":
            raw = api.batches.with_raw_response.retrieve(created.id)
            Batch.model_validate(json.loads(raw.content), strict=True)
            statuses.append(raw.parse().status)
        batch = api.batches.retrieve(created.id)
        output = [json.loads(line) for line in api.files.content(batch.output_file_id).text.splitlines()]
        errors = [json.loads(line) for line in api.files.content(batch.error_file_id).text.splitlines()]
        listed = api.batches.list()
        cancelled = api.batches.cancel(api.batches.create(input_file_id=uploaded.id, endpoint="/v1/chat/completions",
                                                          completion_window="24h").id)
        after = api.batches.retrieve(cancelled.id)
    assert statuses == ["validating", "in_progress", "finalizing", "completed"]
    assert (batch.request_counts.total, batch.request_counts.completed, batch.request_counts.failed) == (2, 1, 1)
    assert [set(line) for line in output + errors] == [{"id", "custom_id", "response", "error"}] * 2
    assert output[0]["custom_id"] == "a" and output[0]["response"]["status_code"] == 200
    assert output[0]["response"]["body"]["choices"][0]["message"]["content"] == "reply to a"
    assert errors[0]["custom_id"] == "b" and errors[0]["response"]["status_code"] == 500
    assert [b.id for b in listed.data][-1] == created.id
    assert (cancelled.status, after.status) == ("cancelling", "cancelled")


def test_the_tokens_of_every_call_are_kept_per_judgment_and_add_up_across_runs(tmp_path, monkeypatch):
    """Each judgment's calls report their tokens (the API's `usage`): kept per judgment in the cache,
    shown with the call in the samples, and summed and priced in the result, failed judgments and a later
    run's re-asks of the same judgment included (both were paid), online and batch priced apart."""
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    answers = FIXTURES / "mt_bench" / "model_answer" / "tiny-model.jsonl"
    with BatchJudgeServer(lambda messages: "No rating in this reply.", lifetime_s=120) as server:
        with pytest.raises(EvalsuiteError, match="8 parse failures"):  # no rating anywhere: no score, paid
            _run("mt_bench", server, answers, tmp_path, judge_model="gpt-4")
        prompts = [sum(len(m["content"]) for m in r["payload"]["messages"]) // 4 for r in server.requests]
        assert len(prompts) == 8
        usage_rows = _rows(tmp_path / "tiny-model" / "mt_bench" / "cache" / "judge_usage.jsonl")
        assert sorted(r["prompt_tokens"] for r in usage_rows) == sorted(prompts)
        assert all(r["by_mode"] == {"online": {k: r[k] for k in ("calls", "prompt_tokens", "completion_tokens")}}
                   for r in usage_rows)
        # a rerun asking again (one re-ask) in batch mode: the same judgments, paid again, at the batch price
        with pytest.raises(EvalsuiteError, match="8 parse failures"):
            _run("mt_bench", server, answers, tmp_path, judge_model="gpt-4", reasks=1, mode="batch")
    usage_rows = _rows(tmp_path / "tiny-model" / "mt_bench" / "cache" / "judge_usage.jsonl")
    latest = {tuple(r[k] for k in ("question_id", "turn")): r for r in usage_rows}
    assert len(latest) == 8 and all(r["calls"] == 3 and set(r["by_mode"]) == {"online", "batch"}
                                    for r in latest.values())
    record = usage_record(list(latest.values()), "gpt-4")
    online = sum(r["by_mode"]["online"]["prompt_tokens"] * 30 + r["by_mode"]["online"]["completion_tokens"] * 60
                 for r in latest.values()) / 1e6
    batch = sum(r["by_mode"]["batch"]["prompt_tokens"] * 15 + r["by_mode"]["batch"]["completion_tokens"] * 30
                for r in latest.values()) / 1e6
    assert record["calls_with_usage"] == 24 and record["cost_usd"] == pytest.approx(online + batch, abs=1e-6)


def test_a_result_and_its_samples_carry_the_tokens_of_its_judgments(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    responder, answers, options = _mt_bench()
    with BatchJudgeServer(responder, lifetime_s=120) as server:
        result = _run("mt_bench", server, answers, tmp_path, **options)
        prompts = [sum(len(m["content"]) for m in r["payload"]["messages"]) // 4 for r in server.requests]
    used = result["provenance"]["judge"]["usage"]
    assert used["calls_with_usage"] == len(prompts) and used["prompt_tokens"] == sum(prompts) > 0
    assert used["cost_usd"] == pytest.approx((used["prompt_tokens"] * 30 + used["completion_tokens"] * 60) / 1e6)
    calls = [call for row in read_samples(tmp_path / "tiny-model" / "samples" / "mt_bench.jsonl")
             for call in row["judge"]]
    assert sum(call["usage"]["prompt_tokens"] for call in calls) == used["prompt_tokens"]
    assert all(call["usage"]["calls"] == 1 + call["reasks"] for call in calls)


def test_a_batch_file_dripped_a_byte_at_a_time_is_a_counted_timeout(tmp_path):
    """An endpoint that sends an output file one byte at a time (each within the read timeout) does not
    hold the run: past the request timeout a download must keep a minimum average rate."""
    async def main(server):
        client = _client(server, tmp_path, max_retries=0)
        client.timeout_s = 1.0
        try:
            return await client.complete([{"role": "user", "content": "slow"}])
        finally:
            await client.close()

    with BatchJudgeServer(_echo, lifetime_s=60) as server:
        server.content_drip_s = 0.2
        started = time.monotonic()
        with pytest.raises(JudgeCallFailed) as failed:
            asyncio.run(main(server))
    assert failed.value.kind == "timeout" and time.monotonic() - started < 15
