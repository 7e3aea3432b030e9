"""Judge command-line flags and the options object the runner takes."""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass
from pathlib import Path

from evalsuite.errors import BadInputError
from evalsuite.judging.language import DETECTORS, LINGUA

EMBEDDED = "embedded"
DEMO_MAX_NEW_TOKENS = 256
DEMO_REASKS = 2
MAX_TIMEOUT_S = 86400.0
ONLINE, BATCH = "online", "batch"  # --judge_mode: one request per call, or the Batch API (evalsuite/judging/batch.py)
BATCH_MAX_REQUESTS = 50_000  # OpenAI's limits of one batch input file: requests, and bytes (200 MB)
BATCH_MAX_BYTES = 200_000_000


@dataclass(frozen=True)
class JudgeOptions:
    """How to judge: which endpoint, how hard to retry, how many repeats, which answers."""

    judge_model: str | None = None  # None: each definition's default_model
    judge_base_url: str | None = None
    concurrency: int = 16
    repeats: int = 1
    max_retries: int = 8
    answers_file: Path | None = None
    timeout_s: float = 120.0
    backoff_base_s: float = 1.0
    backoff_cap_s: float = 60.0
    max_new_tokens: int | None = None  # None: the definition's (1024); recorded in the protocol
    judge_max_tokens: int | None = None  # None: the definition's (2048; embedded: 128); recorded too
    reasks: int = 0  # re-asks of a reply without a rating (FastChat: none); recorded in the protocol
    language_detector: str = LINGUA  # the detector of a definition's language rule; recorded too
    mediapipe_model: Path | None = None  # MediaPipe's language detector model (LG's exact rule)
    prompt_strategy: str | None = None  # a benchmark's answer prompt strategy (None: its official default)
    estimate: bool = False  # only print the judge calls and prompt tokens a run would send
    progress: bool = True
    mode: str = ONLINE  # --judge_mode; recorded in the protocol (batch only: online results are unchanged)
    batch_max_requests: int = BATCH_MAX_REQUESTS  # a batch's input file holds at most this many requests
    batch_max_bytes: int = BATCH_MAX_BYTES  # ... and this many bytes (larger sets are split)
    batch_poll_s: float = 5.0  # the first wait between two looks at a batch; doubled up to batch_poll_cap_s
    batch_poll_cap_s: float = 300.0

    def __post_init__(self) -> None:
        if self.concurrency < 1:
            raise BadInputError("--judge_concurrency must be at least 1")
        if self.repeats < 1:
            raise BadInputError("--judge_repeats must be at least 1")
        if self.max_retries < 0:
            raise BadInputError("--judge_max_retries must be 0 or more")
        if not math.isfinite(self.timeout_s) or not 0 < self.timeout_s <= MAX_TIMEOUT_S:
            raise BadInputError(f"--judge_timeout must be a number of seconds in (0, {MAX_TIMEOUT_S:g}]")
        if self.reasks < 0:
            raise BadInputError("--judge_reask must be 0 or more")
        if self.mode not in (ONLINE, BATCH):
            raise BadInputError(f"--judge_mode must be {ONLINE} or {BATCH}")
        if self.mode == BATCH and self.judge_model == EMBEDDED:
            raise BadInputError("--judge_mode batch needs an endpoint with the Batch API (/v1/files, /v1/batches); "
                                "the embedded judge has none")
        if self.batch_max_requests < 1 or self.batch_max_bytes < 1024:
            raise BadInputError("--judge_batch_max_requests must be at least 1 and --judge_batch_max_bytes 1024")
        if not all(math.isfinite(s) and s > 0 for s in (self.batch_poll_s, self.batch_poll_cap_s)):
            raise BadInputError("batch poll intervals must be positive numbers of seconds")
        if self.language_detector not in DETECTORS:
            raise BadInputError(f"--judge_language_detector must be one of {', '.join(DETECTORS)}")
        if self.language_detector != LINGUA and self.mediapipe_model is None:
            raise BadInputError(f"--judge_language_detector {self.language_detector} needs --mediapipe_model PATH")
        if self.mediapipe_model is not None and not Path(self.mediapipe_model).is_file():
            raise BadInputError(f"--mediapipe_model {self.mediapipe_model} is not a file")
        for name, flag in (("max_new_tokens", "--answer_max_tokens"), ("judge_max_tokens", "judge max_tokens")):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise BadInputError(f"{flag} must be at least 1")

    @property
    def embedded(self) -> bool:
        """Whether the judge is the embedded llama.cpp server."""
        return self.judge_model == EMBEDDED

    @classmethod
    def for_demo(cls) -> "JudgeOptions":
        """The demo's judge: the embedded llama.cpp server; short answers; re-asks (a 135M judge rarely
        writes the rating unprompted; its re-asks are grammar-constrained). All recorded in the protocol."""
        return cls(judge_model=EMBEDDED, concurrency=1, max_new_tokens=DEMO_MAX_NEW_TOKENS,
                   reasks=DEMO_REASKS)

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> "JudgeOptions":
        """Options from the flags of add_judge_arguments."""
        answers = getattr(args, "answers_file", None)
        mediapipe_model = getattr(args, "mediapipe_model", None)
        return cls(
            judge_model=getattr(args, "judge_model", None),
            judge_base_url=getattr(args, "judge_base_url", None),
            concurrency=getattr(args, "judge_concurrency", 16),
            repeats=getattr(args, "judge_repeats", 1),
            max_retries=getattr(args, "judge_max_retries", 8),
            answers_file=Path(answers) if answers else None,
            timeout_s=getattr(args, "judge_timeout", 120.0),
            reasks=getattr(args, "judge_reask", 0),
            language_detector=getattr(args, "judge_language_detector", LINGUA),
            mediapipe_model=Path(mediapipe_model) if mediapipe_model else None,
            prompt_strategy=getattr(args, "prompt_strategy", None),
            estimate=getattr(args, "judge_estimate", False),
            max_new_tokens=getattr(args, "answer_max_tokens", None),
            mode=getattr(args, "judge_mode", ONLINE),
            batch_max_requests=getattr(args, "judge_batch_max_requests", BATCH_MAX_REQUESTS),
            batch_max_bytes=getattr(args, "judge_batch_max_bytes", BATCH_MAX_BYTES),
        )


