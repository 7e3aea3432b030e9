"""`--judge_estimate`: what judging would still send and cost, before anything is loaded or called.

Per judged benchmark: the judge calls left (cache hits excluded), their prompt and output tokens
(expected, and an upper bound), and dollars from a dated price table kept as data
(judges/prices.yaml; --judge_prices FILE or $EVALSUITE_JUDGE_PRICES points at another). Tokens are
counted offline (`estimate_tokens`); expected output lengths are the mean of the judgments already
cached for the benchmark, else the table's stated typical lengths.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from evalsuite.judging.client import ANSWER_KEY, JUDGMENT_KEY, judgment_key
from evalsuite.judging.core import JudgeRun
from evalsuite.judging.definitions import JudgeDefinition
from evalsuite.judging.options import JudgeOptions
from evalsuite.judging.prices import DEFAULT_PRICES, PriceTable, load_prices  # noqa: F401  (importers of the table)
from evalsuite.judging.benchmark import judge_model_name, limited_questions, prepare_judge_benchmark, read_answers_file
from evalsuite.results.store import JsonlCache, model_slug, result_path


@dataclass(frozen=True)
class JudgeEstimate:
    """What judging a benchmark would still send (cache hits excluded), before any call."""

    benchmark: str
    judge_model: str
    calls: int
    cached: int
    prompt_tokens: int  # expected: the answers as they are (file, cache) or of the typical length
    answers: str  # "file" | "cached" | "not generated yet"
    answer_turns_to_generate: int  # answers not generated yet: each joins the prompts that quote it
    max_new_tokens: int
    prompt_tokens_max: int = 0  # every answer at max_new_tokens, every call re-asked as often as allowed
    output_tokens: int = 0  # expected: calls x the measured or typical reply length
    output_tokens_max: int = 0  # every call re-asked as often as allowed, every reply at max_tokens
    calls_max: int = 0  # calls with every re-ask and attempt the protocol allows
    output_basis: str = ""  # where the expected reply length comes from


@dataclass(frozen=True)
class EstimateLine:
    """One benchmark's line of an estimate: the estimate, or why there is none."""

    benchmark: str
    estimate: JudgeEstimate | None = None
    error: str = ""


def estimate_judge_benchmark(benchmark: str, *, options: JudgeOptions, slug: str, output_path: Path,
                             data_dir: Path | None, limit: int | float | None,
                             prices: PriceTable | None = None) -> JudgeEstimate:
    """Count the judge requests (one per task; re-asks only in the upper bound) and their tokens that a
    run of `benchmark` would send now: judgments already in the benchmark's cache are left out. Answers
    come from --answers_file or the answer cache; answers not generated yet count at the table's typical
    length (expected) and at the answer token limit (upper bound)."""
    prices = prices or load_prices(None)
    prepared = prepare_judge_benchmark(benchmark, options, data_dir)
    definition, judge_format, data = prepared.definition, prepared.judge_format, prepared.data
    questions = limited_questions(data.questions, limit)
    judge_model = judge_model_name(definition, options)
    max_new_tokens = options.max_new_tokens or definition.max_new_tokens
    answers_source = "file"
    if options.answers_file:
        model_id, answers = read_answers_file(judge_format, Path(options.answers_file), questions)
        slug = model_slug(model_id)
    else:
        model_id = slug
        answers, answers_source = _cached_answers(
            output_path / slug / benchmark / "cache" / "answers.jsonl", questions)
    bench_dir = result_path(output_path, slug, benchmark).parent / benchmark
    judgment_cache = bench_dir / "cache" / "judgments.jsonl"
    cache = JsonlCache(judgment_cache, JUDGMENT_KEY) if judgment_cache.is_file() else None

    def prompt_tokens(answer_tokens: int | None) -> tuple[int, int, int]:
        """(calls to send, calls cached, prompt tokens) with the answers as they are, or all of one length."""
        texts = answers if answer_tokens is None else _placeholder_answers(questions, answer_tokens)
        tasks = judge_format.build_tasks(JudgeRun(definition, data, questions, texts, model_id, judge_model,
                                                  options.repeats, options.reasks))
        todo = [t for t in tasks if cache is None or cache.get(judgment_key(judge_model, t)) is None]
        return len(todo), len(tasks) - len(todo), sum(estimate_tokens(m["content"]) for t in todo
                                                       for m in t.prompt.messages)

    generated = answers_source in ("file", "cached")
    calls, cached, expected = prompt_tokens(None if generated else min(prices.answer_tokens, max_new_tokens))
    _, _, largest = prompt_tokens(None if generated else max_new_tokens)
    asks = judge_format.attempts(JudgeRun(definition, data, questions, answers, model_id, judge_model,
                                          options.repeats, options.reasks))  # asks per call at most
    max_tokens = _judge_max_tokens(definition, options)
    reply_tokens, basis = _reply_length(cache, judge_model, definition, prices, max_tokens)
    return JudgeEstimate(
        benchmark=benchmark, judge_model=judge_model, calls=calls, cached=cached, prompt_tokens=expected,
        answers=answers_source,
        answer_turns_to_generate=0 if generated else sum(len(q["turns"]) for q in questions),
        max_new_tokens=max_new_tokens, prompt_tokens_max=largest * asks,
        output_tokens=calls * reply_tokens, output_tokens_max=calls * asks * max_tokens,
        calls_max=calls * asks, output_basis=basis,
    )


