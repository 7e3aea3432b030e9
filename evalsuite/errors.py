"""Error types the CLI turns into one clear line and an exit code, and how such a line is made safe to
print: control characters replaced (`printable`), credentials scrubbed (`scrub_secrets`, the one
scrubber of text: judge replies and details, served-model errors)."""

from __future__ import annotations

import re
from typing import Iterable, Iterator

KEY_PREFIX_CHARS = 12  # a key cut after this many characters still identifies it
SCRUBBED = "***"
# "Authorization: Bearer sk-..", '"authorization": "sk-.."', "Bearer sk-..": the credential part goes
_AUTHORIZATION = re.compile(r"""(authorization["']?\s*[:=]\s*["']?)(?:bearer\s+)?[^\s"',;}]+""", re.I)
_BEARER = re.compile(r"(bearer\s+)[^\s\"',;}]+", re.I)


class EvalsuiteError(Exception):
    """A failure the user should read as one line (exit code 1)."""

    exit_code = 1


class BadInputError(EvalsuiteError):
    """Bad input: config, task name, CLI argument or data file (exit code 2)."""

    exit_code = 2


_CONTROL = {code: "?" for code in (*range(0x00, 0x09), *range(0x0B, 0x20), *range(0x7F, 0xA0))}


def printable(text: object) -> str:
    """`text` for a terminal: control characters (ANSI escapes, carriage returns, ...) that a server,
    a judge or a file may have put in an error message become "?" (newlines and tabs stay)."""
    return str(text).translate(_CONTROL)


def exception_chain(error: BaseException) -> Iterator[BaseException]:
    """`error`, then its causes (or contexts) in turn, each once."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def scrub_secrets(text: str, secrets: Iterable[str | None] = ()) -> str:
    """`text` without the given secrets (nor any prefix of one of KEY_PREFIX_CHARS or more
    characters) and without any Authorization / Bearer credential."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = scrub_key(text, secret)
    text = _AUTHORIZATION.sub(lambda m: m.group(1) + SCRUBBED, text)
    return _BEARER.sub(lambda m: m.group(1) + SCRUBBED, text)


def scrub_key(text: str, key: str) -> str:
    """`text` with `key` and every run that starts with its first KEY_PREFIX_CHARS characters and
    goes on as the key does (a key cut short) replaced by SCRUBBED."""
    prefix = key[:KEY_PREFIX_CHARS]
    if prefix not in text:
        return text
    pieces, start = [], 0
    while (found := text.find(prefix, start)) != -1:
        end = found + len(prefix)
        while end < len(text) and end - found < len(key) and text[end] == key[end - found]:
            end += 1
        pieces += [text[start:found], SCRUBBED]
        start = end
    pieces.append(text[start:])
    return "".join(pieces)
