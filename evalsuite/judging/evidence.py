"""The evidence of a judged item, added to its samples row by the runner for every format alike: the
question's turns, the model's answers, and every judge request with its replies, parsed verdict,
re-asks and failure (evalsuite/results/samples.py)."""

from __future__ import annotations

from typing import Any

from evalsuite.judging.client import JudgeOutcome

# Keys a format's judgment row may use for the parsed verdict, in the order they are looked for.
VERDICT_KEYS = ("score", "value", "preference_as_shown", "verdict")


def judge_call(outcome: JudgeOutcome) -> dict:
    """One judge request as asked and answered: messages, replies (re-asks included), verdict, status."""
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
        "reasks": max(0, int(attempts) - 1) if isinstance(attempts, int) else 0,
        "verdict": next((row[k] for k in VERDICT_KEYS if k in row), None),
        "status": row.get("status", outcome.failure),
        "failure": outcome.failure,
        "detail": outcome.detail or row.get("error") or "",
    }


def _item_key(row: dict) -> tuple[Any, Any]:
    """(question id, turn or game or None) of a samples row."""
    question = row.get("question_id", row.get("item"))
    return question, row.get("turn", row.get("game"))


def with_evidence(samples: list[dict], questions: list[dict], answers: dict[Any, list[str]],
                  outcomes: list[JudgeOutcome]) -> list[dict]:
    """The format's samples rows with `turns`, `answers` and `judge` (the calls of the row's question,
    and turn or game where the row has one) added."""
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
            "judge": [judge_call(o) for o in sorted(mine, key=lambda o: (o.task.part, o.task.repeat))],
        })
    return rows
