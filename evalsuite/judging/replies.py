"""What the judge client takes from an endpoint it does not trust, and what it writes of it.

- A reply body is read up to MAX_REPLY_BYTES (4 MiB, uncompressed: compressed replies are refused, a
  small gzip can inflate a thousandfold); a larger one, claimed by its Content-Length or streamed, is
  refused at the cap without reading further (`bounded_reply_hook`, an event hook of the HTTP client,
  so error bodies are bounded too).
- A body is decoded as bounded JSON (UTF-8, nesting and integer length bounded); in what is kept,
  non-finite numbers become null, lone surrogates become "?" and the API key is scrubbed from every
  string (`decode_reply`).
- Error details are scrubbed of the key, of any prefix of it of KEY_PREFIX_CHARS or more characters,
  and of Authorization / Bearer values (evalsuite.errors.scrub_secrets) BEFORE they are cut to length
  (`scrubbed_detail`).
"""

from __future__ import annotations

import importlib
import math
from typing import Any, Awaitable, Callable, Iterable

import openai

from evalsuite.errors import scrub_key, scrub_secrets
from evalsuite.results.store import UnreadableFile, loads_bounded

MAX_REPLY_BYTES = 4 * 1024 * 1024
DETAIL_CHARS = 200

# the HTTP library under the installed openai client (httpx, or httpx2 for openai 3)
_HTTP = importlib.import_module(
    next(c for c in openai.DefaultAsyncHttpxClient.__mro__ if c.__name__ == "AsyncClient").__module__.partition(".")[0]
)


class ReplyRefused(Exception):
    """A reply the client does not read (too large, or compressed); `str()` says why."""


class _CappedStream(_HTTP.AsyncByteStream):
    """A response body stream that raises ReplyRefused once more than `limit` bytes arrived."""

    def __init__(self, stream: Any, limit: int):
        self._stream = stream
        self._limit = limit

    async def __aiter__(self):
        received = 0
        async for chunk in self._stream:
            received += len(chunk)
            if received > self._limit:
                raise ReplyRefused(f"reply larger than {self._limit} bytes (the cap)")
            yield chunk

    async def aclose(self) -> None:
        await self._stream.aclose()


def bounded_reply_hook(limit: int = MAX_REPLY_BYTES) -> Callable[[Any], Awaitable[None]]:
    """An HTTP client response hook (it runs before any body byte is read): refuses a compressed
    reply or one whose Content-Length exceeds `limit`, and caps the body stream at `limit` bytes."""

    async def hook(response: Any) -> None:
        encoding = response.headers.get("content-encoding", "").strip().lower()
        if encoding not in ("", "identity"):
            raise ReplyRefused(f"compressed reply refused (content-encoding {encoding[:40]!r})")
        claimed = response.headers.get("content-length", "")
        if len(claimed) > 15 or (claimed.isdigit() and int(claimed) > limit):
            raise ReplyRefused(f"reply of {claimed[:20]} bytes refused (more than the cap of {limit})")
        response.stream = _CappedStream(response.stream, limit)

    return hook


def scrubbed_detail(text: str, secrets: Iterable[str | None], limit: int = DETAIL_CHARS) -> str:
    """An error detail for the judgment files: scrubbed first, then cut to `limit` characters."""
    return scrub_secrets(text, secrets)[:limit]


def decode_reply(body: bytes, key: str | None) -> Any:
    """The JSON value of a reply body, cleaned (see the module docstring); ValueError with a one-line
    reason when it is not bounded JSON."""
    try:
        value = loads_bounded(body)
    except UnreadableFile as err:
        raise ValueError(f"undecodable reply: {err}") from None
    return _cleaned(value, key if key and len(key) >= 4 else None)


def _cleaned(value: Any, key: str | None) -> Any:
    if isinstance(value, str):
        return _clean_text(value, key)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, list):
        return [_cleaned(item, key) for item in value]
    if isinstance(value, dict):
        return {_clean_text(name, key): _cleaned(item, key) for name, item in value.items()}
    return value  # depth is bounded by loads_bounded


def _clean_text(text: str, key: str | None) -> str:
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:  # lone surrogates ("\ud800" in JSON): not writable as UTF-8
            text = text.encode("utf-8", "replace").decode("utf-8")
    return scrub_key(text, key) if key else text
