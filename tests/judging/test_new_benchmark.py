"""A judged benchmark is a folder: a new one that reuses a format is a declaration and its data, no
Python; a benchmark with a format of its own names a Python file beside its declaration
(`judge.format_module`)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from tests.conftest import FIXTURE_DATA, run_cli
from tests.support.replay_server import ReplayJudgeServer

from evalsuite.declarations import INCLUDE_PATH_ENV, JUDGES_DIR, get_benchmark, parse_declaration
from evalsuite.errors import BadInputError
from evalsuite.judging.definitions import format_of, load_benchmark_data, load_definition

NAME = "tiny_mt"
QUESTIONS = (81, 101)  # a writing question and a reference-graded (reasoning) one


def _new_benchmark(root: Path, name: str = NAME, extra_judge: str = "") -> Path:
    """MT-Bench's declaration under another name, its data files under `name/`, in its own folder."""
    text = (JUDGES_DIR / "mt_bench" / "mt_bench.benchmark.yaml").read_text(encoding="utf-8")
    text = text.replace("name: mt_bench", f"name: {name}").replace("local: mt_bench/", f"local: {name}/")
    text = text.replace("suites: [paper]\n", "").replace("judge:\n", f"judge:\n{extra_judge}", 1)
    folder = root / name
    folder.mkdir(parents=True)
    path = folder / f"{name}.benchmark.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _rows(path: Path, keep: tuple[int, ...]) -> str:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return "".join(json.dumps(row) + "\n" for row in rows if row["question_id"] in keep)


def _data(root: Path) -> tuple[Path, Path]:
    """The new benchmark's data (two questions) under a data dir, and the answers to them."""
    source, target = FIXTURE_DATA / "mt_bench", root / NAME
    (target / "reference_answer").mkdir(parents=True)
    (target / "question.jsonl").write_text(_rows(source / "question.jsonl", QUESTIONS), encoding="utf-8")
    (target / "judge_prompts.jsonl").write_bytes((source / "judge_prompts.jsonl").read_bytes())
    (target / "reference_answer" / "gpt-4.jsonl").write_bytes((source / "reference_answer" / "gpt-4.jsonl").read_bytes())
    answers = root / "answers.jsonl"
    answers.write_text(_rows(source / "model_answer" / "tiny-model.jsonl", QUESTIONS), encoding="utf-8")
    return root, answers


def test_a_new_judged_benchmark_is_a_folder_without_python(tmp_path):
    """Declared outside the repository (--include_path), run end to end from an answers file against
    a judge that always rates 6: two questions x two turns, four judge calls, score 6."""
    declarations = tmp_path / "declarations"
    _new_benchmark(declarations)
    data_dir, answers = _data(tmp_path / "data")
    assert [p.name for p in (declarations / NAME).iterdir()] == [f"{NAME}.benchmark.yaml"]
    out = tmp_path / "results"
    with ReplayJudgeServer(lambda messages: "Rating: [[6]]", lifetime_s=120) as server:
        done = run_cli("run", "--tasks", NAME, "--include_path", str(declarations), "--answers_file", str(answers),
                       "--data_dir", str(data_dir), "--judge_model", "gpt-4", "--judge_base_url", server.base_url,
                       "--output_path", str(out), env={"OPENAI_API_KEY": "sk-test"}, timeout=300)
        assert done.returncode == 0, done.stderr
        assert len(server.requests) == 2 * len(QUESTIONS)
    result = json.loads((out / "tiny-model" / f"{NAME}.json").read_text(encoding="utf-8"))
    assert result["score"] == 6.0 and result["n"] == 4
    assert result["protocol"]["judge"]["format"] == "fastchat_single"
    listed = run_cli("tasks", NAME, "--include_path", str(declarations), timeout=120)
    assert listed.returncode == 0 and f"{NAME}/question.jsonl" in listed.stdout


def test_the_include_path_environment_variable_adds_declarations(tmp_path, monkeypatch):
    _new_benchmark(tmp_path)
    with pytest.raises(BadInputError, match=f"unknown task '{NAME}'"):
        get_benchmark(NAME)
    monkeypatch.setenv(INCLUDE_PATH_ENV, str(tmp_path))
    definition = load_definition(NAME)
    assert definition.name == NAME and definition.settings == load_definition("mt_bench").settings
    monkeypatch.setenv(INCLUDE_PATH_ENV, str(tmp_path / "missing"))
    with pytest.raises(BadInputError, match="include path .*missing is not a folder"):
        get_benchmark("mt_bench")


