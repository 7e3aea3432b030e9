"""LogicKor v2 single-answer grading of two-turn Korean answers (instructkr/LogicKor: generator.py,
evaluator.py, score.py at the commit its declaration names).

Answers: the prompt strategy's messages (templates.py PROMPT_STRATEGY: default, 1-shot, cot-1-shot)
come before the question, turn 2 follows the model's own turn 1, greedy. Each question is judged twice:
turn 1 alone (system JUDGE_TEMPLATE["single_turn"]) and the whole conversation (["multi_turn"]), with
the user message evaluator.create_answers builds, byte for byte. The score is the first
`점수: N` of the reply with every `*` deleted; a reply without one is asked again (evaluator.py tries
five times in all) and then scores 0.0, which counts in the means as upstream (and as a parse failure
here). The benchmark score is score.py's Overall: (mean single-turn + mean multi-turn) / 2. Only the
first two `questions` of a row are asked, as upstream (question 3 carries a third, unused one).
"""

from __future__ import annotations

import ast
import json
import re
import math
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evalsuite.data.local import read_jsonl
from evalsuite.errors import BadInputError
from evalsuite.judging.client import STATUS_OK, JudgeOutcome, JudgeTask, RenderedPrompt
from evalsuite.judging.core import (
    STATUS_PARSE, JudgeFormat, JudgeRun, Judgment, Summary, by_item, mean, missing_answers,
)
from evalsuite.judging.definitions import BenchmarkData, JudgeDefinition, check_questions
from evalsuite.results.store import model_slug, write_bytes_atomic

SINGLE, MULTI = 1, 2
JUDGE_TEMPLATE_KEYS = {SINGLE: "single_turn", MULTI: "multi_turn"}
QUERY_KEYS = {SINGLE: "query_single", MULTI: "query_multi"}


@dataclass(frozen=True)
class LogicKorSettings:
    """The `judge:` keys of a LogicKor definition."""

    instruction: str  # the first line of every judge user message
    score_pattern: re.Pattern
    message_pattern: re.Pattern
    attempts: int  # judge calls per item before it scores `failed_score`
    failed_score: float
    failed_message: str
    default_strategy: str


def render_judge_prompt(settings: LogicKorSettings, templates: dict[str, str], question: dict,
                        references: list[str | None], outputs: list[str], turn: int) -> RenderedPrompt:
    """evaluator.create_answers's messages: the judge template as system, the built user message."""
    prompt = f"{settings.instruction}\n\n**Question**\n{question['turns'][0]}"
    if references and references[0]:
        prompt += f"\n\n**Additional Reference**\n{references[0]}"
    prompt += f"\n\n**Model's Response**\n{outputs[0]}"
    if turn == MULTI:
        prompt += f"\n\n**Follow-up Question.**\n{question['turns'][1]}"
        if references and references[1]:
            prompt += f"\n\n**Additional Reference**\n{references[1]}"
        prompt += f"\n\n**Model's Response**\n{outputs[1]}"
    prompt += "\n\n[[대화 종료. 평가 시작.]]"
    name = JUDGE_TEMPLATE_KEYS[turn]
    return RenderedPrompt(name, prompt, [{"role": "system", "content": templates[name]},
                                         {"role": "user", "content": prompt}])


def parse_reply(reply: str | None, settings: LogicKorSettings) -> tuple[str, float | None]:
    """(judge message, score) as evaluator.py reads them, after deleting every `*`. Stricter where a
    hostile judge would poison the mean: a score that is no finite number ("점수: " and 400 digits
    reads as infinity) counts as no score."""
    text = (reply or "").replace("*", "")
    message = settings.message_pattern.search(text)
    score = settings.score_pattern.search(text)
    judge_message = message.group(1).strip() if message else "No judge message found"
    value = float(score.group(1)) if score else None
    return judge_message, value if value is not None and math.isfinite(value) else None


def read_templates(path: Path) -> dict[str, Any]:
    """PROMPT_STRATEGY and JUDGE_TEMPLATE from upstream templates.py (its literals, never executed) or
    from their JSON copy."""
    try:
        text = path.read_text(encoding="utf-8-sig")
        if path.suffix == ".py":
            tree = ast.parse(text)
            return {node.targets[0].id: ast.literal_eval(node.value) for node in tree.body
                    if isinstance(node, ast.Assign) and len(node.targets) == 1
                    and isinstance(node.targets[0], ast.Name)}
        return json.loads(text)
    except (OSError, UnicodeDecodeError, SyntaxError, ValueError, RecursionError, MemoryError) as err:
        raise BadInputError(f"{path}: unreadable LogicKor templates ({type(err).__name__})") from err


def _messages(value: Any) -> bool:
    return isinstance(value, list) and all(
        isinstance(m, dict) and isinstance(m.get("role"), str) and isinstance(m.get("content"), str) for m in value
    )


