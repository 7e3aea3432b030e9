"""Run a list of benchmarks for one model: plan, skip what is done, evaluate, summarize."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from evalsuite.declarations import Benchmark, check_task_yamls
from evalsuite.errors import BadInputError, EvalsuiteError, printable
from evalsuite.data.loader import check_local_data
from evalsuite.judging.estimate import EstimateLine, PriceTable, estimate_judge_benchmark
from evalsuite.judging.benchmark import (
    check_answers_file, check_judge_ready, prepare_judge_benchmark, run_judge_benchmark,
)
from evalsuite.models.loader import (
    LoadedModel, default_chat_template, load_model, model_name, parse_model_args, recorded_args,
)
from evalsuite.models.served import check_outputs
from evalsuite.results.identity import identity_of, locate_result, result_identity
from evalsuite.results.store import check_output_folder, model_slug
from evalsuite.runner.lm_eval_backend import evaluate_benchmark, task_manager
from evalsuite.runner.options import RunOptions
from evalsuite.runner.protocol import lm_eval_protocol
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


def check_before_running(benchmarks: list[Benchmark], options: RunOptions, *, judges: bool = True) -> None:
    """Every check that can fail fast, before any model is loaded or any generation starts: flags, the
    benchmarks' data files (present and well-formed), and (`judges`) each judge's key and endpoint."""
    if options.data_dir is not None and not Path(options.data_dir).is_dir():
        raise BadInputError(f"--data_dir {options.data_dir} is not a directory")
    check_output_folder(options.output_path)
    if any(b.executes_code for b in benchmarks):
        require_code_execution_opt_in(options.allow_code_execution, options.allow_unisolated_execution)
    if any(b.engine == "lm_eval" for b in benchmarks):
        check_task_yamls()
    judged = [b.name for b in benchmarks if b.engine == "judge"]
    if options.judge is not None and getattr(options.judge, "answers_file", None) and len(judged) > 1:
        raise BadInputError(
            f"--answers_file holds one benchmark's answers: run {' and '.join(judged)} separately"
        )
    parse_model_args(options.model_args)
    for benchmark in benchmarks:
        if benchmark.engine == "lm_eval":
            check_local_data(benchmark, options.data_dir)
        elif benchmark.engine == "judge":
            if options.judge is None:
                raise BadInputError(f"{benchmark.name} needs judge options (--judge_model)")
            prepared = prepare_judge_benchmark(benchmark.name, options.judge, options.data_dir)  # data, prompts
            if options.judge.answers_file:
                check_answers_file(prepared, Path(options.judge.answers_file), options.limit)
        else:
            raise BadInputError(f"benchmark {benchmark.name}: unknown engine '{benchmark.engine}'")
    check_outputs(options.model, {b.name: b.output for b in benchmarks if b.engine == "lm_eval"})
    probed: set = set()
    for benchmark in benchmarks if judges else []:  # last: every local check passed first
        if benchmark.engine == "judge":
            check_judge_ready(benchmark.name, options.judge, probed)  # key set, endpoint answering


def estimate_judging(benchmarks: list[Benchmark], options: RunOptions, prices: PriceTable) -> list[EstimateLine]:
    """--judge_estimate: per benchmark, what judging it would still send (an EstimateLine); nothing is
    loaded, generated or called. A benchmark that is not judged, or whose data is missing, is a line
    saying so; the others are still estimated."""
    if options.data_dir is not None and not Path(options.data_dir).is_dir():
        raise BadInputError(f"--data_dir {options.data_dir} is not a directory")
    slug = run_slug(options)
    lines = []
    for b in benchmarks:
        if b.engine != "judge":
            lines.append(EstimateLine(b.name, error="not a judged benchmark: nothing to estimate, nothing run"))
            continue
        try:
            lines.append(EstimateLine(b.name, estimate_judge_benchmark(
                b.name, options=options.judge, slug=slug, output_path=Path(options.output_path),
                data_dir=options.data_dir, limit=options.limit, prices=prices)))
        except BadInputError as err:
            lines.append(EstimateLine(b.name, error=str(err)))
    return lines


def _is_done(options: RunOptions, slug: str, benchmark: Benchmark, chat_template: bool) -> tuple[Path, dict] | None:
    """The stored result (and its file) when it already answers this request: the same identity
    (protocol, model type and arguments)."""
    if options.force or benchmark.engine != "lm_eval":
        return None  # judge benchmarks resume through their own per-sample caches
    requested_model = {"type": options.model, "args": recorded_args(parse_model_args(options.model_args))}
    identity = result_identity(lm_eval_protocol(benchmark, options, chat_template), requested_model)
    path, stored = locate_result(options.output_path, slug, benchmark.name, identity)
    return None if stored is None else (path, stored)


def run_slug(options: RunOptions) -> str:
    """The model folder of a run: --model_name, else the model's name."""
    return model_slug(options.model_name or model_name(options.model, parse_model_args(options.model_args)))


def run_benchmarks(
    benchmarks: list[Benchmark], options: RunOptions, model: LoadedModel | None = None
) -> list[Outcome]:
    """Run the benchmarks for one model; each result is written as soon as it is computed.

    `model` may be passed in already loaded (the demo runs several batches with one model).
    """
    check_before_running(benchmarks, options)
    chat_template = (
        default_chat_template(options.model)
        if options.apply_chat_template is None
        else options.apply_chat_template
    )
    slug = run_slug(options)
    outcomes: list[Outcome] = []
    pending: list[Benchmark] = []
    for benchmark in benchmarks:
        done = _is_done(options, slug, benchmark, chat_template)
        if done is not None:
            path, stored = done
            outcomes.append(Outcome(benchmark.name, "skipped", stored["score"], stored["n"], path,
                                    "already done with this protocol (--force reruns)"))
        else:
            pending.append(benchmark)
    if model is None:
        model = _load_if_needed(pending, options)
    manager = None
    for index, benchmark in enumerate(pending, 1):
        print(f"[{index}/{len(pending)}] {benchmark.name} ({benchmark.title})", file=sys.stderr, flush=True)
        try:
            with server_errors(model, benchmark.output):  # a served model's HTTP error: status, reply, hint
                if benchmark.engine == "lm_eval":
                    manager = manager or task_manager(options.data_dir)
                    result = evaluate_benchmark(benchmark, model, options, manager, chat_template)
                else:
                    result = run_judge_benchmark(
                        benchmark.name, model=model, options=options.judge,
                        output_path=Path(options.output_path), data_dir=options.data_dir,
                        limit=options.limit, force=options.force,
                    )
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


def _load_if_needed(pending: list[Benchmark], options: RunOptions) -> LoadedModel | None:
    """Load the model once, unless every pending benchmark judges an existing answers file."""
    if not pending:
        return None
    answers_only = options.judge is not None and getattr(options.judge, "answers_file", None)
    if answers_only and all(b.engine == "judge" for b in pending):
        return None
    print(f"loading model {options.model} {options.model_args or ''}".rstrip(), file=sys.stderr, flush=True)
    return load_model(options.model, options.model_args, batch_size=options.batch_size, device=options.device,
                      threads=options.threads, name=options.model_name)
