"""The judging core that every judged format plugs into (as simple-evals' `Eval` contract).

The core owns what every format did alike: the ask / parse / re-ask loop (`ask_until`), the cache-key
fields of a judgment row (`stamped`), the tally of failures (`Failures`, one typed record), repeats
grouped by item (`by_item`), the means. A format (`JudgeFormat`) keeps only its own: its settings,
data checks and official file layouts (answers, judgments), rendering the requests, parsing a reply,
and aggregation. Every method gets one run context (`JudgeRun`).

How a judgment is made (the runner drives it through `judge_one`): the format's `send` asks the judge
(`JudgeClient.complete` by default), `parse` reads the replies so far, `accepted` says whether that
parse is final, else `follow_up` gives the next request (None: the same one again), up to `attempts`;
then `judgment` turns the replies into the format's row, to which the core adds the cache key.
"""

from __future__ import annotations

import math
import statistics
import string
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Iterable

from evalsuite.errors import BadInputError
from evalsuite.judging.client import JudgeClient, JudgeOne, JudgeOutcome, JudgeTask

if TYPE_CHECKING:  # definitions.py reads a definition through its format (get_format)
    from evalsuite.judging.definitions import BenchmarkData, JudgeDefinition

STATUS_PARSE = "parse_failure"  # a reply without a usable verdict (formats with one kind of it)
CALL_FAILURES = ("api", "timeout")  # JudgeCallFailed kinds every format counts

# (question_id, part) -> detected language, per detector name (the scoring detector first)
Languages = dict[str, dict[tuple[Any, int], str]]


@dataclass(frozen=True)
class JudgeRun:
    """What a format works on in one run: the definition, its data, the (limited) questions, the
    answers per question and turn, the model and judge, repeats, re-asks and detected languages."""

    definition: JudgeDefinition
    data: BenchmarkData | None
    questions: list[dict]
    answers: dict[Any, list[str]]
    model_id: str
    judge_model: str = ""
    repeats: int = 1
    reasks: int = 0
    languages: Languages = field(default_factory=dict)

    @property
    def settings(self) -> Any:
        """The format's own settings (JudgeFormat.parse_settings of the definition)."""
        return self.definition.settings


@dataclass
class Failures:
    """The failures of a run, by kind: replies without a verdict (`parse`), judge calls that failed
    (`api`, `timeout`), and a format's own call failures (`other`, e.g. no_logprobs)."""

    parse: int = 0
    api: int = 0
    timeout: int = 0
    other: dict[str, int] = field(default_factory=dict)

    def add(self, kind: str) -> None:
        """Count one failure of `kind`."""
        if kind in ("parse", *CALL_FAILURES):
            setattr(self, kind, getattr(self, kind) + 1)
        else:
            self.other[kind] = self.other.get(kind, 0) + 1

    def call_failed(self, outcome: JudgeOutcome) -> str:
        """Count the failed call of an outcome without a row; its kind."""
        kind = outcome.failure or "api"
        self.add(kind)
        return kind

    def as_dict(self) -> dict[str, int]:
        """The result's `failures` block: parse, api, timeout, then the format's kinds."""
        return {"parse": self.parse, "api": self.api, "timeout": self.timeout, **self.other}


@dataclass
class Summary:
    """Everything the result needs from the judgments."""

    score: float | None
    metrics: dict
    subscores: dict
    failures: Failures
    samples: list[dict] = field(default_factory=list)
    n: int = 0


@dataclass(frozen=True)
class Judgment:
    """A format's judgment of one task: its own row (the official fields), the status, and its
    evalsuite fields written after the status (the core adds the cache key around them)."""

    row: dict
    status: str
    extra: dict = field(default_factory=dict)


