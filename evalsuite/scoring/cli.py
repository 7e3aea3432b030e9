"""`run_eval.py score humaneval --samples S.jsonl --allow_code_execution`: score human-eval style samples."""

from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path

from evalsuite.data.loader import read_items
from evalsuite.declarations import get_benchmark
from evalsuite.errors import BadInputError
from evalsuite.sandbox import UNISOLATED_FLAG


def add_parser(subparsers) -> None:
    """Register the `score` subcommand."""
    parser = subparsers.add_parser(
        "score", help="score generated samples (HumanEval: runs the code in the sandbox)",
        description="Score human-eval style samples ({task_id, completion} per line; several lines "
        "per task_id = n samples, pass@1 by the unbiased estimator).",
    )
    parser.add_argument("benchmark", choices=["humaneval"])
    parser.add_argument("--samples", required=True, help="JSONL file of {task_id, completion}")
    parser.add_argument("--data_dir", default=None, help="read DIR/humaneval/HumanEval.jsonl.gz instead of the bundled file")
    parser.add_argument("--workers", type=int, default=None, help="parallel sandboxes (default: all cores)")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per program (default 10)")
    parser.add_argument("--allow_code_execution", action="store_true",
                        help="required: confirm that model-generated code may run (sandboxed)")
    parser.add_argument(UNISOLATED_FLAG, action="store_true",
                        help="allow running the code WITHOUT bubblewrap (no OS-level isolation); "
                             "recorded in the output")
    parser.add_argument("--output", default=None, help="write per-sample results to this JSONL file")
    parser.set_defaults(func=run_score)


def read_samples(path: str | Path) -> list[dict]:
    """human-eval sample rows; any unreadable or malformed line raises BadInputError."""
    from evalsuite.data.local import read_jsonl

    path = Path(path)
    rows = read_jsonl(path, string_fields=("task_id", "completion"))
    if not rows:
        raise BadInputError(f"samples file {path} holds no samples")
    return [{"task_id": row["task_id"], "completion": row["completion"]} for row in rows]


def run_score(args: argparse.Namespace) -> int:
    """Score the samples, print pass@1 and the isolation used, optionally write per-sample results."""
    from evalsuite.scoring.humaneval import require_code_execution_opt_in, result_rows, score_completions

    if args.workers is not None and args.workers < 1:
        raise BadInputError("--workers must be at least 1")
    if not math.isfinite(args.timeout) or not 0 < args.timeout <= 3600:
        raise BadInputError("--timeout must be a number of seconds in (0, 3600]")
    require_code_execution_opt_in(args.allow_code_execution, args.allow_unisolated_execution)
    samples = read_samples(args.samples)
    problems = read_items(get_benchmark(args.benchmark), "test", args.data_dir)
    unknown = sorted({s["task_id"] for s in samples} - problems.keys())
    if unknown:
        raise BadInputError(f"unknown HumanEval task_id {unknown[0]!r} in {args.samples} ({len(unknown)} unknown)")
    progress = _progress(len(samples))
    try:
        report = score_completions(samples, problems, args.workers, args.timeout,
                                   on_done=progress.update if progress else None)
    finally:
        if progress:
            progress.close()
    if args.output:
        from evalsuite.results.store import write_jsonl_atomic

        write_jsonl_atomic(args.output, result_rows(report))
    counts = ", ".join(f"{k} {v}" for k, v in sorted(report.outcome_counts().items()))
    print(f"humaneval pass@1: {100 * report.pass_at_1:.2f} "
          f"({len(report.per_task)} tasks, {len(samples)} samples; {counts})")
    print(f"isolation: {report.isolation} ({report.isolation_description})")
    if report.unisolated_opt_in:
        print(f"warning: the code ran WITHOUT OS-level isolation ({UNISOLATED_FLAG})", file=sys.stderr)
    return 0


def _progress(total: int):
    if not sys.stderr.isatty() or os.environ.get("EVALSUITE_NO_PROGRESS"):
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc="humaneval", unit="sample", file=sys.stderr)
