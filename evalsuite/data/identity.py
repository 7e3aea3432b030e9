"""Per-sample identity for the result logs: a stable item id and the subject/category group.

The runner calls these on every document lm-eval logs, so the same item gets the same id in
every model's samples file (the leaderboard pairs models on it).
"""

from __future__ import annotations

from typing import Any

from evalsuite.data.kmmlu import subject_from_task


def sample_group(benchmark: str, task_name: str, doc: dict[str, Any]) -> str | None:
    """The sample's group: the KMMLU subject ("Accounting"), the MMLU-Pro category, else None."""
    if benchmark == "kmmlu":
        return subject_from_task(task_name)
    if benchmark == "mmlu_pro":
        return str(doc["category"])
    return None


def sample_item(benchmark: str, task_name: str, doc: dict[str, Any], doc_id: int) -> str:
    """A stable item id: "Accounting/12" (KMMLU), the question_id (MMLU-Pro), else the doc index."""
    if benchmark == "kmmlu":
        return f"{subject_from_task(task_name)}/{doc_id}"
    if benchmark == "mmlu_pro":
        return str(doc["question_id"])
    return str(doc_id)
