"""Judging every (question, turn, repeat) concurrently, re-asking replies without a rating, caching each.

A judgment is cached the moment it is made, so an interrupted run loses nothing and a resumed
run asks only for what is missing. A request that fails for good is counted, not cached (a
later run retries it).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from tqdm import tqdm

from evalsuite.judging.cache import JsonlCache
from evalsuite.judging.client import JudgeCallFailed, JudgeClient
from evalsuite.judging.definitions import JudgeDefinition
from evalsuite.judging.prompts import RenderedPrompt
from evalsuite.judging.ratings import parse_rating

STATUS_OK = "ok"
STATUS_PARSE = "parse_failure"


@dataclass(frozen=True)
class JudgeTask:
    """One judge request: question, turn, repeat index and the rendered prompt."""

    question_id: int
    turn: int
    repeat: int
    model_id: str
    prompt: RenderedPrompt
    input_hash: str


@dataclass
class JudgeOutcome:
    """A finished task: the cached judgment row, or the failure kind ("api" / "timeout")."""

    task: JudgeTask
    row: dict | None
    failure: str | None = None
    detail: str = ""


def judgment_key(judge_model: str, task: JudgeTask) -> tuple:
    """Cache key of a task (see cache.JUDGMENT_KEY)."""
    return (judge_model, task.prompt.prompt_name, task.question_id, task.turn, task.input_hash, task.repeat)


async def _judge_one(task: JudgeTask, client: JudgeClient, definition: JudgeDefinition) -> dict:
    """Ask, parse, re-ask up to the limit; the FastChat judgment row plus evalsuite's fields."""
    messages = list(task.prompt.messages)
    replies: list[str] = []
    rating = None
    for attempt in range(definition.reask_limit + 1):
        reply = await client.complete(messages, reask=attempt > 0)
        replies.append(reply)
        rating = parse_rating(reply, definition.rating_patterns, definition.rating_range)
        if rating is not None:
            break
        messages = messages + [
            {"role": "assistant", "content": reply},
            {"role": "user", "content": definition.reask_prompt},
        ]
    return {
        "question_id": task.question_id,
        "model": task.model_id,
        "judge": [client.model, task.prompt.prompt_name],
        "user_prompt": task.prompt.user_prompt,
        "judgment": replies[-1],
        "score": rating if rating is not None else -1,
        "turn": task.turn,
        "tstamp": time.time(),
        # evalsuite's fields (FastChat readers ignore them)
        "judge_model": client.model,
        "prompt_name": task.prompt.prompt_name,
        "input_hash": task.input_hash,
        "repeat": task.repeat,
        "status": STATUS_OK if rating is not None else STATUS_PARSE,
        "attempts": len(replies),
        "replies": replies,
    }


async def judge_all(
    tasks: list[JudgeTask],
    client: JudgeClient,
    definition: JudgeDefinition,
    cache: JsonlCache,
    *,
    progress: bool = True,
    description: str = "judging",
) -> list[JudgeOutcome]:
    """Outcomes for all tasks, in task order: cached ones reused, the others judged concurrently."""
    outcomes: dict[int, JudgeOutcome] = {}
    pending: list[tuple[int, JudgeTask]] = []
    for index, task in enumerate(tasks):
        cached = cache.get(judgment_key(client.model, task))
        if cached is not None:
            outcomes[index] = JudgeOutcome(task, cached)
        else:
            pending.append((index, task))
    bar = tqdm(total=len(tasks), initial=len(outcomes), desc=description, disable=not progress, unit="judgment")

    async def run(index: int, task: JudgeTask) -> None:
        try:
            row = await _judge_one(task, client, definition)
        except JudgeCallFailed as err:
            outcomes[index] = JudgeOutcome(task, None, err.kind, err.detail)
        else:
            await asyncio.to_thread(cache.put, row)  # the fsync stays off the event loop
            outcomes[index] = JudgeOutcome(task, row)
        bar.update(1)

    workers = [asyncio.ensure_future(run(index, task)) for index, task in pending]
    try:
        if workers:
            await asyncio.gather(*workers)
    finally:
        for worker in workers:
            worker.cancel()
        bar.close()
    return [outcomes[index] for index in range(len(tasks))]
