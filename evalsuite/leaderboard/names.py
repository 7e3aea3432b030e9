"""Names that come from files (benchmarks, table ids) and become output file names: plain names only."""

from __future__ import annotations

import re
from pathlib import Path

from evalsuite.errors import BadInputError

_PLAIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")


def is_plain_name(name: object) -> bool:
    """A non-empty name of letters, digits, '_', '.' and '-' that starts with a letter or digit (no
    '/', no '..' component, no hidden file)."""
    return isinstance(name, str) and _PLAIN.fullmatch(name) is not None


def output_path(out_dir: Path, folder: str | None, name: str, suffix: str) -> Path:
    """out_dir[/folder]/<name><suffix>, refusing any name that is not plain (BadInputError), so a name
    read from a file never writes outside out_dir."""
    if not is_plain_name(name):
        raise BadInputError(f"{name!r} is not a plain name usable as a file name")
    base = out_dir / folder if folder else out_dir
    return base / f"{name}{suffix}"
