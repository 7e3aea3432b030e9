"""The es_* task YAMLs under lm-eval 0.4.13: registered, fed by the declared loader through the task
metadata, and producing exactly the requests of lm-eval's own kmmlu / kobest_* /
leaderboard_mmlu_pro / gsm8k / belebele_kor_Hang / minerva_math / leaderboard_math_hard /
leaderboard_ifeval configs (same prompts, same few-shot examples) on the same data."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import yaml

from evalsuite.declarations import discover

from tests.conftest import FIXTURE_DATA as FIXTURES, REPO

TASKS = REPO / "tasks"

OURS_TO_BUILTIN = {
    "es_kmmlu_accounting": "kmmlu/default/kmmlu_accounting.yaml",
    "es_kmmlu_math": "kmmlu/default/kmmlu_math.yaml",
    "es_kmmlu_korean_history": "kmmlu/default/kmmlu_korean_history.yaml",
    "es_kobest_boolq": "kobest/kobest_boolq.yaml",
    "es_kobest_copa": "kobest/kobest_copa.yaml",
    "es_kobest_wic": "kobest/kobest_wic.yaml",
    "es_kobest_hellaswag": "kobest/kobest_hellaswag.yaml",
    "es_kobest_sentineg": "kobest/kobest_sentineg.yaml",
    "es_mmlu_pro": "leaderboard/mmlu_pro/mmlu_pro.yaml",
    "es_gsm8k": "gsm8k/gsm8k.yaml",
    "es_belebele_kor_Hang": "belebele/belebele_kor_Hang.yaml",
    "es_arc_challenge": "arc/arc_challenge.yaml",
    "es_gpqa_diamond": "leaderboard/gpqa/gpqa_diamond_zeroshot.yaml",
    "es_gpqa_extended": "leaderboard/gpqa/gpqa_extended_zeroshot.yaml",
    "es_gpqa_main": "leaderboard/gpqa/gpqa_main_zeroshot.yaml",
    "es_musr_murder_mysteries": "leaderboard/musr/musr_murder_mysteries.yaml",
    "es_musr_object_placements": "leaderboard/musr/musr_object_placements.yaml",
    "es_musr_team_allocation": "leaderboard/musr/musr_team_allocation.yaml",
    **{path.stem: f"leaderboard/bbh_mc/{path.stem.removeprefix('es_bbh_')}.yaml"
       for path in sorted((TASKS / "bbh").glob("es_bbh_*.yaml"))},
    "es_math": "minerva_math/minerva_math_algebra.yaml",
    "es_math_hard": "leaderboard/math/math_algebra.yaml",
    "es_ifeval": "leaderboard/ifeval/ifeval.yaml",
    "es_mbpp": "mbpp/mbpp.yaml",
}
# lm-eval configs whose utils.py cannot be imported here (mbpp's loads the Hub's `code_eval` at import):
# their `!function`s stay unresolved, the few-shot list is read from the source without running it,
# and the metric (which does not shape the requests) is ours.
UNIMPORTABLE_UTILS = {"mbpp/mbpp.yaml"}


@pytest.fixture(scope="module")
def task_manager():
    from lm_eval.tasks import TaskManager

    return TaskManager(include_path=str(TASKS), include_defaults=False, metadata={"data_dir": str(FIXTURES)})


def test_every_declared_task_is_registered(task_manager):
    declared = {b.lm_eval_task for b in discover().values() if b.engine == "lm_eval"}
    assert declared <= set(task_manager.all_tasks)
    assert len([name for name in task_manager.all_tasks if name.startswith("es_kmmlu_")]) == 45
    assert "es_kmmlu" in task_manager.all_groups


def test_kmmlu_group_is_a_macro_average_over_all_subjects():
    group = yaml.safe_load((TASKS / "kmmlu" / "es_kmmlu.yaml").read_text(encoding="utf-8"))
    subjects = sorted(path.stem for path in (TASKS / "kmmlu").glob("es_kmmlu_*.yaml"))
    assert sorted(group["task"]) == subjects and len(subjects) == 45
    assert group["aggregate_metric_list"] == [{"metric": "acc", "aggregation": "mean", "weight_by_size": False}]


def test_metadata_data_dir_reaches_the_loader(task_manager):
    task = task_manager.load(["es_mmlu_pro"])["tasks"]["es_mmlu_pro"]
    assert task.config.metadata["data_dir"] == str(FIXTURES)
    assert [doc["question_id"] for doc in task.test_docs()][:4] == [70, 71, 72, 3983]


def test_environment_data_dir_is_used_without_metadata(monkeypatch):
    from lm_eval.tasks import TaskManager

    monkeypatch.setenv("EVALSUITE_DATA_DIR", str(FIXTURES))
    manager = TaskManager(include_path=str(TASKS), include_defaults=False)
    assert len(manager.load(["es_gsm8k"])["tasks"]["es_gsm8k"].test_docs()) == 2


def test_missing_local_data_fails_the_task_load_with_bad_input(tmp_path):
    import shutil

    from lm_eval.tasks import TaskManager

    from evalsuite.errors import BadInputError

    shutil.copytree(FIXTURES / "kmmlu", tmp_path / "kmmlu")
    (tmp_path / "kmmlu" / "data" / "Agricultural-Sciences-dev.csv").unlink()
    manager = TaskManager(include_path=str(TASKS), include_defaults=False, metadata={"data_dir": str(tmp_path)})
    with pytest.raises(BadInputError, match=r"Agricultural-Sciences-dev\.csv"):
        manager.load(["es_kmmlu"])  # one of the 45 subjects lacks its dev file


def _literal_return(path: Path, function: str):
    """The literal a function of an lm-eval utils.py returns, read from its source (not run)."""
    import ast

    tree = ast.parse(path.read_text(encoding="utf-8"))
    body = next(node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name == function).body
    return ast.literal_eval(next(node for node in body if isinstance(node, ast.Return)).value)


def _builtin_twin(relative: str, ours):
    """lm-eval's own task config, unchanged except that it reads our loader's dataset."""
    from evalsuite.runner.lm_eval_twin import builtin_twin

    if relative not in UNIMPORTABLE_UTILS:
        return builtin_twin(relative, ours)
    import lm_eval.tasks
    from lm_eval.tasks._yaml_loader import load_yaml

    path = Path(lm_eval.tasks.__file__).parent / relative
    fewshot_config = load_yaml(path, resolve_func=False)["fewshot_config"]
    fewshot_config["samples"] = _literal_return(path.parent / "utils.py", "list_fewshot_samples")
    return builtin_twin(relative, ours, resolve_functions=False, fewshot_config=fewshot_config,
                        metric_list=ours.config.metric_list, process_results=ours.config.process_results)


@pytest.mark.parametrize("name", sorted(OURS_TO_BUILTIN))
def test_requests_equal_lm_eval_builtin_task(task_manager, name):
    ours = task_manager.load([name])["tasks"][name]
    builtin = _builtin_twin(OURS_TO_BUILTIN[name], ours)
    requests = []
    for task in (ours, builtin):
        task.set_fewshot_seed(seed=1234)
        random.seed(1234)  # leaderboard_gpqa shuffles the options with the global random state
        task.build_all_requests(limit=3)
        requests.append([instance.arguments for instance in task.instances])
    assert requests[0] and requests[0] == requests[1]
    context = requests[0][0][0]  # each shot is closed by lm-eval's fewshot delimiter
    assert context.count(ours.config.fewshot_delimiter) >= (ours.config.num_fewshot or 0)


def test_mmlu_pro_target_is_the_answer_letter(task_manager):
    task = task_manager.load(["es_mmlu_pro"])["tasks"]["es_mmlu_pro"]
    quirk = [doc for doc in task.test_docs() if doc["question_id"] == 3983][0]
    choices = task.doc_to_choice(quirk)
    assert choices == ["A", "B", "C", "D", "E"]
    assert task.doc_to_target(quirk) == "C"  # scored against `answer`, not the stale answer_index 1


def test_metric_and_filter_names(task_manager):
    loaded = task_manager.load(["es_kobest_copa", "es_kobest_hellaswag", "es_gsm8k", "es_kmmlu_math"])["tasks"]
    assert set(loaded["es_kobest_copa"].aggregation()) == {"acc", "f1"}
    assert set(loaded["es_kobest_hellaswag"].aggregation()) == {"acc", "acc_norm", "f1"}
    assert set(loaded["es_kmmlu_math"].aggregation()) == {"acc"}
    gsm8k = loaded["es_gsm8k"]
    assert set(gsm8k.aggregation()) == {"exact_match"}
    assert [f.name for f in gsm8k._filters] == ["strict-match", "flexible-extract"]


def test_macro_f1_aggregation(task_manager):
    task = task_manager.load(["es_kobest_boolq"])["tasks"]["es_kobest_boolq"]
    macro_f1 = task.aggregation()["f1"]
    # class 0: P=1/2, R=1/2, F1=1/2; class 1: P=2/3, R=2/3, F1=2/3 -> macro 7/12
    items = [(0, 0), (0, 1), (1, 1), (1, 1), (1, 0)]
    assert macro_f1(items) == pytest.approx(7 / 12)
    assert macro_f1([(0, 0), (1, 1)]) == pytest.approx(1.0)


def test_a_rerun_says_what_lm_eval_replays_from_its_response_cache(tmp_path, capfd):
    """lm-eval's own CachingLM under evalsuite's report: one `resuming` line, its other INFO lines quiet."""
    import logging

    from lm_eval.api.instance import Instance
    from lm_eval.api.model import LM, CachingLM

    from evalsuite.runner.cache_report import CacheHitReport

    class LengthLM(LM):  # a deterministic model: log-likelihood = -len(continuation)
        def loglikelihood(self, requests):
            return [(-float(len(r.args[1])), False) for r in requests]

        def loglikelihood_rolling(self, requests):
            raise NotImplementedError

        def generate_until(self, requests):
            raise NotImplementedError

    def requests(n):
        return [Instance("loglikelihood", {}, ("context", " " + "x" * k), k) for k in range(n)]

    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("lm_eval").setLevel(logging.ERROR)  # as the CLI leaves it
    cached = CachingLM(LengthLM(), str(tmp_path / "cache"))
    report = CacheHitReport.attach("demo_task")
    cached.loglikelihood(requests(2))
    report.detach()
    assert "demo_task: 2 model requests, none cached" in capfd.readouterr().err
    report = CacheHitReport.attach("demo_task")
    assert [r[0] for r in cached.loglikelihood(requests(3))] == [-1.0, -2.0, -3.0]
    report.detach()
    err = capfd.readouterr().err
    assert "resuming demo_task: 2/3 model requests cached" in err and "Loading 'loglikelihood'" not in err
    assert logging.getLogger("lm_eval.api.model").level == logging.NOTSET  # restored
