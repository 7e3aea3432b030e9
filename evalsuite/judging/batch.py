"""Judging through the OpenAI Batch API (`--judge_mode batch`): the same calls as online, at half price.

`BatchJudgeClient` has JudgeClient's `complete` / `complete_with_logprobs` and failure semantics, so the
formats' coroutines run unchanged. Each request waits in a queue; when every judging coroutine that has
used the client is waiting on it (or finished), the queue becomes one batch (split by the API's limits):
JSONL lines {custom_id, method, url, body} whose body is the very body an online call sends
(`JudgeClient.request_body`), uploaded through /v1/files (purpose `batch`), submitted to /v1/batches
(24 h window), polled with backoff, and read back from its output and error files. The replies resolve
the waiting coroutines; a multi-step format's next step (a follow-up question, a re-ask, a retry) is then
the next round's batch, holding only the items that need it.

Never paid twice (evalsuite/judging/batch_ledger.py): the ledger in the benchmark's folder records each
upload and batch the moment it exists; a rerun re-attaches to batches in flight, takes the replies of
finished ones not yet used, and submits only what no batch covers. Expired, cancelled and failed
batches, per-line errors and lines missing from the output are retried (up to --judge_max_retries, each a
later round) and then counted as online failures are: kind "timeout" for an expired batch, "api" else.
What comes back is read as online: each line bounded and decoded by judging/replies.py (the key
scrubbed from every string), failure details scrubbed before they are cut.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Awaitable, Callable, TypeVar

import openai

from evalsuite.judging.batch_ledger import BatchLedger, LedgerBatch, request_hash
from evalsuite.judging.client import (
    RETRYABLE_STATUS, JudgeCallFailed, JudgeEndpointRefused, LogprobReply, RetryPolicy, _content_of, _retry_after,
    chat_request_body,
)
from evalsuite.judging.replies import (
    MAX_REPLY_BYTES, ReplyRefused, bounded_reply_hook, decode_reply, scrub_secrets, scrubbed_detail,
)
from evalsuite.judging.usage import TokenUsage, count_call

BATCH_FOLDER = "batches"  # under a judged benchmark's work folder: the ledger and the results read back
ENDPOINT = "/v1/chat/completions"
COMPLETION_WINDOW = "24h"
TERMINAL = ("completed", "failed", "expired", "cancelled")
LINE_OVERHEAD_BYTES = 64 * 1024  # an output line is the reply plus its envelope (ids, status)
MAX_FILE_BYTES = 4 * 1024 ** 3  # an output or error file read back is refused beyond this
MIN_DOWNLOAD_RATE = 64 * 1024  # bytes/s a file download keeps on average once past the request timeout
REFUSING_STATUS = (401, 403, 404)  # as online: the endpoint refuses the key, the model or the access
T = TypeVar("T")


@dataclass(frozen=True)
class BatchSettings:
    """The Batch API's limits and how often to look at a batch."""

    max_requests: int = 50_000
    max_bytes: int = 200_000_000
    poll_s: float = 5.0  # the first wait between two looks; doubled each look up to poll_cap_s
    poll_cap_s: float = 300.0

    @classmethod
    def of(cls, options) -> "BatchSettings":
        """The settings of a run's JudgeOptions."""
        return cls(options.batch_max_requests, options.batch_max_bytes, options.batch_poll_s, options.batch_poll_cap_s)


@dataclass
class _Request:
    """One judge request waiting for its reply; `custom_id` is the batch line it waits on."""

    body: dict
    hash: str
    future: asyncio.Future
    attempt: int = 0
    custom_id: str | None = None
    batch_id: str | None = None


@dataclass
class _Failure:
    """Why a batch line has no reply: counted as `kind`, retried when `retryable`."""

    kind: str
    detail: str
    retryable: bool = True
    refused: bool = False


@dataclass
class _Round:
    """The requests of the batches being waited on, by batch id."""

    attached: dict[str, list[_Request]] = field(default_factory=dict)


