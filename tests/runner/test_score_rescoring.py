"""One scorer per benchmark: the completions a real `run` wrote, fed to `score`, give exactly the run's
score and per-item verdicts (real embedded model, marked real_model)."""

from __future__ import annotations

import json

import pytest

from tests.conftest import FIXTURE_DATA, run_cli
from evalsuite.declarations import get_benchmark
from evalsuite.results.samples import read_samples
from evalsuite.sandbox import os_isolation_available

pytestmark = pytest.mark.real_model
SLUG = "SmolLM2-135M-Instruct"
GENERATIVE = ("gsm8k", "math", "math_hard", "ifeval", "mmlu_pro_cot")


@pytest.fixture(scope="module")
def run_output(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    # 0-shot and short generations keep 18 CPU generations fast; the scorer is what is compared
    done = run_cli("run", "--model", "embedded", "--tasks", ",".join(GENERATIVE), "--limit", "1",
                   "--data_dir", str(FIXTURE_DATA), "--output_path", str(out), "--batch_size", "4",
                   "--num_fewshot", "0", "--gen_kwargs", "max_gen_toks=32", timeout=1800)
    assert done.returncode == 0, done.stderr[-3000:]
    return out


def _completions(name: str, rows: list[dict]) -> list[dict]:
    id_field = get_benchmark(name).external.id_field
    key = (lambda row: {"doc_id": row["doc_id"]}) if id_field == "doc_id" else (lambda row: {id_field: int(row["item"])})
    return [{**key(row), "completion": row["response"]} for row in rows]


@pytest.mark.parametrize("name", GENERATIVE)
def test_rescoring_a_runs_samples_gives_the_runs_score(run_output, tmp_path, name):
    ran = json.loads((run_output / SLUG / f"{name}.json").read_text())
    ran_rows = read_samples(run_output / SLUG / ran["samples"])
    samples = tmp_path / "rescored.jsonl"
    samples.write_text("".join(json.dumps(row) + "\n" for row in _completions(name, ran_rows)))
    done = run_cli("score", name, "--samples", str(samples), "--data_dir", str(FIXTURE_DATA),
                   "--output_path", str(tmp_path / "out"), "--allow_missing")  # the run used --limit
    assert done.returncode == 0, done.stderr[-3000:]
    scored = json.loads((tmp_path / "out" / "rescored" / f"{name}.json").read_text())
    assert scored["score"] == ran["score"] and scored["n"] == ran["n"]
    assert {k: v for k, v in scored["metrics"].items() if not k.endswith("_stderr")} == \
        {k: v for k, v in ran["metrics"].items() if not k.endswith("_stderr")}
    scored_rows = read_samples(tmp_path / "out" / "rescored" / scored["samples"])
    assert [(r["item"], r["score"], r["pred"]) for r in scored_rows] == [(r["item"], r["score"], r["pred"]) for r in ran_rows]
    assert scored["protocol"]["generated"] == "external"


def test_rescoring_a_code_runs_samples_gives_the_runs_score(tmp_path):
    """The same for a code-executing benchmark: the run's completions, replayed, run in the sandbox again."""
    sandbox = [] if os_isolation_available() else ["--allow_unisolated_execution"]
    ran_dir = tmp_path / "run"
    done = run_cli("run", "--model", "embedded", "--tasks", "mbpp", "--limit", "2", "--data_dir", str(FIXTURE_DATA),
                   "--output_path", str(ran_dir), "--num_fewshot", "0", "--gen_kwargs", "max_gen_toks=64", "--allow_code_execution",
                   *sandbox, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    ran = json.loads((ran_dir / SLUG / "mbpp.json").read_text())
    ran_rows = read_samples(ran_dir / SLUG / ran["samples"])
    samples = tmp_path / "rescored.jsonl"
    samples.write_text("".join(json.dumps({"task_id": int(r["item"]), "completion": r["completion"]}) + "\n"
                               for r in ran_rows))
    done = run_cli("score", "mbpp", "--samples", str(samples), "--data_dir", str(FIXTURE_DATA), "--output_path",
                   str(tmp_path / "out"), "--allow_missing", "--allow_code_execution", *sandbox)
    assert done.returncode == 0, done.stderr[-3000:]
    scored = json.loads((tmp_path / "out" / "rescored" / "mbpp.json").read_text())
    assert scored["score"] == ran["score"] and scored["n"] == ran["n"] == 2
    scored_rows = read_samples(tmp_path / "out" / "rescored" / scored["samples"])
    keys = ("item", "score", "completion", "extracted_code", "outcome")
    assert [[r[k] for k in keys] for r in scored_rows] == [[r[k] for k in keys] for r in ran_rows]
    assert scored["protocol"]["generated"] == "external"
