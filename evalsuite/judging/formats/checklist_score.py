"""Checklist-guided single-answer scoring (WildBench v2's WB-Score: allenai/WildBench src/eval.py --mode
score, src/openai_batch_eval/batch_results_format.py, leaderboard/data_dir/_create_tables.py score, at
the commit the judge definition names).

Tasks are conversations: the model answers the last user turn after the task's earlier turns (replayed
with roles by position, as unified_infer.py does). The judge prompt is the definition's template with
`{$history}`, `{$user_query}`, `{$model_output}` and `{$checklist}` filled by eval.py's sequential
str.replace (text substituted early is searched by the later replacements, as there), sent as one user
message with the definition's request fields (response_format json_object). A reply is read as the
official batch formatter reads it: the whole reply is a JSON object with a `score`; one it would drop
(not JSON, no score) is counted as a parse failure and left out, as is a score it would crash on or be
poisoned by (not a finite number in range, or given twice). No re-ask unless --judge_reask N.
The score is _create_tables.py's: per merged task group the mean judge score, adjusted (s - center) x
factor; the weighted mean of the groups over the sum of all weights (WB_score.task_macro / 10); a
task counts in every group of its tags; empty or truncated outputs count only in the plain mean.
"""

from __future__ import annotations

import json
import math
import re
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evalsuite.errors import BadInputError
from evalsuite.judging.client import STATUS_OK, JudgeClient, JudgeOutcome, JudgeTask, RenderedPrompt
from evalsuite.judging.core import (
    JudgeFormat, JudgeRun, Judgment, Summary, by_item, mean, missing_answers, reasks_of, stderr,
)
from evalsuite.judging.definitions import BenchmarkData, JudgeDefinition, check_questions
from evalsuite.results.store import model_slug, write_bytes_atomic

# eval.py fills these in this order, each a str.replace of "{$name}" over the whole prompt so far.
PLACEHOLDERS = ("history", "user_query", "model_output", "checklist")
_PLACEHOLDER = re.compile(r"\{\$([^{}]*)\}")
HISTORY_PREFIXES = {"user": "USER: ", "assistant": "ASSISTANT: "}
TRUNCATION_MARK = "... (truncated)"  # eval.py's shorten() mark; such outputs leave the group means
RESPONSE_START, RESPONSE_END = "<|begin_of_response|>\n", "<|end_of_response|>\n"
PROMPT_NAME = "score"
TURN = 1

STATUS_NOT_JSON = "not_json"
STATUS_NO_SCORE = "no_score"
STATUS_BAD_SCORE = "bad_score"
STATUS_TWO_SCORES = "two_scores"
PARSE_STATUSES = (STATUS_NOT_JSON, STATUS_NO_SCORE, STATUS_BAD_SCORE, STATUS_TWO_SCORES)


@dataclass(frozen=True)
class ChecklistSettings:
    """The `judge:` keys of a checklist-scoring definition."""

    request: dict  # request fields of every judge call (response_format)
    max_words: int  # eval.py --max_words_to_eval (-1: no truncation)
    score_key: str
    score_range: tuple[float, float]
    center: float  # adjusted = (score - center) x factor
    factor: float
    groups: dict[str, str]  # task tag -> merged group
    weights: dict[str, float]  # merged group -> weight of the macro average
    answer_folder: str  # result_dirs/<answer_folder>/<model>.json (unified_infer.py's output folder)
    answer_dataset: str  # the answer rows' "dataset"
    judgment_folder: str  # eval_results/<judgment_folder>/eval=<judge>/<model>.json (the eval scripts')


@dataclass(frozen=True)
class ParsedReply:
    """A judge reply read: its status, the score (None unless ok), the raw value and the JSON object."""

    status: str
    score: float | None
    raw_score: Any
    parsed: dict | None


def shorten(text: str, max_words: int) -> str:
    """eval.py's shorten: the first `max_words` space-separated words and the mark (<= 0: unchanged)."""
    if max_words > 0 and len(text.split(" ")) > max_words:
        return " ".join(text.split(" ")[:max_words]) + TRUNCATION_MARK
    return text


def render_history(messages: list[dict]) -> str:
    """compose_eval_item: "USER: ..." / "ASSISTANT: ..." per earlier message (by its role field), each
    followed by a blank line; other roles are skipped."""
    return "".join(HISTORY_PREFIXES[m["role"]] + m["content"] + "\n\n"
                   for m in messages if m["role"] in HISTORY_PREFIXES)


