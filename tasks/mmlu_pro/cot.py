"""MMLU-Pro chain of thought as TIGER-Lab's evaluate_from_local.py: its prompt pieces, its three-step
answer extraction and its scoring of an unextractable answer (a seeded random guess)."""

from __future__ import annotations

import random
import re
from typing import Any

LETTERS = "ABCDEFGHIJKLMNOP"
NO_ANSWER = "[invalid]"


def options(doc: dict) -> list[str]:
    """The options the official script shows: "N/A" placeholders dropped (its `preprocess`)."""
    return [option for option in doc["options"] if option != "N/A"]


def question_text(doc: dict) -> str:
    """`format_cot_example` up to the answer: the question and its lettered options."""
    lines = "".join(f"{LETTERS[i]}. {option}\n" for i, option in enumerate(options(doc)))
    return f"Question:\n{doc['question']}\nOptions:\n{lines}"


def doc_to_text(doc: dict) -> str:
    """The question under test, ending where the model continues (`including_answer=False`)."""
    return question_text(doc) + "Answer: Let's think step by step."


def fewshot_to_target(doc: dict) -> str:
    """A shot's answer: its `cot_content` with the official "A:" -> "Answer:" rewrite."""
    return doc["cot_content"].replace("A: Let's think step by step.", "Answer: Let's think step by step.")


# The three steps of the official extraction (`extract_answer`, `extract_again`, `extract_final`), in order,
# each the script's own pattern and call: the first "answer is X" (case-sensitive, anywhere); the last
# "Answer: X" of the first line that holds one (`.` stops at a newline, `.*` is greedy); the last letter
# A-J standing alone (`\b` on both sides, searched across lines).
RULES = (
    ("answer is", re.compile(r"answer is \(?([A-J])\)?"), False),
    ("Answer:", re.compile(r".*[aA]nswer:\s*([A-J])"), False),
    ("last letter", re.compile(r"\b[A-J]\b(?!.*\b[A-J]\b)", re.DOTALL), True),
)
UNEXTRACTED = "none"  # no step matched
RULE_NAMES = frozenset(name for name, _, _ in RULES) | {UNEXTRACTED}


def extract(text: str) -> tuple[str | None, str]:
    """The official extraction: the letter (None when no step matched) and the step that gave it."""
    for name, pattern, whole in RULES:
        match = pattern.search(text)
        if match:
            return match.group(0 if whole else 1), name
    return None, UNEXTRACTED


def extract_answer(text: str) -> str | None:
    """The extracted letter alone."""
    return extract(text)[0]


def extract_filter(resps: list[list[str]], docs: list[dict]) -> list[list[str]]:
    """lm-eval custom filter `official-extract`: each response's letter ([invalid] when none)."""
    return [[extract_answer(text) or NO_ANSWER for text in responses] for responses in resps]


def rule_filter(resps: list[list[str]], docs: list[dict]) -> list[list[str]]:
    """lm-eval custom filter `extraction-rule`: which step gave each response's letter (logged per item)."""
    return [[extract(text)[1] for text in responses] for responses in resps]


def process_results(doc: dict, results: list[Any]) -> dict[str, float]:
    """Accuracy as the official `save_res`: an extracted letter is compared with `answer`; without one,
    a seeded random option index is compared with `answer_index` (`exact_match`), or the answer
    counts as wrong (`exact_match_no_guess`). The official script draws that index from one
    module-level stream seeded once (`random.seed(12345)`), so its guess for an item depends on how
    many unextracted answers came before it in the same run; here every unextracted answer draws
    the first number of a fresh `random.Random(12345)`, the same for a given option count in any
    order or subset. The `extraction-rule` filter's values are logged, not scored."""
    pred = results[0]
    if pred in RULE_NAMES:
        return {}
    if pred in (None, "", NO_ANSWER):
        guess = random.Random(12345).randint(0, len(options(doc)) - 1)
        return {"exact_match": float(guess == doc["answer_index"]), "exact_match_no_guess": 0.0}
    correct = float(pred == doc["answer"])
    return {"exact_match": correct, "exact_match_no_guess": correct}


def _only(category: str):
    def process_docs(dataset: Any) -> Any:
        return dataset.filter(lambda doc: doc["category"] == category)
    return process_docs


only_biology = _only("biology")
only_business = _only("business")
only_chemistry = _only("chemistry")
only_computer_science = _only("computer science")
only_economics = _only("economics")
only_engineering = _only("engineering")
only_health = _only("health")
only_history = _only("history")
only_law = _only("law")
only_math = _only("math")
only_other = _only("other")
only_philosophy = _only("philosophy")
only_physics = _only("physics")
only_psychology = _only("psychology")