class BatchJudgeClient:
    """JudgeClient's interface over the Batch API (see the module docstring)."""

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None,
        api_key: str | None,
        temperature: float,
        max_tokens: int,
        timeout_s: float,
        retry: RetryPolicy,
        ledger_folder: Path,
        settings: BatchSettings = BatchSettings(),
        reask_extra_body: dict | None = None,
        extra_body: dict | None = None,
        max_reply_bytes: int = MAX_REPLY_BYTES,
    ):
        self.model = model
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.reask_extra_body = reask_extra_body
        self.extra_body = extra_body
        self.retry = retry
        self.timeout_s = timeout_s
        self.settings = settings
        self.max_reply_bytes = max_reply_bytes
        self.ledger = BatchLedger.open(ledger_folder)
        self._api_key = api_key
        self._client = _openai_client(base_url, api_key, timeout_s, max_reply_bytes)
        self._files = _openai_client(base_url, api_key, timeout_s, MAX_FILE_BYTES)
        self.calls = 0  # batch lines submitted (each attempt of each request, as online counts calls)
        self.retries = 0
        self.batches_created = 0
        self.usage = TokenUsage()
        self._queue: list[_Request] = []
        self._round = _Round()
        self._claimed: set[str] = set()  # custom_ids of ledger batches some request of this run waits on
        self._live: set[asyncio.Task] = set()  # tasks that have used the client and are not done
        self._waiting: dict[asyncio.Task, int] = {}
        self._changed = asyncio.Event()
        self._flusher: asyncio.Task | None = None
        self._rescued = False
        self._submitted: set[str] = set()  # batches created by this run (the others are re-attached)
        self._results: dict[str, dict[str, dict]] = {}  # saved line outcomes read so far, by batch
        self._index_ledger()

    # -- JudgeClient's interface ------------------------------------------------------------------
    def scrub(self, text: str) -> str:
        """`text` without this client's credentials."""
        return scrub_secrets(text, [self._api_key])

    def request_body(self, messages: list[dict[str, str]], request_body: dict | None, reask: bool) -> dict:
        """The body an online call would send (client.chat_request_body)."""
        return chat_request_body(self.model, messages, temperature=self.temperature, max_tokens=self.max_tokens,
                                 request_body=request_body, extra_body=self.extra_body,
                                 reask_extra_body=self.reask_extra_body if reask else None)

    async def complete(self, messages: list[dict[str, str]], *, reask: bool = False,
                       extra_body: dict | None = None) -> str:
        """The judge's reply, once the batch holding the request is done; JudgeCallFailed as online."""
        return _content_of(await self._ask(self.request_body(messages, extra_body, reask)))

    async def complete_with_logprobs(self, messages: list[dict[str, str]], *, top_logprobs: int,
                                     extra_body: dict | None = None) -> LogprobReply:
        """As JudgeClient.complete_with_logprobs, through a batch."""
        body = self.request_body(messages, {"logprobs": True, "top_logprobs": top_logprobs, **(extra_body or {})},
                                 False)
        response = await self._ask(body)
        logprobs = response["choices"][0].get("logprobs")
        tokens = logprobs.get("content") if isinstance(logprobs, dict) else None
        return LogprobReply(_content_of(response), tokens if isinstance(tokens, list) else None)

    async def close(self) -> None:
        """Stop waiting (batches in flight stay in the ledger for a rerun) and close the connections."""
        if self._flusher is not None:
            self._flusher.cancel()
            await asyncio.gather(self._flusher, return_exceptions=True)
        await self._client.close()
        await self._files.close()

    # -- queueing ---------------------------------------------------------------------------------
    async def _ask(self, body: dict) -> dict:
        """The chat.completion object answering `body`: from the ledger, a batch in flight or a new one."""
        task = asyncio.current_task()
        if task is not None and task not in self._live:
            self._live.add(task)
            task.add_done_callback(self._task_done)
        request = _Request(body, request_hash(body), asyncio.get_running_loop().create_future())
        saved = self._saved_reply(request.hash)
        if saved is not None:
            count_call(saved.get("usage"))
            return saved
        self._attach_or_queue(request)
        if self._flusher is None:
            self._flusher = asyncio.ensure_future(self._flush_loop())
        if task is not None:
            self._waiting[task] = self._waiting.get(task, 0) + 1
        self._changed.set()
        try:
            response = await request.future
            count_call(response.get("usage"))  # in the judging task: the judgment's own tally
            return response
        finally:
            if task is not None:
                self._waiting[task] -= 1
                if not self._waiting[task]:
                    del self._waiting[task]

    def _task_done(self, task: asyncio.Task) -> None:
        self._live.discard(task)
        self._changed.set()

    def _index_ledger(self) -> None:
        """Index the earlier runs' lines not handed out yet by request hash: finished batches' replies
        (`_saved`) and lines of batches in flight (`_in_flight`)."""
        self._saved: dict[str, list[tuple[str, str]]] = {}
        self._in_flight: dict[str, list[tuple[str, str]]] = {}
        for batch in self.ledger.batches.values():
            table = self._saved if batch.finished else self._in_flight
            for custom_id, hash_ in batch.lines.items():
                if custom_id not in self.ledger.consumed and custom_id not in self._claimed:
                    table.setdefault(hash_, []).append((batch.batch_id, custom_id))

    def _saved_reply(self, hash_: str) -> dict | None:
        """A reply of an earlier run's finished batch to the same request, not yet handed out (consumed)."""
        candidates = self._saved.get(hash_, [])
        while candidates:
            batch_id, custom_id = candidates.pop(0)
            if batch_id not in self._results:
                self._results[batch_id] = self.ledger.results(batch_id)
            outcome = self._results[batch_id].get(custom_id, {})
            if "body" in outcome and _reply_ok(outcome["body"]):
                self.ledger.consume([custom_id])
                self.usage.add(outcome["body"].get("usage"))
                return outcome["body"]
        return None

    def _attach_or_queue(self, request: _Request) -> None:
        """Wait on a line of a batch in flight with the same request (an earlier run's), else queue it."""
        candidates = self._in_flight.get(request.hash, [])
        if candidates:
            batch_id, custom_id = candidates.pop(0)
            self._claimed.add(custom_id)
            request.custom_id, request.batch_id = custom_id, batch_id
            self._round.attached.setdefault(batch_id, []).append(request)
        else:
            self._queue.append(request)

    def _quiet(self) -> bool:
        """Every task that has used the client is waiting on it (or done)."""
        return all(task in self._waiting for task in self._live if not task.done())

    async def _flush_loop(self) -> None:
        while True:
            await self._changed.wait()
            self._changed.clear()
            for _ in range(3):  # let every coroutine that is ready run up to its next request
                await asyncio.sleep(0)
            if self._changed.is_set() or not self._quiet():
                continue
            if not (self._queue or self._round.attached):
                continue
            try:
                await self._run_round()
            except (JudgeCallFailed, JudgeEndpointRefused) as err:
                self._fail_all(err)
            except Exception as err:  # noqa: BLE001  (anything else: the waiting calls fail, counted)
                self._fail_all(JudgeCallFailed("api", self._detail(f"batch error ({type(err).__name__})", str(err))))
            self._changed.set()

    def _fail_all(self, error: Exception) -> None:
        waiting = self._queue + [r for group in self._round.attached.values() for r in group]
        self._queue, self._round = [], _Round()
        _fail(waiting, error)

    # -- one round: submit, wait, resolve ---------------------------------------------------------
    async def _run_round(self) -> None:
        """Submit the queue, wait for every batch this round's requests wait on, resolve them; a request
        whose batch could not be created or read fails (its batch, if created, stays in the ledger)."""
        await self._rescue_uploads()
        queue, self._queue = self._queue, []
        try:
            for chunk in self._chunks(queue):
                await self._submit(chunk)
        except (JudgeCallFailed, JudgeEndpointRefused) as err:
            _fail([r for r in queue if r.batch_id is None], err)
        attached, self._round = self._round.attached, _Round()
        ends = await asyncio.gather(*(self._finish(batch_id, requests) for batch_id, requests in attached.items()),
                                    return_exceptions=True)
        for requests, end in zip(attached.values(), ends):
            if isinstance(end, BaseException):
                _fail(requests, end if isinstance(end, (JudgeCallFailed, JudgeEndpointRefused)) else JudgeCallFailed(
                    "api", self._detail(f"batch error ({type(end).__name__})", str(end))))
        retried = [r.attempt for r in self._queue]
        if retried:
            await asyncio.sleep(self.retry.delay(max(retried) - 1))

    def _chunks(self, queue: list[_Request]) -> list[list[tuple[_Request, bytes]]]:
        """The queue as input files within the limits, each request with its JSONL line."""
        chunks: list[list[tuple[_Request, bytes]]] = []
        size = 0
        custom_ids = self.ledger.new_custom_ids(len(queue))
        for request, custom_id in zip(queue, custom_ids):
            line = (json.dumps({"custom_id": custom_id, "method": "POST", "url": ENDPOINT, "body": request.body},
                               ensure_ascii=False) + "\n").encode("utf-8")
            if len(line) > self.settings.max_bytes:
                request.future.set_exception(JudgeCallFailed(
                    "api", f"request of {len(line):,} bytes exceeds the batch file limit of {self.settings.max_bytes:,}"))
                continue
            request.custom_id = custom_id
            if not chunks or len(chunks[-1]) >= self.settings.max_requests or size + len(line) > self.settings.max_bytes:
                chunks.append([])
                size = 0
            chunks[-1].append((request, line))
            size += len(line)
        return chunks

    async def _submit(self, chunk: list[tuple[_Request, bytes]]) -> None:
        """Upload one input file and create its batch, each recorded in the ledger as soon as it exists."""
        lines = {request.custom_id: request.hash for request, _ in chunk}
        data = b"".join(line for _, line in chunk)
        uploaded = await self._api("upload the batch file", lambda: self._client.files.create(
            file=("evalsuite-judge-batch.jsonl", data, "application/jsonl"), purpose="batch"))
        self.ledger.uploaded(uploaded.id, lines)
        batch = await self._api("create the batch", lambda: self._client.batches.create(
            input_file_id=uploaded.id, endpoint=ENDPOINT, completion_window=COMPLETION_WINDOW,
            metadata={"evalsuite": "judge"}))
        self.ledger.created(batch.id, uploaded.id, lines)
        self.batches_created += 1
        self._submitted.add(batch.id)
        _say(f"judge batch {batch.id}: {len(chunk):,} requests submitted (recorded in {self.ledger.path})")
        self.calls += len(chunk)
        for request, _ in chunk:
            request.batch_id = batch.id
            self._claimed.add(request.custom_id)
        self._round.attached.setdefault(batch.id, []).extend(request for request, _ in chunk)

    async def _rescue_uploads(self) -> None:
        """An upload without a recorded batch (a run killed while creating it): find the batch made from
        it, if any, so that its lines are not paid for twice (once per client)."""
        if self._rescued or not self.ledger.uploads:
            return
        self._rescued = True
        pending = dict(self.ledger.uploads)
        try:
            page = await self._api("list batches", lambda: self._client.batches.list(limit=100))
        except (JudgeCallFailed, JudgeEndpointRefused):
            return  # an endpoint without the list: nothing to rescue from
        for batch in page.data:
            if batch.input_file_id in pending:
                self.ledger.created(batch.id, batch.input_file_id, pending.pop(batch.input_file_id))
                _say(f"judge batch {batch.id}: found (created by a run killed before recording it)")
        # the rescued batches' lines are now in the ledger: requests of this round may wait on them
        self._index_ledger()
        queue, self._queue = self._queue, []
        for request in queue:
            self._attach_or_queue(request)

    async def _finish(self, batch_id: str, requests: list[_Request]) -> None:
        """Wait for a batch to end, save its line outcomes, and resolve (or requeue) its requests."""
        batch = self.ledger.batches[batch_id]
        if not batch.finished:
            if batch_id not in self._submitted:
                _say(f"judge batch {batch_id}: re-attached (submitted by an earlier run), waiting for it")
            status, results = await self._wait_and_read(batch)
            self.ledger.finished(batch_id, status, results)
            answered = sum("body" in r for r in results.values())
            _say(f"judge batch {batch_id}: {status}, {answered:,} of {len(batch.lines):,} requests answered")
        results = self.ledger.results(batch_id)
        consumed = []
        for request in requests:
            if request.future.done():  # its coroutine was cancelled: the reply stays unconsumed for a rerun
                continue
            outcome = results.get(request.custom_id) or {"missing": True}
            failure = self._failure(batch, outcome)
            if failure is None:
                self.usage.add(outcome["body"].get("usage"))
                consumed.append(request.custom_id)
                request.future.set_result(outcome["body"])
            elif failure.refused:
                request.future.set_exception(JudgeEndpointRefused(
                    f"judge endpoint refused a batch request ({failure.detail}): check --judge_model, "
                    "--judge_base_url and OPENAI_API_KEY"))
            elif failure.retryable and request.attempt < self.retry.max_retries:
                request.attempt += 1
                request.custom_id = request.batch_id = None
                self.retries += 1
                self._queue.append(request)
            else:
                suffix = f" (after {self.retry.max_retries} retries)" if failure.retryable else ""
                request.future.set_exception(JudgeCallFailed(failure.kind, self.scrub(failure.detail) + suffix))
        self.ledger.consume(consumed)

    def _failure(self, batch: LedgerBatch, outcome: dict) -> _Failure | None:
        """None for a usable reply; else how the line failed (as the online client counts it)."""
        if "body" in outcome:
            return None if _reply_ok(outcome["body"]) else _Failure("api", "malformed response: no text reply")
        status = outcome.get("status")
        detail = str(outcome.get("detail", ""))
        if outcome.get("missing"):
            if batch.status == "expired":
                return _Failure("timeout", "timeout: the batch expired before this request was answered")
            return _Failure("api", f"batch {batch.status}: the request is missing from its output")
        if outcome.get("code") == "batch_expired" or (status is None and batch.status == "expired"):
            return _Failure("timeout", f"timeout: the batch expired ({detail})")
        if isinstance(status, int) and status in REFUSING_STATUS:
            return _Failure("api", f"HTTP {status}: {detail}", retryable=False, refused=True)
        if isinstance(status, int) and 400 <= status < 500 and status not in RETRYABLE_STATUS:
            return _Failure("api", f"HTTP {status}: {detail}", retryable=False)
        what = f"HTTP {status}" if isinstance(status, int) else f"batch {batch.status}"
        return _Failure("api", f"{what}: {detail}")

    async def _wait_and_read(self, batch: LedgerBatch) -> tuple[str, dict[str, dict]]:
        """Poll until the batch ends (backoff from poll_s to poll_cap_s), then read its files."""
        delay = self.settings.poll_s
        while True:
            remote = await self._api("look at the batch", lambda: self._client.batches.retrieve(batch.batch_id))
            if remote.status in TERMINAL:
                break
            await asyncio.sleep(delay)
            delay = min(self.settings.poll_cap_s, delay * 2)
        results: dict[str, dict] = {}
        for file_id in (remote.error_file_id, remote.output_file_id):  # a reply wins over an error line
            if file_id:
                results.update(await self._read_file(file_id, batch.lines))
        if remote.status == "failed" and not results:
            errors = remote.errors.data if remote.errors and remote.errors.data else []
            why = "; ".join(f"{e.code}: {e.message}" for e in errors[:3]) or "no reason given"
            results = {c: {"status": None, "detail": scrubbed_detail(why, [self._api_key])} for c in batch.lines}
        return str(remote.status), results

    async def _read_file(self, file_id: str, lines: dict[str, str]) -> dict[str, dict]:
        """The outcomes of a batch's output or error file: streamed to disk (up to MAX_FILE_BYTES), read line
        by line, each line at most a reply's cap (a longer one counts as missing); lines of other custom_ids
        are ignored."""
        limit = MAX_FILE_BYTES  # on disk, not in memory: only a line is read at a time
        handle, name = tempfile.mkstemp(dir=self.ledger.folder, prefix=".download-")
        try:
            with os.fdopen(handle, "wb") as out:
                async def download() -> None:
                    out.seek(0)
                    out.truncate()
                    started = time.monotonic()
                    async with self._files.files.with_streaming_response.content(file_id) as response:
                        received = 0
                        async for chunk in response.iter_bytes():
                            received += len(chunk)
                            if received > limit:
                                raise ReplyRefused(f"batch file larger than {limit:,} bytes")
                            out.write(chunk)
                            # no deadline for the whole file (it may be large), but no drip either: past
                            # the request timeout it must keep coming at MIN_DOWNLOAD_RATE on average
                            elapsed = time.monotonic() - started
                            if elapsed > self.timeout_s and received < elapsed * MIN_DOWNLOAD_RATE:
                                raise TimeoutError
                await self._api("download a batch file", download)
            results: dict[str, dict] = {}
            with open(name, "rb") as source:
                for raw in _bounded_lines(source, self.max_reply_bytes + LINE_OVERHEAD_BYTES):
                    custom_id, outcome = self._outcome(raw)
                    if custom_id in lines:
                        results[custom_id] = outcome
            return results
        finally:
            Path(name).unlink(missing_ok=True)

    def _outcome(self, raw: bytes | None) -> tuple[str | None, dict]:
        """(custom_id, outcome) of one output/error line: {"body": chat.completion} or a failure."""
        if raw is None:
            return None, {}
        try:
            line = decode_reply(raw, self._api_key)
        except ValueError:
            return None, {}
        if not isinstance(line, dict) or not isinstance(line.get("custom_id"), str):
            return None, {}
        response, error = line.get("response"), line.get("error")
        status = response.get("status_code") if isinstance(response, dict) else None
        body = response.get("body") if isinstance(response, dict) else None
        if status == 200 and isinstance(body, dict) and not error:
            return line["custom_id"], {"body": body}
        message = ""
        if isinstance(error, dict):
            message = f"{error.get('code')}: {error.get('message')}"
        elif isinstance(body, dict) and isinstance(body.get("error"), dict):
            message = str(body["error"].get("message"))
        code = error.get("code") if isinstance(error, dict) else None
        return line["custom_id"], {"status": status if isinstance(status, int) else None,
                                   "code": code if isinstance(code, str) else None,
                                   "detail": scrubbed_detail(message, [self._api_key])}

    # -- the management calls -----------------------------------------------------------------------
    def _detail(self, what: str, text: str) -> str:
        return f"{what}: {scrubbed_detail(text, [self._api_key])}"

    async def _api(self, what: str, call: Callable[[], Awaitable[T]]) -> T:
        """One Files/Batches call under the request deadline, retried as online on 429/5xx/timeouts/
        connection errors; the key refused is JudgeEndpointRefused, other failures JudgeCallFailed."""
        last_kind, last_detail = "api", ""
        for attempt in range(self.retry.max_retries + 1):
            retry_after = None
            try:
                async with asyncio.timeout(self.timeout_s if what != "download a batch file" else None):
                    return await call()
            except (openai.AuthenticationError, openai.PermissionDeniedError) as err:
                raise JudgeEndpointRefused(
                    f"judge endpoint refused to {what} ({err.status_code}): check --judge_base_url and OPENAI_API_KEY "
                    "(the Batch API needs /v1/files and /v1/batches)") from None
            except (TimeoutError, openai.APITimeoutError):
                last_kind, last_detail = "timeout", f"timeout: could not {what} within {self.timeout_s:g} s"
            except openai.APIConnectionError as err:
                last_kind, last_detail = "api", self._detail(f"{what}: connection error", str(err))
            except openai.APIStatusError as err:
                last_kind, last_detail = "api", self._detail(f"{what}: HTTP {err.status_code}", str(err))
                if err.status_code < 500 and err.status_code not in RETRYABLE_STATUS:
                    raise JudgeCallFailed("api", last_detail) from None
                retry_after = _retry_after(err)
            except ReplyRefused as err:
                last_kind, last_detail = "api", self._detail(f"{what}: reply refused", str(err))
            except Exception as err:  # noqa: BLE001  (a malformed reply: a counted failure)
                last_kind, last_detail = "api", self._detail(f"{what}: malformed response ({type(err).__name__})",
                                                             str(err))
            if attempt < self.retry.max_retries:
                await asyncio.sleep(self.retry.delay(attempt, retry_after))
        raise JudgeCallFailed(last_kind, f"{last_detail} (after {self.retry.max_retries} retries)")


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _fail(requests: list[_Request], error: BaseException) -> None:
    for request in requests:
        if not request.future.done():
            request.future.set_exception(error)


def _reply_ok(body: object) -> bool:
    try:
        _content_of(body)
    except Exception:  # noqa: BLE001  (_content_of's garbage)
        return False
    return True


def _bounded_lines(source, limit: int):
    """The lines of a binary file, None for a line longer than `limit` (skipped without reading it whole)."""
    while True:
        line = source.readline(limit + 1)
        if not line:
            return
        if len(line) > limit and not line.endswith(b"\n"):
            while (rest := source.readline(limit + 1)) and not rest.endswith(b"\n"):
                pass
            yield None
            continue
        if line.strip():
            yield line


def _openai_client(base_url: str | None, api_key: str | None, timeout_s: float, limit: int) -> openai.AsyncOpenAI:
    """An OpenAI client that reads at most `limit` bytes of a reply and follows no redirect."""
    http_client = openai.DefaultAsyncHttpxClient(
        timeout=timeout_s, follow_redirects=False, event_hooks={"response": [bounded_reply_hook(limit)]})
    return openai.AsyncOpenAI(base_url=base_url, api_key=api_key, timeout=timeout_s, max_retries=0,
                              http_client=http_client, default_headers={"Accept-Encoding": "identity"})
