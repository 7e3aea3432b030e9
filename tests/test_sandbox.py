"""The generic sandbox: exit status, stderr, timeouts, fresh scratch dir and clean env per program."""

from __future__ import annotations

import os
import shutil

import pytest

from evalsuite.sandbox import SandboxLimits, isolation_description, isolation_level, run_many, run_python

FAST = SandboxLimits(timeout_s=3)


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


@pytest.mark.skipif(os.geteuid() != 0, reason="uid switching applies when the harness runs as root")
def test_root_harness_runs_programs_under_another_uid():
    result = run_python("import os\nassert os.getuid() != 0 and os.geteuid() != 0, os.getuid()", FAST)
    if "NOT enforced" in isolation_description():
        pytest.skip("fallback as root without a reachable unprivileged uid")
    assert result.returncode == 0, result.stderr_tail
