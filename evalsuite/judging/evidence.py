"""The evidence of a judged item, added to its samples row by the runner for every format alike: the
question's turns, the model's answers, and every judge request with its replies, the follow-up
messages of its re-asks, parsed verdict and failure (evalsuite/results/samples.py)."""

from __future__ import annotations

from typing import Any, Callable

from evalsuite.judging.client import JudgeOutcome

# A format's follow-up: the next request after a reply it did not accept (None: the same one again).
FollowUp = Callable[[list[dict], Any], "list[dict] | None"]
# The usage row of a judgment (calls, prompt and completion tokens, mode), None when none was recorded.
UsageOf = Callable[[JudgeOutcome], "dict | None"]

# Keys a format's judgment row may use for the parsed verdict, in the order they are looked for.
VERDICT_KEYS = ("score", "value", "preference_as_shown", "verdict")


def follow_ups(request: list[dict], replies: list, follow_up: FollowUp | None) -> list[list[dict]]:
    """What was sent before each re-ask, rebuilt the way the core asked it: the messages added to the
    conversation after the previous request (the judge's reply and the format's follow-up turn), or the
    whole request where it is not a continuation; [] where the same request was sent again."""
    sent, added = list(request), []
    for reply in replies[:-1]:
        following = (follow_up(sent, reply) if follow_up else None) or sent
        added.append([] if following == sent else
                     following[len(sent):] if following[:len(sent)] == sent else list(following))
        sent = following
    return added


def judge_call(outcome: JudgeOutcome, follow_up: FollowUp | None = None, usage_of: UsageOf | None = None) -> dict:
    """One judge request as asked and answered: messages, replies (re-asks included) and the follow-up
    messages before each re-ask, verdict, status."""
    row = outcome.row or {}
    replies = row.get("replies")
    if not isinstance(replies, list):
        replies = [row["judgment"]] if "judgment" in row else []
    attempts = row.get("attempts", len(replies))
    return {
        "turn": outcome.task.part,
        "repeat": outcome.task.repeat,
        "prompt_name": outcome.task.prompt.prompt_name,
        "request": list(outcome.task.prompt.messages),
        "replies": replies,
        "follow_ups": follow_ups(list(outcome.task.prompt.messages), replies, follow_up),
        "reasks": max(0, int(attempts) - 1) if isinstance(attempts, int) else 0,
        "verdict": next((row[k] for k in VERDICT_KEYS if k in row), None),
        "status": row.get("status", outcome.failure),
        "failure": outcome.failure,
        "detail": outcome.detail or row.get("error") or "",
        "usage": _tokens(usage_of(outcome) if usage_of else None),
    }


def _tokens(row: dict | None) -> dict | None:
    """The tokens a judgment's calls used, over every run that asked them, as the endpoint reported them
    (None: not reported)."""
    if row is None:
        return None
    return {key: row.get(key) for key in ("calls", "prompt_tokens", "completion_tokens")}


def _item_key(row: dict) -> tuple[Any, Any]:
    """(question id, turn or game or None) of a samples row."""
    question = row.get("question_id", row.get("item"))
    return question, row.get("turn", row.get("game"))


def with_evidence(samples: list[dict], questions: list[dict], answers: dict[Any, list[str]],
                  outcomes: list[JudgeOutcome], follow_up: FollowUp | None = None,
                  usage_of: UsageOf | None = None) -> list[dict]:
    """The format's samples rows with `turns`, `answers` and `judge` (the calls of the row's question,
    and turn or game where the row has one, each with its re-asks' follow-up messages and the tokens its
    calls used) added."""
    by_question = {str(q["question_id"]): q for q in questions}
    calls: dict[str, list[JudgeOutcome]] = {}
    for outcome in outcomes:
        calls.setdefault(str(outcome.task.question_id), []).append(outcome)
    rows = []
    for row in samples:
        question, turn = _item_key(row)
        asked = by_question.get(str(question), {})
        mine = [o for o in calls.get(str(question), []) if turn is None or o.task.part == turn]
        rows.append({
            **row,
            "turns": list(asked.get("turns") or []),
            "answers": list(answers.get(asked.get("question_id"), []) if asked else []),
            "judge": [judge_call(o, follow_up, usage_of) for o in sorted(mine, key=lambda o: (o.task.part, o.task.repeat))],
        })
    return rows