def render_checklist(items: list[str]) -> str:
    """placeholder_generation's checklist markdown: "- item" lines."""
    return "".join(f"- {item}\n" for item in items)


def render_prompt(template: str, conversation: list[dict], checklist: list[str], model_output: str,
                  max_words: int) -> str:
    """The judge prompt of one task, byte for byte as eval.py renders it (sequential str.replace)."""
    values = {
        "history": shorten(render_history(conversation[:-1]), max_words),
        "user_query": shorten(conversation[-1]["content"], max_words),
        "model_output": shorten(model_output, max_words),
        "checklist": render_checklist(checklist),
    }
    prompt = template
    for name in PLACEHOLDERS:
        prompt = prompt.replace("{$" + name + "}", values[name])
    return prompt


def response_in_prompt(prompt: str) -> str:
    """batch_results_format.py's model_output: the prompt's text between the response markers, stripped."""
    parts = prompt.split(RESPONSE_START)
    return parts[1].split(RESPONSE_END)[0].strip() if len(parts) > 1 else ""


def parse_reply(reply: str | None, settings: ChecklistSettings) -> ParsedReply:
    """A reply as batch_results_format.py reads it (json.loads of the whole reply; an object holding the
    score key), stricter where it would crash or be poisoned: one finite score in range."""
    key_lists: list[list[str]] = []

    def pairs(items: list[tuple[str, Any]]) -> dict:
        key_lists.append([key for key, _ in items])
        return dict(items)

    try:
        parsed = json.loads(reply or "", object_pairs_hook=pairs)
    except (ValueError, RecursionError):
        return ParsedReply(STATUS_NOT_JSON, None, None, None)
    if not isinstance(parsed, dict):
        return ParsedReply(STATUS_NOT_JSON, None, None, None)
    key = settings.score_key
    if key not in parsed:
        return ParsedReply(STATUS_NO_SCORE, None, None, parsed)
    raw = parsed[key]
    if key_lists[-1].count(key) > 1:
        return ParsedReply(STATUS_TWO_SCORES, None, raw, parsed)
    value = None
    if (isinstance(raw, (int, float)) and not isinstance(raw, bool)) or isinstance(raw, str):
        try:
            value = float(raw)
        except (ValueError, OverflowError):  # not a number; an integer of hundreds of digits
            value = None
    low, high = settings.score_range
    if value is None or not math.isfinite(value) or not low <= value <= high:
        return ParsedReply(STATUS_BAD_SCORE, None, raw, parsed)
    return ParsedReply(STATUS_OK, value, raw, parsed)


def aggregate(rows: list[tuple[str, float, str]], tags: dict[str, list[str]], settings: ChecklistSettings) -> dict:
    """_create_tables.py score over (session_id, score, model_output) rows: its score.json row's fields."""
    scores: list[float] = []
    lengths: list[int] = []
    by_group: dict[str, list[float]] = {}
    for session_id, score, model_output in rows:
        scores.append(score)
        if model_output.endswith(TRUNCATION_MARK) or not model_output:
            continue
        lengths.append(len(model_output))
        for group in dict.fromkeys(settings.groups[tag] for tag in tags[session_id]):
            by_group.setdefault(group, []).append(score)
    group_scores = {g: (mean(v) - settings.center) * settings.factor for g, v in by_group.items()}
    average = mean(scores)
    macro = (sum(group_scores[g] * settings.weights[g] for g in group_scores) / sum(settings.weights.values())
             if scores else None)
    return {
        "score": average,
        "adjusted_score": None if average is None else (average - settings.center) * settings.factor,
        "task_macro_score": macro,
        "adjusted_task_macro_score": macro,
        "task_categorized_scores": group_scores,
        "total": len(rows),
        "avg_len": mean(lengths),
    }


