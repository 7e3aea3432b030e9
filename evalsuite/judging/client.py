"""Talking to an OpenAI-compatible judge: the async client, and the concurrent loop that judges every
task once (cached the moment it is made in a JsonlCache, evalsuite/results/store.py, so a killed run
resumes).

Nothing here knows a judged format: the judging core (core.judge_one) supplies the coroutine that
turns one task into a judgment row (`JudgeOne`), and the benchmark runner (benchmark.py) the tasks.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import os
import random
import sys
from dataclasses import dataclass
from typing import Awaitable, Callable

import openai
from tqdm import tqdm

from evalsuite.errors import BadInputError, EvalsuiteError, exception_chain, scrub_secrets
from evalsuite.judging.replies import (
    MAX_REPLY_BYTES, ReplyRefused, bounded_reply_hook, decode_reply, scrubbed_detail,
)
from evalsuite.judging.usage import TokenUsage, count_call, judgment_usage
from evalsuite.results.store import JsonlCache

RETRYABLE_STATUS = {408, 409, 425, 429}
MAX_RETRY_AFTER_S = 3600.0  # a Retry-After beyond an hour is not a number to wait on (the cap applies anyway)

ANSWER_KEY = ("model_fingerprint", "question_id", "turn", "temperature", "max_new_tokens")
JUDGMENT_KEY = ("judge_model", "prompt_name", "question_id", "turn", "input_hash", "repeat")


def stable_hash(obj: object, length: int = 16) -> str:
    """Short sha256 of a JSON-serializable object (sorted keys)."""
    text = json.dumps(obj, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:length]


class JudgeCallFailed(Exception):
    """A judge request that failed for good; `kind` is "api" or "timeout" (counted in the result)."""

    def __init__(self, kind: str, detail: str):
        super().__init__(detail)
        self.kind = kind
        self.detail = detail


class JudgeEndpointRefused(EvalsuiteError):
    """The endpoint refuses every request (bad key, unknown model, no access): stop the run."""


class _GarbageResponse(Exception):
    """A 200 response without a usable message."""


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter: sleep U(0.5, 1) * min(cap, base * 2**attempt)."""

    max_retries: int = 8
    base_s: float = 1.0
    cap_s: float = 60.0

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number `attempt` (0-based); honours Retry-After up to the cap."""
        backoff = min(self.cap_s, self.base_s * (2 ** min(attempt, 60))) * random.uniform(0.5, 1.0)
        if retry_after is not None:
            return min(self.cap_s, max(backoff, retry_after))
        return backoff


@dataclass(frozen=True)
class LogprobReply:
    """A reply and its tokens' log-probabilities: the chat `logprobs.content` list ({token, logprob,
    top_logprobs: [{token, logprob}, ...]} per generated token), None when the endpoint sent none."""

    text: str
    tokens: list | None


class JudgeClient:
    """Chat completions against one judge model; `complete` returns the reply text.

    The endpoint is not trusted: `timeout_s` is a deadline for each whole request (connect, headers
    and body; a server that drips a byte at a time still ends), a reply is read up to
    `max_reply_bytes` and decoded as bounded JSON (evalsuite/judging/replies.py), redirects are not
    followed, and every failure is a counted JudgeCallFailed for that item, never a crash of the run.
    Failure details and reply strings are scrubbed of the API key (and of Authorization values in
    details) before they are cut or written: an endpoint may echo them.
    """

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None,
        api_key: str | None,
        concurrency: int,
        temperature: float,
        max_tokens: int,
        timeout_s: float,
        retry: RetryPolicy,
        reask_extra_body: dict | None = None,
        extra_body: dict | None = None,
        max_reply_bytes: int = MAX_REPLY_BYTES,
    ):
        self.model = model
        self.reask_extra_body = reask_extra_body
        self.extra_body = extra_body
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.retry = retry
        self.timeout_s = timeout_s
        self._api_key = api_key
        self._semaphore = asyncio.Semaphore(max(1, concurrency))
        http_client = openai.DefaultAsyncHttpxClient(
            timeout=timeout_s, follow_redirects=False,
            event_hooks={"response": [bounded_reply_hook(max_reply_bytes)]},
        )
        self._client = openai.AsyncOpenAI(
            base_url=base_url, api_key=api_key, timeout=timeout_s, max_retries=0, http_client=http_client,
            default_headers={"Accept-Encoding": "identity"},
        )
        self.calls = 0
        self.retries = 0
        self.usage = TokenUsage()

    async def close(self) -> None:
        """Close the HTTP connections."""
        await self._client.close()

    def scrub(self, text: str) -> str:
        """`text` without this client's credentials."""
        return scrub_secrets(text, [self._api_key])

    async def complete(self, messages: list[dict[str, str]], *, reask: bool = False,
                       extra_body: dict | None = None) -> str:
        """The judge's reply; retries 429/5xx/timeouts/connection errors/garbage, then JudgeCallFailed.

        The request carries `extra_body` (a format's request fields, e.g. response_format), then the
        client's own `extra_body` (the endpoint's, e.g. the embedded judge's constraints, which win),
        and a re-ask `reask_extra_body` (the embedded judge's rating grammar), if any.
        """
        response = await self._request(messages, extra_body, reask)
        return _content_of(response)

    async def complete_with_logprobs(self, messages: list[dict[str, str]], *, top_logprobs: int,
                                     extra_body: dict | None = None) -> LogprobReply:
        """The reply with the log-probabilities of its tokens (`logprobs: true, top_logprobs: N`, plus
        `extra_body` as `complete`); `tokens` is None when the endpoint returned none (the caller decides
        what that means). Retries and failures as `complete`."""
        request_body = {"logprobs": True, "top_logprobs": top_logprobs, **(extra_body or {})}
        response = await self._request(messages, request_body, False)
        logprobs = response["choices"][0].get("logprobs")
        tokens = logprobs.get("content") if isinstance(logprobs, dict) else None
        return LogprobReply(_content_of(response), tokens if isinstance(tokens, list) else None)

    async def _request(self, messages: list[dict[str, str]], request_body: dict | None, reask: bool) -> dict:
        """The chat.completion JSON object (with a text reply) for `messages`; JudgeCallFailed scrubbed."""
        try:
            response = await self._post(messages, request_body, reask)
        except JudgeCallFailed as err:
            raise JudgeCallFailed(err.kind, self.scrub(err.detail)) from None
        count_call(response.get("usage"))  # in the judging task: the judgment's own tally
        return response

    def _detail(self, what: str, text: str) -> str:
        return f"{what}: {scrubbed_detail(text, [self._api_key])}"

    def request_body(self, messages: list[dict[str, str]], request_body: dict | None, reask: bool) -> dict:
        """The JSON body of the chat completion request for `messages` (online and batch send this)."""
        return chat_request_body(self.model, messages, temperature=self.temperature, max_tokens=self.max_tokens,
                                 request_body=request_body, extra_body=self.extra_body,
                                 reask_extra_body=self.reask_extra_body if reask else None)

    async def _post(self, messages: list[dict[str, str]], request_body: dict | None, reask: bool) -> dict:
        body_json = self.request_body(messages, request_body, reask)
        last_kind, last_detail = "api", ""
        for attempt in range(self.retry.max_retries + 1):
            retry_after = None
            try:
                async with self._semaphore:
                    self.calls += 1
                    # POST /chat/completions through the client (auth, errors) for the raw body, read
                    # under one deadline; the typed create() costs ~3 ms of CPU per call
                    async with asyncio.timeout(self.timeout_s):
                        body = await self._client.post("/chat/completions", body=body_json, cast_to=bytes)
                response = decode_reply(body, self._api_key)
                _content_of(response)  # a 200 without a text reply is garbage: retried
                self.usage.add(response.get("usage"))
                return response
            except (openai.AuthenticationError, openai.PermissionDeniedError, openai.NotFoundError) as err:
                raise JudgeEndpointRefused(
                    f"judge endpoint refused the request ({err.status_code}): check --judge_model, "
                    "--judge_base_url and OPENAI_API_KEY"
                ) from None
            except (TimeoutError, openai.APITimeoutError):
                last_kind, last_detail = "timeout", f"timeout: no whole reply within {self.timeout_s:g} s"
            except openai.APIConnectionError as err:
                last_kind, last_detail = "api", self._detail("connection error", str(err))
            except openai.APIStatusError as err:
                last_kind, last_detail = "api", self._detail(f"HTTP {err.status_code}", str(err))
                if 300 <= err.status_code < 400:
                    raise JudgeCallFailed("api", last_detail + " (redirects are not followed: give the final "
                                          "URL as --judge_base_url)") from None
                if err.status_code < 500 and err.status_code not in RETRYABLE_STATUS:
                    raise JudgeCallFailed("api", last_detail) from None
                retry_after = _retry_after(err)
            except ReplyRefused as err:
                last_kind, last_detail = "api", self._detail("reply refused", str(err))
            except (_GarbageResponse, ValueError) as err:  # ValueError: decode_reply's undecodable body
                last_kind, last_detail = "api", self._detail("malformed response", str(err))
            except Exception as err:  # noqa: BLE001  (any other reply the endpoint sent: a counted failure)
                last_kind, last_detail = "api", self._detail(f"malformed response ({type(err).__name__})", str(err))
            if attempt < self.retry.max_retries:
                self.retries += 1
                await asyncio.sleep(self.retry.delay(attempt, retry_after))
        raise JudgeCallFailed(last_kind, f"{last_detail} (after {self.retry.max_retries} retries)")


