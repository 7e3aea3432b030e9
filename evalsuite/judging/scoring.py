"""From judge outcomes to per-sample rows and the result's score, metrics, subscores and failures.

As FastChat's show_result: the score is the mean of all valid judgments (-1 / unparsed left out),
turn means likewise. With repeats an item's rating is the median of its valid ratings. KoMT-Bench
reports the penalized mean as the score and the raw mean as `score_raw`.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field

from evalsuite.judging.definitions import JudgeDefinition
from evalsuite.judging.grading import STATUS_OK, STATUS_PARSE, JudgeOutcome
from evalsuite.judging.language import apply_language_rule, detect_language, is_penalized


@dataclass
class Summary:
    """Everything the result needs from the judgments."""

    score: float | None
    metrics: dict
    subscores: dict
    failures: dict
    samples: list[dict] = field(default_factory=list)
    n: int = 0


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _stderr(values: list[float]) -> float | None:
    return statistics.stdev(values) / math.sqrt(len(values)) if len(values) > 1 else None


def summarize(
    definition: JudgeDefinition,
    questions: list[dict],
    answers: dict[int, list[str]],
    outcomes: list[JudgeOutcome],
) -> Summary:
    """Per-item rows (item "81/turn1") and the aggregate numbers of one benchmark run."""
    rule = definition.language_rule
    by_item: dict[tuple[int, int], list[JudgeOutcome]] = {}
    for outcome in outcomes:
        by_item.setdefault((outcome.task.question_id, outcome.task.turn), []).append(outcome)
    failures = {"parse": 0, "api": 0, "timeout": 0}
    reasks = 0
    samples, spreads, stdevs = [], [], []
    for question in questions:
        qid, category = question["question_id"], question["category"]
        for turn in (1, 2):
            item_outcomes = sorted(by_item.get((qid, turn), []), key=lambda o: o.task.repeat)
            ratings: list[float | None] = []
            statuses = []
            for outcome in item_outcomes:
                if outcome.row is None:
                    failures[outcome.failure or "api"] += 1
                    ratings.append(None)
                    statuses.append(outcome.failure or "api")
                    continue
                reasks += max(0, int(outcome.row.get("attempts", 1)) - 1)
                score = outcome.row["score"]
                valid = outcome.row.get("status", STATUS_OK) == STATUS_OK and score != -1
                ratings.append(float(score) if valid else None)
                statuses.append(STATUS_OK if valid else STATUS_PARSE)
                if not valid:
                    failures["parse"] += 1
            valid_ratings = [r for r in ratings if r is not None]
            raw = statistics.median(valid_ratings) if valid_ratings else None
            if len(valid_ratings) > 1:
                spreads.append(max(valid_ratings) - min(valid_ratings))
                stdevs.append(statistics.stdev(valid_ratings))
            row = {
                "item": f"{qid}/turn{turn}",
                "score": None,
                "group": category,
                "turn": turn,
                "question_id": qid,
                "prompt": item_outcomes[0].task.prompt.prompt_name if item_outcomes else None,
                "ratings": ratings,
                "status": STATUS_OK if raw is not None else (statuses[0] if statuses else "missing"),
            }
            if rule is not None:
                language = detect_language(answers[qid][turn - 1])
                row.update(
                    score=apply_language_rule(rule, qid, language, raw),
                    raw_score=raw,
                    penalized=is_penalized(rule, qid, language, raw),
                    language=language,
                )
            else:
                row["score"] = raw
            samples.append(row)
    return _aggregate(definition, questions, samples, failures, reasks, spreads, stdevs)


def _aggregate(definition, questions, samples, failures, reasks, spreads, stdevs) -> Summary:
    penalized_rule = definition.language_rule is not None
    valid = [s for s in samples if s["score"] is not None]
    scores = [s["score"] for s in valid]
    metrics: dict = {
        "judge_score": _mean(scores),
        "judge_score_stderr": _stderr(scores),
        "turn1": _mean([s["score"] for s in valid if s["turn"] == 1]),
        "turn2": _mean([s["score"] for s in valid if s["turn"] == 2]),
        "n_items": len(samples),
        "n_valid": len(valid),
        "n_questions": len(questions),
        "reasks": reasks,
    }
    subscores: dict = {"turn1": metrics["turn1"], "turn2": metrics["turn2"]}
    categories = list(dict.fromkeys(q["category"] for q in questions))
    for category in categories:
        subscores[category] = _mean([s["score"] for s in valid if s["group"] == category])
    if penalized_rule:
        raws = [s["raw_score"] for s in valid]
        metrics["score_raw"] = _mean(raws)
        metrics["score_raw_stderr"] = _stderr(raws)
        metrics["n_penalized"] = sum(1 for s in valid if s["penalized"])
        subscores["raw_turn1"] = _mean([s["raw_score"] for s in valid if s["turn"] == 1])
        subscores["raw_turn2"] = _mean([s["raw_score"] for s in valid if s["turn"] == 2])
        for category in categories:
            subscores[f"raw_{category}"] = _mean([s["raw_score"] for s in valid if s["group"] == category])
    if spreads:
        metrics["judge_spread_mean"] = _mean(spreads)
        metrics["judge_spread_max"] = max(spreads)
        metrics["judge_stdev_mean"] = _mean(stdevs)
    return Summary(metrics["judge_score"], metrics, subscores, failures, samples, len(samples))
