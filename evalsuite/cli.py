"""Command line: `run_eval.py run | tasks | demo | leaderboard | score`."""

from __future__ import annotations

import argparse
import logging
import math
import os
import sys
import traceback
from pathlib import Path

from evalsuite import __version__
from evalsuite.data.local import resolve_data_dir
from evalsuite.declarations import add_include_path, resolve_benchmarks
from evalsuite.argparsing import EvalsuiteParser, output_folder
from evalsuite.errors import BadInputError, EvalsuiteError, printable
from evalsuite.judging.estimate import load_prices
from evalsuite.judging.options import JudgeOptions, add_judge_arguments
from evalsuite.leaderboard.cli import add_parser as add_leaderboard_parser
from evalsuite.runner.demo import run_demo
from evalsuite.runner.engines import uses_judge
from evalsuite.runner.options import RunOptions
from evalsuite.runner.report import print_judge_estimates, print_summary, print_task_details, print_tasks, tasks_markdown
from evalsuite.runner.run import estimate_judging, run_benchmarks
from evalsuite.runner.score import add_parser as add_score_parser


def _limit(value: str) -> int | float:
    try:
        number = float(value)
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"--limit takes a number, not '{value}'") from err
    if not math.isfinite(number) or number <= 0:
        raise argparse.ArgumentTypeError(f"--limit must be a positive finite number, not '{value}'")
    if number >= 1 and not number.is_integer():
        raise argparse.ArgumentTypeError(f"--limit above 1 is a count of items, not '{value}'")
    return int(number) if number >= 1 else number


def _shots(value: str) -> int:
    try:
        shots = int(value)
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"--num_fewshot takes an integer, not '{value}'") from err
    if not 0 <= shots <= 64:
        raise argparse.ArgumentTypeError(f"--num_fewshot must be between 0 and 64, not {shots}")
    return shots


def _positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"expected a positive integer, not '{value}'") from err
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, not {number}")
    return number


def _batch_size(value: str) -> int | str:
    if value == "auto" or value.startswith("auto:"):
        return value
    try:
        size = int(value)
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"--batch_size takes an integer or 'auto', not '{value}'") from err
    if size < 1:
        raise argparse.ArgumentTypeError("--batch_size must be at least 1")
    return size


def add_model_arguments(parser: argparse.ArgumentParser, default_model: str = "embedded") -> None:
    """Flags naming the model under test, as lm-eval names them."""
    parser.add_argument("--model", default=default_model,
                        help="lm-eval model type (hf, vllm, local-completions, local-chat-completions, "
                             "openai-chat-completions, ...) or 'embedded' (SmolLM2-135M-Instruct)")
    parser.add_argument("--model_args", default=None, help="key=value,... passed to the model (as lm-eval)")
    add_model_name_argument(parser)
    parser.add_argument("--batch_size", type=_batch_size, default=None,
                        help="integer or 'auto' (default 8; 1 for a model behind a server, whose parallel "
                             "requests are num_concurrent= in --model_args)")
    parser.add_argument("--device", default=None, help="torch device (default: cuda if available, else cpu)")
    parser.add_argument("--threads", type=_positive_int, default=None, metavar="N",
                        help="CPU threads of a local model (torch and OpenMP; default: one per core). On a "
                             "CPU busy with other work, 1 or 2 is often several times faster")


def add_model_name_argument(parser: argparse.ArgumentParser) -> None:
    """--model_name: names a run (its results folder and the name its results and leaderboard rows show)."""
    parser.add_argument("--model_name", default=None,
                        help="name of this run: its results folder and the model name results show "
                             "(default: the last part of pretrained=/model=); two checkpoints or one model "
                             "served two ways get one each")


