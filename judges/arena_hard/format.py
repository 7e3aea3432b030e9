"""Arena-Hard-Auto v0.1: pairwise judging against a baseline's answers, two games per question with
the positions swapped, scored by show_result.py's Bradley-Terry win rate (lm-sys/arena-hard-auto:
gen_answer.py, gen_judgment.py, show_result.py at the commit the definition names).

The judge's system prompt, its user template and the verdict regex are read from the official
judge_config.yaml; the protocol numbers (baseline, attempts, judge, temperature, max tokens) are the
definition's and must agree with that file. Game 1 shows the baseline as Assistant A and the model
as B, game 2 the other way round; the user message is `template.format(question_1, answer_1,
answer_2)`. A reply without a verdict label is followed up once ("continue your judgment...", the
conversation kept) and the two replies are read together; two different labels are no verdict and
not followed up (gen_judgment.get_score). A game without a known verdict (none, several, or a label
the regex admits but show_result ignores, such as A>>>B) gives no battle and is counted as a parse
failure. Answers and judgments are written in the official files (model_answer/<model>.jsonl,
model_judgment/<judge>/<model>.jsonl with `games`), and the score is computed from exactly the games
written there, so show_result.py reproduces it from those files. The per-sample rows are the battles
(a strong verdict's three as three rows), so their mean is the score; a game that makes no battle is a
row without a score, with its status. With --judge_repeats N both games are judged N times: N rows
per question in the judgment file, every battle counted (as show_result.py counts such a file).
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from evalsuite.data.local import read_jsonl
from evalsuite.errors import BadInputError
from evalsuite.judging.client import STATUS_OK, JudgeOutcome, JudgeTask, RenderedPrompt, stable_hash
from evalsuite.judging.core import JudgeFormat, JudgeRun, Judgment, Summary, check_template, missing_answers
from evalsuite.judging.definitions import BenchmarkData, JudgeDefinition, check_questions
from evalsuite.judging.pairwise_scores import BASELINE_WINS, MODEL_WINS, TIE, win_rate, win_share
from evalsuite.results.store import model_slug, write_bytes_atomic

GAMES = (1, 2)
TEMPLATE_FIELDS = {"question_1", "answer_1", "answer_2"}
API_ERROR_OUTPUT = "$ERROR$"  # utils.API_ERROR_OUTPUT: what upstream records for a failed judge call
STATUS_NO_VERDICT = "no_verdict"
STATUS_MULTIPLE = "multiple_verdicts"
STATUS_UNKNOWN = "unknown_verdict"  # a label the regex admits that show_result.py ignores (A>>>B)
PARSE_STATUSES = (STATUS_NO_VERDICT, STATUS_MULTIPLE, STATUS_UNKNOWN)
# Game 1's labels (baseline = Assistant A): the winner and whether the verdict is strong
# (show_result.get_battles_from_row); game 2 mirrors the winner.
VERDICTS = {"A>>B": (BASELINE_WINS, True), "A>B": (BASELINE_WINS, False), "A=B": (TIE, False),
            "B>A": (MODEL_WINS, False), "B>>A": (MODEL_WINS, True)}
MIRRORED = {BASELINE_WINS: MODEL_WINS, TIE: TIE, MODEL_WINS: BASELINE_WINS}
POINTS = {BASELINE_WINS: 0.0, TIE: 50.0, MODEL_WINS: 100.0}  # the model's, per battle, in percent


@dataclass(frozen=True)
class PairwiseSettings:
    """The `judge:` keys of an Arena-Hard definition."""

    baseline_model: str
    verdict_pattern: re.Pattern  # group 1 is the verdict label (judge_config.yaml regex_pattern)
    attempts: int  # judge calls per game before it has no verdict (number_of_judgment_attempts)
    followup_prompt: str  # the user turn after a reply without a verdict
    strong_weight: int  # battles a strong verdict counts as (show_result --weight)
    bootstrap_rounds: int  # show_result --num-rounds
    bootstrap_seed: int  # utils_math's np.random.seed


@dataclass(frozen=True)
class JudgeConfig:
    """What the official judge_config.yaml gives the judge: its system prompt and user template."""

    system_prompt: str
    template: str


@dataclass(frozen=True)
class Game:
    """One judged game as the official judgment file records it, plus its status."""

    user_prompt: str
    judgment: str
    score: str | None
    status: str


def _compiled(pattern: Any) -> re.Pattern:
    try:
        return re.compile(str(pattern))
    except re.error as err:
        raise ValueError(f"verdict_pattern does not compile ({err})") from err


def render_judge_prompt(config: JudgeConfig, question: dict, answer_1: str, answer_2: str, game: int) -> RenderedPrompt:
    """gen_judgment.judgment's conversation for one game: system prompt, then the rendered template."""
    user_prompt = config.template.format(question_1=question["turns"][0], answer_1=answer_1, answer_2=answer_2)
    return RenderedPrompt(f"game{game}", user_prompt, [{"role": "system", "content": config.system_prompt},
                                                      {"role": "user", "content": user_prompt}])