def add_judge_arguments(parser: argparse.ArgumentParser) -> None:
    """The judge flags of `run_eval.py run`."""
    group = parser.add_argument_group("judged benchmarks (judges/*.yaml)")
    group.add_argument("--judge_model", default=None,
                       help="judge model at an OpenAI-compatible endpoint (default: each benchmark's official "
                            "judge, its definition's default_model; `tasks` lists them); "
                            "'embedded' starts a local llama.cpp server with the embedded SmolLM2 model")
    group.add_argument("--judge_base_url", default=None,
                       help="OpenAI-compatible base URL (default api.openai.com); the key comes from OPENAI_API_KEY")
    group.add_argument("--judge_concurrency", type=int, default=16, help="judge requests in flight (default 16)")
    group.add_argument("--judge_repeats", type=int, default=1,
                       help="judge each item N times and use the median; the result reports the spread")
    group.add_argument("--judge_max_retries", type=int, default=8,
                       help="retries of a judge request on 429/5xx/timeouts/connection errors (default 8)")
    group.add_argument("--judge_timeout", type=float, default=120.0, help="deadline in seconds for each whole judge request (connect, headers and "
                            "body; retries get their own; default 120)")
    group.add_argument("--answers_file", default=None,
                       help="judge this answer file, in the benchmark's official answer format (e.g. FastChat's "
                            "model_answer/<model>.jsonl; the README lists each benchmark's), instead of generating")
    group.add_argument("--judge_reask", type=int, default=0, metavar="N",
                       help="re-ask the judge up to N times when a reply has no rating (default 0, as FastChat: "
                            "the item is -1 and left out of the mean); recorded in the protocol")
    group.add_argument("--judge_language_detector", choices=DETECTORS, default=LINGUA,
                       help="detector of a benchmark's language rule (its judge.language_rule): lingua (offline "
                            "default) or mediapipe (LG's exact rule; needs the mediapipe package and --mediapipe_model)")
    group.add_argument("--answer_max_tokens", type=int, default=None, metavar="N",
                       help="cap the new tokens of each answer to a judged benchmark (default: each benchmark's "
                            "official limit, judge.generation.max_new_tokens of its declaration); recorded in the protocol")
    group.add_argument("--judge_mode", choices=(ONLINE, BATCH), default=ONLINE,
                       help="online (default): one request per judge call; batch: the OpenAI Batch API (half "
                            "price, results within 24 h): each round of requests is one batch, recorded in "
                            "<benchmark>/batches/ledger.jsonl so that a rerun re-attaches instead of paying again")
    group.add_argument("--judge_batch_max_requests", type=int, default=BATCH_MAX_REQUESTS, metavar="N",
                       help=f"requests per batch input file (default {BATCH_MAX_REQUESTS:,}, the API's limit)")
    group.add_argument("--judge_batch_max_bytes", type=int, default=BATCH_MAX_BYTES, metavar="BYTES",
                       help=f"bytes per batch input file (default {BATCH_MAX_BYTES:,}, the API's limit)")
    group.add_argument("--judge_estimate", action="store_true",
                       help="print, per benchmark, the judge calls, prompt and output tokens and dollars still to "
                            "spend (cache hits excluded; expected and upper bound) and a total, then exit: nothing "
                            "is run, loaded or called")
    group.add_argument("--judge_prices", default=None, metavar="FILE.yaml",
                       help="price table of --judge_estimate (default: $EVALSUITE_JUDGE_PRICES, else "
                            "judges/prices.yaml, dated inside)")
    group.add_argument("--prompt_strategy", default=None, metavar="NAME",
                       help="answer prompt strategy of a judged benchmark that offers several (an unknown name "
                            "lists them; default: the official default); recorded in the protocol; benchmarks "
                            "with a single answer prompt ignore it")
    group.add_argument("--mediapipe_model", default=None, metavar="PATH",
                       help="MediaPipe language detector model (language_detector.tflite); with it, results "
                            "also count the turns LG's rule penalizes")
