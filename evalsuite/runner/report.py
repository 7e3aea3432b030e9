"""Terminal output: the summary table of a run and the `tasks` listing."""

from __future__ import annotations

import sys
from typing import TextIO

from evalsuite.declarations import benchmark_groups, discover, suites
from evalsuite.judging.definitions import load_definition


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


def print_judge_estimates(estimates: list, out: TextIO | None = None) -> None:
    """One line per judged benchmark: judge calls and prompt tokens still to send (to stdout by default)."""
    out = out or sys.stdout
    rows = [[e.benchmark, e.judge_model, str(e.calls), str(e.cached), f"{e.prompt_tokens:,}", e.answers,
             f"+ {e.answer_turns_to_generate:,} answers of <= {e.max_new_tokens:,} tokens, quoted in the prompts"
             if e.answer_turns_to_generate else ""] for e in estimates]
    print(file=out)
    _table(["benchmark", "judge", "calls to send", "cached", "prompt tokens (approx.)", "answers", "note"], rows, out)
    print("prompt tokens: 1 per 4 ASCII characters + 1 per other character (offline estimate); re-asks "
          "and replies not included", file=out)


def print_tasks(out: TextIO = sys.stdout) -> None:
    """Every declared benchmark with its protocol (from its *.benchmark.yaml)."""
    rows = []
    for b in discover().values():
        if b.engine == "judge":
            definition = load_definition(b.name)
            engine = f"judge: {b.judge.name if b.judge else ''} ({definition.format}, {definition.default_judge_model})"
            source = definition.source
        else:
            engine, source = b.lm_eval_task, b.data.default_source
        rows.append([b.name, b.title, b.output, str(b.num_fewshot), b.metric, b.score.aggregation,
                     f"x{b.score.scale:g}", engine, source, b.data.local_layout])
    _table(["task", "title", "output", "shots", "metric", "aggregation", "score scale", "runs as", "data (default)",
            "--data_dir layout"], rows, out)
    for group, names in benchmark_groups().items():
        print(f"\n{group} = {', '.join(names)}", file=out)
    for suite, names in suites().items():
        print(f"suite {suite} = {', '.join(names)}", file=out)
