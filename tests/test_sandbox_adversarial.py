"""Hostile completions fail cleanly and leave the host untouched, under every isolation level here.

Each case is a HumanEval completion (the body of truncate_number) that attacks the host when the
tests call it and then returns a wrong value; all of them run in one scoring run, next to a
correct completion, so the run must also survive them.
"""

from __future__ import annotations

import os
import socket
import tempfile
import threading
import time
from pathlib import Path

import pytest

from evalsuite.data.humaneval import load_problems
from evalsuite.sandbox import isolation_description, isolation_level, reset_isolation
from evalsuite.scoring.humaneval import score_completions

FIXTURE_DATA = Path(__file__).parent / "fixtures" / "data"
TIMEOUT_S = 3.0
SECRET = "sk-evalsuite-test-secret-0123456789"


def _body(code: str) -> str:
    lines = code.strip("\n").splitlines()
    return "".join(f"    {line}\n" for line in lines) + "    return -1.0\n"


@pytest.fixture
def host(monkeypatch, tmp_path):
    """Things on the host an escaped program could touch: canary files, a listener, a secret."""
    base = "/var/tmp" if os.access("/var/tmp", os.W_OK) else None
    outside = Path(tempfile.mkdtemp(prefix="evalsuite-canary-", dir=base))
    (outside / "canary.txt").write_text("alive")
    tmp_canary = tmp_path / "canary.txt"
    tmp_canary.write_text("alive")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.2)
    connections: list = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                connections.append(listener.accept())
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    monkeypatch.setenv("EVALSUITE_TEST_API_KEY", SECRET)
    escape = Path(tempfile.gettempdir()) / f"evalsuite-escape-{os.getpid()}"
    yield {"outside": outside, "tmp_canary": tmp_canary, "port": listener.getsockname()[1],
           "connections": connections, "escape": escape}
    stop.set()
    thread.join()
    listener.close()
    for path in (outside / "canary.txt", outside / "written.txt"):
        path.unlink(missing_ok=True)
    outside.rmdir()
    escape.unlink(missing_ok=True)


def adversarial_completions(host: dict) -> dict[str, str]:
    outside, tmp_canary = host["outside"], host["tmp_canary"]
    return {
        "rm -rf outside scratch": _body(
            "import shutil, subprocess\n"
            f"subprocess.run(['rm', '-rf', {str(outside)!r}, {str(tmp_canary.parent)!r}])\n"
            f"shutil.rmtree({str(outside)!r})"
        ),
        "fork bomb": _body("import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass"),
        "memory bomb": _body("hog = []\nwhile True:\n    hog.append(bytearray(64 * 1024 * 1024))"),
        "infinite loop": _body("while True:\n    pass"),
        "socket to a host listener": _body(
            f"import socket\nsocket.create_connection(('127.0.0.1', {host['port']}), timeout=1).sendall(b'stolen')"
        ),
        "API key from the environment": _body(
            "import os\n"
            f"leak = os.environ.get('EVALSUITE_TEST_API_KEY') or open('/proc/{os.getpid()}/environ').read()\n"
            "raise RuntimeError('leaked: ' + repr(leak))"
        ),
        "write outside scratch": _body(
            f"open({str(outside / 'written.txt')!r}, 'w').write('pwned')\n"
            f"open({str(host['escape'])!r}, 'w').write('pwned')"
        ),
    }


def _run_all(host: dict):
    problems = load_problems(FIXTURE_DATA)
    cases = adversarial_completions(host)
    samples = [{"task_id": "HumanEval/2", "completion": c} for c in cases.values()]
    samples.append({"task_id": "HumanEval/0", "completion": problems["HumanEval/0"]["canonical_solution"]})
    peak = _watch_task_count()
    started = time.monotonic()
    report = score_completions(samples, problems, workers=2, timeout_s=TIMEOUT_S)
    elapsed = time.monotonic() - started
    return cases, report, elapsed, peak()


def _watch_task_count():
    """Sample the host's number of tasks while the run goes on; returns a function giving the peak rise."""
    def count() -> int:
        return sum(len(os.listdir(f"/proc/{p}/task")) for p in os.listdir("/proc") if p.isdigit() and _exists(p))

    baseline = count()
    peak = [baseline]
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], count())
            time.sleep(0.05)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()

    def finish() -> int:
        stop.set()
        thread.join()
        return peak[0] - baseline

    return finish


def _exists(pid: str) -> bool:
    try:
        os.listdir(f"/proc/{pid}/task")
        return True
    except OSError:
        return False


def _assert_contained(host: dict, cases: dict, report, elapsed: float, task_rise: int) -> None:
    results = report.results
    outcomes = {name: r for name, r in zip(cases, results)}
    for name, result in outcomes.items():
        assert not result.passed, f"{name}: {result.outcome_line()}"
        assert result.outcome in ("failed", "timeout"), f"{name}: {result.outcome_line()}"
    assert results[-1].passed, results[-1].outcome_line()  # the run went on: the honest sample passed
    assert report.per_task["HumanEval/2"] == 0.0
    # host untouched
    assert (host["outside"] / "canary.txt").read_text() == "alive"
    assert host["tmp_canary"].read_text() == "alive"
    assert not (host["outside"] / "written.txt").exists()
    assert not host["escape"].exists()
    assert host["connections"] == [], "a sandboxed program reached the host's loopback listener"
    leak = outcomes["API key from the environment"]
    assert SECRET not in leak.reason and SECRET not in leak.extracted_code
    assert "RuntimeError: leaked" not in leak.reason, leak.reason  # neither its env nor the harness's
    assert outcomes["infinite loop"].outcome == "timeout"
    assert outcomes["memory bomb"].outcome == "failed" and "MemoryError" in outcomes["memory bomb"].reason
    # the fork bomb was held by the process limit (a free one reaches thousands of tasks in a second)
    assert task_rise < 200, f"host task count rose by {task_rise}"
    assert elapsed < 60
    print(f"\n[{isolation_level()}] peak rise of host tasks {task_rise}, {elapsed:.1f}s: "
          + "; ".join(f"{n}: {r.outcome_line()}" for n, r in outcomes.items()))


def test_adversarial_completions_are_contained(host):
    cases, report, elapsed, rise = _run_all(host)
    assert report.isolation == isolation_level()
    _assert_contained(host, cases, report, elapsed, rise)


def test_adversarial_completions_are_contained_by_the_fallback(host, monkeypatch):
    monkeypatch.setenv("EVALSUITE_SANDBOX", "subprocess")
    reset_isolation()
    try:
        if os.geteuid() != 0:
            pytest.skip("the fallback without namespaces shares the user's uid: only run it as root")
        cases, report, elapsed, rise = _run_all(host)
        assert report.isolation == "subprocess" and "subprocess" in isolation_description()
        _assert_contained(host, cases, report, elapsed, rise)
    finally:
        monkeypatch.delenv("EVALSUITE_SANDBOX")
        reset_isolation()
