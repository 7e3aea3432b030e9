"""Sandboxed execution of untrusted Python (executor.py): a pool of worker sandboxes, each holding a small
fork server; every program is a fresh child forked from it (a check forks two: the untrusted solution and
its trusted tests), with its own scratch folder and limits.

    from evalsuite.sandbox import run_python, run_checks, CheckJob, SandboxLimits, isolation_level
    result = run_python("print(1)", SandboxLimits(timeout_s=5))
"""

from evalsuite.sandbox.isolation import (
    UNISOLATED_FLAG, allow_unisolated, current_isolation, hide_from_programs, isolation_description, isolation_level,
    isolation_record, os_isolation_available, reset_isolation,
)
from evalsuite.sandbox.limits import SandboxLimits
from evalsuite.sandbox.executor import CheckJob, CheckResult, RunResult, run_checks, run_many, run_python, signal_name

__all__ = [
    "CheckJob", "CheckResult", "RunResult", "SandboxLimits", "UNISOLATED_FLAG", "allow_unisolated",
    "current_isolation", "hide_from_programs", "isolation_description", "isolation_level", "isolation_record", "os_isolation_available", "reset_isolation",
    "run_checks", "run_many", "run_python", "signal_name",
]