def chat_request_body(model: str, messages: list[dict[str, str]], *, temperature: float, max_tokens: int,
                      request_body: dict | None = None, extra_body: dict | None = None,
                      reask_extra_body: dict | None = None) -> dict:
    """The body of one chat completion request: the format's `request_body` fields, then the endpoint's
    `extra_body` (which win), then a re-ask's `reask_extra_body`, over the model, messages and limits."""
    extra = {**(request_body or {}), **(extra_body or {}), **(reask_extra_body or {})}
    return {"model": model, "messages": messages, "n": 1, "temperature": temperature, "max_tokens": max_tokens,
            **extra}


PROBE_TIMEOUT_S = 10.0
PROBE_REPLY_BYTES = 64 * 1024


def probe_endpoint(base_url: str | None, api_key: str | None, timeout_s: float = PROBE_TIMEOUT_S) -> None:
    """One cheap request (GET /models, no retries, one deadline for the whole request, the reply read
    raw and capped, never parsed) before any work: a judge that does not answer, or refuses the key,
    is a BadInputError naming the cause. Any other HTTP reply (a server without /models included)
    counts as answering."""
    asyncio.run(_probe(base_url, api_key, timeout_s))


async def _probe(base_url: str | None, api_key: str | None, timeout_s: float) -> None:
    where = base_url or "https://api.openai.com/v1"
    http_client = openai.DefaultAsyncHttpxClient(
        timeout=timeout_s, follow_redirects=False, event_hooks={"response": [bounded_reply_hook(PROBE_REPLY_BYTES)]})
    client = openai.AsyncOpenAI(base_url=base_url, api_key=api_key, timeout=timeout_s, max_retries=0,
                                http_client=http_client, default_headers={"Accept-Encoding": "identity"})
    try:
        async with asyncio.timeout(timeout_s):
            await client.get("/models", cast_to=bytes)
    except (openai.AuthenticationError, openai.PermissionDeniedError) as err:
        raise BadInputError(f"judge endpoint {where} refused the key ({err.status_code}): check OPENAI_API_KEY") from None
    except (TimeoutError, openai.APITimeoutError):
        raise BadInputError(f"judge endpoint {where} did not answer within {timeout_s:g} s: is the server up? "
                            "(--judge_base_url)") from None
    except openai.APIConnectionError as err:
        detail = scrubbed_detail(_connection_failure(err), [api_key])
        raise BadInputError(f"judge endpoint {where} does not answer ({detail}): is the server up? "
                            "(--judge_base_url)") from None
    except (openai.APIStatusError, ReplyRefused):
        return  # it answers
    finally:
        await client.close()


