"""The generic sandbox: exit status, stderr, timeouts, fresh scratch dir and clean env per program;
the verdict channel of checks; the opt-in without bubblewrap; bubblewrap with the interpreter in /tmp."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from evalsuite.errors import BadInputError
from evalsuite.sandbox import (
    CheckJob, SandboxLimits, allow_unisolated, current_isolation, isolation_description, isolation_level,
    os_isolation_available, reset_isolation, run_checks, run_many, run_python, signal_name,
)
from evalsuite.sandbox.executor import RunResult, _verdict
from evalsuite.sandbox.zygote import _decode, _encode, verdict_tag

from tests.conftest import REPO as ROOT

FAST = SandboxLimits(timeout_s=3)


@pytest.fixture(autouse=True, scope="module")
def sandbox_here():
    """Where bubblewrap cannot run (a bare machine), the generic tests opt in to the fallback, explicitly."""
    allow_unisolated(not os_isolation_available())
    yield
    allow_unisolated(False)


def test_isolation_is_reported_and_bwrap_used_when_installed():
    assert isolation_level() in ("bwrap", "subprocess")
    assert isolation_level() in isolation_description()
    if shutil.which("bwrap") and (os.geteuid() != 0 or shutil.which("setpriv")):
        # bubblewrap may still be refused by the kernel (e.g. no user namespaces); then the probe falls back
        assert isolation_level() == "bwrap" or "subprocess" in isolation_description()


def test_exit_status_and_stderr_are_reported():
    ok, failing, exiting = run_many(
        ["x = 1", "raise ValueError('bad value 42')", "import sys\nsys.exit(3)"], FAST, workers=2
    )
    assert (ok.returncode, ok.timed_out, ok.sandbox_error) == (0, False, None)
    assert failing.returncode == 1 and "ValueError: bad value 42" in failing.stderr_tail
    assert exiting.returncode == 3


def test_wall_timeout_ends_a_busy_loop():
    result = run_python("while True:\n    pass", SandboxLimits(timeout_s=1))
    assert result.timed_out
    assert result.duration_s < 5


def test_each_program_gets_a_fresh_scratch_dir_and_a_clean_env(monkeypatch):
    monkeypatch.setenv("EVALSUITE_TEST_TOKEN", "tok-should-not-leak")
    writer = "open('left_behind.txt', 'w').write('x')\nimport os\nprint(os.getcwd())"
    checker = (
        "import os, sys\n"
        "assert not os.path.exists('left_behind.txt'), 'previous program file visible'\n"
        "assert 'EVALSUITE_TEST_TOKEN' not in os.environ, 'env leaked'\n"
        "open('mine.txt', 'w').write('ok')\n"
    )
    results = run_many([writer, checker, checker], FAST, workers=1)  # same worker, one after the other
    assert [r.returncode for r in results] == [0, 0, 0], [r.stderr_tail for r in results]


def test_runs_are_parallel():
    results = run_many(["import time\ntime.sleep(1)"] * 4, FAST, workers=4)
    assert all(r.returncode == 0 for r in results)
    # four one-second sleeps in parallel: well under the four seconds a serial run would take
    assert max(r.duration_s for r in results) < 2.5


def test_each_worker_keeps_to_one_core_of_its_own():
    """The server, the tests and the solution of a worker take turns on one core (no cross-core wakeups
    per call), and the workers are spread over the cores the harness may use."""
    program = "import json, os, sys, time\ntime.sleep(0.5)\nsys.stderr.write(json.dumps(sorted(os.sched_getaffinity(0))))"
    results = run_many([program, program], FAST, workers=2)
    cores = [json.loads(r.stderr_tail) for r in results]
    allowed = sorted(os.sched_getaffinity(0))
    assert all(len(c) == 1 and c[0] in allowed for c in cores), cores
    if len(allowed) >= 2:
        assert cores[0] != cores[1], cores


@pytest.mark.skipif(os.geteuid() != 0, reason="uid switching applies when the harness runs as root")
def test_root_harness_runs_programs_under_another_uid():
    result = run_python("import os\nassert os.getuid() != 0 and os.geteuid() != 0, os.getuid()", FAST)
    assert current_isolation().switch_uid
    assert result.returncode == 0, result.stderr_tail


def test_a_real_time_signal_is_reported_not_raised():
    result = run_python("import signal\nsignal.raise_signal(40)", FAST)
    assert result.returncode == -40
    assert signal_name(40) == "signal 40" and signal_name(9) == "SIGKILL"


ADD = CheckJob(solution="def add(a, b):\n    return a + b\n", setup="", entry_point="add",
               test="def check(candidate):\n    assert candidate(2, 3) == 5\n    assert candidate([1], [2]) == [1, 2]\n")


def test_checks_pass_only_on_the_tests_own_verdict():
    wrong = CheckJob(ADD.solution.replace("a + b", "5"), "", ADD.test, "add")
    passing, failing = run_checks([ADD, wrong], FAST, workers=1)
    assert passing.passed and passing.reason == ""
    assert not failing.passed and failing.reason == "AssertionError"


def test_assert_style_tests_call_the_named_functions_and_keep_their_own_builtins():
    solution = "def add(a, b):\n    return a + b\ndef twice(x):\n    return [x, x]\ndef len(x):\n    return 3\n"
    test = "assert add(2, 3) == 5\nassert twice(add(1, 1)) == [2, 2]\nassert len(twice(0)) == 2\n"
    named = CheckJob(solution, "", test, entry_point=None, names=("add", "twice"))
    also_len = CheckJob(solution, "", test, entry_point=None, names=("add", "twice", "len"))
    unnamed = CheckJob(solution, "", test, entry_point=None, names=("add",))
    passing, hijacked, missing = run_checks([named, also_len, unnamed], FAST, workers=1)
    assert passing.passed, passing.reason  # the tests' len() stayed the builtin
    assert not hijacked.passed and hijacked.reason == "AssertionError"  # a listed name is the program's
    assert not missing.passed and missing.reason == "NameError: name 'twice' is not defined"


def test_a_verdict_not_bound_to_the_run_is_never_a_pass():
    run = RunResult(0, False, "", 0.1, "bwrap")
    nonce = "ab" * 32
    good = {"passed": True, "reason": "", "tag": verdict_tag(nonce, True, "")}
    assert _verdict(run, good, nonce).passed
    assert not _verdict(run, {**good, "tag": verdict_tag("cd" * 32, True, "")}, nonce).passed
    assert not _verdict(run, {**good, "tag": "é" * 64}, nonce).passed
    assert not _verdict(run, {"passed": 1, "reason": "", "tag": verdict_tag(nonce, True, "")}, nonce).passed
    assert not _verdict(run, None, nonce).passed
    assert not _verdict(RunResult(0, True, "", 0.1, "bwrap"), good, nonce).passed


def test_only_plain_data_crosses_between_solution_and_tests():
    value = [1, 2.5, "s\ud800", (True, None), {"k": {3, 4}}, frozenset({b"x"}), complex(1, -2), 10**5000]
    assert _decode(json.loads(json.dumps(_encode(value)))) == value
    assert type(_decode(_encode((1,)))) is tuple

    class Sneaky(float):
        def __eq__(self, other):
            return True

    assert type(_decode(_encode(Sneaky(1.0)))) is float
    for hostile in (["o", "x"], ["i", 1], ["l", ["d", [1]]], {"a": 1}, 1, ["f"]):
        with pytest.raises((ValueError, TypeError)):
            _decode(hostile)
    with pytest.raises(TypeError):
        _encode(object())


@pytest.fixture
def without_bubblewrap(monkeypatch):
    monkeypatch.setenv("EVALSUITE_SANDBOX", "subprocess")
    allow_unisolated(False)
    reset_isolation()
    yield
    monkeypatch.delenv("EVALSUITE_SANDBOX")
    allow_unisolated(not os_isolation_available())


def test_running_without_bubblewrap_needs_the_opt_in(without_bubblewrap):
    with pytest.raises(BadInputError, match="--allow_unisolated_execution") as refused:
        run_python("pass", FAST)
    assert "apt-get install bubblewrap" in str(refused.value)
    allow_unisolated(True)
    assert current_isolation().unisolated_opt_in and "UNISOLATED" in isolation_description()
    assert run_python("pass", FAST).returncode == 0


def _score(python: str, samples: Path, *flags: str, env: dict | None = None, cwd: Path = ROOT):
    return subprocess.run([python, "run_eval.py", "score", "humaneval", "--samples", str(samples),
                           "--allow_code_execution", *flags], cwd=cwd, capture_output=True, text=True,
                          timeout=300, env={"PATH": "/usr/bin:/bin", "EVALSUITE_NO_PROGRESS": "1", **(env or {})})


FORGING = ["    return 0.5\nraise SystemExit(77)\n", "    import os\n    os._exit(77)\n",
           "    return 0.5\nimport builtins\nbuiltins.abs = lambda x: 0\n"]


def _forging_samples(folder: Path) -> Path:
    problems = {json.loads(line)["task_id"]: json.loads(line) for line in
                gzip.open(ROOT / "tests/fixtures/data/humaneval/HumanEval.jsonl.gz", "rt")}
    samples = folder / "forging.jsonl"
    rows = [{"task_id": "HumanEval/2", "completion": c} for c in FORGING]
    rows.append({"task_id": "HumanEval/0", "completion": problems["HumanEval/0"]["canonical_solution"]})
    samples.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return samples


def test_score_refuses_without_bubblewrap_unless_opted_in(tmp_path):
    samples = _forging_samples(tmp_path)
    data = ["--data_dir", str(ROOT / "tests/fixtures/data")]
    refused = _score(sys.executable, samples, *data, env={"PATH": "/nonexistent"})
    assert refused.returncode == 2 and refused.stdout == ""
    assert refused.stderr.count("\n") == 1 and "apt-get install bubblewrap" in refused.stderr
    out = tmp_path / "rows.jsonl"
    allowed = _score(sys.executable, samples, *data, "--allow_unisolated_execution", "--output", str(out),
                     env={"EVALSUITE_SANDBOX": "subprocess"})
    assert allowed.returncode == 0, allowed.stderr
    assert "humaneval pass@1: 50.00" in allowed.stdout and "isolation: subprocess" in allowed.stdout
    assert "WITHOUT OS-level isolation" in allowed.stderr
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert all(r["unisolated_opt_in"] is True and r["isolation"] == "subprocess" for r in rows)


def test_run_refuses_humaneval_without_bubblewrap_before_any_work(tmp_path):
    done = subprocess.run([sys.executable, "run_eval.py", "run", "--tasks", "humaneval", "--allow_code_execution",
                           "--output_path", str(tmp_path / "out")], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, env={"PATH": "/nonexistent", "HOME": str(tmp_path)})
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and "apt-get install bubblewrap" in done.stderr
    assert "--allow_unisolated_execution" in done.stderr and not (tmp_path / "out").exists()


@pytest.mark.skipif(not os_isolation_available(), reason="bubblewrap cannot run here")
def test_bwrap_runs_a_checkout_and_virtualenv_under_tmp(tmp_path):
    """With the interpreter (a venv whose python is a symlink) and the checkout under /tmp, bwrap
    still isolates (no silent fallback): forging samples score 0, the honest one passes."""
    assert str(tmp_path).startswith("/tmp/")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    assert python.is_symlink()
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    Path(site, "evalsuite-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    for folder in ("evalsuite", "tasks", "judges"):  # the package and the benchmark declarations
        shutil.copytree(ROOT / folder, checkout / folder, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "run_eval.py", checkout / "run_eval.py")
    done = _score(str(python), _forging_samples(tmp_path), "--data_dir", str(ROOT / "tests/fixtures/data"),
                  cwd=checkout, env={"PYTHONPATH": str(checkout)})
    assert done.returncode == 0, done.stderr
    assert "humaneval pass@1: 50.00 (2 tasks, 4 samples; failed 3, passed 1)" in done.stdout
    assert "isolation: bwrap" in done.stdout
