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


def extract_answer(text: str) -> str | None:
    """The official extraction: "answer is (X)", else the last "Answer: X", else the last letter A-J."""
    match = re.search(r"answer is \(?([A-J])\)?", text)
    if match:
        return match.group(1)
    match = re.search(r".*[aA]nswer:\s*([A-J])", text)
    if match:
        return match.group(1)
    match = re.search(r"[A-J](?=[^A-J]*$)", text)
    return match.group(0) if match else None


def extract_filter(resps: list[list[str]], docs: list[dict]) -> list[list[str]]:
    """lm-eval custom filter: each response's extracted letter ([invalid] when none)."""
    return [[extract_answer(text) or NO_ANSWER for text in responses] for responses in resps]


def process_results(doc: dict, results: list[Any]) -> dict[str, float]:
    """Accuracy as the official `save_res`: an extracted letter is compared with `answer`; without one,
    `random.seed(12345); random.randint(0, len(options) - 1)` is compared with `answer_index`."""
    pred = results[0]
    if pred in (None, "", NO_ANSWER):
        guess = random.Random(12345).randint(0, len(options(doc)) - 1)
        return {"exact_match": float(guess == doc["answer_index"])}
    return {"exact_match": float(pred == doc["answer"])}


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
