"""`run_eval.py score <benchmark> --samples S.jsonl`: score completions generated elsewhere."""

from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path

from evalsuite.data.local import read_jsonl
from evalsuite.data.loader import read_items
from evalsuite.declarations import Benchmark, discover, get_benchmark
from evalsuite.errors import BadInputError
from evalsuite.results.store import write_jsonl_atomic
from evalsuite.runner.external import scorable, score_external
from evalsuite.sandbox import UNISOLATED_FLAG
from evalsuite.scoring.code import require_code_execution_opt_in, result_rows, score_completions


def add_parser(subparsers) -> None:
    """Register the `score` subcommand."""
    parser = subparsers.add_parser(
        "score", help="score completions generated elsewhere, exactly as `run` scores them",
        description="Score a JSONL file of completions made elsewhere: one row per item, named by the "
        "benchmark's own id (see `tasks`) or by doc_id (0-based position in the test split), with the "
        "text in `completion`. Writes the same result and samples files as `run`. Code-executing "
        "benchmarks that declare `external.repeats` take pass@k samples instead (several rows "
        "per task_id = n samples; pass@1 printed, per-sample results with --output).",
    )
    parser.add_argument("benchmark", choices=sorted(b.name for b in discover().values() if scorable(b)))
    parser.add_argument("--samples", required=True, help="JSONL file of {<id field> or doc_id, completion}")
    parser.add_argument("--data_dir", default=None, help="datasets in the upstream layouts (default: the Hub or the bundled file)")
    parser.add_argument("--output_path", type=Path, default=Path("results"), help="results folder (as `run`)")
    parser.add_argument("--model_name", default=None, help="model name of the result (default: the samples file's name)")
    parser.add_argument("--allow_missing", action="store_true",
                        help="score a subset of the items (recorded as a limit: not comparable)")
    parser.add_argument("--workers", type=int, default=None,
                        help="parallel sandboxes (default: all cores; pass@k samples only)")
    parser.add_argument("--timeout", type=float, default=10.0,
                        help="seconds per program (default 10; pass@k samples only)")
    parser.add_argument("--allow_code_execution", action="store_true",
                        help="required: confirm that model-generated code may run (sandboxed)")
    parser.add_argument(UNISOLATED_FLAG, action="store_true",
                        help="allow running the code WITHOUT bubblewrap (no OS-level isolation); "
                             "recorded in the output")
    parser.add_argument("--output", default=None,
                        help="write per-sample results to this JSONL file (pass@k samples only)")
    parser.set_defaults(func=run_score)


def read_samples(path: str | Path, benchmark: Benchmark) -> list[dict]:
    """pass@k sample rows ({<id field>, completion}); a malformed line is a BadInputError."""
    path = Path(path)
    id_field = benchmark.external.id_field if benchmark.external else "task_id"
    rows = read_jsonl(path, string_fields=(id_field, "completion"))  # lone surrogates refused there
    if not rows:
        raise BadInputError(f"samples file {path} holds no samples")
    return [{"task_id": row[id_field], "completion": row["completion"]} for row in rows]


def run_score(args: argparse.Namespace) -> int:
    """Score completions made elsewhere through the benchmark's own lm-eval task
    (evalsuite.runner.external; a code-executing task runs them in the sandbox), or pass@k
    samples (`external.repeats`) by the sandbox scorer directly."""
    benchmark = get_benchmark(args.benchmark)
    assert benchmark.external is not None  # scorable
    if benchmark.executes_code and benchmark.external.repeats:
        return run_code_score(args)
    if args.output:
        raise BadInputError(f"--output is for pass@k samples; {benchmark.name}'s per-item verdicts go to "
                            "the samples file under --output_path")
    if benchmark.executes_code:
        require_code_execution_opt_in(args.allow_code_execution, args.allow_unisolated_execution)
    data_dir = Path(args.data_dir) if args.data_dir else None
    result = score_external(benchmark, args.samples, model_name=args.model_name or Path(args.samples).stem,
                            data_dir=data_dir, output_path=args.output_path, allow_missing=args.allow_missing,
                            allow_code_execution=args.allow_code_execution)
    metric = " and ".join([benchmark.metric, *benchmark.score.mean_with])
    what = f"mean of {metric}" if benchmark.score.mean_with else metric
    print(f"{benchmark.name}: {result['score']:.{benchmark.score.decimals}f} ({what}; {result['n']} items, "
          "generated elsewhere)")
    return 0


def run_code_score(args: argparse.Namespace) -> int:
    """Score the samples, print pass@1 and the isolation used, optionally write per-sample results."""
    benchmark = get_benchmark(args.benchmark)
    if args.workers is not None and args.workers < 1:
        raise BadInputError("--workers must be at least 1")
    if not math.isfinite(args.timeout) or not 0 < args.timeout <= 3600:
        raise BadInputError("--timeout must be a number of seconds in (0, 3600]")
    require_code_execution_opt_in(args.allow_code_execution, args.allow_unisolated_execution)
    samples = read_samples(args.samples, benchmark)
    problems = read_items(benchmark, "test", args.data_dir)
    unknown = sorted({s["task_id"] for s in samples} - problems.keys())
    if unknown:
        raise BadInputError(f"unknown {benchmark.title} item {unknown[0]!r} in {args.samples} ({len(unknown)} unknown)")
    progress = _progress(len(samples), benchmark.name)
    try:
        report = score_completions(samples, problems, args.workers, args.timeout,
                                   on_done=progress.update if progress else None)
    finally:
        if progress:
            progress.close()
    if args.output:
        write_jsonl_atomic(args.output, result_rows(report))
    counts = ", ".join(f"{k} {v}" for k, v in sorted(report.outcome_counts().items()))
    print(f"{benchmark.name} pass@1: {100 * report.pass_at_1:.2f} "
          f"({len(report.per_task)} tasks, {len(samples)} samples; {counts})")
    print(f"isolation: {report.isolation} ({report.isolation_description})")
    if report.unisolated_opt_in:
        print(f"warning: the code ran WITHOUT OS-level isolation ({UNISOLATED_FLAG})", file=sys.stderr)
    return 0


def _progress(total: int, name: str):
    if not sys.stderr.isatty() or os.environ.get("EVALSUITE_NO_PROGRESS"):
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc=name, unit="sample", file=sys.stderr)
