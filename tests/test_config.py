"""The benchmark manifest, suites, aliases and YAML checks."""

import pytest

from evalsuite.config import TASKS_DIR, check_task_yamls, load_manifest, read_yaml, resolve_benchmarks
from evalsuite.errors import BadInputError
from evalsuite.models.loader import parse_model_args


def test_paper_suite_covers_every_benchmark_of_the_manifest():
    benchmarks, _ = load_manifest()
    names = [b.name for b in resolve_benchmarks(None, "paper")]
    assert names == list(benchmarks)
    assert len(names) == 11


def test_kobest_alias_expands_to_five_tasks_and_duplicates_are_dropped():
    names = [b.name for b in resolve_benchmarks("kobest,kobest_copa,gsm8k", None)]
    assert names == ["kobest_boolq", "kobest_copa", "kobest_wic", "kobest_hellaswag", "kobest_sentineg", "gsm8k"]


def test_unknown_task_and_suite_are_bad_input():
    with pytest.raises(BadInputError, match="unknown task 'mmlu'"):
        resolve_benchmarks("mmlu", None)
    with pytest.raises(BadInputError, match="unknown suite"):
        resolve_benchmarks(None, "nope")


def test_every_lm_eval_benchmark_names_a_task_defined_in_tasks():
    defined = set()
    for path in TASKS_DIR.rglob("*.yaml"):
        config = read_yaml(path, "task config")
        if isinstance(config, dict):
            defined.update(str(config[k]) for k in ("task", "group") if isinstance(config.get(k), str))
    benchmarks, _ = load_manifest()
    for benchmark in benchmarks.values():
        if benchmark.engine == "lm_eval":
            assert benchmark.lm_eval_task in defined, benchmark.name
            assert benchmark.lm_eval_task.startswith("es_")


def test_shipped_task_yamls_parse():
    check_task_yamls(TASKS_DIR)


def test_malformed_yaml_is_one_clear_line(tmp_path):
    (tmp_path / "bad.yaml").write_text("task: x\nmetric_list: [\n  - a: b\n")
    with pytest.raises(BadInputError) as info:
        check_task_yamls(tmp_path)
    message = str(info.value)
    assert "malformed YAML" in message and "bad.yaml" in message and "\n" not in message


@pytest.mark.parametrize("text", ["pretrained", "=x", "a=1,b"])
def test_bad_model_args_are_bad_input(text):
    with pytest.raises(BadInputError, match="model_args"):
        parse_model_args(text)


def test_model_args_parse_like_lm_eval():
    assert parse_model_args("pretrained=a/b,dtype=bfloat16,,") == {"pretrained": "a/b", "dtype": "bfloat16"}
