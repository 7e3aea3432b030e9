"""`leaderboard` on hostile result files: one bad file is skipped with one line, reading is bounded
(size, depth, integer length, regular files only, sample logs inside the results folder), and names
read from files never make it write outside --out."""

import json
import os
import shutil
import threading
from pathlib import Path

import pandas as pd
import pytest

from evalsuite.leaderboard import render_leaderboard
from tests.conftest import RESULT_FIXTURES as FIXTURES, run_cli

GOOD = FIXTURES / "Alpha-7B-Instruct"


def _results(tmp_path: Path) -> Path:
    """A results folder holding one good model run (for the rest of the leaderboard to render)."""
    results = tmp_path / "results"
    shutil.copytree(GOOD, results / "Alpha-7B-Instruct")
    return results


def _hostile(results: Path, name: str, text: str) -> Path:
    path = results / "hostile" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _result_text(**changes) -> str:
    data = json.loads((GOOD / "gsm8k.json").read_text(encoding="utf-8"))
    data["model"]["name"] = "org/Hostile"
    data["samples"] = None
    return json.dumps(data | changes)


def _render(results: Path, out: Path, seconds: float = 60.0, formats: tuple[str, ...] = ("csv",)) -> list[Path]:
    """render_leaderboard, failing (instead of hanging the suite) if it does not return in time."""
    outcome: dict = {}

    def target():
        try:
            outcome["written"] = render_leaderboard(results, out, formats)
        except BaseException as err:  # noqa: BLE001 - re-raised below
            outcome["error"] = err

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), "leaderboard hung"
    if "error" in outcome:
        raise outcome["error"]
    return outcome["written"]


def _skipped_one(capsys, out: Path, fragment: str) -> None:
    lines = [line for line in capsys.readouterr().err.splitlines() if line]
    assert len(lines) == 1 and lines[0].startswith("leaderboard: ") and fragment in lines[0], lines
    math = pd.read_csv(out / "tables" / "math.csv")
    assert list(math[math.source == "measured"].model) == ["org/Alpha-7B-Instruct"]  # the rest rendered


@pytest.mark.parametrize("digits", [400, 5000])
def test_score_with_hundreds_or_thousands_of_digits_is_skipped(tmp_path, capsys, digits):
    results = _results(tmp_path)
    text = _result_text().replace('"score": 62.0', '"score": ' + "9" * digits)
    assert "9" * digits in text
    _hostile(results, "gsm8k.json", text)
    _render(results, tmp_path / "out")
    _skipped_one(capsys, tmp_path / "out", "hostile/gsm8k.json")


def test_float_score_with_hundreds_of_digits_is_skipped(tmp_path, capsys):
    results = _results(tmp_path)
    _hostile(results, "gsm8k.json", _result_text().replace('"score": 62.0', '"score": ' + "9" * 400 + ".5"))
    _render(results, tmp_path / "out")
    _skipped_one(capsys, tmp_path / "out", "not a finite number")


def test_hundred_thousand_deep_nesting_is_skipped(tmp_path, capsys):
    results = _results(tmp_path)
    _hostile(results, "deep.json", "[" * 100_000 + "]" * 100_000)
    _hostile(results, "deep_object.json", _result_text(metrics=json.loads('{"a": ' * 100 + "1" + "}" * 100)))
    _render(results, tmp_path / "out")
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2 and all("nested deeper than" in line for line in lines), lines


def test_minus_a_billion_score_is_skipped(tmp_path, capsys):
    results = _results(tmp_path)
    _hostile(results, "gsm8k.json", _result_text(score=-1e9))
    _render(results, tmp_path / "out")
    _skipped_one(capsys, tmp_path / "out", "within ±")


def test_non_utf8_samples_leave_the_result_without_an_interval_from_them(tmp_path, capsys):
    results = _results(tmp_path)
    samples = results / "Alpha-7B-Instruct" / "samples" / "kmmlu.jsonl"
    samples.write_bytes(b'{"item": "a", "score": 1.0, "group": "\xff\xfe"}\n')
    _render(results, tmp_path / "out", formats=("md",))
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and "ignored the samples" in lines[0] and "not UTF-8" in lines[0]
    readme = (tmp_path / "out" / "README.md").read_text(encoding="utf-8")
    assert "| **org/Alpha-7B-Instruct** | KMMLU | 58.3 [" in readme and "| stderr |" in readme


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_fifo_named_json_is_skipped_without_hanging(tmp_path, capsys):
    results = _results(tmp_path)
    (results / "hostile").mkdir()
    os.mkfifo(results / "hostile" / "gsm8k.json")
    _render(results, tmp_path / "out", seconds=30)
    _skipped_one(capsys, tmp_path / "out", "not a regular file")


