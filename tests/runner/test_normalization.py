"""Chance normalization as the Open LLM Leaderboard 2 computes it: declared or derived chance levels per
subtask, clipping at 0, the unweighted mean over subtasks; the rows it reads; the leaderboard columns."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from evalsuite.declarations import CHANCE_FROM_CHOICES, Score, discover, parse_declaration
from evalsuite.errors import BadInputError
from evalsuite.leaderboard import render_leaderboard
from evalsuite.runner.normalization import normalize, normalized
from evalsuite.runner.lm_eval_rows import mc_rows

from tests.conftest import REPO, RESULT_FIXTURES as RESULTS

TASKS = REPO / "tasks"

# The leaderboard's own table of answer counts (open-llm-leaderboard's normalization of its v2 results)
LEADERBOARD_BBH_CHOICES = {
    "sports_understanding": 2, "tracking_shuffled_objects_three_objects": 3, "navigate": 2, "snarks": 2,
    "date_understanding": 6, "reasoning_about_colored_objects": 18, "object_counting": 19,
    "logical_deduction_seven_objects": 7, "geometric_shapes": 11, "web_of_lies": 2, "movie_recommendation": 6,
    "logical_deduction_five_objects": 5, "salient_translation_error_detection": 6, "disambiguation_qa": 3,
    "temporal_sequences": 4, "hyperbaton": 2, "logical_deduction_three_objects": 3, "causal_judgement": 2,
    "formal_fallacies": 2, "tracking_shuffled_objects_seven_objects": 7, "ruin_names": 6,
    "penguins_in_a_table": 5, "boolean_expressions": 2, "tracking_shuffled_objects_five_objects": 5,
}
LEADERBOARD_MUSR_CHOICES = {"murder_mysteries": 2, "object_placements": 5, "team_allocation": 3}


def _leaderboard_score(raw: dict[str, float], choices: dict[str, int]) -> float:
    """The leaderboard's formula, written out: clip(acc - 1/n, 0) / (1 - 1/n), mean over subtasks."""
    values = [max(raw[s] - 1 / n, 0) / (1 - 1 / n) for s, n in choices.items()]
    return sum(values) / len(values)


def _rows(raw_correct: dict[str, list[float]], choices: dict[str, int]) -> list[dict]:
    return [{"item": f"{s}/{i}", "subtask": s, "score": v, "choices": choices[s]}
            for s, values in raw_correct.items() for i, v in enumerate(values)]


def test_derived_chance_of_each_subtask_is_one_over_its_answers_as_the_leaderboard_counts():
    bbh = discover()["bbh"]
    assert bbh.score.chance == CHANCE_FROM_CHOICES
    answers = {}
    for path in sorted((TASKS / "bbh").glob("es_bbh_*.yaml")):
        config = yaml.safe_load(path.read_text(encoding="utf-8"))
        answers[config["dataset_kwargs"]["subtask"]] = len(config["doc_to_choice"])
    assert answers == LEADERBOARD_BBH_CHOICES
    musr = discover()["musr"].score.chance
    assert musr == {s: pytest.approx(1 / n) for s, n in LEADERBOARD_MUSR_CHOICES.items()}


def test_per_subtask_normalization_equals_the_leaderboard_formula():
    # subtasks of different sizes and answer counts; one below chance (clipped to 0)
    correct = {"boolean_expressions": [1, 1, 1, 0], "object_counting": [0, 0, 0, 0, 1],
               "date_understanding": [1, 0], "navigate": [0, 0, 1]}
    rows = _rows(correct, LEADERBOARD_BBH_CHOICES)
    result = normalize(Score(metric="acc_norm", aggregation="micro", scale=100, chance=CHANCE_FROM_CHOICES), 0.5, rows)
    raw = {s: sum(v) / len(v) for s, v in correct.items()}
    expected = _leaderboard_score(raw, {s: LEADERBOARD_BBH_CHOICES[s] for s in correct})
    assert result.value == pytest.approx(expected)
    assert result.per_subtask["navigate"] == 0.0  # 1/3 correct of 2 choices: below chance, clipped
    assert result.raw == pytest.approx(raw)
    micro = sum(sum(v) for v in correct.values()) / sum(len(v) for v in correct.values())
    assert result.value != pytest.approx((micro - 0.25) / 0.75)  # not one chance level on the pooled mean


