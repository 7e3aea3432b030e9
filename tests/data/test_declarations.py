"""Benchmark declarations: discovery, the schema's checks, groups and suites, and the task YAMLs."""

from __future__ import annotations

from pathlib import Path

import pytest

from evalsuite.declarations import (
    task_dataset_kwargs,
    TASKS_DIR,
    benchmark_groups,
    check_task_yamls,
    discover,
    get_benchmark,
    parse_declaration,
    read_yaml,
    resolve_benchmarks,
    suites,
)
from evalsuite.errors import BadInputError

DECLARED = list(discover().values())


def _defined_task_names() -> set[str]:
    defined = set()
    for path in TASKS_DIR.rglob("*.yaml"):
        config = read_yaml(path, "task config")
        if isinstance(config, dict):
            defined.update(str(config[k]) for k in ("task", "group") if isinstance(config.get(k), str))
    return defined


@pytest.mark.parametrize("benchmark", DECLARED, ids=lambda b: b.name)
def test_every_declaration_is_complete(benchmark):
    assert benchmark.title and benchmark.score.scale > 0
    if benchmark.engine == "lm_eval":
        assert benchmark.lm_eval_task in _defined_task_names()
        assert benchmark.lm_eval_task.startswith("es_")
        data = benchmark.data
        assert data.hub or data.package_file, "a default (non-local) source"
        assert data.local is not None or data.loader, "a --data_dir layout"
    else:
        assert benchmark.judge is not None and benchmark.judge.files and benchmark.judge.format


def test_every_lm_eval_task_reads_its_declared_benchmark():
    """Each task YAML with dataset_kwargs names a declared benchmark whose lm_eval_task covers it."""
    names = set(discover())
    for path in TASKS_DIR.rglob("*.yaml"):
        config = read_yaml(path, "task config")
        kwargs = config.get("dataset_kwargs") if isinstance(config, dict) else None
        if isinstance(kwargs, dict) and "benchmark" in kwargs:
            assert kwargs["benchmark"] in names, path


def test_paper_suite_and_groups_come_from_the_declarations():
    paper = [b.name for b in resolve_benchmarks(None, "paper")]
    assert paper == suites()["paper"]
    assert set(paper) == {b.name for b in DECLARED if "paper" in b.suites}
    for group, members in benchmark_groups().items():
        assert [b.name for b in resolve_benchmarks(group, None)] == members


def test_group_expands_and_duplicates_are_dropped():
    group, members = next(iter(benchmark_groups().items()))
    names = [b.name for b in resolve_benchmarks(f"{group},{members[1]},{group}", None)]
    assert names == members


def test_unknown_task_and_suite_are_bad_input():
    with pytest.raises(BadInputError, match="unknown task 'nope'"):
        resolve_benchmarks("nope", None)
    with pytest.raises(BadInputError, match="unknown suite"):
        resolve_benchmarks(None, "nope")
    with pytest.raises(BadInputError, match="no benchmark given"):
        resolve_benchmarks(None, None)


def test_item_templates_render_from_doc_and_task_kwargs():
    benchmark = next(b for b in DECLARED if b.item_group and "doc_id" in b.item_id)
    context = {**task_dataset_kwargs(benchmark.name)[0], "category": "law", "doc_id": 12}
    assert benchmark.render_item_field(benchmark.item_id, context).endswith("12")
    with pytest.raises(BadInputError, match="cannot render"):
        benchmark.render_item_field(benchmark.item_id, {})


