"""The result JSON (docs/architecture.md, "Results"): building, validating and comparing protocols."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from evalsuite.errors import BadInputError

SCHEMA_VERSION = 1

REQUIRED_FIELDS: dict[str, type | tuple[type, ...]] = {
    "schema_version": int,
    "benchmark": str,
    "model": dict,
    "protocol": dict,
    "score": (int, float),
    "metrics": dict,
    "subscores": dict,
    "n": int,
    "failures": dict,
    "provenance": dict,
}

# Model arguments that are credentials, by exact name (case-insensitive): never a name that merely
# contains "token" (tokenizer, tokenized_requests and max_tokens are recorded and compared on resume).
CREDENTIAL_KEYS = frozenset({
    "api_key", "apikey", "openai_api_key", "key", "token", "hf_token", "access_token", "auth_token",
    "use_auth_token", "authorization", "bearer", "password", "secret", "client_secret",
})


def validate_result(result: Any) -> list[str]:
    """Return the problems of a result object (an empty list means valid)."""
    if not isinstance(result, dict):
        return ["result is not a JSON object"]
    problems = []
    for field, kind in REQUIRED_FIELDS.items():
        if field not in result:
            problems.append(f"missing field '{field}'")
        elif not isinstance(result[field], kind) or isinstance(result[field], bool):
            problems.append(f"field '{field}' has type {type(result[field]).__name__}")
    if not problems and result["schema_version"] != SCHEMA_VERSION:
        problems.append(f"schema_version {result['schema_version']} is not {SCHEMA_VERSION}")
    if not problems and "name" not in result["model"]:
        problems.append("model.name is missing")
    return problems


def load_result(path: str | Path) -> dict:
    """Read and validate a result file; BadInputError names the file and the first problem."""
    path = Path(path)
    try:
        result = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as err:  # ValueError: bad JSON, bad UTF-8, a huge integer
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise BadInputError(f"{path}: not a readable result file ({reason[:200]})") from err
    problems = validate_result(result)
    if problems:
        raise BadInputError(f"{path}: not an evalsuite result ({problems[0]})")
    return result


def drop_credentials(args: dict[str, Any]) -> dict[str, Any]:
    """Drop the model arguments that are credentials (CREDENTIAL_KEYS) before they are written anywhere."""
    return {key: value for key, value in args.items() if key.lower() not in CREDENTIAL_KEYS}


def build_result(
    *,
    benchmark: str,
    model: dict,
    protocol: dict,
    score: float,
    metrics: dict,
    subscores: dict,
    n: int,
    failures: dict | None,
    provenance: dict,
    samples: str | None,
    identity: str | None = None,
) -> dict:
    """Assemble a result object in the schema's key order; secrets are dropped from model args.
    `identity` (evalsuite.results.identity) is the short hash its file name is keyed by."""
    model = dict(model)
    model["args"] = drop_credentials(model.get("args") or {})
    return {
        "schema_version": SCHEMA_VERSION,
        "benchmark": benchmark,
        "model": model,
        "protocol": protocol,
        **({"identity": identity} if identity else {}),
        "score": score,
        "metrics": metrics,
        "subscores": subscores,
        "n": n,
        "failures": {"parse": 0, "api": 0, "timeout": 0, **(failures or {})},
        "provenance": provenance,
        "samples": samples,
    }
