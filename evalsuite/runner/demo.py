"""`run_eval.py demo`: every benchmark on the embedded model with small limits, then the leaderboard."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from evalsuite import REPO_ROOT
from evalsuite.declarations import Benchmark, resolve_benchmarks
from evalsuite.errors import BadInputError
from evalsuite.judging.options import JudgeOptions
from evalsuite.leaderboard import render_leaderboard
from evalsuite.leaderboard.render import DEFAULT_FORMATS
from evalsuite.models.loader import load_model
from evalsuite.runner.options import RunOptions
from evalsuite.runner.report import print_summary
from evalsuite.runner.run import Outcome, run_benchmarks
from evalsuite.sandbox import os_isolation_available

FIXTURE_DATA = REPO_ROOT / "tests" / "fixtures" / "data"

DEMO_SUITE = "paper"  # the report's benchmarks, each with its declaration's small demo limit
# The 135M model rambles to the token limit; shorter generations keep the demo short (recorded).
DEMO_GEN_KWARGS = "max_gen_toks=192"


def demo_data_dir(explicit: Path | None) -> Path:
    """--data_dir, else $EVALSUITE_DATA_DIR, else the small bundled fixtures (real schemas)."""
    if explicit is not None:
        return explicit
    if os.environ.get("EVALSUITE_DATA_DIR"):
        return Path(os.environ["EVALSUITE_DATA_DIR"])
    return FIXTURE_DATA


def run_isolated(benchmark: Benchmark, options: RunOptions, model) -> list[Outcome]:
    """One benchmark of the demo; bad input of its own (e.g. a Hub-only data set the --data_dir lacks)
    fails that benchmark, not the demo."""
    try:
        return run_benchmarks([benchmark], options, model=model)
    except BadInputError as err:
        return [Outcome(benchmark.name, "failed", message=str(err))]


def run_demo(args: argparse.Namespace) -> int:
    """Run the demo; returns the exit code."""
    started = time.time()
    data_dir = demo_data_dir(args.data_dir)
    # without bubblewrap the demo opts in, visibly, to running its own model's generated code
    # without OS-level isolation (a user's `run` or `score` never does so implicitly)
    unisolated = not os_isolation_available()
    sandbox = ("WITHOUT OS-level isolation: bubblewrap cannot run here (apt-get install bubblewrap); "
               "opted in for the embedded model's own output" if unisolated else "under bubblewrap")
    print(f"demo: embedded SmolLM2-135M-Instruct, data from {data_dir}; generated code runs {sandbox}",
          file=sys.stderr)
    model = load_model("embedded", None, batch_size=8, threads=args.threads, name=args.model_name)
    outcomes = []
    for benchmark in resolve_benchmarks(None, DEMO_SUITE):
        options = RunOptions(
            model="embedded", model_name=args.model_name, output_path=args.output_path, data_dir=data_dir,
            limit=args.limit or benchmark.demo_limit, force=args.force, allow_code_execution=True,
            allow_unisolated_execution=unisolated,
            gen_kwargs=DEMO_GEN_KWARGS,
            judge=JudgeOptions.for_demo(),  # read by the benchmarks that are judged
        )
        outcomes += run_isolated(benchmark, options, model)
    print_summary(outcomes)
    out = Path(args.leaderboard_out)
    pages = render_leaderboard(Path(args.output_path), out, DEFAULT_FORMATS)
    readme = next((p for p in pages if p.name == "README.md"), pages[0] if pages else None)
    print(f"\nleaderboard: {readme} ({len(pages)} files; {time.time() - started:.0f} s in all)")
    if out / "index.html" in pages:
        print(f"results browser: {(out / 'index.html').resolve()} (open it in a browser; no network needed)")
    return 1 if any(o.status == "failed" for o in outcomes) else 0
