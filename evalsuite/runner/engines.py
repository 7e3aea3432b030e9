"""The engines a run hands its benchmarks to, chosen by the declaration's `engine:` through ENGINES.

An engine checks its benchmarks before any model loads (`check`, then `check_services` once every
local check of every engine has passed), estimates what a run would still send (`estimate`), says
whether a stored result already answers the request (`is_done`) and runs one benchmark (`run`). One
engine object serves one run: what `check` loads (a judged benchmark's data and prompts) is reused by
`run`, so nothing is prepared twice.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from evalsuite.data.loader import check_local_data
from evalsuite.declarations import Benchmark, check_task_yamls
from evalsuite.errors import BadInputError
from evalsuite.judging.definitions import load_definition
from evalsuite.judging.estimate import JudgeEstimate, PriceTable, estimate_judge_benchmark
from evalsuite.judging.options import JudgeOptions
from evalsuite.judging.benchmark import (
    PreparedBenchmark, check_answers_file, check_judge_ready, prepare_judge_benchmark, run_judge_benchmark,
)
from evalsuite.models.loader import LoadedModel, default_chat_template, parse_model_args, recorded_args
from evalsuite.models.served import check_outputs
from evalsuite.results.identity import locate_result, result_identity
from evalsuite.runner.lm_eval_backend import evaluate_benchmark, task_manager
from evalsuite.runner.options import RunOptions
from evalsuite.runner.protocol import lm_eval_protocol


class Engine:
    """What a run asks of an engine; one object per run and engine (it may keep what `check` loaded)."""

    uses_judge: ClassVar[bool] = False  # whether its benchmarks need the run's judge options

    def __init__(self, options: RunOptions) -> None:
        self.options = options

    def check(self, benchmarks: list[Benchmark]) -> None:
        """Every local check of these benchmarks (data, settings); BadInputError before any work."""
        raise NotImplementedError

    def check_services(self, benchmarks: list[Benchmark]) -> None:
        """Checks that call out (a judge endpoint), made once every engine's local checks passed."""

    def estimate(self, benchmark: Benchmark, slug: str, prices: PriceTable) -> JudgeEstimate | None:
        """What judging this benchmark would still send; None when the engine sends no judge calls."""
        return None

    def is_done(self, benchmark: Benchmark, slug: str) -> tuple[Path, dict] | None:
        """The stored result (and its file) when it already answers this request, else None."""
        return None

    def needs_model(self, benchmark: Benchmark) -> bool:
        """Whether running the benchmark needs the model under test loaded."""
        return True

    def run(self, benchmark: Benchmark, model: LoadedModel | None) -> dict:
        """Evaluate one benchmark, write its result and samples files, and return the result."""
        raise NotImplementedError

    @staticmethod
    def describe(benchmark: Benchmark) -> tuple[str, str]:
        """How the benchmark runs and where its data comes from by default (the `tasks NAME` view)."""
        raise NotImplementedError


class LmEvalEngine(Engine):
    """Benchmarks that are lm-eval tasks (tasks/), evaluated by lm-eval's simple_evaluate."""

    def __init__(self, options: RunOptions) -> None:
        super().__init__(options)
        explicit = options.apply_chat_template
        self.chat_template = default_chat_template(options.model) if explicit is None else explicit
        self._manager: Any = None

    def check(self, benchmarks: list[Benchmark]) -> None:
        check_task_yamls()
        for benchmark in benchmarks:
            check_local_data(benchmark, self.options.data_dir)
        check_outputs(self.options.model, {b.name: b.output for b in benchmarks})

    def is_done(self, benchmark: Benchmark, slug: str) -> tuple[Path, dict] | None:
        """The same identity (protocol, model type and arguments) stored before; --force reruns."""
        options = self.options
        if options.force:
            return None
        requested_model = {"type": options.model, "args": recorded_args(parse_model_args(options.model_args))}
        identity = result_identity(lm_eval_protocol(benchmark, options, self.chat_template), requested_model)
        path, stored = locate_result(options.output_path, slug, benchmark.name, identity)
        return None if stored is None else (path, stored)

    def run(self, benchmark: Benchmark, model: LoadedModel | None) -> dict:
        assert model is not None  # needs_model
        self._manager = self._manager or task_manager(self.options.data_dir)
        return evaluate_benchmark(benchmark, model, self.options, self._manager, self.chat_template)

    @staticmethod
    def describe(benchmark: Benchmark) -> tuple[str, str]:
        return f"lm-eval task {benchmark.lm_eval_task}", benchmark.data.default_source


