"""Turn lm-eval's logged samples into evalsuite's per-sample rows: item, score, group, pred, label and
the evidence of evalsuite/results/samples.py (lm-eval's own fields, per-choice log-likelihoods, the
extracted answer and its rule)."""

from __future__ import annotations

from typing import Any

from evalsuite.declarations import Benchmark
from evalsuite.results.samples import PARSE_FAILURE_PRED as INVALID, lm_eval_evidence, plain as _plain

def _subtask_label(benchmark: Benchmark, task_name: str) -> str | None:
    """Sub-task part of an lm-eval task name (es_kmmlu_accounting -> accounting), or None."""
    base = benchmark.lm_eval_task or ""
    if task_name == base or not task_name.startswith(base + "_"):
        return None
    return task_name[len(base) + 1 :]


def _item_context(sample: dict, task_kwargs: dict) -> dict:
    """What an item's id/group template may use: the task's dataset_kwargs, the doc, its doc_id."""
    doc = sample.get("doc") or {}
    return {**task_kwargs, **(doc if isinstance(doc, dict) else {}), "doc_id": sample.get("doc_id")}


def item_identity(benchmark: Benchmark, sample: dict, task_kwargs: dict) -> tuple[str, str | None]:
    """A stable item id (the same in every model's samples file) and the item's group, if declared."""
    context = _item_context(sample, task_kwargs)
    group = benchmark.render_item_field(benchmark.item_group, context) if benchmark.item_group else None
    return benchmark.render_item_field(benchmark.item_id, context), group


def _mc_prediction(sample: dict, by_length: bool = False) -> int | None:
    """Index of the highest-loglikelihood choice of a multiple-choice sample (`by_length`: per
    character of the choice, as lm-eval's acc_norm picks it)."""
    responses = sample.get("filtered_resps") or []
    try:
        scores = [float(r[0]) if isinstance(r, (list, tuple)) else float(r) for r in responses]
        if by_length:
            lengths = [float(len(str(args[1]))) for args in sample.get("arguments") or []]
            scores = [s / n for s, n in zip(scores, lengths, strict=True)]
    except (TypeError, ValueError, IndexError, ZeroDivisionError):
        return None
    return max(range(len(scores)), key=scores.__getitem__) if scores else None


def _label_index(sample: dict) -> Any:
    """The gold choice's index (lm-eval logs a text target, e.g. "(B)", as the text)."""
    label = _plain(sample.get("target"))
    if isinstance(label, str):
        continuations = [str(args[1]).strip() for args in sample.get("arguments") or [] if len(args) > 1]
        if label.strip() in continuations:
            return continuations.index(label.strip())
    return label


def mc_rows(benchmark: Benchmark, task_name: str, samples: list[dict], task_kwargs: dict) -> list[dict]:
    """Rows of a loglikelihood multiple-choice task (acc per item; pred/label for F1)."""
    rows = []
    metric = benchmark.score.metric
    for sample in samples:
        item, group = item_identity(benchmark, sample, task_kwargs)
        pred, label = _mc_prediction(sample, by_length=metric == "acc_norm"), _label_index(sample)
        if isinstance(sample.get("f1"), (list, tuple)) and len(sample["f1"]) == 2:
            label, pred = _plain(sample["f1"][0]), _plain(sample["f1"][1])
        correct = sample.get(metric) if metric in ("acc", "acc_norm") else sample.get("acc")
        if correct is None and pred is not None:
            correct = float(pred == label)
        choice_texts = [str(args[1]) if len(args) > 1 else "" for args in sample.get("arguments") or []]
        rows.append(
            {
                "item": item,
                "score": None if correct is None else float(_plain(correct)),
                "group": group,
                "pred": pred,
                "label": label,
                "subtask": _subtask_label(benchmark, task_name),
                "doc_id": sample.get("doc_id"),
                "metric": metric,
                "acc_norm": _plain(sample.get("acc_norm")),
                "choices": len(sample.get("arguments") or []) or None,
                "loglikelihoods": _loglikelihoods(sample),
                "choice_texts": choice_texts,
                **lm_eval_evidence(sample),
            }
        )
    return rows


def _loglikelihoods(sample: dict) -> list[float | None]:
    """The log-likelihood of each choice (lm-eval's filtered (loglikelihood, is_greedy) pairs)."""
    values = []
    for response in sample.get("filtered_resps") or []:
        first = response[0] if isinstance(response, (list, tuple)) and response else response
        try:
            values.append(float(first))
        except (TypeError, ValueError):
            values.append(None)
    return values


def generation_rows(benchmark: Benchmark, task_name: str, samples: list[dict], task_kwargs: dict) -> list[dict]:
    """Rows of a generate_until task scored by lm-eval (e.g. GSM8K with two filters)."""
    metric, headline = benchmark.score.metric, benchmark.score.filter
    by_doc: dict[Any, dict] = {}
    for sample in samples:
        key = sample.get("doc_id")
        item, group = item_identity(benchmark, sample, task_kwargs)
        row = by_doc.setdefault(
            key,
            {
                "item": item,
                "score": None,
                "group": group,
                "pred": None,
                "label": _plain(sample.get("target")),
                "doc_id": key,
                "response": _first_text(sample.get("resps")),
                "extracted": None,
                "extraction_rule": "none",
                **lm_eval_evidence(sample),
                "metrics": {},
            },
        )
        filter_name = sample.get("filter", "none")
        if metric in sample.get("metrics", [metric]):  # a filter that only logs (e.g. a rule name) scores nothing
            value = sample.get(metric)
            row[f"{metric}_{filter_name}"] = None if value is None else float(_plain(value))
        extracted = _first_text(sample.get("filtered_resps"))
        row[f"extracted_{filter_name}"] = extracted
        row["metrics"].update(lm_eval_evidence(sample, filter_name)["metrics"])
        if filter_name == headline:
            row["score"] = row[f"{metric}_{filter_name}"]
            row["pred"] = extracted
            row["extracted"] = extracted
            row["filtered_resps"] = _plain(sample.get("filtered_resps") or [])
            row["extraction_rule"] = extraction_rule(sample, filter_name, extracted)
    return list(by_doc.values())


def extraction_rule(sample: dict, filter_name: str, extracted: Any) -> str:
    """Which rule extracted the answer: the one the task logs (an `extraction_rule` key of its
    process_results), else the filter's name; "none" when nothing was extracted."""
    if extracted in (None, INVALID, ""):
        return "none"
    logged = sample.get("extraction_rule")
    return str(logged) if isinstance(logged, str) and logged else filter_name


def _first_text(value: Any) -> Any:
    while isinstance(value, (list, tuple)) and value:
        value = value[0]
    return value


def parse_failures(rows: list[dict]) -> int:
    """Generations from which no answer could be extracted."""
    return sum(1 for row in rows if row.get("pred") in (INVALID, None) and "response" in row)
