"""Tokens the judge reports having used (the `usage` object of each chat completion), and their cost."""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Iterator

from evalsuite.errors import BadInputError
from evalsuite.judging.prices import load_prices


@dataclass
class TokenUsage:
    """Prompt and completion tokens summed over the judge calls that reported a `usage` object."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    calls: int = 0  # answered calls that reported usage

    def add(self, usage: object) -> None:
        """Count one answered call's `usage` ({prompt_tokens, completion_tokens, ...}); anything else is
        left out (an endpoint may send none, or junk: counts are non-negative integers or nothing)."""
        if not isinstance(usage, dict):
            return
        prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
        if not all(isinstance(n, int) and not isinstance(n, bool) and 0 <= n < 1 << 40 for n in (prompt, completion)):
            return
        self.prompt_tokens += prompt
        self.completion_tokens += completion
        self.calls += 1

    def add_counts(self, other: "TokenUsage") -> None:
        """Add another tally (a judgment's calls) to this one."""
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens
        self.calls += other.calls

    def record(self, price: tuple[float, float] | None, prices_as_of: str | None) -> dict:
        """The result's record: tokens, and dollars at `price` ((prompt, output) per million) or null."""
        cost = None if price is None else round((self.prompt_tokens * price[0]
                                                 + self.completion_tokens * price[1]) / 1e6, 6)
        return {"calls_with_usage": self.calls, "prompt_tokens": self.prompt_tokens,
                "completion_tokens": self.completion_tokens, "cost_usd": cost, "prices_as_of": prices_as_of}


def usage_record(rows: list[dict], judge_model: str) -> dict:
    """The tokens the judge calls of a result's judgments used (their usage rows: per mode, calls,
    prompt and completion tokens) and their cost by the run's price table (judges/prices.yaml or
    $EVALSUITE_JUDGE_PRICES; batch tokens at the table's batch price, else half); no dollars when the
    table has no price for the judge."""
    by_mode: dict[str, TokenUsage] = {}
    for row in rows:
        for mode, counts in (row.get("by_mode") or {}).items():
            by_mode.setdefault(str(mode), TokenUsage()).add_counts(
                TokenUsage(int(counts["prompt_tokens"]), int(counts["completion_tokens"]), int(counts["calls"])))
    total = TokenUsage()
    for tally in by_mode.values():
        total.add_counts(tally)
    try:
        prices = load_prices(None)
    except BadInputError:
        return total.record(None, None)
    costs = [tally.record(prices.price(judge_model, batch=mode == "batch"), None)["cost_usd"]
             for mode, tally in by_mode.items()]
    record = total.record(None, prices.as_of)
    record["cost_usd"] = None if None in costs else round(sum(costs), 6)
    return record


# The tally of the judgment being made in this asyncio task (judge_all sets one per judgment): every
# client counts each answered call into it, in the task that awaited the call.
_JUDGMENT_USAGE: ContextVar[TokenUsage | None] = ContextVar("judgment_usage", default=None)


@contextmanager
def judgment_usage() -> Iterator[TokenUsage]:
    """The tokens of the judge calls made inside the block (this task's), as they are answered."""
    tally = TokenUsage()
    token = _JUDGMENT_USAGE.set(tally)
    try:
        yield tally
    finally:
        _JUDGMENT_USAGE.reset(token)


def count_call(usage: object) -> None:
    """Count one answered call's `usage` into the current judgment's tally (outside one: nothing)."""
    tally = _JUDGMENT_USAGE.get()
    if tally is not None:
        tally.add(usage)
