"""lm-eval really runs the es_* tasks with the real embedded model (SmolLM2-135M-Instruct) on the
fixture data: metric keys, logged docs, and the KMMLU group's macro (unweighted) average."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

from tests.conftest import FIXTURE_DATA as FIXTURES, REPO

TASKS = REPO / "tasks"

pytestmark = pytest.mark.real_model

SINGLE_TASKS = {
    "es_kmmlu_accounting": {"acc,none"},
    "es_kobest_boolq": {"acc,none", "f1,none"},
    "es_kobest_copa": {"acc,none", "f1,none"},
    "es_kobest_wic": {"acc,none", "f1,none"},
    "es_kobest_hellaswag": {"acc,none", "acc_norm,none", "f1,none"},
    "es_kobest_sentineg": {"acc,none", "f1,none"},
    "es_mmlu_pro": {"acc,none"},
    "es_gsm8k": {"exact_match,strict-match", "exact_match,flexible-extract"},
    "es_belebele_kor_Hang": {"acc,none", "acc_norm,none"},
}


@pytest.fixture(scope="module")
def embedded_lm():
    from evalsuite.models.loader import load_model

    return load_model("embedded", None, batch_size=8, device="cpu").lm


def _evaluate(lm, tasks: list[str], data_dir: Path, **kwargs):
    import lm_eval
    from lm_eval.tasks import TaskManager

    manager = TaskManager(include_path=str(TASKS), include_defaults=False, metadata={"data_dir": str(data_dir)})
    return lm_eval.simple_evaluate(model=lm, tasks=tasks, task_manager=manager, log_samples=True, **kwargs)


def test_every_task_runs_and_reports_its_metrics(embedded_lm):
    out = _evaluate(embedded_lm, sorted(SINGLE_TASKS), FIXTURES, limit=2, gen_kwargs="max_gen_toks=32")
    for name, keys in SINGLE_TASKS.items():
        metrics = out["results"][name]
        assert keys <= set(metrics), name
        for key in keys:
            assert 0.0 <= float(metrics[key]) <= 1.0
        assert out["configs"][name]["num_fewshot"] == 5
        assert len(out["samples"][name]) == (4 if name == "es_gsm8k" else 2)  # gsm8k: one row per filter
    assert out["samples"]["es_mmlu_pro"][0]["doc"]["question_id"] == 70
    assert out["samples"]["es_mmlu_pro"][0]["doc"]["category"] == "biology"
    assert out["samples"]["es_kmmlu_accounting"][0]["doc"]["Category"] == "Accounting"
    gold, prediction = out["samples"]["es_kobest_copa"][0]["f1"]
    assert gold == 0 and prediction in (0, 1)


def _kmmlu_dir_with_every_subject(root: Path) -> list[int]:
    """All 45 subjects, each a copy of the fixture Accounting rows cut to 1-3 test rows."""
    import yaml

    source = FIXTURES / "kmmlu" / "data"
    target = root / "kmmlu" / "data"
    target.mkdir(parents=True)
    with open(source / "Accounting-test.csv", encoding="utf-8", newline="") as handle:
        header, *rows = list(csv.reader(handle))
    sizes = []
    for index, path in enumerate(sorted(TASKS.joinpath("kmmlu").glob("es_kmmlu_*.yaml"))):
        subject = yaml.safe_load(path.read_text(encoding="utf-8"))["dataset_kwargs"]["subject"]
        shutil.copy(source / "Accounting-dev.csv", target / f"{subject}-dev.csv")
        size = 1 + index % 3
        with open(target / f"{subject}-test.csv", "w", encoding="utf-8", newline="") as handle:
            csv.writer(handle).writerows([header, *rows[:size]])
        sizes.append(size)
    return sizes


def test_kmmlu_group_is_the_unweighted_mean_of_subjects(embedded_lm, tmp_path):
    sizes = _kmmlu_dir_with_every_subject(tmp_path)
    out = _evaluate(embedded_lm, ["es_kmmlu"], tmp_path, num_fewshot=0)
    subject_accs = [value["acc,none"] for name, value in out["results"].items() if name != "es_kmmlu"]
    assert len(subject_accs) == 45
    group_acc = out["results"]["es_kmmlu"]["acc,none"]
    assert group_acc == pytest.approx(sum(subject_accs) / 45)
    weighted = sum(acc * size for acc, size in zip(subject_accs, sizes)) / sum(sizes)
    assert out["n-samples"]["es_kmmlu_accounting"]["effective"] == sizes[0]
    if not all(acc == subject_accs[0] for acc in subject_accs):
        assert group_acc != pytest.approx(weighted) or len(set(sizes)) == 1
