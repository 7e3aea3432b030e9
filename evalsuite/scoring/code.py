"""Scoring generated code: extract the program from a completion, check it against the tests in the
sandbox, pass@k. Two kinds of problem (the fields of the lm-eval task's docs say which):

- a prompt to continue, with tests defining check(candidate) (HumanEval: `prompt`, `test`,
  `entry_point`). A completion whose first line is indented continues the prompt (a function body,
  as base models write it): it is cut at the Codex stop sequences (the ones lm-eval's humaneval.yaml
  stops on) and at a closing fence, and appended to the prompt. Any other completion is an answer of
  its own (chat style): a fenced block or a re-stated `def <entry_point>(`; its code is placed after
  the prompt's header (imports and helper functions).
- a whole program checked by bare assert statements that call its functions by name (`test`, the
  asserts; `names`, the functions they call). The completion is the program as written (as lm-eval
  runs it), or its fenced Python block where it has one (chat style).

The tests run in a process of their own (sandbox.run_checks): the solution's exit status, output and
objects never decide the verdict, only the tests' process does, bound to a per-run secret.
"""

from __future__ import annotations

import ast
import hashlib
import math
import re
import threading
from collections import defaultdict
from dataclasses import asdict, dataclass
from typing import Any, Callable, Iterable, Sequence

from evalsuite.data.loader import shipped_files
from evalsuite.declarations import discover
from evalsuite.errors import BadInputError
from evalsuite.results.samples import lm_eval_evidence
from evalsuite.sandbox import (
    CheckJob, CheckResult, SandboxLimits, allow_unisolated, current_isolation, hide_from_programs, isolation_level,
    run_checks,
)

