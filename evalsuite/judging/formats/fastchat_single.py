"""FastChat single-answer grading, two turns, with references (FastChat llm_judge: gen_judgment.py
--mode single, common.run_judge_single, show_result.py), as MT-Bench and KoMT-Bench use it.

Prompts are rendered exactly as run_judge_single renders them (str.format of the named template;
the reference answer only for the definition's reference categories). A rating is the first match
of the definition's patterns (FastChat's two first). As FastChat, a reply without a rating is not
re-asked: it is recorded as -1, counted as a parse failure and left out of the means; re-asks happen
only when asked for (`--judge_reask N`, recorded in the protocol). With repeats an item's rating is
the median of its valid ratings. With a language rule the penalized mean is the score and the raw
mean `score_raw`.
"""

from __future__ import annotations

import ast
import re
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

from evalsuite.data.local import read_jsonl
from evalsuite.errors import BadInputError
from evalsuite.judging.client import STATUS_OK, JudgeOutcome, JudgeTask, RenderedPrompt, stable_hash
from evalsuite.judging.core import (
    STATUS_PARSE, JudgeFormat, JudgeRun, Judgment, Summary, by_item, check_template, mean, missing_answers,
    reasks_of, stderr,
)
from evalsuite.judging.definitions import BenchmarkData, JudgeDefinition, check_questions
from evalsuite.judging.language import apply_language_rule, is_penalized
from evalsuite.results.store import model_slug, write_jsonl_atomic

FASTCHAT_ERROR_OUTPUT = "$ERROR$"
TURNS = (1, 2)
# The placeholders FastChat fills in each prompt slot (gen_judgment / run_judge_single).
PLACEHOLDERS = {
    "turn1": {"question", "answer"},
    "turn1_reference": {"question", "answer", "ref_answer_1"},
    "turn2": {"question_1", "question_2", "answer_1", "answer_2"},
    "turn2_reference": {"question_1", "question_2", "answer_1", "answer_2", "ref_answer_1", "ref_answer_2"},
}


@dataclass(frozen=True)
class FastChatSettings:
    """The `judge:` keys of a FastChat single-grading definition."""

    reference_categories: frozenset[str]
    prompt_names: dict[str, str]  # slot (PLACEHOLDERS' keys) -> judge prompt name
    rating_patterns: tuple[re.Pattern, ...]
    rating_range: tuple[float, float]
    reask_prompt: str


def prompt_slot(definition: JudgeDefinition, category: str, turn: int) -> str:
    """turn1 / turn2, with _reference for the reference categories."""
    return f"turn{turn}" + ("_reference" if category in definition.settings.reference_categories else "")


def prompt_name_for(definition: JudgeDefinition, category: str, turn: int) -> str:
    """single-v1 / single-math-v1 (turn 1) or their -multi-turn variants (turn 2)."""
    return definition.settings.prompt_names[prompt_slot(definition, category, turn)]


def render_judge_prompt(
    definition: JudgeDefinition,
    judge_prompts: dict[str, dict],
    question: dict,
    answer_turns: list[str],
    turn: int,
    reference: dict | None,
) -> RenderedPrompt:
    """FastChat's user prompt (str.format of the template) and [system, user] messages."""
    name = prompt_name_for(definition, question["category"], turn)
    template = judge_prompts[name]
    kwargs: dict[str, str] = {}
    if question["category"] in definition.settings.reference_categories and reference is not None:
        ref_turns = reference["choices"][0]["turns"]
        kwargs["ref_answer_1"] = ref_turns[0]
        if turn == 2:
            kwargs["ref_answer_2"] = ref_turns[1]
    if turn == 2:
        user_prompt = template["prompt_template"].format(
            question_1=question["turns"][0], question_2=question["turns"][1],
            answer_1=answer_turns[0], answer_2=answer_turns[1], **kwargs,
        )
    else:
        user_prompt = template["prompt_template"].format(
            question=question["turns"][0], answer=answer_turns[0], **kwargs
        )
    messages = []
    # FastChat's Conversation.to_openai_api_messages drops an empty system message.
    if template["system_prompt"]:
        messages.append({"role": "system", "content": template["system_prompt"]})
    messages.append({"role": "user", "content": user_prompt})
    return RenderedPrompt(name, user_prompt, messages)