class JudgeEngine(Engine):
    """Benchmarks whose answers an LLM judge scores (judges/), through the judging entry points."""

    uses_judge = True

    def __init__(self, options: RunOptions) -> None:
        super().__init__(options)
        self._prepared: dict[str, PreparedBenchmark] = {}  # loaded by check, reused by run

    @property
    def judge(self) -> JudgeOptions:
        if self.options.judge is None:
            raise BadInputError("judged benchmarks need judge options (--judge_model)")
        return self.options.judge

    def check(self, benchmarks: list[Benchmark]) -> None:
        judge = self.options.judge
        if judge is not None and judge.answers_file and len(benchmarks) > 1:
            names = " and ".join(b.name for b in benchmarks)
            raise BadInputError(f"--answers_file holds one benchmark's answers: run {names} separately")
        for benchmark in benchmarks:
            if judge is None:
                raise BadInputError(f"{benchmark.name} needs judge options (--judge_model)")
            prepared = prepare_judge_benchmark(benchmark.name, judge, self.options.data_dir)  # data, prompts
            if judge.answers_file:
                check_answers_file(prepared, Path(judge.answers_file), self.options.limit)
            self._prepared[benchmark.name] = prepared

    def check_services(self, benchmarks: list[Benchmark]) -> None:
        probed: set = set()
        for benchmark in benchmarks:
            check_judge_ready(benchmark.name, self.judge, probed)  # key set, endpoint answering

    def estimate(self, benchmark: Benchmark, slug: str, prices: PriceTable) -> JudgeEstimate:
        options = self.options
        return estimate_judge_benchmark(benchmark.name, options=self.judge, slug=slug,
                                        output_path=Path(options.output_path), data_dir=options.data_dir,
                                        limit=options.limit, prices=prices)

    def needs_model(self, benchmark: Benchmark) -> bool:
        """Not when it judges an existing answers file."""
        return not (self.options.judge is not None and self.options.judge.answers_file)

    def run(self, benchmark: Benchmark, model: LoadedModel | None) -> dict:
        """Judged benchmarks resume through their own per-sample caches (is_done is never true)."""
        options = self.options
        return run_judge_benchmark(
            benchmark.name, model=model, options=self.judge, output_path=Path(options.output_path),
            data_dir=options.data_dir, limit=options.limit, force=options.force,
            prepared=self._prepared.get(benchmark.name),
        )

    @staticmethod
    def describe(benchmark: Benchmark) -> tuple[str, str]:
        definition = load_definition(benchmark.name)
        return f"judge: format {definition.format}, official judge {definition.default_judge_model}", definition.source


ENGINES: dict[str, type[Engine]] = {"lm_eval": LmEvalEngine, "judge": JudgeEngine}


def engine_class(benchmark: Benchmark) -> type[Engine]:
    """The engine class of a benchmark's declaration; an unknown engine is bad input."""
    try:
        return ENGINES[benchmark.engine]
    except KeyError:
        raise BadInputError(f"benchmark {benchmark.name}: unknown engine '{benchmark.engine}'") from None


def uses_judge(benchmarks: list[Benchmark]) -> bool:
    """Whether any of the benchmarks needs the run's judge options."""
    return any(engine_class(b).uses_judge for b in benchmarks)


class RunEngines:
    """The engines of one run, made on first use, and the benchmarks grouped by engine."""

    def __init__(self, options: RunOptions) -> None:
        self.options = options
        self._engines: dict[type[Engine], Engine] = {}

    def __getitem__(self, benchmark: Benchmark) -> Engine:
        cls = engine_class(benchmark)
        if cls not in self._engines:
            self._engines[cls] = cls(self.options)
        return self._engines[cls]

    def grouped(self, benchmarks: list[Benchmark]) -> list[tuple[Engine, list[Benchmark]]]:
        """(engine, its benchmarks in the given order), engines in the order of ENGINES."""
        groups: dict[type[Engine], list[Benchmark]] = {}
        for benchmark in benchmarks:
            groups.setdefault(engine_class(benchmark), []).append(benchmark)
        return [(self[group[0]], group) for cls in ENGINES.values() if (group := groups.get(cls))]