def _declare(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / f"{name}.benchmark.yaml"
    path.write_text(text, encoding="utf-8")
    return path


MINIMAL = """\
name: toy
title: Toy
engine: lm_eval
lm_eval_task: es_toy
output: loglikelihood
data:
  hub: org/toy
  local: {format: jsonl, splits: {test: toy/test.jsonl}, features: {q: string, label: int64}}
score: {metric: acc, aggregation: micro, scale: 100}
"""


def test_a_new_benchmark_is_one_file(tmp_path):
    benchmark = parse_declaration(_declare(tmp_path, "toy", MINIMAL))
    assert benchmark.name == "toy" and benchmark.metric == "acc" and benchmark.data.local.format == "jsonl"
    assert benchmark.item_id == "{{doc_id}}" and benchmark.demo_limit == 5


def test_leading_rows_open_the_split_in_the_declared_order(tmp_path):
    import datasets

    from evalsuite.data.loader import put_leading_rows_first

    text = MINIMAL.replace("  hub: org/toy\n", "  hub: org/toy\n  leading: {test: [c, a]}\n") + "items: {id: '{{q}}'}\n"
    benchmark = parse_declaration(_declare(tmp_path, "toy", text))
    rows = datasets.Dataset.from_dict({"q": ["a", "b", "c", "d"], "label": [0, 1, 0, 1]})
    ordered = put_leading_rows_first(benchmark, datasets.DatasetDict({"test": rows}))
    assert ordered["test"]["q"] == ["c", "a", "b", "d"]  # the rest keep the source's order
    with pytest.raises(BadInputError, match="lacks leading item"):
        put_leading_rows_first(benchmark, datasets.DatasetDict({"test": rows.select([0, 1])}))


def test_include_merges_shared_settings(tmp_path):
    (tmp_path / "_shared").write_text(MINIMAL.replace("name: toy\n", ""), encoding="utf-8")
    path = _declare(tmp_path, "toy2", "include: _shared\nname: toy2\ntitle: Toy 2\nscore: {decimals: 2}\n")
    benchmark = parse_declaration(path)
    assert benchmark.title == "Toy 2" and benchmark.score.decimals == 2 and benchmark.score.metric == "acc"


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: t.replace("name: toy", "name: other"), "expected 'toy'"),
        (lambda t: t + "extra_key: 1\n", "unknown key"),
        (lambda t: t.replace("engine: lm_eval", "engine: vllm"), "engine is 'vllm'"),
        (lambda t: t.replace("aggregation: micro", "aggregation: median"), "score.aggregation"),
        (lambda t: t.replace("format: jsonl", "format: xml"), "data.local.format"),
        (lambda t: t.replace("label: int64", "label: integer"), "data.local.features.label"),
        (lambda t: t.replace("lm_eval_task: es_toy\n", ""), "needs lm_eval_task"),
        (lambda t: t.replace("  hub: org/toy\n", "  hub: org/toy\n  loader: m:f\n"), "loader_reason"),
        (lambda t: t + "  - broken: [\n", "malformed YAML"),
        (lambda t: t.replace("  hub: org/toy\n", "  hub: org/toy\n  leading: {test: 3}\n"), "data.leading.test must be"),
        (lambda t: t.replace("  hub: org/toy\n", "  hub: org/toy\n  leading: {test: [1, '1']}\n"), "names an item twice"),
        (lambda t: t + "protocol: [1]\n", "'protocol' must be a mapping"),
    ],
)
def test_bad_declarations_are_one_line_errors(tmp_path, edit, message):
    with pytest.raises(BadInputError, match=message) as caught:
        parse_declaration(_declare(tmp_path, "toy", edit(MINIMAL)))
    assert "\n" not in str(caught.value)


def test_duplicate_names_are_rejected(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    _declare(tmp_path / "a", "toy", MINIMAL)
    _declare(tmp_path / "b", "toy", MINIMAL)
    with pytest.raises(BadInputError, match="declared twice"):
        discover((tmp_path,))


def test_shipped_task_yamls_parse():
    check_task_yamls(TASKS_DIR)


def test_malformed_task_yaml_is_one_clear_line(tmp_path):
    (tmp_path / "bad.yaml").write_text("task: x\nmetric_list: [\n  - a: b\n")
    with pytest.raises(BadInputError) as info:
        check_task_yamls(tmp_path)
    message = str(info.value)
    assert "malformed YAML" in message and "bad.yaml" in message and "\n" not in message


def test_get_benchmark_lists_known_names():
    with pytest.raises(BadInputError, match="known: .*" + DECLARED[0].name):
        get_benchmark("missing")
