"""One judge benchmark end to end: answers (generated or from a file), judgments, result files.

Files of results/<slug>/ for benchmark B (another protocol's: B.<identity>.json, samples/B.<identity>.jsonl
and B.<identity>/, evalsuite/results/identity.py):
    B.json                                   the result (docs/architecture.md schema)
    samples/B.jsonl                          per-item rows ("81/turn1") with the judge conversation
    B/model_answer/...                       answers, in the official format of B's judged format
    B/model_judgment/...                     judgments, in that format's official file layout
    B/cache/{answers,judgments}.jsonl        resume caches (append-only, fsynced)
    B/.lock                                  held while a run writes B (a second run exits 2)

The benchmark's judged format (evalsuite/judging/formats/) renders the requests, reads the replies
and scores, driven by the judging core (evalsuite/judging/core.py); this module is the same for every
format: it loads and checks, generates or reads the answers, judges through one JudgeClient with the
resume cache, and writes the result, the samples and the official files.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator
from urllib.parse import urlparse

from evalsuite.errors import BadInputError, EvalsuiteError
from evalsuite.judging.answers import generate_answers
from evalsuite.judging.batch import BATCH_FOLDER, BatchJudgeClient, BatchSettings
from evalsuite.judging.client import (
    ANSWER_KEY, JUDGMENT_KEY, JudgeClient, RetryPolicy, judge_all, judgment_key, probe_endpoint, stable_hash,
)
from evalsuite.judging.core import JudgeRun, judge_one
from evalsuite.declarations import get_benchmark
from evalsuite.judging.definitions import BenchmarkData, JudgeDefinition, load_benchmark_data, load_definition
from evalsuite.judging.embedded_server import EmbeddedJudgeServer
from evalsuite.judging.evidence import with_evidence
from evalsuite.judging.formats import JudgeFormat, Languages, get_format
from evalsuite.judging.language import Detector, detectors_for
from evalsuite.judging.options import BATCH, JudgeOptions
from evalsuite.judging.usage import usage_record
from evalsuite.models.embedded import embedded_gguf_path
from evalsuite.results.provenance import build_provenance
from evalsuite.results.identity import locate_result, result_identity, samples_file, work_folder
from evalsuite.results.samples import write_samples
from evalsuite.results.schema import build_result
from evalsuite.results.store import (
    WORK_FOLDER_MARK, JsonlCache, model_slug, write_bytes_atomic, write_json_atomic,
)

LOCK_NAME = WORK_FOLDER_MARK
JUDGMENT_CACHE = "judgments.jsonl"  # under B/cache/; --force starts it afresh (answers are reused)
USAGE_CACHE = "judge_usage.jsonl"  # under B/cache/: the tokens each judgment's calls used (as reported)


def call_failures(result: dict) -> int:
    """Judge calls of a result that failed (API errors, timeouts, ...; parse failures are results)."""
    failures = result.get("failures") or {}
    return sum(int(n) for kind, n in failures.items() if kind != "parse" and isinstance(n, (int, float)))


def check_judge_ready(benchmark: str, options: JudgeOptions, probed: set | None = None) -> None:
    """Before any model loads: the key a judge needs is set and its endpoint answers one cheap request
    (once per endpoint when `probed` is shared). The embedded judge starts later, locally."""
    endpoint = resolve_endpoint(load_definition(benchmark), options)
    if options.embedded or (probed is not None and endpoint.base_url in probed):
        return
    probe_endpoint(endpoint.base_url, endpoint.api_key)
    if probed is not None:
        probed.add(endpoint.base_url)


@dataclass
class JudgeEndpoint:
    """Resolved judge settings; `base_url`/`api_key` are filled when the endpoint is up."""

    model: str
    base_url: str | None
    api_key: str | None
    host: str
    max_tokens: int
    concurrency: int
    timeout_s: float
    n_ctx: int = 4096
    reask_extra_body: dict | None = None
    extra_body: dict | None = None  # request fields of every call (the embedded judge's `extra_body`)


def judge_model_name(definition: JudgeDefinition, options: JudgeOptions) -> str:
    """The judge model a run uses: --judge_model, else the definition's official judge."""
    if options.embedded:
        return f"embedded-{embedded_gguf_path().stem}"
    return options.judge_model or definition.default_judge_model