def test_a_missing_include_path_is_one_line_and_exit_2(tmp_path):
    done = run_cli("tasks", "--include_path", str(tmp_path / "nowhere"), timeout=120)
    assert done.returncode == 2 and "nowhere is not a folder" in done.stderr and "Traceback" not in done.stderr


FORMAT_MODULE = """\
from evalsuite.judging.formats.fastchat_single import FORMAT as GENERIC


class Stricter(type(GENERIC)):
    name = "{name}"

    def parse_settings(self, judge):
        settings = super().parse_settings(judge)
        return settings.__class__(**{{**settings.__dict__, "rating_range": (5.0, 10.0)}})


FORMAT = Stricter()
"""


def test_a_format_of_its_own_is_a_python_file_beside_the_declaration(tmp_path, monkeypatch):
    path = _new_benchmark(tmp_path, extra_judge="  format_module: stricter.py\n")
    path.write_text(path.read_text(encoding="utf-8").replace("format: fastchat_single", "format: stricter"),
                    encoding="utf-8")
    (path.parent / "stricter.py").write_text(FORMAT_MODULE.format(name="stricter"), encoding="utf-8")
    monkeypatch.setenv(INCLUDE_PATH_ENV, str(tmp_path))
    definition = load_definition(NAME)
    assert format_of(definition).name == "stricter" and format_of(definition) is format_of(definition)
    assert definition.settings.rating_range == (5.0, 10.0)
    data = load_benchmark_data(definition, _data(tmp_path / "data")[0])
    assert [q["question_id"] for q in data.questions] == list(QUESTIONS)
    # the module's FORMAT must be the format the declaration names
    other = _new_benchmark(tmp_path / "second", extra_judge="  format_module: other.py\n")
    other.write_text(other.read_text(encoding="utf-8").replace("format: fastchat_single", "format: stricter"),
                     encoding="utf-8")
    (other.parent / "other.py").write_text(FORMAT_MODULE.format(name="other"), encoding="utf-8")
    monkeypatch.setenv(INCLUDE_PATH_ENV, str(tmp_path / "second"))
    with pytest.raises(BadInputError, match=re.escape("FORMAT must be the JudgeFormat named 'stricter'")):
        load_definition(NAME)


@pytest.mark.parametrize("change, message", [
    (lambda t: t.replace("  format_module: x.py\n", "  format_module: x.txt\n"), "must name a .py file"),
    (lambda t: t.replace("    source: ", "    sorce: "), "unknown key.*sorce.*judge.data"),
    (lambda t: t.replace("  generation:\n", "  generaton:\n"), "unknown key.*generaton"),
    (lambda t: t.replace("    default_model: gpt-4-0613\n", ""), "incomplete judge block.*default_model"),
    (lambda t: t.replace("  language_rule: null", "  language_rule: {language: ko, penalty: cube}"),
     "language_rule.penalty is 'cube'"),
    (lambda t: t.replace("        local: mt_bench/question.jsonl\n", ""), "questions needs 'local'"),
    (lambda t: t.replace("engine: judge", "engine: lm_eval\nlm_eval_task: es_x"), "only a judge benchmark"),
    (lambda t: t.replace("engine: judge", "engine: judge\ndata: {hub: org/x}"), "in judge.data, not data"),
])
def test_judge_block_problems_are_one_line(tmp_path, change, message):
    text = (JUDGES_DIR / "mt_bench" / "mt_bench.benchmark.yaml").read_text(encoding="utf-8")
    text = text.replace("judge:\n", "judge:\n  format_module: x.py\n", 1)
    path = tmp_path / "mt_bench.benchmark.yaml"
    path.write_text(change(text), encoding="utf-8")
    with pytest.raises(BadInputError, match=message):
        parse_declaration(path)


def test_a_missing_format_module_is_one_line(tmp_path, monkeypatch):
    _new_benchmark(tmp_path, extra_judge="  format_module: absent.py\n")
    monkeypatch.setenv(INCLUDE_PATH_ENV, str(tmp_path))
    with pytest.raises(BadInputError, match=r"cannot import the judge format module .*absent.py \(no such file\)"):
        load_definition(NAME)