def read_task_rows(path: Path) -> list[dict]:
    """The rows of the tasks file: the Hub's parquet (or the same rows as JSON lines)."""
    try:
        if path.suffix == ".parquet":
            import pyarrow.parquet  # heavy: only when the tasks are read

            return pyarrow.parquet.read_table(path).to_pylist()
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    except Exception as err:  # noqa: BLE001  (pyarrow raises its own kinds; json/unicode errors too)
        raise BadInputError(f"{path}: unreadable tasks file ({type(err).__name__})") from None


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def check_task(row: Any, groups: dict[str, str]) -> str | None:
    """Why a task row is unusable (one line), or None."""
    if not isinstance(row, dict):
        return "not an object"
    conversation = row.get("conversation_input")
    if not (isinstance(row.get("session_id"), str) and row["session_id"]):
        return "session_id must be a non-empty string"
    if not (isinstance(conversation, list) and conversation and all(
            isinstance(m, dict) and isinstance(m.get("role"), str) and isinstance(m.get("content"), str)
            for m in conversation)):
        return "conversation_input must be a non-empty list of {role, content} strings"
    if conversation[-1]["role"] != "user":
        return "the last message of conversation_input must be the user's"
    if not _strings(row.get("checklist")):
        return "checklist must be a list of strings"
    if not (isinstance(row.get("primary_tag"), str) and _strings(row.get("secondary_tags"))):
        return "primary_tag must be a string and secondary_tags a list of strings"
    unknown = [t for t in [row["primary_tag"], *row["secondary_tags"]] if t not in groups]
    if unknown:
        return f"unknown task tag {unknown[0]!r} (known: {', '.join(groups)})"
    return None


