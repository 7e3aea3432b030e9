"""Judged formats: how a judged benchmark is asked, read and scored, one module each.

The generic formats live here: every module of this package that defines a module-level `FORMAT` (a
`JudgeFormat`, evalsuite/judging/core.py) is discovered and registered under `FORMAT.name`; a judge
definition names one (`format: fastchat_single`). A format that only one benchmark uses lives beside
that benchmark's definition, as a Python file the definition names (`format_module: logickor/format.py`,
relative to the definition's folder); it is loaded by `load_format_module` and registered the same way.
Adding a format is adding a module, with no registration step and no branch on a benchmark name
elsewhere. The core drives a format; see docs/architecture.md.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import lru_cache
from pathlib import Path
from types import ModuleType

from evalsuite.declarations import import_file
from evalsuite.errors import BadInputError
from evalsuite.judging.core import JudgeFormat, Languages, Summary

__all__ = ["JudgeFormat", "Languages", "Summary", "get_format", "load_format_module", "registry"]

_FROM_FILES: dict[str, JudgeFormat] = {}  # formats of benchmark folders, by name (load_format_module)


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


def load_format_module(path: Path) -> ModuleType:
    """A benchmark's own format module (a .py file beside its declaration defining `FORMAT`), imported
    once (`declarations.import_file`) and its format registered under `FORMAT.name`; BadInputError when
    it is missing, fails to import, has no FORMAT or reuses the name of another format."""
    module = import_file(path, "the judge format module")
    judge_format = getattr(module, "FORMAT", None)
    if not isinstance(judge_format, JudgeFormat):
        raise BadInputError(f"{path}: defines no FORMAT (a JudgeFormat)")
    if judge_format.name in registry() or _FROM_FILES.get(judge_format.name, judge_format) is not judge_format:
        raise BadInputError(f"{path}: format name '{judge_format.name}' is taken by another format")
    _FROM_FILES[judge_format.name] = judge_format
    return module


def get_format(name: str) -> JudgeFormat:
    """The format called `name` (the package's, or a loaded benchmark module's); BadInputError naming
    the known ones."""
    formats = {**registry(), **_FROM_FILES}
    if name not in formats:
        raise BadInputError(f"unknown judge format '{name}' (known: {', '.join(sorted(formats))})")
    return formats[name]