def _judge_max_tokens(definition: JudgeDefinition, options: JudgeOptions) -> int:
    if options.embedded:
        return options.judge_max_tokens or int(definition.embedded.get("max_tokens", definition.judge_max_tokens))
    return options.judge_max_tokens or definition.judge_max_tokens


def _reply_length(cache: JsonlCache | None, judge_model: str, definition: JudgeDefinition,
                  prices: PriceTable, max_tokens: int) -> tuple[int, str]:
    """Expected tokens of one judge reply: the mean of this judge's cached replies, else the table's."""
    replies = [text for row in (cache.rows() if cache else []) if row.get("judge_model") == judge_model
               for text in _reply_texts(row)]
    if replies:
        return math.ceil(sum(estimate_tokens(r) for r in replies) / len(replies)), f"mean of {len(replies)} cached"
    typical = prices.judgment_tokens.get(definition.format)
    if typical is None:
        return max_tokens, "max_tokens (no typical length in the price table)"
    return min(typical, max_tokens), "typical (price table)"


def _reply_texts(row: dict) -> list[str]:
    """The judge's reply texts of a cached judgment (`replies`: strings, or {text, ...}; else `judgment`)."""
    replies = row.get("replies")
    if isinstance(replies, list) and replies:
        return [r if isinstance(r, str) else str(r.get("text", "")) for r in replies if isinstance(r, (str, dict))]
    return [row["judgment"]] if isinstance(row.get("judgment"), str) else []


def _placeholder_answers(questions: list[dict], tokens: int) -> dict:
    """Answers of `tokens` estimated tokens each (4 ASCII characters per token)."""
    text = ("word " * math.ceil(tokens * 4 / 5))[: tokens * 4]
    return {q["question_id"]: [text] * len(q["turns"]) for q in questions}


def _cached_answers(path: Path, questions: list[dict]) -> tuple[dict, str]:
    """Answers from a model's answer cache (the latest row per question and turn), empty where missing."""
    texts: dict[tuple, str] = {}
    if path.is_file():
        for row in JsonlCache(path, ANSWER_KEY).rows():
            texts[(row["question_id"], row["turn"])] = str(row.get("text", ""))
    answers = {q["question_id"]: [texts.get((q["question_id"], turn), "") for turn in range(1, len(q["turns"]) + 1)]
               for q in questions}
    complete = all((q["question_id"], turn) in texts for q in questions for turn in range(1, len(q["turns"]) + 1))
    return answers, "cached" if complete else "not generated yet"


def estimate_tokens(text: str) -> int:
    """Prompt tokens of `text` for a GPT-4-class tokenizer, approximated offline: one token per 4 ASCII
    characters and one per other character (a Hangul syllable is one or more tokens in cl100k)."""
    ascii_chars = sum(1 for ch in text if ord(ch) < 128)
    return math.ceil(ascii_chars / 4) + (len(text) - ascii_chars)


def dollars(estimate: JudgeEstimate, prices: PriceTable, batch: bool = False) -> tuple[float, float] | None:
    """(expected, upper bound) dollars of an estimate (online, or through the Batch API), or None when the
    table has no price for its judge."""
    price = prices.price(estimate.judge_model, batch)
    if price is None:
        return None
    prompt, output = price
    return ((estimate.prompt_tokens * prompt + estimate.output_tokens * output) / 1e6,
            (estimate.prompt_tokens_max * prompt + estimate.output_tokens_max * output) / 1e6)
