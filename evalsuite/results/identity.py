"""Which result file a run reads and writes: a result's identity is what makes it comparable, and a
result of another identity is never overwritten.

A (model folder, benchmark) holds `<benchmark>.json` (the first result written there) and, for every
other protocol, `<benchmark>.<identity>.json`: the identity is a short hash of the protocol block (shots,
output, chat template, metric, limit, generation overrides, judge, ...), the model type and the model
arguments (revision included), leaving out arguments that only change how requests are executed;
each result records it (`identity`).
The per-sample log and a judged benchmark's working folder take the result file's stem:
`samples/<stem>.jsonl`, `<stem>/`."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from evalsuite.errors import BadInputError
from evalsuite.results.schema import load_result
from evalsuite.results.store import result_path

IDENTITY_CHARS = 8
# Model arguments that change how requests are executed, never what a request returns: a rerun that
# changes only these resumes and replaces the same result (no new identity).
EXECUTION_ARGS = frozenset({
    "batch_size", "max_batch_size", "device", "num_concurrent", "max_retries", "timeout",
    "parallelize", "tensor_parallel_size", "data_parallel_size", "pipeline_parallel_size",
    "gpu_memory_utilization", "swap_space", "max_memory_per_gpu", "max_cpu_memory", "offload_folder",
    "prefix_cache_mb", "verify_certificate", "ca_cert_path",
})


def output_args(args: dict) -> dict:
    """The model arguments that can change what the model returns (EXECUTION_ARGS left out)."""
    return {k: v for k, v in (args or {}).items() if k not in EXECUTION_ARGS}


def result_identity(protocol: dict, model: dict) -> str:
    """Short hash of what makes a result comparable: its protocol, model type and model arguments."""
    args = output_args(model.get("args") or {})
    key = json.dumps({"protocol": protocol, "model_type": model.get("type"), "model_args": args},
                     sort_keys=True, ensure_ascii=True, default=str)
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:IDENTITY_CHARS]


def identity_of(result: dict) -> str:
    """The identity of a stored result: the one it records (its protocol may have been amended after
    the run was planned, e.g. a judged score that fell back to another metric), else recomputed."""
    recorded = result.get("identity")
    if isinstance(recorded, str) and re.fullmatch(f"[0-9a-f]{{{IDENTITY_CHARS}}}", recorded):
        return recorded
    return result_identity(result.get("protocol") or {}, result.get("model") or {})


def _readable(path: Path) -> dict | None:
    if not path.is_file():
        return None
    try:
        return load_result(path)
    except BadInputError:
        return None  # a damaged result is recomputed, not trusted


def locate_result(output_path: str | Path, slug: str, benchmark: str, identity: str) -> tuple[Path, dict | None]:
    """The result file of (model folder, benchmark) with this identity, and its stored result when it
    exists (else None: the path is where a new result goes). The plain `<benchmark>.json` is used when
    it is free (absent or unreadable) or holds this identity; otherwise `<benchmark>.<identity>.json`."""
    plain = result_path(output_path, slug, benchmark)
    keyed = plain.with_name(f"{benchmark}.{identity}.json")
    stored = _readable(keyed)
    if stored is not None and identity_of(stored) == identity:
        return keyed, stored
    stored = _readable(plain)
    if stored is None:
        return plain, None
    if identity_of(stored) == identity:
        return plain, stored
    return keyed, None


def samples_file(result_file: Path) -> Path:
    """The per-sample log beside a result file: samples/<stem>.jsonl."""
    return result_file.parent / "samples" / f"{result_file.stem}.jsonl"


def work_folder(result_file: Path) -> Path:
    """A judged benchmark's working folder (answers, judgments, caches, lock) of a result file: <stem>/."""
    return result_file.parent / result_file.stem