class LogicKor(JudgeFormat):
    """LogicKor's judging of two-turn Korean answers, turn 1 alone and the whole conversation."""

    name = "logickor_v2"
    data_files = ("questions", "templates")

    def parse_settings(self, judge: dict) -> LogicKorSettings:
        return LogicKorSettings(
            instruction=str(judge["instruction"]),
            score_pattern=re.compile(judge["score_pattern"]),
            message_pattern=re.compile(judge["message_pattern"], re.DOTALL),
            attempts=int(judge["attempts"]),
            failed_score=float(judge["failed_score"]),
            failed_message=str(judge["failed_message"]),
            default_strategy=str(judge["default_strategy"]),
        )

    def load_data(self, definition: JudgeDefinition, paths: dict[str, Path], strategy: str | None) -> BenchmarkData:
        templates = read_templates(paths["templates"])
        strategies, judge_templates = templates.get("PROMPT_STRATEGY"), templates.get("JUDGE_TEMPLATE")
        if not (isinstance(strategies, dict) and all(_messages(v) for v in strategies.values())
                and isinstance(judge_templates, dict)
                and all(isinstance(judge_templates.get(k), str) for k in JUDGE_TEMPLATE_KEYS.values())):
            raise BadInputError(f"{paths['templates']}: needs PROMPT_STRATEGY (message lists) and "
                                "JUDGE_TEMPLATE (single_turn, multi_turn)")
        strategy = strategy or definition.settings.default_strategy
        if strategy not in strategies:
            raise BadInputError(f"--prompt_strategy {strategy}: LogicKor offers {', '.join(strategies)}")
        questions, references, originals = [], {}, {}
        for number, row in enumerate(read_jsonl(paths["questions"]), 1):
            refs, texts = row.get("references"), row.get("questions")
            if not (isinstance(refs, list) and len(refs) == 2 and all(r is None or isinstance(r, str) for r in refs)):
                raise BadInputError(f"{paths['questions']}: line {number}: references must be two strings or nulls")
            if not isinstance(texts, list) or len(texts) < 2:
                raise BadInputError(f"{paths['questions']}: line {number}: questions must hold two turns")
            # upstream asks questions[0] and questions[1] only (question 3 carries a third, unused one)
            questions.append({"question_id": row.get("id"), "category": row.get("category"),
                              "turns": texts[:2], "history": strategies[strategy]})
            references[row.get("id")], originals[row.get("id")] = refs, texts
        check_questions(paths["questions"], questions, turns=2)
        return BenchmarkData(questions, {"judge_templates": judge_templates, "references": references,
                                         "questions": originals}, strategy=strategy)

    def read_answers(self, path: Path, questions: list[dict]) -> tuple[str, dict[int, list[str]]]:
        """LogicKor's generated/<org>/<model>/<strategy>.jsonl: id, category, questions, outputs[2],
        references (the model is the file's folder)."""
        by_id: dict[int, list[str]] = {}
        for number, row in enumerate(read_jsonl(path), 1):
            qid, outputs = row.get("id"), row.get("outputs")
            if not isinstance(qid, int) or isinstance(qid, bool):
                raise BadInputError(f"{path}: line {number}: not a LogicKor answer (integer id, outputs[2])")
            if not (isinstance(outputs, list) and len(outputs) == 2 and all(isinstance(o, str) for o in outputs)):
                raise BadInputError(f"{path}: line {number}: outputs must be two strings")
            if qid in by_id:
                raise BadInputError(f"{path}: duplicate id {qid}")
            by_id[qid] = outputs
        missing_answers(path, questions, by_id)
        model_id = path.parent.name if path.parent.name not in ("", ".", "..") else path.stem
        return model_id, {q["question_id"]: by_id[q["question_id"]] for q in questions}

    def answers_path(self, folder: Path, model_id: str, data: BenchmarkData) -> Path:
        return folder / "generated" / model_slug(model_id) / f"{data.strategy}.jsonl"

    def write_answers(self, path: Path, model_id: str, data: BenchmarkData, questions: list[dict],
                      answers: dict[int, list[str]]) -> None:
        """generator.py's rows: id, category, questions, outputs, references."""
        write_bytes_atomic(path, "".join(
            json.dumps({"id": q["question_id"], "category": q["category"],
                        "questions": data.files["questions"][q["question_id"]],
                        "outputs": answers[q["question_id"]],
                        "references": data.files["references"][q["question_id"]]}, ensure_ascii=False) + "\n"
            for q in questions
        ).encode("utf-8"))

    def protocol(self, definition: JudgeDefinition) -> dict:
        settings: LogicKorSettings = definition.settings
        return {"format": self.name, "prompts": "JUDGE_TEMPLATE single_turn/multi_turn",
                "attempts": settings.attempts}

    def build_tasks(self, run: JudgeRun) -> list[JudgeTask]:
        tasks = []
        for question in run.questions:
            qid = question["question_id"]
            for turn in (SINGLE, MULTI):
                prompt = render_judge_prompt(run.settings, run.data.files["judge_templates"], question,
                                             run.data.files["references"][qid], run.answers[qid], turn)
                tasks += JudgeTask.repeated(qid, turn, run.model_id, prompt, run.repeats)
        return tasks

    def attempts(self, run: JudgeRun) -> int:
        """evaluator.py sends the same request again until a score is found, five times in all."""
        return run.settings.attempts + run.reasks

    def parse(self, run: JudgeRun, replies: list[str]) -> tuple[str, float | None]:
        return parse_reply(replies[-1], run.settings)

    def accepted(self, parsed: tuple[str, float | None]) -> bool:
        return parsed[1] is not None

    def judgment(self, run: JudgeRun, task: JudgeTask, judge_model: str, replies: list[str],
                 parsed: tuple[str, float | None] | None) -> Judgment:
        settings: LogicKorSettings = run.settings
        failed = parsed is None or parsed[1] is None
        return Judgment({
            "question_id": task.question_id, "turn": task.part, "model": task.model_id,
            "judge_message": settings.failed_message if failed else parsed[0],
            "judge_score": settings.failed_score if failed else parsed[1],
            "tstamp": time.time(),
        }, STATUS_PARSE if failed else STATUS_OK)

    def summarize(self, run: JudgeRun, outcomes: list[JudgeOutcome]) -> Summary:
        items = by_item(outcomes)
        failures = self.failures()
        samples = []
        for question in run.questions:
            qid = question["question_id"]
            for turn in (SINGLE, MULTI):
                scores, statuses = [], []
                for outcome in items.get((qid, turn), []):
                    if outcome.row is None:
                        statuses.append(failures.call_failed(outcome))
                        continue
                    if outcome.row.get("status") != STATUS_OK:
                        failures.add("parse")
                    statuses.append(outcome.row.get("status", STATUS_OK))
                    scores.append(float(outcome.row["judge_score"]))
                samples.append({
                    "item": f"{qid}/turn{turn}", "score": statistics.median(scores) if scores else None,
                    "group": question["category"], "turn": turn, "question_id": qid,
                    "ratings": scores, "status": statuses[0] if statuses else "missing",
                })
        return _aggregate(run.questions, samples, failures)

    def write_judgments(self, run: JudgeRun, outcomes: list[JudgeOutcome], folder: Path) -> Path:
        """evaluator.py's evaluated/<model>/<strategy>.jsonl (UTF-8 with BOM, as upstream writes it): the
        generated row plus query_single / query_multi {judge_message, judge_score} (the first repeat's)."""
        files = run.data.files
        rows = {item: next((o.row for o in group if o.row is not None), None)
                for item, group in by_item(outcomes).items()}
        lines = []
        for question in run.questions:
            qid = question["question_id"]
            row = {"id": qid, "category": question["category"], "questions": files["questions"][qid],
                   "outputs": run.answers[qid], "references": files["references"][qid]}
            for turn, key in QUERY_KEYS.items():
                judged = rows.get((qid, turn))
                row[key] = ({"judge_message": judged["judge_message"], "judge_score": judged["judge_score"]}
                            if judged else None)
            lines.append(json.dumps(row, ensure_ascii=False) + "\n")
        path = folder / "evaluated" / model_slug(run.model_id) / f"{run.data.strategy}.jsonl"
        write_bytes_atomic(path, "".join(lines).encode("utf-8-sig"))
        return path


