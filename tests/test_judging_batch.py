"""`--judge_mode batch`: every judged format gives, through the Batch API of a loopback server
(tests/batch_server.py), the judgment files and results an online run gives over the same replies; a run
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

from batch_server import BatchJudgeServer
from evalsuite.judging.batch import BatchJudgeClient, BatchSettings
from evalsuite.judging.batch_ledger import BatchLedger
from evalsuite.judging.client import JudgeCallFailed, JudgeClient, RetryPolicy
from evalsuite.judging.options import JudgeOptions
from evalsuite.judging.runner import run_judge_benchmark
from evalsuite.results.schema import validate_result
from replay_server import replay_responder

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "data"
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
    from test_judging_arena_hard import ANSWERS, JUDGE, _replayer  # the golden judge calls' replayer

    return _replayer(), ANSWERS, {"judge_model": JUDGE}


def _alpaca_eval():
    from test_judging_alpaca_eval import ANSWERS, _responder

    return _responder(), ANSWERS, {}


def _wildbench():
    from test_judging_checklist_score import ANSWERS, _official_replies

    return replay_responder(_official_replies()), ANSWERS, {}


CASES = {"mt_bench": _mt_bench, "komt_bench": _komt_bench, "logickor": _logickor, "arena_hard": _arena_hard,
         "alpaca_eval": _alpaca_eval, "wildbench": _wildbench}


def _run(benchmark: str, server, answers: Path, out: Path, **options) -> dict:
    limit = options.pop("limit", None)
    judge = JudgeOptions(judge_base_url=server.base_url, answers_file=answers, progress=False,
                         **{**FAST, **options})
    return run_judge_benchmark(benchmark, model=None, options=judge, output_path=out, data_dir=FIXTURES,
                               limit=limit, force=False)


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
    assert batch["provenance"]["judge"]["usage"]["prompt_tokens"] == online["provenance"]["judge"]["usage"]["prompt_tokens"] > 0
    for path in (tmp_path / "batch").rglob("*"):
        assert not path.is_file() or SECRET.encode() not in path.read_bytes(), path
