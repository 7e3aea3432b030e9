"""What a rerun replays from lm-eval's response cache, as one line on stderr per request type.

lm-eval's CachingLM logs "Cached requests: N, Requests remaining: M" at INFO on `lm_eval.api.model`;
the CLI keeps lm-eval's INFO lines quiet, so while a benchmark runs this handler lets that logger's
INFO records through to itself alone and prints `resuming B: N/N+M model requests cached`.
"""

from __future__ import annotations

import logging
import re
import sys

from evalsuite.judging.client import resume_line

LOGGER = "lm_eval.api.model"
_CACHE_HITS = re.compile(r"Cached requests: (\d+), Requests remaining: (\d+)")


class _QuietInfo(logging.Filter):
    """Keeps the INFO records of lm_eval.api.model, let through only for the count, off other handlers."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.name == LOGGER and record.levelno < logging.WARNING)


class CacheHitReport(logging.Handler):
    """Prints lm-eval's cache count for one benchmark; `attach` before simple_evaluate, `detach` after."""

    def __init__(self, benchmark: str):
        super().__init__(logging.INFO)
        self.benchmark = benchmark
        self._logger = logging.getLogger(LOGGER)
        self._level = self._logger.level
        self._quiet: _QuietInfo | None = None

    @classmethod
    def attach(cls, benchmark: str) -> "CacheHitReport":
        """Start reporting (and lower the logger to INFO, keeping its INFO lines off other handlers)."""
        report = cls(benchmark)
        report._logger.addHandler(report)
        if report._logger.getEffectiveLevel() > logging.INFO:
            report._logger.setLevel(logging.INFO)
            report._quiet = _QuietInfo()
            for handler in logging.getLogger().handlers:
                handler.addFilter(report._quiet)
        return report

    def detach(self) -> None:
        """Stop reporting; the logger and the root handlers are as they were."""
        self._logger.removeHandler(self)
        self._logger.setLevel(self._level)
        if self._quiet is not None:
            for handler in logging.getLogger().handlers:
                handler.removeFilter(self._quiet)

    def emit(self, record: logging.LogRecord) -> None:
        found = _CACHE_HITS.search(record.getMessage())
        if found:
            cached, remaining = int(found.group(1)), int(found.group(2))
            print(resume_line(self.benchmark, cached, cached + remaining, "model requests"), file=sys.stderr,
                  flush=True)
