"""Ratings out of judge replies: FastChat's patterns first, then the definition's extra forms."""

from __future__ import annotations

import ast
import re
from typing import Iterable


def parse_rating(
    reply: str | None, patterns: Iterable[re.Pattern], rating_range: tuple[float, float]
) -> float | None:
    """The rating of a judge reply, or None when no pattern matches an in-range number.

    As FastChat: the first pattern with a match wins (re.search, first occurrence), and its
    number is read with ast.literal_eval ("8" -> 8, "8.5" -> 8.5).
    """
    if not reply:
        return None
    low, high = rating_range
    for pattern in patterns:
        match = pattern.search(reply)
        if not match:
            continue
        try:
            value = ast.literal_eval(match.group(1))
        except (ValueError, SyntaxError):
            return None
        if not isinstance(value, (int, float)) or not low <= value <= high:
            return None
        return float(value)
    return None
