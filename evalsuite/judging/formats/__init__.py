"""Judged formats: how a judged benchmark is asked, read and scored, one module each.

A judge definition (judges/<benchmark>.yaml) names its format (`format: fastchat_single`). Every
module of this package that defines a module-level `FORMAT` (a `JudgeFormat`, evalsuite/judging/core.py)
is discovered and registered under `FORMAT.name`; adding a format is adding a module here, with no
registration step and no branch on a benchmark name elsewhere. The core drives a format; see
docs/architecture.md.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import lru_cache

from evalsuite.errors import BadInputError
from evalsuite.judging.core import JudgeFormat, Languages, Summary

__all__ = ["JudgeFormat", "Languages", "Summary", "get_format", "registry"]


@lru_cache(maxsize=1)
def registry() -> dict[str, JudgeFormat]:
    """Every format of this package, by name."""
    formats: dict[str, JudgeFormat] = {}
    for module_info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        judge_format = getattr(module, "FORMAT", None)
        if isinstance(judge_format, JudgeFormat):
            formats[judge_format.name] = judge_format
    return formats


def get_format(name: str) -> JudgeFormat:
    """The format called `name`; BadInputError naming the known ones."""
    formats = registry()
    if name not in formats:
        raise BadInputError(f"unknown judge format '{name}' (known: {', '.join(sorted(formats))})")
    return formats[name]