@pytest.mark.parametrize("samples", ["/dev/zero", "../../../../../../dev/zero", "../../outside.jsonl"])
def test_samples_outside_the_results_tree_are_not_read(tmp_path, capsys, samples):
    results = _results(tmp_path)
    (tmp_path / "outside.jsonl").write_text('{"item": "x", "score": 1.0}\n', encoding="utf-8")
    path = results / "Alpha-7B-Instruct" / "kmmlu.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    path.write_text(json.dumps(data | {"samples": samples}), encoding="utf-8")
    _render(results, tmp_path / "out", seconds=30)
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and "outside the results folder" in lines[0], lines


def test_link_to_a_device_or_outside_file_is_skipped(tmp_path, capsys):
    results = _results(tmp_path)
    (results / "hostile").mkdir()
    (results / "hostile" / "zero.json").symlink_to("/dev/zero")
    _render(results, tmp_path / "out", seconds=30)
    _skipped_one(capsys, tmp_path / "out", "outside the results folder")


def test_oversized_result_file_is_skipped(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("evalsuite.leaderboard.collect.MAX_RESULT_BYTES", 4096)
    results = _results(tmp_path)
    _hostile(results, "gsm8k.json", _result_text(padding="x" * 5000))
    _render(results, tmp_path / "out")
    _skipped_one(capsys, tmp_path / "out", "larger than 4096 bytes")


@pytest.mark.parametrize("field", ["benchmark", "model"])
def test_names_from_files_never_write_outside_out(tmp_path, capsys, field):
    results = _results(tmp_path)
    hostile = json.loads(_result_text())
    if field == "benchmark":
        hostile["benchmark"] = "../../x"
    else:
        hostile["model"] = {"name": "../../x", "display_name": "../../../y"}
    _hostile(results, "x.json", json.dumps(hostile))
    out = tmp_path / "deep" / "er" / "out"
    out.parent.mkdir(parents=True)
    before = {p for p in tmp_path.rglob("*") if not p.is_relative_to(out)}
    _render(results, out, formats=("md", "csv", "json"))
    after = {p for p in tmp_path.rglob("*") if not p.is_relative_to(out)}
    assert after == before
    assert all(p.resolve().is_relative_to(out.resolve()) for p in out.rglob("*"))
    if field == "benchmark":
        assert "is not a plain name" in capsys.readouterr().err


def test_missing_results_folder_is_exit_2_with_one_line(tmp_path):
    done = run_cli("leaderboard", "--results", str(tmp_path / "absent"), "--out", str(tmp_path / "out"), timeout=120)
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1 and "does not exist" in done.stderr
    assert not (tmp_path / "out").exists()


def test_score_outside_its_rows_interval_renders_without_an_interval(tmp_path):
    """A score the rows do not average to (a mean of two metrics, say): charts must not get negative
    error bars; the cell shows the score with no interval."""
    results = _results(tmp_path)
    run = results / "Scored" / "samples"
    run.mkdir(parents=True)
    rows = [{"item": str(i), "score": 0.0, "group": None} for i in range(4)]
    (run / "gsm8k.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    data = json.loads((GOOD / "gsm8k.json").read_text(encoding="utf-8"))
    data["model"]["name"] = "org/Scored"
    data["metrics"] = {"exact_match,flexible-extract": 0.125}
    data |= {"score": 12.5, "n": 4, "samples": "samples/gsm8k.jsonl"}
    (results / "Scored" / "gsm8k.json").write_text(json.dumps(data), encoding="utf-8")
    _render(results, tmp_path / "out", formats=("md", "csv"))
    math = pd.read_csv(tmp_path / "out" / "tables" / "math.csv")
    scored = math[math.model == "org/Scored"].iloc[0]
    assert scored["gsm8k"] == 12.5 and pd.isna(scored["gsm8k_ci_low"]) and pd.isna(scored["gsm8k_ci_high"])


@pytest.mark.parametrize("links", [{"self.json": "self.json"}, {"a.json": "b.json", "b.json": "a.json"}])
def test_a_symlink_loop_is_skipped_with_one_line(tmp_path, capsys, links):
    results = _results(tmp_path)
    (results / "hostile").mkdir()
    for name, target in links.items():
        (results / "hostile" / name).symlink_to(target)
    _render(results, tmp_path / "out", seconds=30)
    lines = [line for line in capsys.readouterr().err.splitlines() if line]
    assert len(lines) == len(links) and all("symlink loop" in line for line in lines), lines


def test_a_samples_path_that_loops_leaves_the_result_without_them(tmp_path, capsys):
    results = _results(tmp_path)
    path = results / "Alpha-7B-Instruct" / "kmmlu.json"
    (results / "Alpha-7B-Instruct" / "samples" / "loop.jsonl").symlink_to("loop.jsonl")
    path.write_text(json.dumps(json.loads(path.read_text(encoding="utf-8")) | {"samples": "samples/loop.jsonl"}),
                    encoding="utf-8")
    _render(results, tmp_path / "out", seconds=30, formats=("md",))
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and "ignored the samples" in lines[0] and "symlink loop" in lines[0], lines