def _connection_failure(error: BaseException) -> str:
    """Why a connection failed, from the innermost cause ("Connection refused", not the HTTP
    library's "All connection attempts failed")."""
    seen = list(exception_chain(error))
    for cause in reversed(seen):
        if isinstance(cause, OSError) and cause.errno:
            return os.strerror(cause.errno)
    text = str(seen[-1]).strip()
    return text.splitlines()[0] if text else type(seen[-1]).__name__


def _content_of(response: object) -> str:
    """The reply text of a chat.completion JSON object; _GarbageResponse for anything else."""
    try:
        content = response["choices"][0]["message"]["content"]  # type: ignore[index]
    except (TypeError, KeyError, IndexError) as err:
        raise _GarbageResponse(f"not a chat completion: {response!r}") from err
    if not isinstance(content, str):
        raise _GarbageResponse("choice without text content")
    return content


def _retry_after(err: openai.APIStatusError) -> float | None:
    """The Retry-After seconds of an error reply: a finite number in [0, MAX_RETRY_AFTER_S], else None
    (an HTTP date, NaN, a negative or absurd value is ignored; RetryPolicy caps the wait anyway)."""
    try:
        value = float(str(err.response.headers.get("retry-after"))[:32])
    except (AttributeError, ValueError, TypeError):
        return None
    return value if math.isfinite(value) and 0 <= value <= MAX_RETRY_AFTER_S else None


