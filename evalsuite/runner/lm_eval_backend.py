"""Run one benchmark through lm-eval (simple_evaluate) and turn its output into a result."""

from __future__ import annotations

import hashlib
import json
import math
import time
from pathlib import Path
from typing import Any

from evalsuite.data.loader import data_provenance
from evalsuite.declarations import TASKS_DIR, Benchmark
from evalsuite.errors import BadInputError
from evalsuite.models.loader import LoadedModel
from evalsuite.results.provenance import build_provenance
from evalsuite.results.schema import build_result
from evalsuite.results.identity import locate_result, output_args, result_identity, samples_file
from evalsuite.results.samples import write_samples
from evalsuite.results.store import write_json_atomic
from evalsuite.runner import lm_eval_rows
from evalsuite.runner.cache_report import CacheHitReport
from evalsuite.runner.normalization import normalize
from evalsuite.runner.options import RunOptions
from evalsuite.runner.protocol import lm_eval_protocol
from evalsuite.sandbox import isolation_record
from evalsuite.scoring.code import sample_rows as code_execution_rows


def task_manager(data_dir: Path | None) -> Any:
    """lm-eval TaskManager over evalsuite's tasks/ only (no built-in tasks: faster, no collisions)."""
    from lm_eval.tasks import TaskManager  # heavy (torch); imported when a run needs it

    return TaskManager(
        include_path=str(TASKS_DIR),
        include_defaults=False,
        metadata={"data_dir": str(data_dir) if data_dir else None},
    )


def cache_file(options: RunOptions, model: LoadedModel, benchmark: Benchmark) -> Path:
    """lm-eval's response cache of this model on this benchmark (sqlite); lets an interrupted run
    resume (also with other execution settings, e.g. num_concurrent), and `--force` clears only the
    benchmarks it reruns."""
    key = json.dumps({"type": model.type, "args": output_args(model.args)}, sort_keys=True, default=str)
    digest = hashlib.sha256(key.encode()).hexdigest()[:12]
    return Path(options.output_path) / model.slug / ".cache" / f"lm_eval_{digest}_{benchmark.name}"


def evaluate_benchmark(
    benchmark: Benchmark,
    model: LoadedModel,
    options: RunOptions,
    manager: Any,
    chat_template: bool,
    *,
    items: dict[str, list[int]] | None = None,
    protocol_overrides: dict[str, Any] | None = None,
) -> dict:
    """Evaluate one lm-eval benchmark, write its result and per-sample log, and return the result.

    `items` restricts the run to these sorted doc_ids per lm-eval task (lm-eval's `samples`);
    `protocol_overrides` amend the recorded protocol (`score` marks completions generated elsewhere)."""
    import lm_eval  # heavy (torch); imported when a run needs it

    protocol = {**lm_eval_protocol(benchmark, options, chat_template), **(protocol_overrides or {})}
    cache = cache_file(options, model, benchmark)
    cache.parent.mkdir(parents=True, exist_ok=True)
    if options.force:  # a forced rerun recomputes every response instead of replaying the cache
        for stale in cache.parent.glob(cache.name + "_rank*.db"):
            stale.unlink()
    started = time.time()
    report = CacheHitReport.attach(benchmark.name)  # "resuming B: 812/1000 model requests cached"
    try:
        output = lm_eval.simple_evaluate(
            model=model.lm,
            tasks=[benchmark.lm_eval_task],
            num_fewshot=None if benchmark.num_fewshot == 0 else options.num_fewshot,
            limit=options.limit,
            samples=items,
            gen_kwargs=options.gen_kwargs if benchmark.output == "generate" else None,
            bootstrap_iters=options.bootstrap_iters,
            log_samples=True,
            apply_chat_template=chat_template,
            fewshot_as_multiturn=protocol["fewshot_as_multiturn"],
            task_manager=manager,
            use_cache=str(cache),
            random_seed=options.seed,
            numpy_random_seed=options.seed,
            torch_random_seed=options.seed,
            fewshot_random_seed=options.seed,
            confirm_run_unsafe_code=options.allow_code_execution,
        )  # data_dir reaches the task loaders through the TaskManager's metadata
    except KeyError as err:
        raise BadInputError(f"lm-eval does not know task {benchmark.lm_eval_task}: {err}") from err
    finally:
        report.detach()
    finished = time.time()
    if output is None:  # non-zero rank of a multi-process run: rank 0 writes
        return {}
    rows = _rows(benchmark, output)
    headline = _headline_metrics(benchmark, output)
    score = _combined(benchmark, headline) * benchmark.score.scale
    metrics = dict(headline)
    subscores = _subscores(benchmark, rows)
    normalization = normalize(benchmark.score, headline[benchmark.score.metric], rows)
    if normalization is not None:  # the Open LLM Leaderboard 2 normalization (raw metric kept beside it)
        metrics[f"{benchmark.score.metric}_normalized"] = normalization.value
        for subtask, value in normalization.per_subtask.items():
            subscores[f"normalized/{subtask}"] = value * benchmark.score.scale
            metrics[f"chance/{subtask}"] = normalization.chance[subtask]
    failures = {"parse": lm_eval_rows.parse_failures(rows)}
    if benchmark.output == "generate" and not benchmark.executes_code:
        metrics["unextracted"] = failures["parse"]  # responses the headline filter found no answer in
    # where this identity's result goes: never over a result of another protocol or model arguments
    identity = result_identity(protocol, model.info)
    out_file, _ = locate_result(options.output_path, model.slug, benchmark.name, identity)
    write_samples(samples_file(out_file), rows)
    result = build_result(
        benchmark=benchmark.name,
        model=model.info,
        protocol=protocol,
        score=score,
        metrics=metrics,
        subscores=subscores,
        n=len(rows),
        failures=failures,
        provenance=build_provenance(
            data_provenance(benchmark, options.data_dir),
            started,
            finished,
            lm_eval_task=benchmark.lm_eval_task,
            n_samples=output.get("n-samples"),
            seed=options.seed,
            batch_size=str(model.batch_size or options.batch_size),
            **_isolation(benchmark),
        ),
        samples=samples_file(out_file).relative_to(out_file.parent).as_posix(),
        identity=identity,
    )
    write_json_atomic(out_file, result)
    return result