def parse_rating(reply: str | None, definition: JudgeDefinition) -> float | None:
    """The rating of a judge reply, or None when no pattern matches an in-range number.

    As FastChat: the first pattern with a match wins (re.search, first occurrence), and its
    number is read with ast.literal_eval ("8" -> 8, "8.5" -> 8.5).
    """
    if not reply:
        return None
    low, high = definition.settings.rating_range
    for pattern in definition.settings.rating_patterns:
        match = pattern.search(reply)
        if not match:
            continue
        try:
            value = ast.literal_eval(match.group(1))
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
            return None
        return float(value)
    return None


class FastChatSingle(JudgeFormat):
    """FastChat's single-answer grading of two-turn answers, with reference answers."""

    name = "fastchat_single"

    def parse_settings(self, judge: dict) -> FastChatSettings:
        return FastChatSettings(
            reference_categories=frozenset(judge["reference_categories"]),
            prompt_names={slot: str(judge["prompts"][slot]) for slot in PLACEHOLDERS},
            rating_patterns=tuple(re.compile(p) for p in judge["rating_patterns"]),
            rating_range=(float(judge["rating_range"][0]), float(judge["rating_range"][1])),
            reask_prompt=str(judge["reask_prompt"]),
        )

    def load_data(self, definition: JudgeDefinition, paths: dict[str, Path], strategy: str | None) -> BenchmarkData:
        questions = read_jsonl(paths["questions"])
        prompts = {row.get("name"): row for row in read_jsonl(paths["judge_prompts"])}
        references = {row.get("question_id"): row for row in read_jsonl(paths["reference_answers"])}
        check_questions(paths["questions"], questions, turns=len(TURNS))
        settings: FastChatSettings = definition.settings
        for slot, prompt_name in settings.prompt_names.items():
            prompt = prompts.get(prompt_name)
            where = paths["judge_prompts"]
            if not prompt or not {"system_prompt", "prompt_template", "output_format"} <= prompt.keys():
                raise BadInputError(f"{where}: judge prompt '{prompt_name}' ({slot}) is missing")
            if not all(isinstance(prompt[k], str) for k in ("system_prompt", "prompt_template")):
                raise BadInputError(f"{where}: judge prompt '{prompt_name}' must hold strings")
            problem = check_template(prompt["prompt_template"], PLACEHOLDERS[slot])
            if problem:
                raise BadInputError(f"{where}: judge prompt '{prompt_name}': {problem}; "
                                    f"known: {', '.join(sorted(PLACEHOLDERS[slot]))}")
        for question in questions:
            if question["category"] in settings.reference_categories:
                reference = references.get(question["question_id"])
                try:
                    turns = reference["choices"][0]["turns"]
                    ok = len(turns) >= 2 and all(isinstance(t, str) for t in turns[:2])
                except (TypeError, KeyError, IndexError):
                    ok = False
                if not ok:
                    raise BadInputError(f"{paths['reference_answers']}: no two-turn reference answer for "
                                        f"question {question['question_id']}")
        return BenchmarkData(questions, {"judge_prompts": prompts, "references": references})

    def read_answers(self, path: Path, questions: list[dict]) -> tuple[str, dict[int, list[str]]]:
        """A FastChat answer file (model_answer/<model>.jsonl): question_id, model_id, choices[0].turns.
        A question answered twice is bad input (FastChat's load_model_answers keeps the last line
        silently: which answer was judged would depend on line order)."""
        by_id: dict[int, list[str]] = {}
        model_ids = set()
        for number, row in enumerate(read_jsonl(path), 1):
            try:
                turns = row["choices"][0]["turns"]
                qid = row["question_id"]
            except (KeyError, IndexError, TypeError) as err:
                raise BadInputError(f"{path}: answer {number}: not a FastChat answer "
                                    f"(question_id, model_id, choices[0].turns): {err}") from err
            if not isinstance(turns, list) or not all(isinstance(t, str) for t in turns):
                raise BadInputError(f"{path}: answer {number}: choices[0].turns must be a list of strings")
            if not isinstance(qid, int) or isinstance(qid, bool):
                raise BadInputError(f"{path}: answer {number}: question_id must be an integer")
            if qid in by_id:
                raise BadInputError(f"{path}: answer {number}: duplicate question_id {qid}")
            model_ids.add(str(row.get("model_id") or path.stem))
            by_id[qid] = turns
        if len(model_ids) != 1:
            raise BadInputError(f"{path}: expected the answers of one model, found model_id {sorted(model_ids)}")
        missing_answers(path, questions, by_id)
        short = [q["question_id"] for q in questions if len(by_id[q["question_id"]]) < len(TURNS)]
        if short:
            raise BadInputError(f"{path}: answers need two turns; question(s) {short[:5]} have fewer")
        return model_ids.pop(), {q["question_id"]: by_id[q["question_id"]][:len(TURNS)] for q in questions}

    def answers_path(self, folder: Path, model_id: str, data: BenchmarkData) -> Path:
        return folder / "model_answer" / f"{model_slug(model_id)}.jsonl"

    def write_answers(self, path: Path, model_id: str, data: BenchmarkData, questions: list[dict],
                      answers: dict[int, list[str]]) -> None:
        """FastChat's model_answer/<model>.jsonl rows (gen_model_answer.py)."""
        write_jsonl_atomic(path, [
            {
                "question_id": q["question_id"],
                "answer_id": stable_hash([model_id, q["question_id"], answers[q["question_id"]]], 22),
                "model_id": model_id,
                "choices": [{"index": 0, "turns": answers[q["question_id"]]}],
                "tstamp": time.time(),
            }
            for q in questions
        ])

    def protocol(self, definition: JudgeDefinition) -> dict:
        names = definition.settings.prompt_names
        return {"format": self.name,
                "prompts": f"{names['turn1']}/{names['turn1_reference']} (+multi-turn)"}

    def build_tasks(self, run: JudgeRun) -> list[JudgeTask]:
        tasks = []
        for question in run.questions:
            qid = question["question_id"]
            for turn in TURNS:
                prompt = render_judge_prompt(run.definition, run.data.files["judge_prompts"], question,
                                             run.answers[qid], turn, run.data.files["references"].get(qid))
                tasks += JudgeTask.repeated(qid, turn, run.model_id, prompt, run.repeats)
        return tasks

    def parse(self, run: JudgeRun, replies: list[str]) -> float | None:
        return parse_rating(replies[-1], run.definition)

    def follow_up(self, run: JudgeRun, messages: list[dict], reply: str) -> list[dict]:
        """FastChat never re-asks; with --judge_reask the reply and the re-ask prompt continue the chat."""
        return messages + [{"role": "assistant", "content": reply},
                           {"role": "user", "content": run.settings.reask_prompt}]

    def judgment(self, run: JudgeRun, task: JudgeTask, judge_model: str, replies: list[str],
                 rating: float | None) -> Judgment:
        """The FastChat judgment row (evalsuite's fields follow it; FastChat readers ignore them)."""
        return Judgment({
            "question_id": task.question_id, "model": task.model_id, "judge": [judge_model, task.prompt.prompt_name],
            "user_prompt": task.prompt.user_prompt, "judgment": replies[-1] if replies else "",
            "score": rating if rating is not None else -1, "turn": task.part, "tstamp": time.time(),
        }, STATUS_OK if rating is not None else STATUS_PARSE)

    def summarize(self, run: JudgeRun, outcomes: list[JudgeOutcome]) -> Summary:
        rule, languages = run.definition.language_rule, run.languages
        scoring_detector = next(iter(languages), None)
        items = by_item(outcomes)
        failures = self.failures()
        samples, spreads, stdevs = [], [], []
        penalized_by = {detector: 0 for detector in languages}
        for question in run.questions:
            qid, category = question["question_id"], question["category"]
            for turn in TURNS:
                item_outcomes = items.get((qid, turn), [])
                ratings: list[float | None] = []
                statuses = []
                for outcome in item_outcomes:
                    if outcome.row is None:
                        statuses.append(failures.call_failed(outcome))
                        ratings.append(None)
                        continue
                    score = outcome.row["score"]
                    valid = outcome.row.get("status", STATUS_OK) == STATUS_OK and score != -1
                    ratings.append(float(score) if valid else None)
                    statuses.append(STATUS_OK if valid else STATUS_PARSE)
                    if not valid:
                        failures.add("parse")
                valid_ratings = [r for r in ratings if r is not None]
                raw = statistics.median(valid_ratings) if valid_ratings else None
                if len(valid_ratings) > 1:
                    spreads.append(max(valid_ratings) - min(valid_ratings))
                    stdevs.append(statistics.stdev(valid_ratings))
                row = {
                    "item": f"{qid}/turn{turn}",
                    "score": raw,
                    "group": category,
                    "turn": turn,
                    "question_id": qid,
                    "prompt": item_outcomes[0].task.prompt.prompt_name if item_outcomes else None,
                    "ratings": ratings,
                    "status": STATUS_OK if raw is not None else (statuses[0] if statuses else "missing"),
                }
                if rule is not None and scoring_detector is not None:
                    for detector, detected in languages.items():
                        penalized_by[detector] += is_penalized(rule, qid, detected[(qid, turn)], raw)
                    language = languages[scoring_detector][(qid, turn)]
                    row.update(
                        score=apply_language_rule(rule, qid, language, raw),
                        raw_score=raw,
                        penalized=is_penalized(rule, qid, language, raw),
                        language=language,
                    )
                samples.append(row)
        summary = _aggregate(run.definition, run.questions, samples, failures, reasks_of(outcomes), spreads, stdevs)
        for detector, count in penalized_by.items():
            summary.metrics[f"n_penalized_{detector}"] = count
        return summary

    def write_judgments(self, run: JudgeRun, outcomes: list[JudgeOutcome], folder: Path) -> Path:
        """FastChat's <judge>_single.jsonl (API failures as "$ERROR$" / -1, as FastChat writes them),
        and with a language rule LG's <judge>_single_final.jsonl (penalized scores and language)."""
        judge_model, languages = run.judge_model, run.languages
        path = folder / "model_judgment" / f"{model_slug(judge_model)}_single.jsonl"
        rows = []
        for outcome in outcomes:
            if outcome.row is not None:
                rows.append(outcome.row)
                continue
            task = outcome.task
            rows.append({
                "question_id": task.question_id, "model": task.model_id,
                "judge": [judge_model, task.prompt.prompt_name], "user_prompt": task.prompt.user_prompt,
                "judgment": FASTCHAT_ERROR_OUTPUT, "score": -1, "turn": task.part, "tstamp": time.time(),
                "repeat": task.repeat, "status": outcome.failure, "error": outcome.detail,
            })
        write_jsonl_atomic(path, rows)
        rule = run.definition.language_rule
        if rule is None or not languages:
            return path
        detected = next(iter(languages.values()))
        final = []
        for row in rows:
            language = detected[(row["question_id"], row["turn"])]
            raw = row["score"] if row["score"] != -1 else None
            penalized = apply_language_rule(rule, row["question_id"], language, raw)
            final.append({**row, "score": -1 if penalized is None else penalized, "raw_score": row["score"],
                          "language": language})
        write_jsonl_atomic(path.with_name(path.stem + "_final.jsonl"), final)
        return path


