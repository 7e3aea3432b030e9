"""What a `run` was asked to do, independent of argparse."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from evalsuite.judging.options import JudgeOptions


@dataclass
class RunOptions:
    """Options of one `run_eval.py run` invocation."""

    model: str = "embedded"
    model_args: str | None = None
    model_name: str | None = None  # names the run: the results folder and the result's model.name
    num_fewshot: int | None = None
    batch_size: int | str | None = None  # None: evalsuite.models.loader's default for the model type
    device: str | None = None
    threads: int | None = None  # CPU threads of a local model (torch, OpenMP); None: the libraries' default
    limit: int | float | None = None
    output_path: Path = Path("results")
    data_dir: Path | None = None
    apply_chat_template: bool | None = None
    fewshot_as_multiturn: bool | None = None
    force: bool = False
    allow_code_execution: bool = False
    allow_unisolated_execution: bool = False  # run generated code without bubblewrap (recorded)
    bootstrap_iters: int = 1000
    seed: int = 1234
    gen_kwargs: str | None = None  # lm-eval's --gen_kwargs: overrides generation settings of generate tasks
    judge: JudgeOptions | None = None  # how to judge, when judged benchmarks run
