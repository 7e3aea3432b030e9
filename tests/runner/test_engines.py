"""The run's engines: every declared engine has one, and a judged benchmark is prepared once per run."""

from __future__ import annotations

import json
import sys

import pytest
from tests.conftest import FIXTURE_DATA
from tests.support.replay_server import ReplayJudgeServer

from evalsuite import declarations
from evalsuite.declarations import get_benchmark
from evalsuite.errors import BadInputError
from evalsuite.judging.options import JudgeOptions
from evalsuite.runner.engines import ENGINES, JudgeEngine, LmEvalEngine, RunEngines, engine_class, uses_judge
from evalsuite.runner.options import RunOptions
from evalsuite.runner.run import run_benchmarks

MT_ANSWERS = FIXTURE_DATA / "mt_bench" / "model_answer" / "tiny-model.jsonl"


def test_every_declared_engine_has_an_engine():
    assert set(ENGINES) == set(declarations.ENGINES)
    for benchmark in declarations.discover().values():
        assert engine_class(benchmark) is ENGINES[benchmark.engine]


def test_engines_are_chosen_by_the_declaration_and_made_once_per_run():
    copa, mt = get_benchmark("kobest_copa"), get_benchmark("mt_bench")
    engines = RunEngines(RunOptions())
    assert isinstance(engines[copa], LmEvalEngine) and isinstance(engines[mt], JudgeEngine)
    assert engines[mt] is engines[mt]
    assert [(type(e), [b.name for b in group]) for e, group in engines.grouped([mt, copa])] == \
        [(LmEvalEngine, ["kobest_copa"]), (JudgeEngine, ["mt_bench"])]
    assert uses_judge([copa, mt]) and not uses_judge([copa])


def test_a_judged_benchmark_without_judge_options_is_bad_input(tmp_path):
    with pytest.raises(BadInputError, match="needs judge options"):
        run_benchmarks([get_benchmark("mt_bench")], RunOptions(output_path=tmp_path, data_dir=FIXTURE_DATA))


def test_a_judged_benchmark_is_prepared_once_per_run(tmp_path, monkeypatch):
    """The checks before the run load the benchmark's data and prompts; the run reuses them."""
    from evalsuite.runner import engines

    original = engines.prepare_judge_benchmark
    calls = []

    def counting(*args, **kwargs):
        calls.append(args[0])
        return original(*args, **kwargs)

    for module in list(sys.modules.values()):  # wherever the entry point is imported by name
        if (getattr(module, "__name__", "") or "").startswith("evalsuite") and \
                getattr(module, "prepare_judge_benchmark", None) is original:
            monkeypatch.setattr(module, "prepare_judge_benchmark", counting)
    with ReplayJudgeServer(lambda messages: "Rating: [[7]]", lifetime_s=60) as server:
        judge = JudgeOptions(judge_model="gpt-4", judge_base_url=server.base_url, answers_file=MT_ANSWERS,
                             progress=False, backoff_base_s=0.01, backoff_cap_s=0.05)
        options = RunOptions(output_path=tmp_path, data_dir=FIXTURE_DATA, limit=1, judge=judge)
        (outcome,) = run_benchmarks([get_benchmark("mt_bench")], options)
    assert outcome.status == "done" and outcome.score == 7.0, outcome
    assert calls == ["mt_bench"]
    assert json.loads(outcome.path.read_text())["n"] == 2  # the run did judge: 1 question, 2 turns
