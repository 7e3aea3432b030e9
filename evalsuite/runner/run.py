"""Run a list of benchmarks for one model: plan, skip what is done, evaluate, summarize.

Each benchmark goes to the engine its declaration names (evalsuite/runner/engines.py); this module is
the same for every engine.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from evalsuite.declarations import Benchmark
from evalsuite.errors import BadInputError, EvalsuiteError, printable
from evalsuite.judging.estimate import EstimateLine, PriceTable
from evalsuite.models.loader import LoadedModel, load_model, model_name, parse_model_args
from evalsuite.results.identity import identity_of, locate_result
from evalsuite.results.store import check_output_folder, model_slug
from evalsuite.runner.engines import RunEngines
from evalsuite.runner.options import RunOptions
from evalsuite.runner.served_errors import server_errors
from evalsuite.scoring.code import require_code_execution_opt_in


@dataclass
class Outcome:
    """What happened to one benchmark of a run."""

    benchmark: str
    status: str  # done | skipped | failed
    score: float | None = None
    n: int | None = None
    path: Path | None = None
    message: str = ""


def check_before_running(benchmarks: list[Benchmark], options: RunOptions) -> RunEngines:
    """Every check that can fail fast, before any model is loaded or any generation starts: flags, each
    engine's own checks of its benchmarks (data files present and well-formed, settings), then the
    services the engines call (a judge's key and endpoint). Returns the run's engines, which keep
    what they loaded for the run."""
    if options.data_dir is not None and not Path(options.data_dir).is_dir():
        raise BadInputError(f"--data_dir {options.data_dir} is not a directory")
    check_output_folder(options.output_path)
    if any(b.executes_code for b in benchmarks):
        require_code_execution_opt_in(options.allow_code_execution, options.allow_unisolated_execution)
    parse_model_args(options.model_args)
    engines = RunEngines(options)
    groups = engines.grouped(benchmarks)
    for engine, group in groups:
        engine.check(group)
    for engine, group in groups:  # last: every local check passed first
        engine.check_services(group)
    return engines


def estimate_judging(
    benchmarks: list[Benchmark], options: RunOptions, prices: PriceTable
) -> tuple[list[EstimateLine], bool]:
    """--judge_estimate: per benchmark, what judging it would still send (an EstimateLine), and whether
    a benchmark that judges could not be estimated; nothing is loaded, generated or called. A benchmark
    that is not judged, or whose data is missing, is a line saying so; the others are still estimated."""
    if options.data_dir is not None and not Path(options.data_dir).is_dir():
        raise BadInputError(f"--data_dir {options.data_dir} is not a directory")
    slug = run_slug(options)
    engines = RunEngines(options)
    lines, failed = [], False
    for b in benchmarks:
        try:
            estimate = engines[b].estimate(b, slug, prices)
        except BadInputError as err:
            lines.append(EstimateLine(b.name, error=str(err)))
            failed = True
            continue
        lines.append(EstimateLine(b.name, estimate) if estimate is not None else
                     EstimateLine(b.name, error="not a judged benchmark: nothing to estimate, nothing run"))
    return lines, failed


def run_slug(options: RunOptions) -> str:
    """The model folder of a run: --model_name, else the model's name."""
    return model_slug(options.model_name or model_name(options.model, parse_model_args(options.model_args)))


def run_benchmarks(
    benchmarks: list[Benchmark], options: RunOptions, model: LoadedModel | None = None
) -> list[Outcome]:
    """Run the benchmarks for one model; each result is written as soon as it is computed.

    `model` may be passed in already loaded (the demo runs several batches with one model).
    """
    engines = check_before_running(benchmarks, options)
    slug = run_slug(options)
    outcomes: list[Outcome] = []
    pending: list[Benchmark] = []
    for benchmark in benchmarks:
        done = engines[benchmark].is_done(benchmark, slug)
        if done is not None:
            path, stored = done
            outcomes.append(Outcome(benchmark.name, "skipped", stored["score"], stored["n"], path,
                                    "already done with this protocol (--force reruns)"))
        else:
            pending.append(benchmark)
    if model is None and any(engines[b].needs_model(b) for b in pending):
        model = _load(options)
    for index, benchmark in enumerate(pending, 1):
        print(f"[{index}/{len(pending)}] {benchmark.name} ({benchmark.title})", file=sys.stderr, flush=True)
        try:
            with server_errors(model, benchmark.output):  # a served model's HTTP error: status, reply, hint
                result = engines[benchmark].run(benchmark, model)
        except EvalsuiteError as err:
            if isinstance(err, BadInputError):
                raise
            outcomes.append(Outcome(benchmark.name, "failed", message=str(err)))
            print(f"error: {benchmark.name}: {printable(err)}", file=sys.stderr)
            continue
        # judged from an answers file: the result lives under the file's model id, not --model's
        slug_now = model.slug if model is not None else model_slug(str(result["model"]["name"]))
        path, _ = locate_result(options.output_path, slug_now, benchmark.name, identity_of(result))
        outcomes.append(Outcome(benchmark.name, "done", result.get("score"), result.get("n"), path))
    return outcomes


def _load(options: RunOptions) -> LoadedModel:
    """Load the model under test (once per run; not when no pending benchmark needs it)."""
    print(f"loading model {options.model} {options.model_args or ''}".rstrip(), file=sys.stderr, flush=True)
    return load_model(options.model, options.model_args, batch_size=options.batch_size, device=options.device,
                      threads=options.threads, name=options.model_name)
