"""Async client for any OpenAI-compatible judge: bounded concurrency, backoff with jitter, retry cap."""

from __future__ import annotations

import asyncio
import json
import random
from dataclasses import dataclass

import openai

from evalsuite.errors import EvalsuiteError

RETRYABLE_STATUS = {408, 409, 425, 429}


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
        backoff = min(self.cap_s, self.base_s * (2 ** attempt)) * random.uniform(0.5, 1.0)
        if retry_after is not None:
            return min(self.cap_s, max(backoff, retry_after))
        return backoff


class JudgeClient:
    """Chat completions against one judge model; `complete` returns the reply text."""

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
    ):
        self.model = model
        self.reask_extra_body = reask_extra_body
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.retry = retry
        self._semaphore = asyncio.Semaphore(max(1, concurrency))
        self._client = openai.AsyncOpenAI(
            base_url=base_url, api_key=api_key, timeout=timeout_s, max_retries=0
        )
        self.calls = 0
        self.retries = 0

    async def close(self) -> None:
        """Close the HTTP connections."""
        await self._client.close()

    async def complete(self, messages: list[dict[str, str]], *, reask: bool = False) -> str:
        """The judge's reply; retries 429/5xx/timeouts/connection errors/garbage, then JudgeCallFailed.

        A re-ask carries `reask_extra_body` (the embedded judge's rating grammar), if any.
        """
        extra_body = self.reask_extra_body if reask else None
        payload = {"model": self.model, "messages": messages, "n": 1,
                   "temperature": self.temperature, "max_tokens": self.max_tokens}
        last_kind, last_detail = "api", ""
        for attempt in range(self.retry.max_retries + 1):
            retry_after = None
            try:
                async with self._semaphore:
                    self.calls += 1
                    # POST /chat/completions through the client (auth, errors, timeouts) with a
                    # plain JSON body and reply: the typed create() costs ~3 ms of CPU per call.
                    response = await self._client.post(
                        "/chat/completions", body={**payload, **(extra_body or {})}, cast_to=object
                    )
                return _content_of(response)
            except (openai.AuthenticationError, openai.PermissionDeniedError, openai.NotFoundError) as err:
                raise JudgeEndpointRefused(
                    f"judge endpoint refused the request ({err.status_code}): check --judge_model, "
                    "--judge_base_url and OPENAI_API_KEY"
                ) from err
            except openai.APITimeoutError as err:
                last_kind, last_detail = "timeout", f"timeout: {err}"
            except openai.APIConnectionError as err:
                last_kind, last_detail = "api", f"connection error: {err}"
            except openai.APIStatusError as err:
                last_kind, last_detail = "api", f"HTTP {err.status_code}: {str(err)[:200]}"
                if err.status_code < 500 and err.status_code not in RETRYABLE_STATUS:
                    raise JudgeCallFailed("api", last_detail) from err
                retry_after = _retry_after(err)
            except (openai.APIResponseValidationError, _GarbageResponse, json.JSONDecodeError,
                    ValueError, TypeError, AttributeError) as err:
                last_kind, last_detail = "api", f"malformed response: {str(err)[:200]}"
            if attempt < self.retry.max_retries:
                self.retries += 1
                await asyncio.sleep(self.retry.delay(attempt, retry_after))
        raise JudgeCallFailed(last_kind, f"{last_detail} (after {self.retry.max_retries} retries)")


def _content_of(response) -> str:
    """The reply text of a chat.completion JSON object; _GarbageResponse for anything else."""
    try:
        content = response["choices"][0]["message"]["content"]
    except (TypeError, KeyError, IndexError) as err:
        raise _GarbageResponse(f"not a chat completion: {str(response)[:120]!r}") from err
    if not isinstance(content, str):
        raise _GarbageResponse("choice without text content")
    return content


def _retry_after(err: openai.APIStatusError) -> float | None:
    try:
        value = err.response.headers.get("retry-after")
        return float(value) if value is not None else None
    except (AttributeError, ValueError, TypeError):
        return None