def test_declared_mapping_and_single_level():
    correct = {"murder_mysteries": [1, 1, 0, 1], "object_placements": [1, 0, 0], "team_allocation": [0, 1]}
    rows = _rows(correct, {"murder_mysteries": 2, "object_placements": 3, "team_allocation": 3})
    declared = discover()["musr"].score
    raw = {s: sum(v) / len(v) for s, v in correct.items()}
    # the declared 1/5 wins over the 3 choices these object-placement rows have
    assert normalize(declared, 0.0, rows).value == pytest.approx(_leaderboard_score(raw, LEADERBOARD_MUSR_CHOICES))
    single = Score(metric="acc_norm", aggregation="micro", scale=100, chance=0.25)
    assert normalize(single, 0.40, rows).value == pytest.approx(0.2)
    assert normalize(single, 0.10, rows).value == 0.0  # clipped, as the leaderboard does
    assert normalize(Score(metric="acc", aggregation="micro", scale=100), 0.4, rows) is None
    assert normalized(0.25, 0.25) == 0.0


def test_a_subtask_without_a_declared_level_or_choices_is_one_line():
    score = Score(metric="acc_norm", aggregation="micro", scale=100, chance={"a": 0.5})
    with pytest.raises(BadInputError, match="no level for subtask 'b'"):
        normalize(score, 0.5, [{"item": "1", "subtask": "b", "score": 1.0, "choices": 2}])
    derived = Score(metric="acc_norm", aggregation="micro", scale=100, chance=CHANCE_FROM_CHOICES)
    with pytest.raises(BadInputError, match="records no number of choices"):
        normalize(derived, 0.5, [{"item": "1", "subtask": "b", "score": 1.0, "choices": None}])


@pytest.mark.parametrize(
    ("chance", "message"),
    [("0.25", "expected a number, a mapping or 'choices'"), (1.5, r"in \[0, 1\)"), ({"a": True}, r"in \[0, 1\)"),
     ({}, "empty mapping")],
)
def test_bad_declared_chance_is_rejected(tmp_path, chance, message):
    path = tmp_path / "toy.benchmark.yaml"
    path.write_text(yaml.safe_dump({
        "name": "toy", "title": "Toy", "engine": "lm_eval", "lm_eval_task": "es_toy", "output": "loglikelihood",
        "data": {"hub": "org/toy"}, "score": {"metric": "acc", "aggregation": "micro", "scale": 100, "chance": chance},
    }), encoding="utf-8")
    with pytest.raises(BadInputError, match=message):
        parse_declaration(path)


def test_rows_of_an_acc_norm_task_score_acc_norm_and_count_the_choices():
    bbh = discover()["bbh"]
    sample = {  # lm-eval's logged sample: the short choice wins raw, the long one per character
        "doc_id": 0, "doc": {"input": "q", "target": "yes indeed"}, "target": "yes indeed",
        "arguments": [("Q: q\nA:", " no"), ("Q: q\nA:", " yes indeed")],
        "filtered_resps": [(-3.0, False), (-4.0, False)], "acc_norm": 1.0,
    }
    row = mc_rows(bbh, "es_bbh_navigate", [sample], {"benchmark": "bbh", "subtask": "navigate"})[0]
    assert row["score"] == 1.0 and row["pred"] == 1 and row["label"] == 1
    assert row["choices"] == 2 and row["subtask"] == "navigate" and row["item"] == "navigate/0"


def _bbh_result(tmp_path: Path, normalized_value: float | None) -> Path:
    results = tmp_path / "results"
    shutil.copytree(RESULTS, results)
    data = json.loads((results / "Alpha-7B-Instruct" / "mmlu_pro.json").read_text(encoding="utf-8"))
    data.update(benchmark="bbh", score=40.0, n=4, samples="samples/bbh.jsonl", subscores={"navigate": 50.0, "snarks": 30.0})
    data["protocol"].update(metric="acc_norm", num_fewshot=3)
    data["metrics"] = {"acc_norm": 0.40, "acc_norm_stderr": 0.2}
    if normalized_value is not None:
        data["metrics"]["acc_norm_normalized"] = normalized_value
    (results / "Alpha-7B-Instruct" / "bbh.json").write_text(json.dumps(data), encoding="utf-8")
    return results


def test_general_table_shows_the_recorded_per_subtask_normalization(tmp_path):
    render_leaderboard(_bbh_result(tmp_path, 0.123), tmp_path / "out", ("csv",))
    table = pd.read_csv(tmp_path / "out" / "tables" / "general.csv")
    alpha = table[table.model == "org/Alpha-7B-Instruct"].iloc[0]
    assert alpha.bbh == pytest.approx(12.3)  # the run's value, not (0.40 - c) / (1 - c) for any one c


@pytest.mark.parametrize("value", [None, 7.5, -0.1])
def test_a_per_subtask_result_without_a_sane_normalized_value_is_skipped(tmp_path, capsys, value):
    render_leaderboard(_bbh_result(tmp_path, value), tmp_path / "out", ("csv",))
    assert "no acc_norm_normalized in [0, 1] recorded" in capsys.readouterr().err
    table = pd.read_csv(tmp_path / "out" / "tables" / "general.csv")
    assert pd.isna(table[table.model == "org/Alpha-7B-Instruct"].iloc[0].bbh)