class ChecklistScore(JudgeFormat):
    """Checklist-guided 1-10 scoring of one answer per conversation, macro-averaged over task groups."""

    name = "checklist_score"
    data_files = ("tasks", "template")

    def parse_settings(self, judge: dict) -> ChecklistSettings:
        groups = {str(tag): str(group) for tag, group in judge["groups"].items()}
        weights = {str(group): float(weight) for group, weight in judge["group_weights"].items()}
        if set(groups.values()) != set(weights) or not sum(weights.values()) > 0:
            raise ValueError("judge.groups must map tags onto exactly the groups of judge.group_weights")
        low, high = (float(v) for v in judge["score_range"])
        return ChecklistSettings(
            request=dict(judge.get("request") or {}),
            max_words=int(judge["max_words_to_eval"]),
            score_key=str(judge["score_key"]),
            score_range=(low, high),
            center=float(judge["adjust"]["center"]),
            factor=float(judge["adjust"]["factor"]),
            groups=groups,
            weights=weights,
            answer_folder=str(judge["answer_folder"]),
            answer_dataset=str(judge["answer_dataset"]),
            judgment_folder=str(judge["judgment_folder"]),
        )

    def load_data(self, definition: JudgeDefinition, paths: dict[str, Path], strategy: str | None) -> BenchmarkData:
        settings: ChecklistSettings = definition.settings
        try:
            template = paths["template"].read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            raise BadInputError(f"{paths['template']}: unreadable judge template ({type(err).__name__})") from None
        found = _PLACEHOLDER.findall(template)
        unknown = sorted({name for name in found if name not in PLACEHOLDERS})
        missing = [name for name in PLACEHOLDERS if name not in found]
        if unknown or missing:
            problem = f"unknown placeholder(s) {', '.join('{$' + n + '}' for n in unknown)}" if unknown else \
                f"no {', '.join('{$' + n + '}' for n in missing)}"
            raise BadInputError(f"{paths['template']}: judge template: {problem}; "
                                f"known: {', '.join('{$' + n + '}' for n in PLACEHOLDERS)}")
        questions, tasks = [], {}
        for number, row in enumerate(read_task_rows(paths["tasks"]), 1):
            problem = check_task(row, settings.groups)
            if problem:
                raise BadInputError(f"{paths['tasks']}: task {number}: {problem}")
            conversation = [{"role": m["role"], "content": m["content"]} for m in row["conversation_input"]]
            session_id = row["session_id"]
            questions.append({
                "question_id": session_id,
                "category": row["primary_tag"],
                "turns": [conversation[-1]["content"]],
                # unified_infer.py replays the conversation with roles by position (user first)
                "history": [{"role": "user" if i % 2 == 0 else "assistant", "content": m["content"]}
                            for i, m in enumerate(conversation[:-1])],
            })
            tasks[session_id] = {"conversation": conversation, "checklist": list(row["checklist"]),
                                 "tags": [row["primary_tag"], *row["secondary_tags"]]}
        check_questions(paths["tasks"], questions, turns=1)
        answer_file = {  # what write_answers records, as unified_infer.py's save_outputs does (the answers'
            # token limit, which a run may override, is the result's protocol.max_new_tokens, not repeated here)
            "folder": settings.answer_folder, "dataset": settings.answer_dataset,
            "configs": {"engine": "evalsuite", "repetition_penalty": 1.0, "temperature": definition.default_temperature,
                        "top_p": 1.0},
        }
        return BenchmarkData(questions, {"template": template, "tasks": tasks, "answer_file": answer_file})

    def read_answers(self, path: Path, questions: list[dict]) -> tuple[str, dict[str, list[str]]]:
        """unified_infer.py's answer file (one JSON list): session_id, output ([text] or text), generator;
        the model is the generator (eval.py's model_test)."""
        try:
            rows = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError, RecursionError) as err:
            raise BadInputError(f"{path}: not a JSON answer file ({type(err).__name__})") from None
        if not isinstance(rows, list):
            raise BadInputError(f"{path}: an answer file is a JSON list of {{session_id, output, generator}}")
        by_id: dict[str, str] = {}
        generators = set()
        for number, row in enumerate(rows, 1):
            output = row.get("output") if isinstance(row, dict) else None
            if isinstance(output, list) and output:
                output = output[0]
            if not (isinstance(row, dict) and isinstance(row.get("session_id"), str) and isinstance(output, str)):
                raise BadInputError(f"{path}: answer {number}: needs session_id and output (a string or [string])")
            if row["session_id"] in by_id:
                raise BadInputError(f"{path}: duplicate session_id {row['session_id']}")
            generator = row.get("generator")
            generators.add(generator if isinstance(generator, str) and generator else path.stem)
            by_id[row["session_id"]] = output
        if len(generators) > 1:
            raise BadInputError(f"{path}: expected the answers of one model, found generators {sorted(generators)[:5]}")
        missing_answers(path, questions, by_id, what="task(s)")
        model_id = generators.pop() if generators else path.stem
        return model_id, {q["question_id"]: [by_id[q["question_id"]]] for q in questions}

    def answers_path(self, folder: Path, model_id: str, data: BenchmarkData) -> Path:
        return folder / "result_dirs" / data.files["answer_file"]["folder"] / f"{model_slug(model_id)}.json"

    def write_answers(self, path: Path, model_id: str, data: BenchmarkData, questions: list[dict],
                      answers: dict[str, list[str]]) -> None:
        """unified_infer.py's save_outputs rows (json.dump indent 2)."""
        answer_file = data.files["answer_file"]
        rows = []
        for question in questions:
            qid = question["question_id"]
            conversation = data.files["tasks"][qid]["conversation"]
            rows.append({
                "session_id": qid,
                "chat_history": [m["content"] for m in conversation],
                "model_input": "n/a",
                "output": [answers[qid][0]],
                "generator": model_id,
                "configs": answer_file["configs"],
                "dataset": answer_file["dataset"],
                "primary_tag": question["category"],
            })
        write_bytes_atomic(path, json.dumps(rows, indent=2).encode("utf-8"))

    def protocol(self, definition: JudgeDefinition) -> dict:
        settings: ChecklistSettings = definition.settings
        return {"format": self.name, "prompts": "checklist score template", "request": settings.request,
                "max_words_to_eval": settings.max_words,
                "aggregation": "weighted macro over task groups " + json.dumps(settings.weights)}

    def build_tasks(self, run: JudgeRun) -> list[JudgeTask]:
        settings: ChecklistSettings = run.settings
        tasks = []
        for question in run.questions:
            qid = question["question_id"]
            task = run.data.files["tasks"][qid]
            prompt = render_prompt(run.data.files["template"], task["conversation"], task["checklist"],
                                   run.answers[qid][0], settings.max_words)
            rendered = RenderedPrompt(PROMPT_NAME, prompt, [{"role": "user", "content": prompt}])
            tasks += JudgeTask.repeated(qid, TURN, run.model_id, rendered, run.repeats)
        return tasks

    async def send(self, run: JudgeRun, client: JudgeClient, messages: list[dict], attempt: int) -> str:
        """The reply, with the definition's request fields (response_format)."""
        return await client.complete(messages, reask=attempt > 0, extra_body=run.settings.request)

    def parse(self, run: JudgeRun, replies: list[str]) -> ParsedReply:
        return parse_reply(replies[-1], run.settings)

    def accepted(self, parsed: ParsedReply) -> bool:
        """The official code never re-asks; with --judge_reask a reply without a usable score is."""
        return parsed.status == STATUS_OK

    def judgment(self, run: JudgeRun, task: JudgeTask, judge_model: str, replies: list[str],
                 parsed: ParsedReply | None) -> Judgment:
        """The official judgment row (batch_results_format.py); evalsuite's fields follow it."""
        parsed = parsed or ParsedReply(STATUS_NOT_JSON, None, None, None)
        return Judgment({
            "session_id": task.question_id,
            "parsed_result": parsed.parsed,
            "meta_data": {"batch_req_id": None, "usage": None, "error": None},
            "model_test": task.model_id,
            "score": parsed.raw_score if parsed.status == STATUS_OK else None,
            "model_output": response_in_prompt(task.prompt.user_prompt),
        }, parsed.status, {"value": parsed.score})

    def summarize(self, run: JudgeRun, outcomes: list[JudgeOutcome]) -> Summary:
        settings: ChecklistSettings = run.settings
        tasks = run.data.files["tasks"]
        items = by_item(outcomes, key=lambda task: task.question_id)
        failures = self.failures()
        statuses = dict.fromkeys(PARSE_STATUSES, 0)
        samples, rows = [], []
        for question in run.questions:
            qid = question["question_id"]
            values, status_list, model_output = [], [], None
            for outcome in items.get(qid, []):
                if outcome.row is None:
                    status_list.append(failures.call_failed(outcome))
                    continue
                status = outcome.row.get("status", STATUS_NOT_JSON)
                status_list.append(status)
                model_output = outcome.row.get("model_output", "")
                if status == STATUS_OK:
                    values.append(float(outcome.row["value"]))
                else:
                    failures.add("parse")
                    statuses[status] = statuses.get(status, 0) + 1
            score = statistics.median(values) if values else None
            if score is not None:
                rows.append((qid, score, model_output or ""))
            groups = list(dict.fromkeys(settings.groups[t] for t in tasks[qid]["tags"]))
            samples.append({
                "item": qid, "score": score, "group": question["category"], "groups": groups,
                "ratings": values, "status": STATUS_OK if score is not None else (status_list[0] if status_list else "missing"),
                "in_groups": score is not None and bool(model_output) and not model_output.endswith(TRUNCATION_MARK),
            })
        table = aggregate(rows, {qid: tasks[qid]["tags"] for qid, _, _ in rows}, settings)
        metrics: dict = {
            "wb_score_task_macro": table["adjusted_task_macro_score"],
            "wb_score": table["adjusted_score"],
            "judge_score_mean": table["score"],
            "judge_score_stderr": stderr([s for _, s, _ in rows]),
            "avg_len": table["avg_len"],
            "n_items": len(samples), "n_valid": len(rows), "n_questions": len(run.questions),
            "reasks": reasks_of(outcomes),
            **{f"n_{status}": count for status, count in statuses.items()},
        }
        subscores = {group: table["task_categorized_scores"].get(group) for group in settings.weights}
        return Summary(table["adjusted_task_macro_score"], metrics, subscores, failures, samples, len(samples))

    def write_judgments(self, run: JudgeRun, outcomes: list[JudgeOutcome], folder: Path) -> Path:
        """batch_results_format.py's eval_results/<judgment_folder>/eval=<judge>/<model>.json: one row with a
        score per task (the first repeat that has one), in task order, as _create_tables.py reads them;
        the replies it would drop, and API failures, go to <model>.failed.json beside it (evalsuite's,
        so none is lost)."""
        official_keys = ("session_id", "parsed_result", "meta_data", "model_test", "score", "model_output")
        kept: dict[str, dict] = {}
        failed = []
        for outcome in sorted(outcomes, key=lambda o: o.task.repeat):
            if outcome.row is not None and outcome.row.get("status") == STATUS_OK:
                kept.setdefault(outcome.task.question_id, {key: outcome.row[key] for key in official_keys})
            elif outcome.row is not None:
                failed.append(outcome.row)
            else:
                failed.append({"session_id": outcome.task.question_id, "repeat": outcome.task.repeat,
                               "status": outcome.failure, "error": outcome.detail})
        rows = [kept[q["question_id"]] for q in run.questions if q["question_id"] in kept]
        base = folder / "eval_results" / run.settings.judgment_folder / f"eval={model_slug(run.judge_model)}"
        path = base / f"{model_slug(run.model_id)}.json"
        write_bytes_atomic(path, json.dumps(rows, indent=2).encode("utf-8"))
        write_bytes_atomic(base / f"{model_slug(run.model_id)}.failed.json",
                           json.dumps(failed, indent=2, ensure_ascii=False).encode("utf-8"))
        return path


FORMAT = ChecklistScore()
