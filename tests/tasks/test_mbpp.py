"""MBPP: the declared splits of the one upstream file, the lm-eval task's checks, program extraction,
pass@1 through the sandbox, `score mbpp`, and assert-style checks against hostile programs in both
isolation modes (bubblewrap and the opt-in unisolated fallback)."""

from __future__ import annotations

import importlib.util
import json
import time
from dataclasses import replace
from pathlib import Path

import pytest

from tests.conftest import FIXTURE_DATA, REPO, SHARED_DATA, run_cli
from evalsuite.cli import main
from evalsuite.data.loader import load_declared_dataset, load_local
from evalsuite.declarations import parse_declaration
from evalsuite.errors import BadInputError
from evalsuite.results.samples import read_samples
from evalsuite.sandbox import allow_unisolated, os_isolation_available
from evalsuite.scoring.code import code_problem, extract_program, score_completions
from tests.sandbox.test_adversarial import mode  # noqa: F401  (the fixture: both isolation modes)

TASK_DIR = REPO / "tasks" / "mbpp"
SANDBOX_FLAGS = [] if os_isolation_available() else ["--allow_unisolated_execution"]


def _task_utils():
    spec = importlib.util.spec_from_file_location("es_mbpp_utils", TASK_DIR / "utils.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


utils = _task_utils()


def _problems(data_dir: Path = FIXTURE_DATA) -> tuple[dict[str, dict], dict[str, str]]:
    """The test split's code problems by task_id (as the lm-eval task hands them over), and each
    problem's reference code."""
    docs = utils.code_problems(load_declared_dataset("mbpp", str(data_dir))["test"])
    return {str(d["task_id"]): code_problem(d) for d in docs}, {str(d["task_id"]): d["code"] for d in docs}


@pytest.fixture(autouse=True, scope="module")
def sandbox_here():
    allow_unisolated(bool(SANDBOX_FLAGS))
    yield
    allow_unisolated(False)


def test_one_upstream_file_splits_by_task_id():
    data = load_declared_dataset("mbpp", str(FIXTURE_DATA))
    assert {split: [row["task_id"] for row in rows] for split, rows in data.items()} == {
        "train": [601], "test": [11, 12, 126], "validation": [511], "prompt": [2, 3, 4]}


@pytest.mark.parametrize("select, message", [
    ("{nope: 'task_id > 1'}", "names split 'nope'"),
    ("{test: 'task_id >'}", "not a valid expression"),
])
def test_bad_split_selection_is_a_one_line_error(tmp_path, select, message):
    text = (TASK_DIR / "mbpp.benchmark.yaml").read_text(encoding="utf-8")
    start = text.index("    select:")
    end = text.index("    features:")
    path = tmp_path / "mbpp.benchmark.yaml"
    path.write_text(text[:start] + f"    select: {select}\n" + text[end:], encoding="utf-8")
    with pytest.raises(BadInputError, match=message):
        parse_declaration(path)


def test_selection_over_a_missing_column_is_a_one_line_error(tmp_path):
    layout = parse_declaration(TASK_DIR / "mbpp.benchmark.yaml").data.local
    with pytest.raises(BadInputError, match="cannot select the test rows"):
        load_local(replace(layout, select={"test": "number > 10"}), FIXTURE_DATA)


def test_tests_reach_only_the_reference_solutions_functions():
    assert utils.tested_names("assert sum(10,15) == 6", "def sum(a,b):\r\n    return 6") == ["sum"]  # task 126
    assert utils.tested_names("assert set(f(1)) == set(g([1]))\nassert sorted(f(2)) == [2]",
                              "import math\ndef f(x):\n\treturn [x]\ng = list") == ["f", "g"]
    with pytest.raises(BadInputError, match="do not parse"):
        utils.tested_names("assert f(1) ==", "def f(x): pass")


def test_a_program_is_the_text_or_its_fenced_python_block():
    plain = "def f(x):\n    return x\n"
    assert extract_program(plain, ["f"]) == plain  # as lm-eval runs it
    chat = "Example:\n```python\nprint(f(1))\n```\nSolution:\n```python\ndef f(x):\n    return x\n```\nDone."
    assert extract_program(chat, ["f"]) == "def f(x):\n    return x"
    assert extract_program("```\n\n```\n```py\nx = 1\n```", ["f"]) == "x = 1"


def test_code_problem_needs_one_kind_of_checks():
    assert code_problem({"task_id": 11, "test": "assert f(1)", "names": ["f"]})["task_id"] == "11"
    for bad in ({"task_id": 11, "test": "assert f(1)"}, {"task_id": 11, "test": "x", "names": ["not a name"]},
                {"test": "assert f(1)", "names": ["f"]}):
        with pytest.raises(BadInputError, match="needs task_id, test"):
            code_problem(bad)


def test_lm_eval_task_scores_through_the_sandbox():
    from lm_eval.tasks import TaskManager

    manager = TaskManager(include_path=str(REPO / "tasks"), include_defaults=False,
                          metadata={"data_dir": str(FIXTURE_DATA)})
    task = manager.load(["es_mbpp"])["tasks"]["es_mbpp"]
    docs = list(task.test_docs())
    assert [(d["task_id"], d["names"]) for d in docs] == [(11, ["remove_Occ"]), (12, ["sort_matrix"]), (126, ["sum"])]
    assert [d["task_id"] for d in task.fewshot_docs()] == [2, 3, 4] and task.config.unsafe_code
    assert task.config.generation_kwargs["until"] == ["[DONE]"]
    items = [task.process_results(d, [d["code"]])["pass@1"] for d in docs]
    aggregate = task.aggregation()["pass@1"]
    assert aggregate(items) == 1.0
    items[2]["completions"] = ["def sum(a, b):\n    return a + b\n"]
    assert aggregate(items) == pytest.approx(2 / 3)


# ---------------------------------------------------------------- hostile programs, assert-style tests

WRONG_REMOVE_OCC = "def remove_Occ(s, ch):\n    return 'heo'\n"  # right for the first assert only


def forging_programs() -> dict[str, str]:
    """Wrong programs for task 11 (remove_Occ) that try to be scored as passed."""
    return {
        "always-equal object": "class Any:\n    __eq__ = lambda self, other: True\n    __ne__ = lambda self, other: False\n"
                               "def remove_Occ(s, ch):\n    return Any()\n",
        "str subclass equal to anything": "class Any(str):\n    __eq__ = lambda self, other: True\n"
                                          "    __ne__ = lambda self, other: False\n    __hash__ = str.__hash__\n"
                                          "def remove_Occ(s, ch):\n    return Any('x')\n",
        "SystemExit at module level": WRONG_REMOVE_OCC + "raise SystemExit(0)\n",
        "sys.exit(0) in the function": "import sys\ndef remove_Occ(s, ch):\n    sys.exit(0)\n",
        "SystemExit in the function": "def remove_Occ(s, ch):\n    raise SystemExit(0)\n",
        "os._exit(0) in the function": "import os\ndef remove_Occ(s, ch):\n    os._exit(0)\n",
        "rewrites builtins and AssertionError": WRONG_REMOVE_OCC + (
            "import builtins\nbuiltins.AssertionError = type('Never', (Exception,), {})\n"
            "builtins.set = builtins.sorted = lambda *a: 1\n"),
        "defines the tests' builtins": WRONG_REMOVE_OCC + "def set(*a):\n    return 1\nsorted = set\n",
        "rebinds itself after the first call": "calls = []\ndef remove_Occ(s, ch):\n    calls.append(1)\n"
                                               "    globals()['remove_Occ'] = lambda *a: None\n    return 'heo'\n",
        "returns a generator": "def remove_Occ(s, ch):\n    yield from s\n",
        "defines another name": "def remove_occ(s, ch):\n    return s.replace(ch, '')\n",
        "forged answer frames": WRONG_REMOVE_OCC + (
            "import json, os, struct\nframe = json.dumps(['ok', True]).encode()\n"
            "for fd in range(3, 64):\n    try:\n        os.write(fd, (struct.pack('>I', len(frame)) + frame) * 3)\n"
            "    except OSError:\n        pass\n"),
    }


def test_hostile_programs_never_pass_assert_style_tests(mode):  # noqa: F811
    problems, references = _problems()
    # the tests' own `sorted`/`set` must stay theirs: a task whose asserts use them, checked the same way
    problems["set-test"] = {"task_id": "set-test", "names": ["remove_Occ"],
                            "test": "assert set(remove_Occ('hello', 'l')) == set('heo')\n"
                                    "assert sorted(remove_Occ('abcda', 'a')) == sorted('bcd')"}
    cases = forging_programs()
    samples = [{"task_id": "11", "completion": c} for c in cases.values()]
    samples += [{"task_id": "set-test", "completion": cases[name]}
                for name in ("defines the tests' builtins", "rewrites builtins and AssertionError")]
    samples += [{"task_id": "126", "completion": "def sum(a, b):\n    return a + b\n"}]  # wrong, builtin-named
    samples += [{"task_id": t, "completion": references[t]} for t in ("11", "126")]
    samples += [{"task_id": "set-test", "completion": references["11"]}]
    started = time.monotonic()
    report = score_completions(samples, problems, workers=2, timeout_s=3.0)
    outcomes = dict(zip(cases, report.results))
    for name, result in outcomes.items():
        assert result.outcome == "failed", f"{mode}: {name}: {result.outcome_line()}"
    for result in report.results[len(cases):-3]:  # the set-test ones, then a wrong `sum`
        assert result.outcome == "failed", result.outcome_line()
    assert report.results[len(cases) + 1].reason == "AssertionError"  # its set() and sorted() stayed the tests'
    assert [r.passed for r in report.results[-3:]] == [True, True, True]  # the run went on, honestly
    assert "cannot pass a Any" in outcomes["always-equal object"].reason
    assert outcomes["str subclass equal to anything"].reason == "AssertionError"
    assert outcomes["rewrites builtins and AssertionError"].reason == "AssertionError"
    assert outcomes["SystemExit in the function"].reason.startswith("the solution raised SystemExit")
    assert "exited before the tests ran" in outcomes["SystemExit at module level"].reason
    assert "name 'remove_Occ' is not defined" in outcomes["defines another name"].reason
    assert time.monotonic() - started < 60


# ---------------------------------------------------------------- `score mbpp`


def _samples(tmp_path: Path, rows: list[dict], name: str = "samples") -> Path:
    path = tmp_path / f"{name}.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def _score(*args: str) -> int:
    """`run_eval.py score mbpp ...` in this process (the exit code)."""
    return main(["score", "mbpp", "--data_dir", str(FIXTURE_DATA), *args, *SANDBOX_FLAGS])


def test_score_by_task_id_or_doc_id_writes_the_result(tmp_path, capsys):
    _, references = _problems()
    by_id = _samples(tmp_path, [{"task_id": int(t), "completion": code} for t, code in references.items()], "by_id")
    assert _score("--samples", str(by_id), "--output_path", str(tmp_path / "out"), "--allow_code_execution") == 0
    assert "mbpp: 100.0 (pass@1; 3 items, generated elsewhere)" in capsys.readouterr().out
    by_doc = _samples(tmp_path, [{"doc_id": 0, "completion": WRONG_REMOVE_OCC},
                                 {"doc_id": 1, "completion": f"Here:\n```python\n{references['12']}\n```"},
                                 {"doc_id": 2, "completion": references["126"] + "\n[DONE]\nprint(1)"}], "by_doc")
    assert _score("--samples", str(by_doc), "--output_path", str(tmp_path / "out"), "--allow_code_execution") == 0
    result = json.loads((tmp_path / "out" / "by_doc" / "mbpp.json").read_text())
    assert result["score"] == pytest.approx(200 / 3) and result["n"] == 3
    assert result["protocol"]["generated"] == "external"
    assert result["provenance"]["isolation"] == ("bwrap" if not SANDBOX_FLAGS else "subprocess")
    rows = read_samples(tmp_path / "out" / "by_doc" / result["samples"])
    assert [(r["item"], r["score"]) for r in rows] == [("11", 0.0), ("12", 1.0), ("126", 1.0)]
    assert rows[2]["completion"] == references["126"] + "\n"  # cut at the task's stop sequence


DUPLICATE = [{"task_id": 11, "completion": ""}, {"task_id": "11", "completion": ""}]


@pytest.mark.parametrize("case, message", [
    ("no opt-in", "--allow_code_execution"),
    ("duplicate", "duplicate mbpp item"),
    ("unknown", "unknown mbpp item task_id=999"),
    ("missing", "covers 1 of 3 mbpp items"),
    ("--output", "--output is for pass@k samples"),
])
def test_score_bad_input_exits_2(tmp_path, capsys, case, message):
    rows = DUPLICATE if case == "duplicate" else {"unknown": [{"task_id": 999, "completion": ""}]}.get(
        case, [{"task_id": 11, "completion": ""}])
    flags = [] if case == "no opt-in" else ["--allow_code_execution"]
    flags += ["--output", str(tmp_path / "rows.jsonl")] if case == "--output" else []
    assert _score("--samples", str(_samples(tmp_path, rows)), "--output_path", str(tmp_path / "out"), *flags) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out" / "samples" / "mbpp.json").exists()


def test_score_bad_input_is_one_line_on_stderr(tmp_path):
    """As a user runs it: after lm-eval loaded the task, still one line and exit 2."""
    done = run_cli("score", "mbpp", "--samples", str(_samples(tmp_path, DUPLICATE)), "--data_dir", str(FIXTURE_DATA),
                   "--output_path", str(tmp_path / "out"), "--allow_code_execution", *SANDBOX_FLAGS, timeout=300)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == ["error: --samples line 2: duplicate mbpp item (also on line 1)"]


# ---------------------------------------------------------------- the real data


@pytest.mark.shared_data
def test_reference_solutions_of_all_500_test_problems_pass(shared_data):
    problems, references = _problems(shared_data)
    assert len(problems) == 500
    samples = [{"task_id": t, "completion": code} for t, code in references.items()]
    # a generous limit: agreement is checked here, not speed (task 123's reference needs ~6 s of CPU,
    # so the default 10 s of wall time can run out on a loaded machine)
    report = score_completions(samples, problems, workers=2, timeout_s=60)
    failed = {r.task_id: r.reason for r in report.results if not r.passed}
    # 367's asserts use `root`, which only its test_setup_code defines; lm-eval runs test_list alone
    assert failed == {"367": "NameError: name 'root' is not defined"}