class JudgeFormat(ABC):
    """One judged format. Stateless: every method gets the definition or the run it works for.

    `data_files` names the keys the definition's `data.files` must have; `failure_kinds` the format's
    own kinds of failed calls (counted, and reported as 0 when none happened).
    """

    name: str
    data_files: tuple[str, ...] = ()
    failure_kinds: tuple[str, ...] = ()

    # --- definition and data -----------------------------------------------------------------
    @abstractmethod
    def parse_settings(self, judge: dict) -> Any:
        """The format's own settings from the definition's `judge:` keys beyond the common ones
        (KeyError/TypeError/ValueError on bad ones: the definition loader reports them)."""

    @abstractmethod
    def load_data(self, definition: JudgeDefinition, paths: dict[str, Path], strategy: str | None) -> BenchmarkData:
        """Read and check the data files (one line BadInputError on unusable data, before any work);
        questions normalized as BenchmarkData describes. `strategy` is --prompt_strategy: a format
        whose benchmark offers several answer prompts resolves it (None: the official default) into
        the questions' history and `data.strategy` (BadInputError for one it lacks); a format with
        no strategies ignores it. Provenance is filled by the caller."""

    @abstractmethod
    def protocol(self, definition: JudgeDefinition) -> dict:
        """What the result's protocol["judge"] records about the format (beside model, repeats...)."""

    # --- answers (official layout) ------------------------------------------------------------
    @abstractmethod
    def read_answers(self, path: Path, questions: list[dict]) -> tuple[str, dict[Any, list[str]]]:
        """(model_id, {question_id: answer per turn}) from an answer file in the official format
        (--answers_file); BadInputError when it is unusable or misses a question."""

    @abstractmethod
    def answers_path(self, folder: Path, model_id: str, data: BenchmarkData) -> Path:
        """Where the answers of `model_id` go under the benchmark's folder (the official layout); an
        --answers_file is copied there byte for byte."""

    @abstractmethod
    def write_answers(self, path: Path, model_id: str, data: BenchmarkData, questions: list[dict],
                      answers: dict[Any, list[str]]) -> None:
        """Write generated answers to `path` in the official answer format (atomically)."""

    # --- asking ---------------------------------------------------------------------------------
    @abstractmethod
    def build_tasks(self, run: JudgeRun) -> list[JudgeTask]:
        """Every judge request of a run (rendered prompts), in a stable order."""

    def attempts(self, run: JudgeRun) -> int:
        """Judge calls per task at most (default: one, plus --judge_reask)."""
        return run.reasks + 1

    async def send(self, run: JudgeRun, client: JudgeClient, messages: list[dict], attempt: int) -> Any:
        """One judge call; the reply as the judgment row records it (default: the reply text)."""
        return await client.complete(messages, reask=attempt > 0)

    @abstractmethod
    def parse(self, run: JudgeRun, replies: list) -> Any:
        """The verdict read from the replies so far (the last one, unless the format reads them together)."""

    def accepted(self, parsed: Any) -> bool:
        """Whether a parse ends the asking (default: a verdict was found)."""
        return parsed is not None

    def follow_up(self, run: JudgeRun, messages: list[dict], reply: Any) -> list[dict] | None:
        """The next request after a reply that was not accepted (default None: the same request again)."""
        return None

    @abstractmethod
    def judgment(self, run: JudgeRun, task: JudgeTask, judge_model: str, replies: list, parsed: Any) -> Judgment:
        """The format's row for a task's replies and last parse (None when no call was made)."""

    # --- scoring and official judgment files ----------------------------------------------------
    @abstractmethod
    def summarize(self, run: JudgeRun, outcomes: list[JudgeOutcome]) -> Summary:
        """Per-item rows and the aggregate score, metrics, subscores and failures."""

    @abstractmethod
    def write_judgments(self, run: JudgeRun, outcomes: list[JudgeOutcome], folder: Path) -> Path:
        """Write the judgments in the format's own file layout under the benchmark's `folder`
        (e.g. model_judgment/...); the main file's path."""

    def failures(self) -> Failures:
        """An empty tally with the format's own kinds."""
        return Failures(other=dict.fromkeys(self.failure_kinds, 0))