def _isolation(benchmark: Benchmark) -> dict:
    """For benchmarks that execute generated code: which sandbox isolation ran it."""
    if not benchmark.executes_code:
        return {}
    return isolation_record()


def _finite(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _headline_metrics(benchmark: Benchmark, output: dict) -> dict[str, float]:
    """The benchmark's metric and stderr (plus the other filters' values) from lm-eval's results."""
    table = output.get("results", {}).get(benchmark.lm_eval_task) or output.get("groups", {}).get(
        benchmark.lm_eval_task
    )
    if not table:
        raise BadInputError(f"lm-eval returned no results for {benchmark.lm_eval_task}")
    metric, filt = benchmark.score.metric, benchmark.score.filter
    value = _finite(table.get(f"{metric},{filt}"))
    if value is None:
        known = ", ".join(k for k in table if k != "alias")
        raise BadInputError(f"{benchmark.lm_eval_task} reported no '{metric},{filt}' (it has: {known})")
    metrics: dict[str, float] = {metric: value}
    stderr = _finite(table.get(f"{metric}_stderr,{filt}"))
    if stderr is not None:
        metrics[f"{metric}_stderr"] = stderr
    for key, raw in table.items():
        name, _, other_filter = key.partition(",")
        number = _finite(raw)
        if number is None or key == f"{metric},{filt}" or key == f"{metric}_stderr,{filt}":
            continue
        label = name if other_filter in ("", "none") else f"{name}_{other_filter}"
        metrics.setdefault(label, number)
    return metrics


def _combined(benchmark: Benchmark, metrics: dict[str, float]) -> float:
    """The score's metric value: the headline metric, or its mean with the declared `mean_with` metrics."""
    names = [benchmark.score.metric, *benchmark.score.mean_with]
    missing = [name for name in names if name not in metrics]
    if missing:
        raise BadInputError(f"{benchmark.lm_eval_task} reported no '{missing[0]}' (it has: {', '.join(metrics)})")
    return sum(metrics[name] for name in names) / len(names)


def _task_rows(benchmark: Benchmark, task_name: str, samples: list[dict], task_kwargs: dict) -> list[dict]:
    if benchmark.executes_code:
        return code_execution_rows(samples)
    if benchmark.output == "loglikelihood":
        return lm_eval_rows.mc_rows(benchmark, task_name, samples, task_kwargs)
    return lm_eval_rows.generation_rows(benchmark, task_name, samples, task_kwargs)


def _rows(benchmark: Benchmark, output: dict) -> list[dict]:
    rows: list[dict] = []
    configs = output.get("configs") or {}
    for task_name in sorted(output.get("samples", {})):
        task_kwargs = (configs.get(task_name) or {}).get("dataset_kwargs") or {}
        rows.extend(_task_rows(benchmark, task_name, output["samples"][task_name], task_kwargs))
    return rows


def _subscores(benchmark: Benchmark, rows: list[dict]) -> dict[str, float]:
    """Per-group means on the score scale (KMMLU subjects, MMLU-Pro categories)."""
    groups: dict[str, list[float]] = {}
    for row in rows:
        if row.get("group") and row.get("score") is not None:
            groups.setdefault(str(row["group"]), []).append(float(row["score"]))
    return {
        name: sum(values) / len(values) * benchmark.score.scale for name, values in sorted(groups.items())
    }