def resolve_endpoint(definition: JudgeDefinition, options: JudgeOptions) -> JudgeEndpoint:
    """The judge model, endpoint and limits; BadInputError when no key is available for OpenAI."""
    if options.embedded:
        emb = definition.embedded
        return JudgeEndpoint(
            model=judge_model_name(definition, options), base_url=None, api_key="sk-local",
            host="127.0.0.1",
            max_tokens=options.judge_max_tokens or int(emb.get("max_tokens", definition.judge_max_tokens)),
            concurrency=min(options.concurrency, int(emb.get("concurrency", 1))),
            timeout_s=max(options.timeout_s, float(emb.get("timeout_s", 600))),
            n_ctx=int(emb.get("n_ctx", 4096)),
            reask_extra_body={"grammar": emb["reask_grammar"]} if emb.get("reask_grammar") else None,
            extra_body=dict(emb["extra_body"]) if emb.get("extra_body") else None,
        )
    model = judge_model_name(definition, options)
    api_key = os.environ.get("OPENAI_API_KEY")
    if not api_key:
        if not options.judge_base_url:
            raise BadInputError(
                f"judging with {model} at api.openai.com needs OPENAI_API_KEY "
                "(or --judge_base_url URL for another OpenAI-compatible endpoint, or --judge_model embedded)"
            )
        api_key = "sk-no-key"  # local OpenAI-compatible servers ignore it
    host = urlparse(options.judge_base_url).hostname if options.judge_base_url else "api.openai.com"
    return JudgeEndpoint(model, options.judge_base_url, api_key, host or "unknown",
                         options.judge_max_tokens or definition.judge_max_tokens, options.concurrency,
                         options.timeout_s)


@contextlib.contextmanager
def open_endpoint(endpoint: JudgeEndpoint, options: JudgeOptions) -> Iterator[JudgeEndpoint]:
    """Start the embedded llama.cpp server when asked (stopped on exit, errors included)."""
    if not options.embedded:
        yield endpoint
        return
    with EmbeddedJudgeServer(embedded_gguf_path(), n_ctx=endpoint.n_ctx) as server:
        endpoint.base_url = server.base_url
        yield endpoint


def build_protocol(definition: JudgeDefinition, judge_format: JudgeFormat, data: BenchmarkData,
                   endpoint: JudgeEndpoint, options: JudgeOptions, limit: int | float | None) -> dict:
    """The result's protocol block (also what a later run compares to skip finished work)."""
    judge = {
        "model": endpoint.model,
        **judge_format.protocol(definition),
        "repeats": options.repeats,
        "reasks": options.reasks,
        "temperature": definition.judge_temperature,
        "max_tokens": endpoint.max_tokens,
    }
    if data.strategy is not None:
        judge["prompt_strategy"] = data.strategy
    if endpoint.extra_body:
        judge["extra_body"] = endpoint.extra_body  # the embedded judge's constraints, sent with every call
    if definition.language_rule is not None:
        judge["language_detector"] = options.language_detector
    declaration = get_benchmark(definition.name)
    return {
        "num_fewshot": 0,
        "output": declaration.output,
        "chat_template": True,
        "fewshot_as_multiturn": False,
        "metric": declaration.score.metric,
        "aggregation": declaration.score.aggregation,
        "judge": judge,
        "max_new_tokens": None if options.answers_file else options.max_new_tokens or definition.max_new_tokens,
        "limit": limit,
    }


def _fingerprint(info: dict) -> str:
    return stable_hash({k: info.get(k) for k in ("name", "type", "args", "revision")})


def read_answers_file(judge_format: JudgeFormat, path: Path, questions: list[dict]) -> tuple[str, dict]:
    """(model_id, answers) of an --answers_file in the format's official answer format."""
    if not path.is_file():
        raise BadInputError(f"--answers_file {path} does not exist")
    return judge_format.read_answers(path, questions)


def check_answers_file(prepared: "PreparedBenchmark", path: Path, limit: int | float | None) -> None:
    """Read an --answers_file as the run will (its format, one answer per question): BadInputError if not."""
    read_answers_file(prepared.judge_format, path, limited_questions(prepared.data.questions, limit))


@dataclass(frozen=True)
class PreparedBenchmark:
    """A judged benchmark whose definition, format, data and detectors are loaded and checked."""

    definition: JudgeDefinition
    judge_format: JudgeFormat
    data: BenchmarkData
    detectors: dict[str, Detector]