async def ask_until(send: Callable[[list[dict], int], Awaitable[Any]], messages: list[dict],
                    parse: Callable[[list], Any], accepted: Callable[[Any], bool], attempts: int,
                    follow_up: Callable[[list[dict], Any], list[dict] | None]) -> tuple[list, Any]:
    """Ask, parse, and ask again (the follow-up request, or the same one) until a parse is accepted or
    `attempts` calls were made; (every reply, the last parse)."""
    replies: list = []
    parsed = None
    for attempt in range(attempts):
        reply = await send(messages, attempt)
        replies.append(reply)
        parsed = parse(replies)
        if accepted(parsed):
            break
        messages = follow_up(messages, reply) or messages
    return replies, parsed


def judge_one(judge_format: JudgeFormat, run: JudgeRun) -> JudgeOne:
    """The coroutine that judges one task with `judge_format` and returns the row to cache: the
    format's row with the cache key (JUDGMENT_KEY), status, attempts and replies stamped in."""

    async def judge(task: JudgeTask, client: JudgeClient) -> dict:
        replies, parsed = await ask_until(
            lambda messages, attempt: judge_format.send(run, client, messages, attempt),
            list(task.prompt.messages), lambda so_far: judge_format.parse(run, so_far), judge_format.accepted,
            judge_format.attempts(run), lambda messages, reply: judge_format.follow_up(run, messages, reply),
        )
        made = judge_format.judgment(run, task, client.model, replies, parsed)
        return stamped(made, task, client.model, replies)

    return judge


def stamped(made: Judgment, task: JudgeTask, judge_model: str, replies: list) -> dict:
    """A format's row with evalsuite's fields: the cache key, the status, the format's extra fields,
    attempts and replies (a field the official row already has keeps its place)."""
    return {
        **made.row,
        "question_id": task.question_id, "turn": task.part, "judge_model": judge_model,
        "prompt_name": task.prompt.prompt_name, "input_hash": task.input_hash, "repeat": task.repeat,
        "status": made.status, **made.extra, "attempts": len(replies), "replies": replies,
    }


def by_item(outcomes: Iterable[JudgeOutcome], key: Callable[[JudgeTask], Any] = lambda t: (t.question_id, t.part),
            ) -> dict[Any, list[JudgeOutcome]]:
    """The outcomes of each item (default: question and part), in repeat order."""
    items: dict[Any, list[JudgeOutcome]] = {}
    for outcome in outcomes:
        items.setdefault(key(outcome.task), []).append(outcome)
    return {item: sorted(group, key=lambda o: o.task.repeat) for item, group in items.items()}


def reasks_of(outcomes: Iterable[JudgeOutcome]) -> int:
    """Judge calls beyond the first, over the judged outcomes."""
    return sum(max(0, int(o.row.get("attempts", 1)) - 1) for o in outcomes if o.row is not None)


def mean(values: list[float]) -> float | None:
    """The arithmetic mean (sum / n), None without values."""
    return sum(values) / len(values) if values else None


def stderr(values: list[float]) -> float | None:
    """The standard error of the mean (sample stdev / sqrt n), None below two values."""
    return statistics.stdev(values) / math.sqrt(len(values)) if len(values) > 1 else None


def check_template(template: str, allowed: set[str]) -> str | None:
    """Why a str.format `template` cannot be rendered with the `allowed` placeholders, or None."""
    try:
        fields = [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]
    except ValueError as err:
        return f"malformed template ({err})"
    unknown = sorted({name for name in fields if name not in allowed})
    if unknown:
        return f"unknown placeholder(s) {', '.join('{' + (n or '') + '}' for n in unknown)}"
    try:
        template.format(**{name: "x" for name in allowed})
    except (KeyError, IndexError, ValueError, AttributeError) as err:
        return f"unusable template ({type(err).__name__}: {err})"
    return None


def missing_answers(path: Path, questions: list[dict], answered: Iterable, what: str = "question(s)",
                    shown: int = 5) -> None:
    """BadInputError naming the questions of `questions` without an answer in `answered`."""
    have = set(answered)
    missing = [q["question_id"] for q in questions if q["question_id"] not in have]
    if missing:
        raise BadInputError(f"{path}: no answer for {len(missing)} {what}, e.g. {missing[:shown]}")
