"""Declared data files (a judged benchmark's `judge.data.files`): found under the data directory, or
fetched once into evalsuite's cache.

Each file spec is {local: its path under --data_dir, url: the official source | hub: {repo, config,
split, revision}, optional: true}. With a data directory (`--data_dir`, else $EVALSUITE_DATA_DIR) the
file is read there; without one it is downloaded once from its URL, or loaded from the pinned Hugging
Face Hub revision through the one Hub loader (evalsuite.data.local.load_from_hub) and kept as parquet
(the layout of the Hub's own files). A missing optional file is None: its reader says what it does
without it.
"""

from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from evalsuite.data.local import load_from_hub, resolve_data_dir
from evalsuite.errors import BadInputError
from evalsuite.results.store import cache_root

DOWNLOAD_TIMEOUT_S = 30


def locate_files(benchmark: str, files: dict[str, dict[str, Any]], source: str,
                 data_dir: Path | str | None) -> tuple[dict[str, Path], dict]:
    """The path of every present data file (under `data_dir`, else $EVALSUITE_DATA_DIR, else fetched
    once into the cache) and the provenance of the set: where it came from and a digest of its bytes."""
    data_dir = resolve_data_dir(data_dir)
    located = {key: _locate(benchmark, key, spec, data_dir) for key, spec in files.items()}
    paths = {key: path for key, path in located.items() if path is not None}
    digest = hashlib.sha256(b"".join(paths[k].read_bytes() for k in sorted(paths))).hexdigest()[:16]
    provenance = {
        "source": "local" if data_dir else "url",
        "path": str(data_dir) if data_dir else source,
        "revision": f"sha256:{digest}",
        "files": {key: str(path) for key, path in paths.items()},
    }
    return paths, provenance


def _locate(benchmark: str, key: str, spec: dict[str, Any], data_dir: Path | None) -> Path | None:
    """A data file's path; None for a missing file its spec marks `optional: true`."""
    optional = bool(spec.get("optional"))
    if data_dir is not None:
        path = data_dir / spec["local"]
        if path.is_file():
            return path
        if optional:
            return None
        raise BadInputError(f"{benchmark}: {path} is missing (--data_dir layout: {spec['local']})")
    target = cache_root() / "data" / spec["local"]
    if target.is_file():
        return target
    try:
        if spec.get("hub"):
            return _fetch_hub(spec["hub"], target, spec["local"])
        if not spec.get("url"):
            raise BadInputError(f"{benchmark}: {spec['local']} has no URL; pass --data_dir DIR holding it")
        return _download(spec["url"], target, benchmark, spec["local"])
    except BadInputError:
        if optional:
            return None
        raise


def _fetch_hub(hub: dict, target: Path, local: str) -> Path:
    """One split of a Hub dataset at its pinned revision, kept as parquet at `target`."""
    split = str(hub["split"])
    rows = load_from_hub(str(hub["repo"]), hub.get("config"), local, revision=str(hub["revision"]), split=split)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.part")
    rows[split].to_parquet(str(tmp))
    os.replace(tmp, target)
    return target


def _download(url: str, target: Path, benchmark: str, local: str) -> Path:
    try:
        with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as response:
            payload = response.read()
    except (urllib.error.URLError, OSError, ValueError) as err:
        raise BadInputError(
            f"{benchmark}: cannot download {url} ({err}); pass --data_dir DIR holding {local}"
        ) from err
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.part")
    tmp.write_bytes(payload)
    os.replace(tmp, target)
    return target