def prepare_judge_benchmark(benchmark: str, options: JudgeOptions, data_dir: Path | None) -> PreparedBenchmark:
    """Load and check everything a judged benchmark reads; BadInputError (exit 2) before any work.

    The runner calls it before loading a model (it has no side effects) and hands the result to
    run_judge_benchmark.
    """
    definition = load_definition(benchmark)
    judge_format = get_format(definition.format)
    data = load_benchmark_data(definition, data_dir, options.prompt_strategy)
    detectors = detectors_for(definition.language_rule, options.language_detector, options.mediapipe_model)
    return PreparedBenchmark(definition, judge_format, data, detectors)


@contextlib.contextmanager
def output_lock(folder: Path) -> Iterator[None]:
    """Hold <folder>/.lock for the run; BadInputError when another run holds it (released on exit,
    kill -9 included: the kernel drops the lock with the process)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOCK_NAME
    with open(path, "a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BadInputError(
                f"another run is writing {folder} (it holds {path}); wait for it to finish or use another "
                "--output_path"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def run_judge_benchmark(
    benchmark: str,
    *,
    model,
    options: JudgeOptions,
    output_path: Path,
    data_dir: Path | None,
    limit: int | float | None,
    force: bool,
    prepared: PreparedBenchmark | None = None,
) -> dict:
    """Generate (unless options.answers_file), judge, score and write the result of one benchmark
    (`prepared`: what prepare_judge_benchmark already loaded for these options, else loaded here)."""
    started = time.time()
    prepared = prepared or prepare_judge_benchmark(benchmark, options, data_dir)
    definition, judge_format, data = prepared.definition, prepared.judge_format, prepared.data
    questions = limited_questions(data.questions, limit)
    answer_bytes = None
    if options.answers_file:
        model_id, answers = read_answers_file(judge_format, Path(options.answers_file), questions)
        answer_bytes = Path(options.answers_file).read_bytes()  # hashed and copied as one read
        model_info = {
            "name": model_id, "type": "answers_file",
            "args": {"answers_file": str(Path(options.answers_file).resolve()),
                     "sha256": hashlib.sha256(answer_bytes).hexdigest()},
            "revision": None,
        }
        slug = model_slug(model_id)
    elif model is None:
        raise BadInputError(f"{benchmark}: pass a model or --answers_file")
    else:
        model_info, slug = dict(model.info), model.slug
        model_id, answers = str(model_info.get("name") or slug), None
    endpoint = resolve_endpoint(definition, options)
    protocol = build_protocol(definition, judge_format, data, endpoint, options, limit)
    identity = result_identity(protocol, model_info)
    if options.mode == BATCH:  # recorded, but not part of the identity: both modes give the same numbers
        protocol = {**protocol, "judge": {**protocol["judge"], "mode": BATCH}}
    out_file, existing = locate_result(output_path, slug, benchmark, identity)
    bench_dir = work_folder(out_file)
    with output_lock(bench_dir):
        if force:  # a forced rerun judges again instead of replaying the judgment cache
            for name in (JUDGMENT_CACHE, USAGE_CACHE):
                (bench_dir / "cache" / name).unlink(missing_ok=True)
        elif existing is not None and not call_failures(existing):
            return existing  # (a result with failed judge calls is resumed: they are retried)
        if answers is None:
            answers = generate_answers(
                model.lm, questions, definition, fingerprint=_fingerprint(model_info),
                cache=JsonlCache(bench_dir / "cache" / "answers.jsonl", ANSWER_KEY),
                max_new_tokens=options.max_new_tokens, label=benchmark,
            )
        answers_file = judge_format.answers_path(bench_dir, model_id, data)
        if answer_bytes is not None:
            write_bytes_atomic(answers_file, answer_bytes)
        else:
            judge_format.write_answers(answers_file, model_id, data, questions, answers)
        languages: Languages = {
            name: {(q["question_id"], turn): detect(text)
                   for q in questions for turn, text in enumerate(answers[q["question_id"]], 1)}
            for name, detect in prepared.detectors.items()
        }

        run = JudgeRun(definition, data, questions, answers, model_id, endpoint.model, options.repeats,
                       options.reasks, languages)
        tasks = judge_format.build_tasks(run)
        cache = JsonlCache(bench_dir / "cache" / JUDGMENT_CACHE, JUDGMENT_KEY)
        usage_cache = JsonlCache(bench_dir / "cache" / USAGE_CACHE, JUDGMENT_KEY)
        with open_endpoint(endpoint, options) as live:
            outcomes, stats = asyncio.run(_judge(run, judge_format, live, options, tasks, (cache, usage_cache),
                                                 benchmark, bench_dir))
        judgment_file = judge_format.write_judgments(run, outcomes, bench_dir)

        summary = judge_format.summarize(run, outcomes)
        failures = summary.failures
        scale = get_benchmark(benchmark).score.scale  # score = metric value x scale, as for every benchmark
        if summary.score is None:
            cause = next((o.detail for o in outcomes if o.failure), "")
            raise EvalsuiteError(
                f"{benchmark}: no valid judgment ({failures.parse} parse failures, "
                f"{failures.api} API failures, {failures.timeout} timeouts"
                + "".join(f", {n} {kind}" for kind, n in failures.other.items() if n)
                + (f"; first failure: {cause}" if cause else "") + f"); see {judgment_file}"
            )
        if summary.metrics.get("score_metric") not in (None, protocol["metric"]):
            # the format scored another metric than the declared one (a missing input): the protocol says so
            protocol = {**protocol, "metric": summary.metrics["score_metric"]}
        write_samples(samples_file(out_file), with_evidence(
            summary.samples, questions, answers, outcomes,
            lambda messages, reply: judge_format.follow_up(run, messages, reply),
            lambda outcome: usage_cache.get(judgment_key(endpoint.model, outcome.task))))
        finished = time.time()
        base = out_file.parent
        provenance = build_provenance(
            data.provenance, started, finished,
            judge={"model": endpoint.model, "endpoint_host": endpoint.host, **stats},
            answers={"source": "file" if options.answers_file else "generated",
                     "path": str(answers_file.relative_to(base))},
            judgments=str(judgment_file.relative_to(base)),
        )
        result = build_result(
            benchmark=benchmark, model=model_info, protocol=protocol, score=summary.score * scale,
            metrics=summary.metrics, n=summary.n, failures=failures.as_dict(),
            subscores={k: v * scale if isinstance(v, (int, float)) else v for k, v in summary.subscores.items()},
            provenance=provenance, samples=samples_file(out_file).relative_to(out_file.parent).as_posix(),
            identity=identity,
        )
        write_json_atomic(out_file, result)
    return result


def limited_questions(questions: list[dict], limit: int | float | None) -> list[dict]:
    """The first `limit` questions (a fraction of them when 0 < limit < 1, as lm-eval)."""
    if limit is None:
        return list(questions)
    if limit <= 0:
        raise BadInputError("--limit must be positive")
    count = math.ceil(len(questions) * limit) if limit < 1 else int(limit)
    return list(questions[:count])


async def _judge(run: JudgeRun, judge_format: JudgeFormat, endpoint: JudgeEndpoint,
                 options: JudgeOptions, tasks: list, caches: tuple[JsonlCache, JsonlCache], benchmark: str,
                 bench_dir: Path):
    """Every judgment of `tasks` through the run's client (online or batch), with the judgment and usage
    caches `caches`; (outcomes, the call statistics and token usage the result records)."""
    cache, usage_cache = caches
    retry = RetryPolicy(options.max_retries, options.backoff_base_s, options.backoff_cap_s)
    if options.mode == BATCH:
        client = BatchJudgeClient(
            endpoint.model, base_url=endpoint.base_url, api_key=endpoint.api_key,
            temperature=run.definition.judge_temperature, max_tokens=endpoint.max_tokens,
            timeout_s=endpoint.timeout_s, retry=retry, ledger_folder=bench_dir / BATCH_FOLDER,
            settings=BatchSettings.of(options), reask_extra_body=endpoint.reask_extra_body,
            extra_body=endpoint.extra_body,
        )
    else:
        client = JudgeClient(
            endpoint.model, base_url=endpoint.base_url, api_key=endpoint.api_key,
            concurrency=endpoint.concurrency, temperature=run.definition.judge_temperature,
            max_tokens=endpoint.max_tokens, timeout_s=endpoint.timeout_s, retry=retry,
            reask_extra_body=endpoint.reask_extra_body, extra_body=endpoint.extra_body,
        )
    try:
        outcomes = await judge_all(tasks, client, judge_one(judge_format, run), cache,
                                   progress=options.progress, description=benchmark, reasks=options.reasks,
                                   usage_cache=usage_cache, mode=options.mode)
    finally:
        await client.close()
    used = [usage_cache.get(judgment_key(endpoint.model, o.task)) for o in outcomes]
    return outcomes, {"calls": client.calls, "retries": client.retries, "mode": options.mode,
                      "usage": usage_record([row for row in used if row is not None], endpoint.model)}
