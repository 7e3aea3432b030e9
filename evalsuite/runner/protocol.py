"""The protocol block a result records, derived from the manifest and the run's options."""

from __future__ import annotations

from evalsuite.declarations import Benchmark
from evalsuite.runner.options import RunOptions


def lm_eval_protocol(benchmark: Benchmark, options: RunOptions, chat_template: bool) -> dict:
    """Protocol of an lm-eval benchmark as run with these options."""
    shots = benchmark.num_fewshot if options.num_fewshot is None else options.num_fewshot
    if benchmark.num_fewshot == 0:
        shots = 0  # lm-eval never overrides a task pinned to 0 shots
    multiturn = chat_template if options.fewshot_as_multiturn is None else options.fewshot_as_multiturn
    return {
        "num_fewshot": shots,
        "output": benchmark.output,
        "chat_template": chat_template,
        "fewshot_as_multiturn": bool(multiturn and chat_template and shots > 0),
        "metric": benchmark.metric,
        "aggregation": benchmark.score.aggregation,
        "judge": None,
        "limit": options.limit,
        **({"gen_kwargs": options.gen_kwargs} if options.gen_kwargs and benchmark.output == "generate" else {}),
        **benchmark.fixed_protocol,
    }
