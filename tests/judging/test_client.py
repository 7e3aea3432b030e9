"""The async judge client against a loopback server: retries on 429/500/timeouts/garbage/drops, re-asks."""

import asyncio
import time

import pytest

from tests.support.replay_server import ReplayJudgeServer

from evalsuite.judging.core import JudgeRun, judge_one
from evalsuite.judging.client import (
    JUDGMENT_KEY, JudgeCallFailed, JudgeClient, JudgeEndpointRefused, JudgeTask, RenderedPrompt,
    RetryPolicy, judge_all,
)
from evalsuite.judging.definitions import load_definition
from evalsuite.judging.formats.fastchat_single import FORMAT, STATUS_OK, STATUS_PARSE
from evalsuite.results.store import JsonlCache

MESSAGES = [{"role": "system", "content": "sys"}, {"role": "user", "content": "grade this"}]


def _client(server, *, retries=4, timeout=5.0, concurrency=4):
    return JudgeClient("judge-x", base_url=server.base_url, api_key="k", concurrency=concurrency,
                       temperature=0.0, max_tokens=64, timeout_s=timeout,
                       retry=RetryPolicy(max_retries=retries, base_s=0.01, cap_s=0.05))


def _run(definition, reasks=0):
    return JudgeRun(definition, None, [], {}, "m", "judge-x", reasks=reasks)


async def _complete(server, **kwargs):
    client = _client(server, **kwargs)
    try:
        return await client.complete(MESSAGES), client
    finally:
        await client.close()


@pytest.mark.parametrize("faults", [["429"], ["500"], ["garbage"], ["drop"], ["429", "500", "garbage", "429"]])
def test_retries_then_succeeds(faults):
    with ReplayJudgeServer(lambda m: "Rating: [[7]]", faults=faults, lifetime_s=60) as server:
        reply, client = asyncio.run(_complete(server))
    assert reply == "Rating: [[7]]"
    assert client.retries == len(faults) and len(server.requests) == len(faults) + 1
    assert server.requests[0]["messages"] == MESSAGES


def test_timeout_is_retried():
    with ReplayJudgeServer(lambda m: "[[6]]", faults=["timeout"], timeout_sleep_s=1.5, lifetime_s=60) as server:
        reply, client = asyncio.run(_complete(server, timeout=0.5))
    assert reply == "[[6]]" and client.retries == 1


def test_retry_cap_gives_a_counted_failure():
    with ReplayJudgeServer(lambda m: "[[6]]", faults=["500"] * 5, lifetime_s=60) as server:
        with pytest.raises(JudgeCallFailed) as info:
            asyncio.run(_complete(server, retries=2))
    assert info.value.kind == "api" and "HTTP 500" in info.value.detail and len(server.requests) == 3
    with ReplayJudgeServer(lambda m: "[[6]]", faults=["timeout"] * 3, timeout_sleep_s=1.0, lifetime_s=60) as server:
        with pytest.raises(JudgeCallFailed) as info:
            asyncio.run(_complete(server, retries=1, timeout=0.3))
    assert info.value.kind == "timeout"


def test_refused_endpoint_stops_the_run():
    with ReplayJudgeServer(lambda m: "[[6]]", faults=["401"], lifetime_s=60) as server:
        with pytest.raises(JudgeEndpointRefused, match="401"):
            asyncio.run(_complete(server))
        assert len(server.requests) == 1


def test_backoff_grows_and_is_jittered():
    policy = RetryPolicy(max_retries=5, base_s=1.0, cap_s=8.0)
    delays = [policy.delay(a) for a in range(6)]
    assert all(0.5 * min(8, 2 ** a) <= d <= min(8, 2 ** a) for a, d in enumerate(delays))
    assert policy.delay(0, retry_after=30) == 8.0


def _tasks(n):
    return [JudgeTask(100 + i, 1, 0, "m", RenderedPrompt("single-v1", f"prompt {i}",
                      [{"role": "user", "content": f"prompt {i}"}]), f"h{i}") for i in range(n)]


def test_no_reask_by_default_as_fastchat(tmp_path):
    """FastChat records a reply without a rating as -1 and asks nothing more."""
    definition = load_definition("mt_bench")
    cache = JsonlCache(tmp_path / "j.jsonl", JUDGMENT_KEY)

    async def go(server):
        client = _client(server)
        try:
            return await judge_all(_tasks(2), client, judge_one(FORMAT, _run(definition)), cache, progress=False)
        finally:
            await client.close()

    with ReplayJudgeServer(lambda m: "[[9]]" if m[0]["content"] == "prompt 1" else "I liked it.",
                           lifetime_s=60) as server:
        outcomes = asyncio.run(go(server))
        assert len(server.requests) == 2
    first, second = (o.row for o in outcomes)
    assert first["status"] == STATUS_PARSE and first["score"] == -1 and first["attempts"] == 1
    assert second["score"] == 9.0


def test_explicit_reasks_then_parse_failure_is_recorded(tmp_path):
    definition = load_definition("mt_bench")
    reasks = 2

    def respond(messages):
        first_user = messages[0]["content"]
        reasked = messages[-1]["content"] == definition.settings.reask_prompt
        if first_user == "prompt 0":
            return "no rating here"
        if first_user == "prompt 1":
            return "Sorry. Rating: [[4]]" if reasked else "I liked it."
        return "[[9]]"

    cache = JsonlCache(tmp_path / "j.jsonl", JUDGMENT_KEY)

    async def go():
        client = _client(server)
        try:
            return await judge_all(_tasks(3), client, judge_one(FORMAT, _run(definition, reasks)), cache, progress=False)
        finally:
            await client.close()

    with ReplayJudgeServer(respond, lifetime_s=60) as server:
        outcomes = asyncio.run(go())
    first, second, third = (o.row for o in outcomes)
    assert first["status"] == STATUS_PARSE and first["score"] == -1 and first["attempts"] == 3
    assert first["replies"] == ["no rating here"] * 3
    assert second["score"] == 4.0 and second["attempts"] == 2 and second["status"] == STATUS_OK
    assert third["score"] == 9.0 and third["attempts"] == 1
    # the re-ask is a follow-up turn: original messages, the judge's reply, then the re-ask prompt
    reask = [r["messages"] for r in server.requests if r["messages"][0]["content"] == "prompt 1"][1]
    assert reask == [{"role": "user", "content": "prompt 1"}, {"role": "assistant", "content": "I liked it."},
                     {"role": "user", "content": definition.settings.reask_prompt}]
    assert len(JsonlCache(tmp_path / "j.jsonl", JUDGMENT_KEY)) == 3


def test_concurrency_is_bounded_and_used(tmp_path):
    definition = load_definition("mt_bench")
    cache = JsonlCache(tmp_path / "j.jsonl", JUDGMENT_KEY)

    async def go(server):
        client = _client(server, concurrency=4)
        try:
            return await judge_all(_tasks(12), client, judge_one(FORMAT, _run(definition)), cache, progress=False)
        finally:
            await client.close()

    with ReplayJudgeServer(lambda m: "[[5]]", latency_s=0.2, lifetime_s=60) as server:
        start = time.perf_counter()
        outcomes = asyncio.run(go(server))
        elapsed = time.perf_counter() - start
    assert all(o.row["score"] == 5.0 for o in outcomes)
    assert 0.55 <= elapsed < 1.5  # 12 requests / 4 in flight x 0.2 s = 0.6 s
