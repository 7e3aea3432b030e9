"""Terminal output: the summary table of a run and the `tasks` listing."""

from __future__ import annotations

import sys
import textwrap
from typing import TextIO

from evalsuite import REPO_ROOT
from evalsuite.declarations import benchmark_groups, discover, get_benchmark, suites
from evalsuite.judging.estimate import dollars
from evalsuite.runner.engines import engine_class


def _table(header: list[str], rows: list[list[str]], out: TextIO) -> None:
    widths = [max(len(str(c)) for c in column) for column in zip(header, *rows)]
    line = lambda cells: "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths)) + " |"  # noqa: E731
    print(line(header), file=out)
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|", file=out)
    for row in rows:
        print(line(row), file=out)


def print_summary(outcomes: list, out: TextIO = sys.stdout) -> None:
    """One line per benchmark: status, score, items, result file."""
    rows = []
    for o in outcomes:
        score = "" if o.score is None else f"{o.score:.2f}"
        rows.append([o.benchmark, o.status, score, "" if o.n is None else str(o.n),
                     str(o.path or ""), o.message])
    print(file=out)
    _table(["benchmark", "status", "score", "n", "result", "note"], rows, out)


def print_judge_estimates(lines: list, prices, out: TextIO | None = None) -> None:
    """One line per benchmark (calls, prompt and output tokens, dollars: expected and upper bound, or why
    there is no estimate), then the total (to stdout by default)."""
    out = out or sys.stdout
    where = prices.path.relative_to(REPO_ROOT) if prices.path.is_relative_to(REPO_ROOT) else prices.path
    print(f"judge estimate, nothing run or called: expected (upper bound); prices {where} as of {prices.as_of}\n"
          "tokens counted offline: 1 per 4 ASCII characters, 1 per other character", file=out)
    width = max(len(line.benchmark) for line in lines) if lines else 0
    total = [0, 0, 0, 0, 0, 0, 0.0, 0.0, 0.0, 0.0]
    unpriced = []
    for line in lines:
        e = line.estimate
        if e is None:
            print(f"{line.benchmark:<{width}}  {line.error}", file=out)
            continue
        cost, batch = dollars(e, prices), dollars(e, prices, batch=True)
        if cost is None:
            unpriced.append(e.judge_model)
        money = (f"${cost[0]:,.2f} (${cost[1]:,.2f}) online, ${batch[0]:,.2f} (${batch[1]:,.2f}) batch" if cost and batch
                 else f"$? (no price for {e.judge_model})")
        answers = (f"; {e.answer_turns_to_generate:,} answer turns not generated yet, counted at the typical "
                   f"length (<= {e.max_new_tokens:,} tokens)" if e.answer_turns_to_generate else "")
        print(f"{e.benchmark:<{width}}  {e.judge_model}: {e.calls:,} calls ({e.calls_max:,}), {e.cached:,} cached; "
              f"prompt {e.prompt_tokens:,} ({e.prompt_tokens_max:,}) tokens; output {e.output_tokens:,} "
              f"({e.output_tokens_max:,}) tokens, replies {e.output_basis}; {money}{answers}", file=out)
        for i, value in enumerate((e.calls, e.calls_max, e.prompt_tokens, e.prompt_tokens_max,
                                   e.output_tokens, e.output_tokens_max)):
            total[i] += value
        if cost and batch:
            total[6:] = [total[6] + cost[0], total[7] + cost[1], total[8] + batch[0], total[9] + batch[1]]
    missing = f" (without {', '.join(sorted(set(unpriced)))}: no price)" if unpriced else ""
    print(f"{'total':<{width}}  {total[0]:,} calls ({total[1]:,}); prompt {total[2]:,} ({total[3]:,}) tokens; "
          f"output {total[4]:,} ({total[5]:,}) tokens; ${total[6]:,.2f} (${total[7]:,.2f}) online, "
          f"${total[8]:,.2f} (${total[9]:,.2f}) batch{missing}", file=out)


TERMINAL_WIDTH = 100


def print_tasks(out: TextIO = sys.stdout) -> None:
    """Every declared benchmark in one line each (fits 100 columns), then groups and suites;
    `tasks NAME` prints one benchmark's whole protocol."""
    rows = [[b.name, b.title, b.output, str(b.num_fewshot), b.metric] for b in discover().values()]
    _table(["task", "title", "output", "shots", "metric"], rows, out)
    lines = [f"group {group} = {', '.join(names)}" for group, names in benchmark_groups().items()]
    lines += [f"suite {suite} = {', '.join(names)}" for suite, names in suites().items()]
    print(file=out)
    for line in lines:
        print(textwrap.fill(line, TERMINAL_WIDTH, subsequent_indent="    "), file=out)
    print("\nnames are case-insensitive; `run_eval.py tasks NAME` shows a benchmark's whole protocol", file=out)


def _markdown_cell(value: object) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def tasks_markdown(name: str | None = None) -> str:
    """The declared protocol of every benchmark (or of the one named) as one markdown table: the table
    `run_eval.py tasks --format markdown` prints and the README carries (a test keeps them equal)."""
    header = ["task", "title", "output", "shots", "metric", "aggregation", "runs as", "data (default)",
              "`--data_dir` layout"]
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    for b in [get_benchmark(name)] if name else discover().values():
        runs_as, source = engine_class(b).describe(b)
        cells = [f"`{b.name}`", b.title, b.output, b.num_fewshot, f"`{b.metric}`", b.score.aggregation, runs_as,
                 f"`{source}`", f"`{b.data.local_layout}`"]  # code spans: `<subject>` and `*` read as written
        lines.append("| " + " | ".join(_markdown_cell(c) for c in cells) + " |")
    return "\n".join(lines) + "\n"


def print_task_details(name: str, out: TextIO = sys.stdout) -> None:
    """One benchmark's protocol, one field a line (the `tasks NAME` view)."""
    b = get_benchmark(name)
    runs_as, source = engine_class(b).describe(b)  # its engine: lm-eval task, or judge and format
    fields = {
        "task": b.name, "title": b.title, "output": b.output, "shots": b.num_fewshot, "metric": b.metric,
        "aggregation": b.score.aggregation, "score scale": f"x{b.score.scale:g}", "runs as": runs_as,
        "data (default)": source, "--data_dir layout": b.data.local_layout,
        "groups": ", ".join(b.part_of) or "-", "suites": ", ".join(b.suites) or "-",
        "declared in": b.path.relative_to(REPO_ROOT) if b.path.is_relative_to(REPO_ROOT) else b.path,
    }
    width = max(len(key) for key in fields)
    for key, value in fields.items():
        print(textwrap.fill(f"{key + ':':<{width + 1}} {value}", TERMINAL_WIDTH,
                            subsequent_indent=" " * (width + 2)), file=out)