@dataclass(frozen=True)
class RenderedPrompt:
    """One judge request as a format renders it: its prompt name, the user prompt and the messages."""

    prompt_name: str
    user_prompt: str
    messages: list[dict[str, str]]


@dataclass(frozen=True)
class JudgeTask:
    """One judge request: the question, the part of it judged (`part`: a turn of a multi-turn answer,
    or a game of a pairwise comparison; the cache key's "turn"), the repeat index and the rendered prompt."""

    question_id: int | str
    part: int
    repeat: int
    model_id: str
    prompt: RenderedPrompt
    input_hash: str

    @classmethod
    def of(cls, question_id: int | str, part: int, repeat: int, model_id: str, prompt: RenderedPrompt) -> "JudgeTask":
        """A task whose input hash covers the prompt's messages."""
        return cls(question_id, part, repeat, model_id, prompt, stable_hash(prompt.messages))

    @classmethod
    def repeated(cls, question_id: int | str, part: int, model_id: str, prompt: RenderedPrompt,
                 repeats: int) -> list["JudgeTask"]:
        """One task per repeat of the same rendered prompt."""
        input_hash = stable_hash(prompt.messages)
        return [cls(question_id, part, repeat, model_id, prompt, input_hash) for repeat in range(repeats)]


@dataclass
class JudgeOutcome:
    """A finished task: the cached judgment row, or the failure kind ("api" / "timeout")."""

    task: JudgeTask
    row: dict | None
    failure: str | None = None
    detail: str = ""


JudgeOne = Callable[[JudgeTask, JudgeClient], Awaitable[dict]]
STATUS_OK = "ok"  # every format's status of a judgment with a usable rating
REASKS_FIELD = "reasks_allowed"  # --judge_reask of the run that made a cached judgment (absent: 0)


def reusable(row: dict, reasks: int) -> bool:
    """Whether a cached judgment serves a run allowed `reasks` re-asks: one with a rating always does;
    one without only if it was made with at least as many re-asks."""
    return row.get("status", STATUS_OK) == STATUS_OK or int(row.get(REASKS_FIELD, 0) or 0) >= reasks