def _aggregate(questions: list[dict], samples: list[dict], failures) -> Summary:
    """score.py: the mean of the single-turn and the multi-turn means, per category too."""
    valid = [s for s in samples if s["score"] is not None]
    single = mean([s["score"] for s in valid if s["turn"] == SINGLE])
    multi = mean([s["score"] for s in valid if s["turn"] == MULTI])
    score = (single + multi) / 2 if single is not None and multi is not None else None
    metrics: dict = {"judge_score": score, "single_turn": single, "multi_turn": multi,
                     "n_items": len(samples), "n_valid": len(valid), "n_questions": len(questions)}
    subscores: dict = {"single_turn": single, "multi_turn": multi}
    for category in dict.fromkeys(q["category"] for q in questions):
        cat_single = mean([s["score"] for s in valid if s["group"] == category and s["turn"] == SINGLE])
        cat_multi = mean([s["score"] for s in valid if s["group"] == category and s["turn"] == MULTI])
        metrics[f"{category} single_turn"], metrics[f"{category} multi_turn"] = cat_single, cat_multi
        subscores[category] = (cat_single + cat_multi) / 2 if cat_single is not None and cat_multi is not None else None
    return Summary(score, metrics, subscores, failures, samples, len(samples))


FORMAT = LogicKor()
