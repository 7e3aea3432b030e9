"""ARC-C, GPQA, BBH and MuSR end to end with the real embedded model on the fixtures (marked real_model):
valid results, raw and normalized scores recorded, the normalization recomputable from the samples."""

import json

import pytest

from tests.conftest import FIXTURE_DATA, run_cli
from evalsuite.declarations import discover
from evalsuite.results.schema import validate_result
from evalsuite.results.samples import read_samples

pytestmark = pytest.mark.real_model
SLUG = "SmolLM2-135M-Instruct"
NAMES = ("arc_challenge", "gpqa", "bbh", "musr")


# BBH's 24 subtasks with their 3 long shots take minutes on CPU: the test runs it 0-shot (recorded)
SHOTS = {"bbh": 0}


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    out = tmp_path_factory.mktemp("results")
    for tasks, extra in ((",".join(n for n in NAMES if n not in SHOTS), ()),
                         *((name, ("--num_fewshot", str(shots))) for name, shots in SHOTS.items())):
        done = run_cli("run", "--model", "embedded", "--tasks", tasks, "--limit", "1", *extra,
                       "--data_dir", str(FIXTURE_DATA), "--output_path", str(out), "--batch_size", "8")
        assert done.returncode == 0, done.stderr[-3000:]
    return {name: (json.loads((out / SLUG / f"{name}.json").read_text()), out) for name in NAMES}


def _rows(entry):
    result, out = entry
    return read_samples(out / SLUG / result["samples"])


@pytest.mark.parametrize("name", NAMES)
def test_valid_result_with_the_declared_protocol(results, name):
    result = results[name][0]
    declared = discover()[name]
    assert validate_result(result) == []
    assert result["protocol"]["num_fewshot"] == SHOTS.get(name, declared.num_fewshot)
    assert result["protocol"]["metric"] == "acc_norm"
    rows = _rows(results[name])
    assert len(rows) == result["n"] > 0
    assert result["score"] == pytest.approx(result["metrics"]["acc_norm"] * 100)
    assert result["score"] == pytest.approx(sum(r["score"] for r in rows) / len(rows) * 100)  # micro acc_norm


def test_gpqa_is_normalized_by_four_options(results):
    metrics = results["gpqa"][0]["metrics"]
    assert metrics["acc_norm_normalized"] == pytest.approx(max(0.0, (metrics["acc_norm"] - 0.25) / 0.75))
    assert {r["group"] for r in _rows(results["gpqa"])} == {"gpqa_diamond", "gpqa_extended", "gpqa_main"}


@pytest.mark.parametrize("name", ["bbh", "musr"])
def test_per_subtask_normalization_recomputes_from_the_samples(results, name):
    result = results[name][0]
    rows = _rows(results[name])
    chance = discover()[name].score.chance
    by_subtask: dict[str, list[dict]] = {}
    for row in rows:
        by_subtask.setdefault(row["subtask"], []).append(row)
    assert len(by_subtask) == (24 if name == "bbh" else 3)
    values = []
    for subtask, items in by_subtask.items():
        level = 1 / items[0]["choices"] if chance == "choices" else chance[subtask]
        raw = sum(r["score"] for r in items) / len(items)
        values.append(max(0.0, (raw - level) / (1 - level)))
        assert result["subscores"][f"normalized/{subtask}"] == pytest.approx(values[-1] * 100)
    assert result["metrics"]["acc_norm_normalized"] == pytest.approx(sum(values) / len(values))