# The Codex paper's stop sequences, as lm-eval's humaneval.yaml `until` uses them.
STOP_SEQUENCES = ("\nclass", "\ndef", "\n#", "\nif", "\nprint")
CLOSING_FENCE = "\n```"
DEFAULT_TIMEOUT_S = 10.0
_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+.-]*)[^\n]*\n(.*?)(?:\n[ \t]*```|\Z)", re.S)
_CODE_START = re.compile(r"^(import |from |def |class |@|async def )")
_MEMO_MAX = 200_000


@dataclass(frozen=True)
class SampleResult:
    """One completion's fate."""

    task_id: str
    completion: str
    extracted_code: str
    outcome: str  # passed | failed | timeout | error
    reason: str
    duration_s: float

    @property
    def passed(self) -> bool:
        return self.outcome == "passed"

    def outcome_line(self) -> str:
        """"passed", or the outcome with its short reason ("failed: AssertionError")."""
        return self.outcome if self.passed or not self.reason else f"{self.outcome}: {self.reason}"


@dataclass(frozen=True)
class CodeScoreReport:
    """pass@1 over tasks (0-1), per-task pass@1, every sample's result, and the isolation used."""

    pass_at_1: float
    per_task: dict[str, float]
    results: list[SampleResult]
    isolation: str
    isolation_description: str
    unisolated_opt_in: bool = False

    def outcome_counts(self) -> dict[str, int]:
        counts: dict[str, int] = defaultdict(int)
        for result in self.results:
            counts[result.outcome] += 1
        return dict(counts)


def require_code_execution_opt_in(allowed: bool, unisolated_allowed: bool = False) -> None:
    """Refuse to go on unless the user opted in to running model-written code, and a sandbox that
    may run it is here: bubblewrap, or without it the explicit unisolated opt-in (BadInputError)."""
    if not allowed:
        raise BadInputError(
            "this benchmark executes model-generated code: pass --allow_code_execution to run it (sandboxed)"
        )
    allow_unisolated(unisolated_allowed)
    hide_from_programs(shipped_files(discover().values()))  # no benchmark's answer key in the sandbox
    current_isolation()


def prompt_header(prompt: str, entry_point: str) -> str:
    """The prompt's text before `def <entry_point>(`: imports and helper functions."""
    match = re.search(rf"^def {re.escape(entry_point)}\s*\(", prompt, re.M)
    return prompt[: match.start()] if match else ""


def truncate_at_stop(text: str, stops: Iterable[str] = STOP_SEQUENCES) -> str:
    """text up to the first stop sequence."""
    cut = min((i for i in (text.find(s) for s in stops) if i >= 0), default=len(text))
    return text[:cut]


def _parseable_prefix(code: str) -> str:
    """The longest leading run of lines that parses (drops prose after the code)."""
    lines = code.splitlines()
    while lines:
        try:
            ast.parse("\n".join(lines))
            return "\n".join(lines)
        except SyntaxError as exc:
            cut = (exc.lineno or len(lines)) - 1
            lines = lines[: min(cut, len(lines) - 1)]
    return code


def continues_prompt(completion: str) -> bool:
    """True when the completion goes on from the prompt: its first non-blank line is indented."""
    first = next((line for line in completion.splitlines() if line.strip()), "")
    return first[:1].isspace()


def python_blocks(text: str) -> list[str]:
    """The fenced code blocks of a (chat) answer that hold Python (or name no language), in order."""
    return [m.group(2) for m in _FENCE.finditer(text) if m.group(1).lower() in ("", "python", "py", "python3")]


def _defines(name: str) -> re.Pattern:
    return re.compile(rf"^(async\s+)?def {re.escape(name)}\s*\(", re.M)


def extract_code(completion: str, prompt: str, entry_point: str) -> str:
    """The solution program (without tests) a completion of a prompt stands for; see the module docstring."""
    if continues_prompt(completion):
        return prompt + truncate_at_stop(completion, (*STOP_SEQUENCES, CLOSING_FENCE))
    defines_entry = _defines(entry_point)
    blocks = python_blocks(completion)
    if blocks:
        full = next((b for b in blocks if defines_entry.search(b)), None)
        if full is not None:
            return prompt_header(prompt, entry_point) + truncate_at_stop(full, ("\nif __name__",)).rstrip() + "\n"
        body = next((b for b in blocks if b.strip()), "")
        return prompt + truncate_at_stop(body)
    match = defines_entry.search(completion)
    if match:
        lines = completion[: match.start()].splitlines()
        start = next((i for i, line in enumerate(lines) if _CODE_START.match(line)), len(lines))
        code = "\n".join(lines[start:] + [completion[match.start():]])
        code = _parseable_prefix(truncate_at_stop(code, ("\nif __name__",)))
        return prompt_header(prompt, entry_point) + code.rstrip() + "\n"
    return prompt + truncate_at_stop(completion)


def extract_program(completion: str, names: Sequence[str]) -> str:
    """The program a whole-program answer stands for: its first fenced Python block that defines one
    of `names` (else its first non-empty block), or, without fences, the text as written."""
    blocks = python_blocks(completion)
    if not blocks:
        return completion
    full = next((b for b in blocks if any(_defines(name).search(b) for name in names)), None)
    return full if full is not None else next((b for b in blocks if b.strip()), "")


PROBLEM_FIELDS = ("task_id", "prompt", "test", "entry_point", "names")


def code_problem(doc: dict) -> dict:
    """The fields of an lm-eval doc that define its code problem (task_id as a string); a doc of
    neither kind (see the module docstring) is bad input."""
    problem = {k: doc[k] for k in PROBLEM_FIELDS if k in doc}
    problem["task_id"] = str(doc.get("task_id"))
    prompt_style = all(isinstance(problem.get(k), str) for k in ("prompt", "test", "entry_point"))
    names = problem.get("names")
    assert_style = isinstance(problem.get("test"), str) and isinstance(names, list) and all(
        isinstance(n, str) and n.isidentifier() for n in names)
    if not (prompt_style or assert_style) or "task_id" not in doc:
        raise BadInputError(f"code problem {problem['task_id']!r} needs task_id, test and either prompt + "
                            "entry_point or names")
    return problem


def solution_code(completion: str, problem: dict) -> str:
    """The program a completion stands for, by the kind of its problem."""
    if "entry_point" in problem:
        return extract_code(completion, problem["prompt"], problem["entry_point"])
    return extract_program(completion, problem["names"])


def check_job(solution: str, problem: dict) -> CheckJob:
    """The sandbox job checking solution: the problem's prompt (its helpers) and tests run apart from it."""
    if "entry_point" in problem:
        return CheckJob(solution=solution, setup=problem["prompt"], test=problem["test"],
                        entry_point=problem["entry_point"])
    return CheckJob(solution=solution, setup="", test=problem["test"], entry_point=None,
                    names=tuple(problem["names"]))


def estimate_pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k for one task with n samples of which c passed (Chen et al. 2021)."""
    if n - c < k:
        return 1.0
    return 1.0 - math.prod(1.0 - k / i for i in range(n - c + 1, n + 1))


_memo: dict[tuple[str, str], tuple[str, str, float]] = {}
_memo_lock = threading.Lock()


def _memo_key(task_id: str, job: CheckJob) -> tuple[str, str]:
    text = "\0".join((job.solution, job.setup, job.test, *job.called_names(), "" if job.entry_point else "\0"))
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
    return task_id, f"{isolation_level()}:{digest}"


def _classify(check: CheckResult, timeout_s: float, limits: SandboxLimits) -> tuple[str, str]:
    run = check.run
    if run.sandbox_error:
        return "error", run.sandbox_error[:200]
    if run.timed_out:
        return "timeout", f"no result within {timeout_s:g}s"
    if run.disk_exceeded:
        return "failed", f"wrote more than {limits.disk_bytes // 2**20} MiB"
    if check.passed:
        return "passed", ""
    return "failed", check.reason[:200]


def score_completions(
    samples: list[dict], problems: dict[str, dict], workers: int | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S, on_done: Callable[[], None] | None = None,
) -> CodeScoreReport:
    """Run every {task_id, completion} sample against its problem's tests; pass@1 over the tasks present."""
    unknown = sorted({s["task_id"] for s in samples if s["task_id"] not in problems})
    if unknown:
        raise BadInputError(f"unknown task_id {unknown[0]!r} ({len(unknown)} unknown in total)")
    current_isolation()  # refuses (exit 2) before any work when no sandbox may run the code
    codes, jobs = [], []
    for sample in samples:
        problem = problems[sample["task_id"]]
        code = solution_code(sample["completion"], problem)
        codes.append(code)
        jobs.append(check_job(code, problem))
    keys = [_memo_key(s["task_id"], j) for s, j in zip(samples, jobs)]
    with _memo_lock:
        known = {k: _memo[k] for k in keys if k in _memo}
    first_index: dict[tuple[str, str], int] = {}
    for index, key in enumerate(keys):
        if key not in known:
            first_index.setdefault(key, index)  # one run per distinct program
    todo = list(first_index.values())
    limits = SandboxLimits(timeout_s=timeout_s)
    callback = (lambda _i: on_done()) if on_done else None
    checks = run_checks([jobs[i] for i in todo], limits, workers, callback)
    for index, check in zip(todo, checks):
        outcome, reason = _classify(check, timeout_s, limits)
        known[keys[index]] = (outcome, reason, check.run.duration_s)
    with _memo_lock:
        if len(_memo) > _MEMO_MAX:
            _memo.clear()
        _memo.update({k: v for k, v in known.items() if v[0] != "error"})
    results = [
        SampleResult(s["task_id"], s["completion"], code, *known[key])
        for s, code, key in zip(samples, codes, keys)
    ]
    return _report(results)


def _report(results: list[SampleResult]) -> CodeScoreReport:
    by_task: dict[str, list[bool]] = defaultdict(list)
    for result in results:
        by_task[result.task_id].append(result.passed)
    per_task = {t: estimate_pass_at_k(len(p), sum(p), 1) for t, p in by_task.items()}
    overall = sum(per_task.values()) / len(per_task) if per_task else 0.0
    isolation = current_isolation()
    return CodeScoreReport(overall, per_task, results, isolation.level, isolation.description,
                           isolation.unisolated_opt_in)


def result_rows(report: CodeScoreReport) -> list[dict]:
    """Per-sample JSON rows (task_id, completion, extracted_code, outcome, reason, passed, duration_s,
    isolation, unisolated_opt_in)."""
    return [{**asdict(r), "passed": r.passed, "isolation": report.isolation,
             "unisolated_opt_in": report.unisolated_opt_in} for r in report.results]


def sample_rows(logged_samples: list[dict], workers: int | None = None, timeout_s: float = DEFAULT_TIMEOUT_S) -> list[dict]:
    """Per-item rows of the result contract from lm-eval's logged samples of a code-executing task.

    One row per task: item=task_id, score=pass (1.0/0.0) or the task's pass@1 for n>1 samples,
    group=None, plus completion, extracted_code and outcome (lists when n>1). Outcomes already
    computed by the aggregation in this process are reused; anything else runs again.
    """
    samples, problems, evidence = [], {}, {}
    for logged in logged_samples:
        doc = logged.get("doc") or {}
        if "task_id" not in doc:
            raise BadInputError("a code-execution task logged a sample without doc.task_id")
        problem = code_problem(doc)
        problems[problem["task_id"]] = problem
        evidence[problem["task_id"]] = lm_eval_evidence(logged)
        for completion in _completions(logged):
            samples.append({"task_id": problem["task_id"], "completion": completion})
    report = score_completions(samples, problems, workers, timeout_s)
    grouped: dict[str, list[SampleResult]] = defaultdict(list)
    for result in report.results:
        grouped[result.task_id].append(result)
    rows = []
    for task_id, results in grouped.items():
        single = len(results) == 1
        rows.append({
            "item": task_id,
            "score": report.per_task[task_id],
            "group": None,
            "completion": results[0].completion if single else [r.completion for r in results],
            "extracted_code": results[0].extracted_code if single else [r.extracted_code for r in results],
            "outcome": results[0].outcome_line() if single else [r.outcome_line() for r in results],
            "isolation": report.isolation,
            "unisolated_opt_in": report.unisolated_opt_in,
            "program": results[0].extracted_code if single else [r.extracted_code for r in results],
            "verdict": results[0].outcome if single else [r.outcome for r in results],
            "reason": results[0].reason if single else [r.reason for r in results],
            **evidence.get(task_id, {}),
        })
    return rows


def _completions(logged: dict) -> list[str]:
    """The completions of one logged sample: filtered_resps, else resps, flattened to strings."""
    value = logged.get("filtered_resps", logged.get("resps", []))
    flat: list[str] = []
    stack = [value]
    while stack:
        item = stack.pop(0)
        if isinstance(item, str):
            flat.append(item)
        elif isinstance(item, (list, tuple)):
            stack[0:0] = list(item)
    return flat


# ---------------------------------------------------------------- lm-eval glue of the code tasks


def process_results(doc: dict, results: list) -> dict[str, Any]:
    """lm-eval `process_results` of a code task (its metric is `pass@1`): execution is deferred to
    the aggregation, which runs every item through the parallel sandbox at once."""
    completions = [r if isinstance(r, str) else r[0] for r in results]
    return {"pass@1": {**code_problem(doc), "completions": completions}}


def pass_at_1(items: list[dict]) -> float:
    """lm-eval aggregation of `pass@1`: pass@1 (0-1, unbiased estimator when a task has several
    completions) over all items."""
    problems = {item["task_id"]: {k: v for k, v in item.items() if k != "completions"} for item in items}
    samples = [{"task_id": item["task_id"], "completion": c} for item in items for c in item["completions"]]
    return score_completions(samples, problems).pass_at_1