def read_verdict(judgment: str, pattern: re.Pattern) -> tuple[str | None, bool]:
    """gen_judgment.get_score: (label, ask again). One distinct label -> it; none -> (None, True);
    several different ones -> (None, False)."""
    labels = {match for match in pattern.findall(judgment) if match != ""}
    if not labels:
        return None, True
    if len(labels) == 1:
        return labels.pop().strip("\n"), False
    return None, False


def verdict_status(label: str | None, ask_again: bool) -> str:
    """How a game's final label counts: ok, or which kind of parse failure."""
    if label is None:
        return STATUS_NO_VERDICT if ask_again else STATUS_MULTIPLE
    return STATUS_OK if label in VERDICTS else STATUS_UNKNOWN


def battle_of(label: str | None, game: int) -> tuple[int, int] | None:
    """(winner, strong) of a game's verdict; None when it makes no battle."""
    if label not in VERDICTS:
        return None
    winner, strong = VERDICTS[label]
    return (winner if game == 1 else MIRRORED[winner]), strong


def read_judge_config(path: Path) -> dict:
    """The official judge_config.yaml as a mapping; BadInputError when unreadable."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError, RecursionError) as err:
        raise BadInputError(f"{path}: unreadable judge config ({type(err).__name__})") from err
    if not isinstance(raw, dict):
        raise BadInputError(f"{path}: the judge config must be a mapping")
    return raw


def check_judge_config(path: Path, raw: dict, definition: JudgeDefinition) -> JudgeConfig:
    """The prompts and regex of the official config, after checking it describes the definition's
    protocol (pairwise against the definition's baseline, its judge, attempts and limits)."""
    settings: PairwiseSettings = definition.settings
    expected = {"pairwise": True, "baseline": True, "baseline_model": settings.baseline_model,
                "judge_model": definition.default_judge_model, "temperature": definition.judge_temperature,
                "max_tokens": definition.judge_max_tokens, "number_of_judgment_attempts": settings.attempts,
                "regex_pattern": settings.verdict_pattern.pattern}
    for key, value in expected.items():
        if raw.get(key) != value:
            raise BadInputError(f"{path}: {key} is {raw.get(key)!r}, the definition's protocol has {value!r}")
    if raw.get("reference"):
        raise BadInputError(f"{path}: reference answers are not part of this protocol (reference: false)")
    templates, system_prompt = raw.get("prompt_template"), raw.get("system_prompt")
    if not (isinstance(templates, list) and len(templates) == 1 and isinstance(templates[0], str)):
        raise BadInputError(f"{path}: prompt_template must be a list of one template")
    if not isinstance(system_prompt, str):
        raise BadInputError(f"{path}: needs a system_prompt string")
    problem = check_template(templates[0], TEMPLATE_FIELDS)
    if problem:
        raise BadInputError(f"{path}: prompt_template: {problem}; known: {', '.join(sorted(TEMPLATE_FIELDS))}")
    return JudgeConfig(system_prompt, templates[0])


def answer_text(row: Any) -> tuple[Any, str] | None:
    """(question_id, choices[0].turns[0].content) of an official answer row, or None if it is not one."""
    try:
        qid, content = row["question_id"], row["choices"][0]["turns"][0]["content"]
    except (KeyError, IndexError, TypeError):
        return None
    if isinstance(qid, bool) or not isinstance(qid, (int, str)) or not isinstance(content, str):
        return None
    return qid, content


def read_answer_rows(path: Path) -> tuple[set[str], dict[Any, str]]:
    """(model ids, {question_id: answer}) of an Arena-Hard model_answer file; BadInputError on a row
    that is not an answer, and on a question answered twice (utils.load_model_answers keeps the last
    line silently: which answer was judged would depend on line order)."""
    model_ids: set[str] = set()
    by_id: dict[Any, str] = {}
    for number, row in enumerate(read_jsonl(path), 1):
        parsed = answer_text(row)
        if parsed is None:
            raise BadInputError(f"{path}: line {number}: not an Arena-Hard answer "
                                "(question_id, choices[0].turns[0].content)")
        if parsed[0] in by_id:
            raise BadInputError(f"{path}: line {number}: duplicate question_id {parsed[0]}")
        model_id = row.get("model_id")
        model_ids.add(model_id if isinstance(model_id, str) and model_id else path.stem)
        by_id[parsed[0]] = parsed[1]
    return model_ids, by_id


class ArenaHard(JudgeFormat):
    """Arena-Hard-Auto v0.1's pairwise judging against a baseline, two games per question."""

    name = "arena_hard_v01"
    data_files = ("questions", "baseline_answers", "judge_config")

    def parse_settings(self, judge: dict) -> PairwiseSettings:
        settings = PairwiseSettings(
            baseline_model=str(judge["baseline_model"]),
            verdict_pattern=_compiled(judge["verdict_pattern"]),
            attempts=int(judge["attempts"]),
            followup_prompt=str(judge["followup_prompt"]),
            strong_weight=int(judge["strong_weight"]),
            bootstrap_rounds=int(judge["bootstrap_rounds"]),
            bootstrap_seed=int(judge["bootstrap_seed"]),
        )
        if settings.verdict_pattern.groups != 1:
            raise ValueError("verdict_pattern needs exactly one group (the verdict label)")
        if settings.attempts < 1 or settings.strong_weight < 1 or settings.bootstrap_rounds < 0:
            raise ValueError("attempts and strong_weight must be at least 1, bootstrap_rounds at least 0")
        return settings

    def load_data(self, definition: JudgeDefinition, paths: dict[str, Path], strategy: str | None) -> BenchmarkData:
        config = check_judge_config(paths["judge_config"], read_judge_config(paths["judge_config"]), definition)
        questions = []
        for number, row in enumerate(read_jsonl(paths["questions"]), 1):
            turns = row.get("turns") if isinstance(row, dict) else None
            if not (isinstance(turns, list) and all(isinstance(t, dict) and isinstance(t.get("content"), str)
                                                    for t in turns)):
                raise BadInputError(f"{paths['questions']}: line {number}: turns must be [{{\"content\": ...}}]")
            questions.append({"question_id": row.get("question_id"), "category": row.get("category"),
                              "cluster": row.get("cluster"), "turns": [t["content"] for t in turns]})
        check_questions(paths["questions"], questions, turns=1)
        model_ids, baseline = read_answer_rows(paths["baseline_answers"])
        if model_ids != {definition.settings.baseline_model}:
            raise BadInputError(f"{paths['baseline_answers']}: answers of {sorted(model_ids)}, "
                                f"not of the baseline {definition.settings.baseline_model}")
        missing = [q["question_id"] for q in questions if q["question_id"] not in baseline]
        if missing:
            raise BadInputError(f"{paths['baseline_answers']}: no baseline answer for {len(missing)} "
                                f"question(s), e.g. {missing[:3]}")
        return BenchmarkData(questions, {"config": config, "baseline": baseline})

    def read_answers(self, path: Path, questions: list[dict]) -> tuple[str, dict[Any, list[str]]]:
        """An Arena-Hard model_answer/<model>.jsonl (gen_answer.py): question_id, model_id,
        choices[0].turns[0].content."""
        model_ids, by_id = read_answer_rows(path)
        if len(model_ids) != 1:
            raise BadInputError(f"{path}: expected the answers of one model, found model_id {sorted(model_ids)}")
        missing_answers(path, questions, by_id, shown=3)
        return model_ids.pop(), {q["question_id"]: [by_id[q["question_id"]]] for q in questions}

    def answers_path(self, folder: Path, model_id: str, data: BenchmarkData) -> Path:
        return folder / "model_answer" / f"{model_slug(model_id)}.jsonl"

    def write_answers(self, path: Path, model_id: str, data: BenchmarkData, questions: list[dict],
                      answers: dict[Any, list[str]]) -> None:
        """gen_answer.py's rows, sorted by question_id (utils.reorg_answer_file). Without its
        conv_metadata: the token count is tiktoken's (gpt-3.5-turbo encoding), which is not available
        offline; upstream's add_markdown_info.py adds it."""
        rows = sorted(questions, key=lambda q: str(q["question_id"]))
        write_bytes_atomic(path, "".join(
            json.dumps({"question_id": q["question_id"],
                        "answer_id": stable_hash([model_id, q["question_id"], answers[q["question_id"]]], 22),
                        "model_id": model_id,
                        "choices": [{"index": 0, "turns": [{"content": answers[q["question_id"]][0]}]}],
                        "tstamp": time.time()}) + "\n"
            for q in rows
        ).encode("utf-8"))

    def protocol(self, definition: JudgeDefinition) -> dict:
        settings: PairwiseSettings = definition.settings
        return {"format": self.name, "prompts": "judge_config.yaml system_prompt + prompt_template",
                "baseline": settings.baseline_model, "games": len(GAMES), "attempts": settings.attempts,
                "strong_weight": settings.strong_weight, "bootstrap_rounds": settings.bootstrap_rounds}

    def build_tasks(self, run: JudgeRun) -> list[JudgeTask]:
        config: JudgeConfig = run.data.files["config"]
        tasks = []
        for question in run.questions:
            qid = question["question_id"]
            baseline, answer = run.data.files["baseline"][qid], run.answers[qid][0]
            for repeat in range(run.repeats):
                for game in GAMES:
                    first, second = (baseline, answer) if game == 1 else (answer, baseline)
                    tasks.append(JudgeTask.of(qid, game, repeat, run.model_id,
                                              render_judge_prompt(config, question, first, second, game)))
        return tasks

    def attempts(self, run: JudgeRun) -> int:
        return run.settings.attempts + run.reasks

    def parse(self, run: JudgeRun, replies: list[str]) -> tuple[str | None, bool]:
        """The replies are read together (gen_judgment.judgment joins them)."""
        return read_verdict(_joined(replies), run.settings.verdict_pattern)

    def accepted(self, parsed: tuple[str | None, bool]) -> bool:
        return not parsed[1]

    def follow_up(self, run: JudgeRun, messages: list[dict], reply: str) -> list[dict]:
        """Without a label, follow up in the same conversation (as gen_judgment.judgment)."""
        return messages + [{"role": "assistant", "content": reply},
                           {"role": "user", "content": run.settings.followup_prompt}]

    def judgment(self, run: JudgeRun, task: JudgeTask, judge_model: str, replies: list[str],
                 parsed: tuple[str | None, bool] | None) -> Judgment:
        label, ask_again = parsed or (None, True)
        return Judgment({
            "question_id": task.question_id, "model": task.model_id, "judge": judge_model, "game": task.part,
            "user_prompt": task.prompt.user_prompt, "judgment": _joined(replies), "score": label,
            "tstamp": time.time(),
        }, verdict_status(label, ask_again))

    def summarize(self, run: JudgeRun, outcomes: list[JudgeOutcome]) -> Summary:
        settings: PairwiseSettings = run.settings
        questions = run.questions
        failures = self.failures()
        statuses = {status: 0 for status in (STATUS_OK, *PARSE_STATUSES)}
        labels: dict[str, int] = {label: 0 for label in VERDICTS}
        battles: list[int] = []
        by_game: dict[int, list[int]] = {game: [] for game in GAMES}
        samples: list[dict] = []
        followups = 0
        many = any(o.task.repeat > 0 for o in outcomes)
        for question, repeat, games in judged_games(questions, outcomes):
            qid = question["question_id"]
            for game, (played, outcome) in zip(GAMES, games):
                item = f"{qid}/r{repeat}/game{game}" if many else f"{qid}/game{game}"
                base = {"group": question.get("cluster") or question["category"], "question_id": qid,
                        "game": game, "repeat": repeat, "verdict": played.score, "status": played.status}
                if outcome.row is None:
                    failures.call_failed(outcome)
                    samples.append({"item": item, "score": None, **base})
                    continue
                followups += max(0, int(outcome.row.get("attempts", 1)) - 1)
                statuses[played.status] = statuses.get(played.status, 0) + 1
                battle = battle_of(played.score, game)
                if battle is None:
                    failures.add("parse")
                    samples.append({"item": item, "score": None, **base})
                    continue
                labels[played.score] += 1
                winner, strong = battle
                weight = settings.strong_weight if strong else 1
                battles.extend([winner] * weight)
                by_game[game].extend([winner] * weight)
                # one row per battle, so that the rows' mean is the score
                copies = [item] if weight == 1 else [f"{item}/{k}" for k in range(1, weight + 1)]
                samples.extend({"item": name, "score": POINTS[winner], "weight": weight, **base} for name in copies)
        rate = win_rate(battles, settings.bootstrap_rounds, settings.bootstrap_seed)
        score = rate.score if battles else None
        metrics: dict = {
            "win_rate": score, "win_rate_ci_low": rate.low, "win_rate_ci_high": rate.high,
            "n_battles": len(battles),
            "wins": battles.count(MODEL_WINS), "ties": battles.count(TIE), "losses": battles.count(BASELINE_WINS),
            "n_games": len(outcomes),
            "n_valid_games": statuses[STATUS_OK], "n_questions": len(questions), "followups": followups,
            **{f"n_{status}": count for status, count in statuses.items() if status != STATUS_OK},
            **{f"verdict {label}": count for label, count in labels.items()},
        }
        subscores = {f"game{game}": (100.0 * win_share(wins) if wins else None) for game, wins in by_game.items()}
        return Summary(score, metrics, subscores, failures, samples, len(outcomes))

    def write_judgments(self, run: JudgeRun, outcomes: list[JudgeOutcome], folder: Path) -> Path:
        """gen_judgment.py's model_judgment/<judge>/<model>.jsonl: one row per question (and repeat)
        with its two games; a failed judge call is written as upstream records one ("$ERROR$", no score)."""
        judge_model, model_id = run.judge_model, run.model_id
        lines = []
        for question, _repeat, games in judged_games(run.questions, outcomes):
            lines.append(json.dumps({
                "question_id": question["question_id"], "model": model_id, "judge": judge_model,
                "games": [{"user_prompt": g.user_prompt, "judgment": g.judgment, "score": g.score} for g, _ in games],
            }, ensure_ascii=False) + "\n")
        path = folder / "model_judgment" / model_slug(judge_model) / f"{model_slug(model_id)}.jsonl"
        write_bytes_atomic(path, "".join(lines).encode("utf-8"))
        return path


def judged_games(questions: list[dict], outcomes: list[JudgeOutcome]) -> list[tuple[dict, int, list[tuple[Game, JudgeOutcome]]]]:
    """(question, repeat, [(game 1, its outcome), (game 2, ...)]) in question and repeat order: the rows
    of the judgment file, and the order of the battles show_result.py bootstraps."""
    by_key = {(o.task.question_id, o.task.repeat, o.task.part): o for o in outcomes}
    repeats = sorted({o.task.repeat for o in outcomes})
    rows = []
    for question in questions:
        for repeat in repeats:
            pair = [by_key.get((question["question_id"], repeat, game)) for game in GAMES]
            if any(outcome is None for outcome in pair):
                continue
            rows.append((question, repeat, [(game_of(outcome), outcome) for outcome in pair]))
    return rows


def _joined(replies: list[str]) -> str:
    """The judgment text of a game: its replies, each after a newline (gen_judgment.judgment)."""
    return "".join("\n" + reply for reply in replies)


def game_of(outcome: JudgeOutcome) -> Game:
    """The official game record of an outcome (a failed call as upstream's "$ERROR$" with no score).
    The status follows from the label (a cached row's own status only tells none from several)."""
    if outcome.row is None:
        return Game(outcome.task.prompt.user_prompt, API_ERROR_OUTPUT, None, outcome.failure or "api")
    row = outcome.row
    label = row.get("score") if isinstance(row.get("score"), str) else None
    if label is not None:
        status = STATUS_OK if label in VERDICTS else STATUS_UNKNOWN
    else:
        status = row.get("status") if row.get("status") == STATUS_MULTIPLE else STATUS_NO_VERDICT
    return Game(str(row.get("user_prompt", "")), str(row.get("judgment", "")), label, status)


FORMAT = ArenaHard()