def _aggregate(definition, questions, samples, failures, reasks, spreads, stdevs) -> Summary:
    valid = [s for s in samples if s["score"] is not None]
    scores = [s["score"] for s in valid]
    metrics: dict = {
        "judge_score": mean(scores),
        "judge_score_stderr": stderr(scores),
        "turn1": mean([s["score"] for s in valid if s["turn"] == 1]),
        "turn2": mean([s["score"] for s in valid if s["turn"] == 2]),
        "n_items": len(samples),
        "n_valid": len(valid),
        "n_questions": len(questions),
        "reasks": reasks,
    }
    subscores: dict = {"turn1": metrics["turn1"], "turn2": metrics["turn2"]}
    categories = list(dict.fromkeys(q["category"] for q in questions))
    for category in categories:
        subscores[category] = mean([s["score"] for s in valid if s["group"] == category])
    if definition.language_rule is not None:
        raws = [s["raw_score"] for s in valid]
        metrics["score_raw"] = mean(raws)
        metrics["score_raw_stderr"] = stderr(raws)
        metrics["n_penalized"] = sum(1 for s in valid if s["penalized"])
        subscores["raw_turn1"] = mean([s["raw_score"] for s in valid if s["turn"] == 1])
        subscores["raw_turn2"] = mean([s["raw_score"] for s in valid if s["turn"] == 2])
        for category in categories:
            subscores[f"raw_{category}"] = mean([s["raw_score"] for s in valid if s["group"] == category])
    if spreads:
        metrics["judge_spread_mean"] = mean(spreads)
        metrics["judge_spread_max"] = max(spreads)
        metrics["judge_stdev_mean"] = mean(stdevs)
    return Summary(metrics["judge_score"], metrics, subscores, failures, samples, len(samples))


FORMAT = FastChatSingle()