def add_include_path_argument(parser: argparse.ArgumentParser) -> None:
    """--include_path: more folders of benchmark declarations, as lm-eval's --include_path."""
    parser.add_argument("--include_path", action="append", default=None, metavar="DIR",
                        help="also discover the *.benchmark.yaml under DIR (repeatable; or "
                             "$EVALSUITE_INCLUDE_PATH), e.g. a judged benchmark's folder outside the repository")


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of `run` (shared with `demo`)."""
    parser.add_argument("--num_fewshot", type=_shots, default=None,
                        help="override the paper's shots (the result records the change)")
    parser.add_argument("--limit", type=_limit, default=None,
                        help="examples per task (fraction if < 1); results are marked not comparable")
    parser.add_argument("--output_path", type=output_folder, default=Path("results"),
                        help="results folder: <model>/<benchmark>.json and <model>/samples/<benchmark>.jsonl")
    parser.add_argument("--log_samples", "-s", action="store_true",
                        help="accepted for lm-eval compatibility: per-sample logs are always written "
                             "(<model>/samples/<benchmark>.jsonl)")
    parser.add_argument("--data_dir", type=Path, default=None,
                        help="local copies of the datasets in the upstream layouts (or $EVALSUITE_DATA_DIR)")
    parser.add_argument("--apply_chat_template", action=argparse.BooleanOptionalAction, default=None,
                        help="format prompts with the model's chat template (default: on for embedded "
                             "and chat APIs, off otherwise)")
    parser.add_argument("--fewshot_as_multiturn", action=argparse.BooleanOptionalAction, default=None,
                        help="few-shot examples as chat turns (default: with the chat template)")
    resume = parser.add_mutually_exclusive_group()
    resume.add_argument("--resume", dest="force", action="store_false", default=False,
                        help="skip benchmarks already done with the same protocol (default)")
    resume.add_argument("--force", dest="force", action="store_true", help="rerun everything")
    parser.add_argument("--allow_code_execution", action="store_true",
                        help="required for benchmarks that execute generated code: run it in the sandbox")
    parser.add_argument("--allow_unisolated_execution", action="store_true",
                        help="let generated code run WITHOUT bubblewrap (no OS-level isolation; "
                             "recorded in the result)")
    parser.add_argument("--bootstrap_iters", type=_positive_int, default=1000,
                        help="bootstrap iterations for stderr of non-mean metrics (lm-eval's)")
    parser.add_argument("--seed", type=int, default=1234, help="random seed (few-shot sampling, torch)")
    parser.add_argument("--gen_kwargs", default=None,
                        help="override generation settings of generate tasks, e.g. max_gen_toks=256 "
                             "(as lm-eval; recorded in the result's protocol)")


def _run_options(args: argparse.Namespace, judge_needed: bool) -> RunOptions:
    judge = JudgeOptions.from_args(args) if judge_needed else None
    # --data_dir (checked by the runner), else $EVALSUITE_DATA_DIR, else None: the HF Hub
    data_dir = args.data_dir if args.data_dir is not None else resolve_data_dir(None)
    return RunOptions(
        model=args.model, model_args=args.model_args, model_name=args.model_name, num_fewshot=args.num_fewshot,
        batch_size=args.batch_size, device=args.device, threads=args.threads, limit=args.limit,
        output_path=args.output_path, data_dir=data_dir,
        apply_chat_template=args.apply_chat_template, fewshot_as_multiturn=args.fewshot_as_multiturn,
        force=args.force, allow_code_execution=args.allow_code_execution,
        allow_unisolated_execution=args.allow_unisolated_execution,
        bootstrap_iters=args.bootstrap_iters, seed=args.seed, judge=judge,
        gen_kwargs=args.gen_kwargs,
    )


def cmd_run(args: argparse.Namespace) -> int:
    """`run`: evaluate a model on benchmarks and write one result per benchmark."""
    if not args.tasks and not args.suite:
        raise BadInputError("pass --tasks a,b,... or --suite paper (see `run_eval.py tasks`)")
    benchmarks = resolve_benchmarks(args.tasks, args.suite)
    if args.judge_estimate:  # never runs a benchmark, judged or not
        options = _run_options(args, judge_needed=True)
        prices = load_prices(args.judge_prices)
        lines, failed = estimate_judging(benchmarks, options, prices)
        print_judge_estimates(lines, prices)
        return 2 if failed else 0
    options = _run_options(args, uses_judge(benchmarks))
    outcomes = run_benchmarks(benchmarks, options)
    print_summary(outcomes)
    return 1 if any(o.status == "failed" for o in outcomes) else 0


def cmd_tasks(args: argparse.Namespace) -> int:
    """`tasks`: every benchmark in one line each; `tasks NAME`: one benchmark's whole protocol."""
    if args.format == "markdown":
        print(tasks_markdown(args.name), end="")
    elif args.name:
        print_task_details(args.name)
    else:
        print_tasks()
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """`demo`: the whole pipeline on the embedded model with small limits, then the leaderboard."""
    return run_demo(args)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = EvalsuiteParser(
        prog="run_eval.py",
        description="evalsuite: the benchmarks of the EXAONE 3.0 report, through lm-eval and an LLM judge",
    )
    parser.add_argument("--version", action="version", version=f"evalsuite {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks and library logs")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=EvalsuiteParser)

    run = subparsers.add_parser("run", help="evaluate a model on benchmarks")
    add_model_arguments(run)
    run.add_argument("--tasks", default=None, help="comma list of benchmarks or group names (see `tasks`; a group selects its members)")
    run.add_argument("--suite", default=None, help="a suite named in the declarations' `suites` (paper = the report's benchmarks)")
    add_include_path_argument(run)
    add_run_arguments(run)
    add_judge_arguments(run)
    run.set_defaults(func=cmd_run)

    tasks = subparsers.add_parser("tasks", help="list every benchmark; `tasks NAME` shows one's whole protocol")
    tasks.add_argument("name", nargs="?", default=None, help="a benchmark: print its whole protocol")
    add_include_path_argument(tasks)
    tasks.add_argument("--format", choices=("text", "markdown"), default="text",
                       help="markdown: one table row per benchmark, as the README's protocol table")
    tasks.set_defaults(func=cmd_tasks)

    demo = subparsers.add_parser("demo", help="embedded model, small limits, whole pipeline, leaderboard")
    demo.add_argument("--limit", type=_limit, default=None, help="examples per task (default: per benchmark, small)")
    demo.add_argument("--data_dir", type=Path, default=None,
                      help="datasets in the upstream layouts (default: $EVALSUITE_DATA_DIR, else the "
                           "small bundled fixtures in tests/fixtures/data)")
    demo.add_argument("--output_path", type=output_folder, default=Path("results"), help="results folder")
    add_model_name_argument(demo)
    demo.add_argument("--leaderboard_out", type=Path, default=Path("leaderboards"), help="leaderboard folder")
    demo.add_argument("--force", action="store_true", help="rerun what is already done")
    demo.add_argument("--threads", type=_positive_int, default=None, metavar="N",
                      help="CPU threads of the embedded model (default: one per core; see `run --help`)")
    demo.set_defaults(func=cmd_demo)

    add_leaderboard_parser(subparsers)
    add_score_parser(subparsers)
    return parser


def _quiet_libraries(debug: bool) -> None:
    level = logging.INFO if debug else logging.WARNING
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    for name in ("lm_eval", "lm-eval", "transformers", "datasets", "httpx", "urllib3", "filelock"):
        logging.getLogger(name).setLevel(level if debug else logging.ERROR)
    if not debug:
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit code (0 ok, 2 bad input, 1 anything else)."""
    argv = sys.argv[1:] if argv is None else argv
    debug = "--debug" in argv
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if not getattr(args, "command", None):
            parser.print_help(sys.stderr)
            return 2
        _quiet_libraries(debug)
        add_include_path(getattr(args, "include_path", None))
        return int(args.func(args) or 0)
    except EvalsuiteError as err:
        if debug:
            traceback.print_exc()
        print(f"error: {printable(err)}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print("interrupted: results written so far are kept; run the same command again to resume",
              file=sys.stderr)
        return 130
    except Exception as err:  # noqa: BLE001 - the one place that turns surprises into one line
        if debug:
            traceback.print_exc()
        message = printable(str(err).strip().splitlines()[0]) if str(err).strip() else ""
        print(f"error: {type(err).__name__}: {message} (rerun with --debug for the traceback)",
              file=sys.stderr)
        return 1
