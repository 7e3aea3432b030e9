"""Tokens the judge reports having used (the `usage` object of each chat completion), and their cost."""

from __future__ import annotations

from dataclasses import dataclass

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

    def record(self, price: tuple[float, float] | None, prices_as_of: str | None) -> dict:
        """The result's record: tokens, and dollars at `price` ((prompt, output) per million) or null."""
        cost = None if price is None else round((self.prompt_tokens * price[0]
                                                 + self.completion_tokens * price[1]) / 1e6, 6)
        return {"calls_with_usage": self.calls, "prompt_tokens": self.prompt_tokens,
                "completion_tokens": self.completion_tokens, "cost_usd": cost, "prices_as_of": prices_as_of}


def usage_record(usage: TokenUsage, judge_model: str, mode: str) -> dict:
    """`usage.record` priced by the run's price table (judges/prices.yaml or $EVALSUITE_JUDGE_PRICES) for
    `mode` ("batch": the table's batch price, else half); no dollars when the table has no price."""
    try:
        prices = load_prices(None)
    except BadInputError:
        return usage.record(None, None)
    return usage.record(prices.price(judge_model, batch=mode == "batch"), prices.as_of)