def resume_line(what: str, cached: int, total: int, unit: str) -> str:
    """`resuming WHAT: 812/1000 UNIT cached`, or `WHAT: 1000 UNIT, none cached`."""
    if cached:
        return f"resuming {what}: {cached:,}/{total:,} {unit} cached"
    return f"{what}: {total:,} {unit}, none cached"


def paid_usage(usage_cache: JsonlCache, key: tuple, used: TokenUsage, mode: str) -> dict:
    """The usage row of a judgment after this run's calls: the tokens they used added to what earlier
    runs' calls for the same judgment used (a retried failure or a re-ask is paid again), per mode."""
    earlier = usage_cache.get(key) or {}
    spent = {"calls": used.calls, "prompt_tokens": used.prompt_tokens, "completion_tokens": used.completion_tokens}
    by_mode = {name: dict(counts) for name, counts in (earlier.get("by_mode") or {}).items()}
    by_mode[mode] = {k: int(by_mode.get(mode, {}).get(k, 0)) + v for k, v in spent.items()}
    return {**dict(zip(JUDGMENT_KEY, key)), **{k: sum(m[k] for m in by_mode.values()) for k in spent},
            "by_mode": by_mode}


def judgment_key(judge_model: str, task: JudgeTask) -> tuple:
    """Cache key of a task (see JUDGMENT_KEY)."""
    return (judge_model, task.prompt.prompt_name, task.question_id, task.part, task.input_hash, task.repeat)


async def judge_all(
    tasks: list[JudgeTask],
    client: JudgeClient,
    judge_one: JudgeOne,
    cache: JsonlCache,
    *,
    progress: bool = True,
    description: str = "judging",
    reasks: int = 0,
    usage_cache: JsonlCache | None = None,
    mode: str = "online",
) -> list[JudgeOutcome]:
    """Outcomes for all tasks, in task order: cached ones reused, the others judged concurrently.

    A request that fails for good is counted, not cached (a later run retries it). A cached judgment
    without a rating made with fewer re-asks than `reasks` is judged again. One line on stderr says
    how many judgments were reused. With `usage_cache`, the tokens the calls of each judgment used (as
    the endpoint reported them; a failed judgment's too) are added there under its key, per `mode`.
    """
    outcomes: dict[int, JudgeOutcome] = {}
    pending: list[tuple[int, JudgeTask]] = []
    for index, task in enumerate(tasks):
        cached = cache.get(judgment_key(client.model, task))
        if cached is not None and reusable(cached, reasks):
            outcomes[index] = JudgeOutcome(task, cached)
        else:
            pending.append((index, task))
    print(resume_line(description, len(outcomes), len(tasks), "judge requests"), file=sys.stderr, flush=True)
    bar = tqdm(total=len(tasks), initial=len(outcomes), desc=description, disable=not progress, unit="judgment")

    async def run(index: int, task: JudgeTask) -> None:
        with judgment_usage() as used:
            try:
                row = await judge_one(task, client)
            except JudgeCallFailed as err:
                outcomes[index] = JudgeOutcome(task, None, err.kind, err.detail)
            else:
                if reasks:
                    row = {**row, REASKS_FIELD: reasks}  # what a later run with more re-asks compares
                await asyncio.to_thread(cache.put, row)  # the fsync stays off the event loop
                outcomes[index] = JudgeOutcome(task, row)
        if usage_cache is not None and used.calls:  # failed judgments' calls were paid too
            row = paid_usage(usage_cache, judgment_key(client.model, task), used, mode)
            await asyncio.to_thread(usage_cache.put, row)
        bar.update(1)

    workers = [asyncio.ensure_future(run(index, task)) for index, task in pending]
    try:
        if workers:
            await asyncio.gather(*workers)
    finally:
        for worker in workers:
            worker.cancel()
        bar.close()
    return [outcomes[index] for index in range(len(tasks))]
