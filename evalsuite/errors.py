"""Error types the CLI turns into one clear line and an exit code, and how such a line is made safe to print."""

from __future__ import annotations

from typing import Iterator


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
