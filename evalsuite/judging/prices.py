"""Judge prices: a dated table kept as data (judges/prices.yaml; --judge_prices FILE or
$EVALSUITE_JUDGE_PRICES points at another), with the Batch API's prices (listed, else half)."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from evalsuite import REPO_ROOT
from evalsuite.errors import BadInputError

DEFAULT_PRICES = REPO_ROOT / "judges" / "prices.yaml"
PRICES_ENV = "EVALSUITE_JUDGE_PRICES"
BATCH_DISCOUNT = 0.5  # the Batch API's price, where the table lists none: half the standard one


@dataclass(frozen=True)
class PriceTable:
    """Judge prices in dollars per million tokens, as of a date, plus the typical lengths to assume."""

    path: Path
    as_of: str
    source: str
    per_million: dict[str, tuple[float, float]]  # model (or `prefix*`) -> (prompt, output)
    judgment_tokens: dict[str, int]  # judged format -> tokens of one judge reply
    answer_tokens: int  # tokens of one answer turn not generated yet
    batch_per_million: dict[str, tuple[float, float]] = field(default_factory=dict)  # the Batch API's, if listed

    def price(self, model: str, batch: bool = False) -> tuple[float, float] | None:
        """(prompt, output) dollars per million tokens of `model`, or None when the table has none; with
        `batch`, the Batch API's price: the table's `batch_per_million_tokens`, else half the standard."""
        if batch and (listed := _lookup(self.batch_per_million, model)) is not None:
            return listed
        standard = _lookup(self.per_million, model)
        return (standard[0] * BATCH_DISCOUNT, standard[1] * BATCH_DISCOUNT) if batch and standard else standard


def _lookup(table: dict[str, tuple[float, float]], model: str) -> tuple[float, float] | None:
    """The entry of `model`, else of the longest `prefix*` it starts with, else None."""
    if model in table:
        return table[model]
    prefixes = [k for k in table if k.endswith("*") and model.startswith(k[:-1])]
    return table[max(prefixes, key=len)] if prefixes else None


def prices_path(explicit: str | Path | None) -> Path:
    """--judge_prices, else $EVALSUITE_JUDGE_PRICES, else judges/prices.yaml."""
    return Path(explicit or os.environ.get(PRICES_ENV) or DEFAULT_PRICES)


def load_prices(path: str | Path | None = None) -> PriceTable:
    """Read and check a price table; any problem is one BadInputError naming the file."""
    path = prices_path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
        raise BadInputError(f"judge price table {path}: not readable ({err})") from err
    try:
        per_million, batch = ({str(model): (_dollars(pair[0]), _dollars(pair[1]))
                               for model, pair in dict(raw.get(name) or {}).items()}
                              for name in ("per_million_tokens", "batch_per_million_tokens"))
        if "per_million_tokens" not in raw:
            raise KeyError("per_million_tokens")
        typical = raw.get("typical_tokens") or {}
        return PriceTable(path, str(raw["as_of"]), str(raw.get("source", "")), per_million,
                          {str(k): int(v) for k, v in dict(typical.get("judgment") or {}).items()},
                          int(typical.get("answer", 0)), batch)
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as err:
        raise BadInputError(f"judge price table {path}: needs as_of and per_million_tokens: {{model: [prompt, "
                            f"output]}} in dollars ({type(err).__name__}: {err})") from err


def _dollars(value: Any) -> float:
    number = float(value)
    if not math.isfinite(number) or number < 0:
        raise ValueError(f"price {value!r} is not a non-negative number")
    return number
