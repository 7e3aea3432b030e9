"""Few-shot examples taken by position from a file whose row order may differ between copies.

- Belebele (shots: the first 5 test rows, lm-eval's first_n): the Belebele.zip copy is not in the
  Hub's order, so the Hub's first five are pinned by item id (`data.leading`): order-independent.
- MMLU-Pro (the first 5 validation rows; CoT: the first 5 of the question's category): the
  validation rows are pinned in the Hub's order, question_id 0-69: order-independent.
- ARC-Challenge (25 shots drawn by lm-eval's seeded random sampler from the train split): the draw is
  by position, so it is NOT order-independent; AI2's Train.jsonl (the --data_dir layout) is the file
  the Hub's split was made from, in its order. Pinning all 1,119 rows would make every partial copy
  (a fixture, a subset) unusable, so the dependence is stated and shown here instead.
- KMMLU (the subject's 5 dev rows, in an order lm-eval's seeded random sampler draws by position):
  the same five rows from any copy, but their order in the prompt is NOT order-independent; the Hub
  dataset is these same CSV files (so --data_dir and the Hub agree), and a dev row has no id to pin.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path
from typing import Callable

import pytest

from tests.conftest import FIXTURE_DATA, REPO
from evalsuite.declarations import get_benchmark

TASKS = REPO / "tasks"


def _requests(data_dir: Path, names: list[str], key: Callable[[dict], str]) -> dict[str, list]:
    """Every request of the named tasks, by item (`key` over the doc)."""
    from lm_eval.tasks import TaskManager

    manager = TaskManager(include_path=str(TASKS), include_defaults=False, metadata={"data_dir": str(data_dir)})
    by_item: dict[str, list] = {}
    for task in manager.load(names)["tasks"].values():
        if not hasattr(task, "build_all_requests"):
            continue  # a group
        task.set_fewshot_seed(seed=1234)
        task.build_all_requests()
        for instance in task.instances:
            by_item.setdefault(key(instance.doc), []).append(instance.arguments)
    return by_item


def _copy_with(source: Path, tmp_path: Path, folder: str, relative: str, reorder: Callable[[list], list]) -> Path:
    """`source`'s `folder`, with the rows of `relative` (jsonl, or csv after its header) reordered."""
    root = tmp_path / "data"
    shutil.copytree(source / folder, root / folder)
    path = root / relative
    lines = path.read_text(encoding="utf-8").splitlines()
    header = lines[:1] if path.suffix == ".csv" else []
    path.write_text("\n".join(header + reorder(lines[len(header):])) + "\n", encoding="utf-8")
    return root


def _belebele_id(doc: dict) -> str:
    return f"{doc['link']}#{doc['question_number']}"


def _reversed(rows: list) -> list:
    return rows[::-1]


def test_belebele_shots_are_the_pinned_five_in_any_row_order(tmp_path):
    pinned = list(get_benchmark("belebele").data.leading["test"])
    as_is = _requests(FIXTURE_DATA, ["es_belebele_kor_Hang"], _belebele_id)
    flipped = _requests(_copy_with(FIXTURE_DATA, tmp_path, "belebele", "belebele/Belebele/kor_Hang.jsonl", _reversed),
                        ["es_belebele_kor_Hang"], _belebele_id)
    assert as_is == flipped and len(as_is) == 7
    from lm_eval.tasks import TaskManager

    manager = TaskManager(include_path=str(TASKS), include_defaults=False, metadata={"data_dir": str(FIXTURE_DATA)})
    docs = manager.load(["es_belebele_kor_Hang"])["tasks"]["es_belebele_kor_Hang"].test_docs()
    assert [_belebele_id(doc) for doc in docs][:6] == pinned  # the fixture holds them second to seventh, shuffled


@pytest.mark.shared_data
def test_belebele_zip_copy_and_hub_order_give_the_same_prompts(shared_data, tmp_path):
    """The Hub's rows are sorted by link (the zip copy is that order rotated); its first six are the pins."""
    relative = "belebele/Belebele/kor_Hang.jsonl"

    def hub_order(lines: list) -> list:
        return sorted(lines, key=lambda line: (json.loads(line)["link"], json.loads(line)["question_number"]))

    hub_like = _copy_with(shared_data, tmp_path, "belebele", relative, hub_order)
    first_six = [_belebele_id(json.loads(line)) for line in (hub_like / relative).read_text().splitlines()[:6]]
    assert first_six == list(get_benchmark("belebele").data.leading["test"])
    assert _requests(shared_data, ["es_belebele_kor_Hang"], _belebele_id) == \
        _requests(hub_like, ["es_belebele_kor_Hang"], _belebele_id)


def test_mmlu_pro_shots_do_not_depend_on_the_validation_row_order(tmp_path):
    names = ["es_mmlu_pro", "es_mmlu_pro_cot"]
    key = lambda doc: str(doc["question_id"])  # noqa: E731
    flipped = _copy_with(FIXTURE_DATA, tmp_path, "mmlu_pro", "mmlu_pro/validation.jsonl", _reversed)
    as_is = _requests(FIXTURE_DATA, names, key)
    assert as_is == _requests(flipped, names, key)
    questions = (FIXTURE_DATA / "mmlu_pro" / "test.jsonl").read_text().splitlines()
    assert len(as_is) == len(questions) and all(len(requests) > 1 for requests in as_is.values())  # both tasks


def test_arc_shots_depend_on_the_train_row_order(tmp_path):
    key = lambda doc: doc["id"]  # noqa: E731
    flipped = _copy_with(FIXTURE_DATA, tmp_path, "arc_challenge", "arc_challenge/ARC-Challenge/ARC-Challenge-Train.jsonl",
                         _reversed)
    as_is, other = _requests(FIXTURE_DATA, ["es_arc_challenge"], key), _requests(flipped, ["es_arc_challenge"], key)
    assert as_is.keys() == other.keys()
    assert as_is != other  # lm-eval's sampler draws rows by position: another order, other shots


@pytest.mark.shared_data
def test_arc_train_file_is_in_the_hubs_order(shared_data):
    """The Hub's allenai/ai2_arc ARC-Challenge train split opens with these rows, AI2's file order."""
    lines = (shared_data / "arc_challenge/ARC-Challenge/ARC-Challenge-Train.jsonl").read_text().splitlines()
    assert [json.loads(line)["id"] for line in lines[:2]] == ["Mercury_SC_415702", "MCAS_2009_5_6516"]


def test_kmmlu_shots_follow_the_dev_file_order(tmp_path):
    key = lambda doc: doc["question"]  # noqa: E731
    flipped = _copy_with(FIXTURE_DATA, tmp_path, "kmmlu", "kmmlu/data/Accounting-dev.csv", _reversed)
    as_is = _requests(FIXTURE_DATA, ["es_kmmlu_accounting"], key)
    other = _requests(flipped, ["es_kmmlu_accounting"], key)
    assert as_is.keys() == other.keys() and as_is != other
    with (FIXTURE_DATA / "kmmlu/data/Accounting-dev.csv").open(encoding="utf-8", newline="") as handle:
        dev = [row["question"] for row in csv.DictReader(handle)]
    for requests in as_is.values():  # every item shows all five dev rows; only their order moves
        assert all(question.strip() in requests[0][0] for question in dev)
