"""lm-eval glue for es_mbpp: the few-shot problems, each test problem's checks, pass@1 in the sandbox.

A problem's tests are its `test_list` asserts, run as they are (as lm-eval's mbpp runs them after the
program), in the sandbox's tests process; the functions they reach are the reference solution's
top-level definitions that the asserts name (`names`): only those cross to the generated program, so
the asserts' builtins (`set`, `sorted`, ...) stay the tests' own even where a program redefines them.
"""

from __future__ import annotations

import ast
import sys
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

try:
    import evalsuite  # noqa: F401
except ImportError:  # bare `lm_eval --include_path tasks` from a source checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from evalsuite.errors import BadInputError
from evalsuite.scoring.code import pass_at_1, process_results  # noqa: F401  (the task YAML's !functions)

if TYPE_CHECKING:
    import datasets

# The upstream README: "we used three-shot prompts with task_ids 2, 3, and 4" (lm-eval's mbpp too).
FEWSHOT_TASK_IDS = (2, 3, 4)


def fewshot_problems(prompt_split: "datasets.Dataset") -> list[dict]:
    """The three few-shot problems, in order, marked so that doc_to_target shows their code."""
    by_id = {doc["task_id"]: doc for doc in prompt_split}
    missing = [task_id for task_id in FEWSHOT_TASK_IDS if task_id not in by_id]
    if missing:
        raise BadInputError(f"the MBPP prompt split lacks the few-shot problem(s) {missing}")
    return [{**by_id[task_id], "is_fewshot": True} for task_id in FEWSHOT_TASK_IDS]


def tested_names(test: str, reference_code: str) -> list[str]:
    """The reference solution's top-level definitions that the tests name (each once)."""
    try:
        with warnings.catch_warnings():  # reference code with "\w" in plain strings warns
            warnings.simplefilter("ignore")
            tests, reference = ast.parse(test), ast.parse(reference_code)
    except SyntaxError as err:
        raise BadInputError(f"an MBPP problem's tests or reference code do not parse ({err})") from None
    defined: set[str] = set()
    for node in reference.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            defined.add(node.name)
        elif isinstance(node, ast.Assign):
            defined.update(t.id for t in node.targets if isinstance(t, ast.Name))
    named = [n.id for n in ast.walk(tests) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)]
    return [name for name in dict.fromkeys(named) if name in defined]


def code_problems(docs: "datasets.Dataset") -> "datasets.Dataset":
    """lm-eval `process_docs`: each problem's checks for the sandbox (`test`: the asserts; `names`)."""

    tests = ["\n".join(asserts) for asserts in docs["test_list"]]
    names = [tested_names(test, code) for test, code in zip(tests, docs["code"])]
    return docs.add_column("test", tests).add_column("names", names)  # (map() would print a progress bar)
