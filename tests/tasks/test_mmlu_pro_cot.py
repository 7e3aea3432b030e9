"""mmlu_pro_cot: prompts equal TIGER-Lab's evaluate_from_local.py prompts, answers extracted as it does."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.conftest import FIXTURE_DATA, REPO

TASKS = REPO / "tasks"
LETTERS = "ABCDEFGHIJKLMNOP"


def _cot():
    sys.path.insert(0, str(TASKS / "mmlu_pro"))
    try:
        import cot
    finally:
        sys.path.remove(str(TASKS / "mmlu_pro"))
    return cot


def _official_example(example: dict, including_answer: bool) -> str:
    """evaluate_from_local.py's format_cot_example, after its preprocess (N/A options dropped)."""
    prompt = "Question:\n" + example["question"] + "\nOptions:\n"
    for i, option in enumerate([o for o in example["options"] if o != "N/A"]):
        prompt += "{}. {}\n".format(LETTERS[i], option)
    if including_answer:
        return prompt + example["cot_content"].replace(
            "A: Let's think step by step.", "Answer: Let's think step by step.") + "\n\n"
    return prompt + "Answer: Let's think step by step."


def _official_prompt(data_dir: Path, doc: dict) -> str:
    """evaluate_from_local.py's generate_cot_prompt with k = 5."""
    validation = [json.loads(line) for line in (data_dir / "mmlu_pro" / "validation.jsonl").read_text().splitlines()]
    prompt = (data_dir / "mmlu_pro" / "initial_prompt.txt").read_text().replace("{$}", doc["category"]) + "\n"
    shots = [row for row in validation if row["category"] == doc["category"]][:5]
    return prompt + "".join(_official_example(row, True) for row in shots) + _official_example(doc, False)


def _check_prompts(data_dir: Path, limit: int, names: list[str]) -> int:
    from lm_eval.tasks import TaskManager

    manager = TaskManager(include_path=str(TASKS), include_defaults=False, metadata={"data_dir": str(data_dir)})
    tasks = [task for name, task in manager.load(names)["tasks"].items() if name != "es_mmlu_pro_cot"]
    checked = 0
    for task in tasks:
        task.build_all_requests(limit=limit)
        for instance in task.instances:
            assert instance.arguments[0] == _official_prompt(data_dir, instance.doc), task.config.task
            assert instance.arguments[1]["until"] == ["Question:"] and instance.arguments[1]["max_gen_toks"] == 2048
            checked += 1
    return checked


def test_prompts_equal_the_official_script_on_the_fixture():
    assert _check_prompts(FIXTURE_DATA, limit=1, names=["es_mmlu_pro_cot"]) == 14  # every category


@pytest.mark.shared_data
def test_prompts_equal_the_official_script_on_the_real_data(shared_data):
    # biology's shots hold 4 "N/A" options, law's questions are the longest
    assert _check_prompts(shared_data, limit=3, names=["es_mmlu_pro_cot_biology", "es_mmlu_pro_cot_law"]) == 6


@pytest.mark.parametrize(
    "text, letter, rule",
    [
        ("so the answer is (C).", "C", "answer is"),
        ("The answer is D because", "D", "answer is"),
        ("the answer is (B) ... the answer is (E)", "B", "answer is"),  # the first "answer is"
        ("Answer: B; later Answer: F", "F", "Answer:"),  # the last "Answer:" of the line (greedy .*)
        ("Answer: B\nlater Answer: F", "B", "Answer:"),  # ... of the first line holding one (no DOTALL)
        ("I choose between A and DNA", "A", "last letter"),  # letters inside words do not count
        # the case: the last standalone letter is D, the last capital A-J inside a word C
        ("The stages are D. Appetitive behavior, Consummatory act, Quiescence.", "D", "last letter"),
        ("(B) or\n(C) then Fine", "C", "last letter"),  # searched across lines
        ("no capitals at all", None, "none"),
        ("Because Of Everything", None, "none"),  # capitals A-J, none standing alone
        ("The Answer is (C)", "C", "last letter"),  # the first regex is case-sensitive; the last letter wins
    ],
)
def test_extraction_follows_the_official_three_steps(text, letter, rule):
    assert _cot().extract(text) == (letter, rule)
    assert _cot().extract_answer(text) == letter


def test_filters_give_the_letter_and_the_rule_per_response():
    cot = _cot()
    resps = [["the answer is (A)"], ["nothing"]]
    assert cot.extract_filter(resps, [{}, {}]) == [["A"], ["[invalid]"]]
    assert cot.rule_filter(resps, [{}, {}]) == [["answer is"], ["none"]]


def test_no_answer_is_the_official_seeded_guess_or_wrong():
    import random

    cot = _cot()
    doc = {"options": ["a", "b", "c", "N/A"], "answer": "B", "answer_index": 1}
    expected = float(random.Random(12345).randint(0, 2) == 1)  # three options once N/A is dropped
    assert cot.process_results(doc, ["[invalid]"]) == {"exact_match": expected, "exact_match_no_guess": 0.0}
    assert cot.process_results(doc, ["B"]) == {"exact_match": 1.0, "exact_match_no_guess": 1.0}
    assert cot.process_results(doc, ["C"]) == {"exact_match": 0.0, "exact_match_no_guess": 0.0}
    assert cot.process_results(doc, ["answer is"]) == {}  # the extraction-rule filter is logged, not scored
