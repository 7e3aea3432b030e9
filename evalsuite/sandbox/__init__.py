"""Sandboxed execution of untrusted Python: one fork server per worker sandbox, a fresh process per program.

    from evalsuite.sandbox import run_python, run_checks, CheckJob, SandboxLimits, isolation_level
    result = run_python("print(1)", SandboxLimits(timeout_s=5))
"""

from evalsuite.sandbox.isolation import (
    UNISOLATED_FLAG, allow_unisolated, current_isolation, hide_from_programs, isolation_description, isolation_level,
    isolation_record, os_isolation_available, reset_isolation,
)
from evalsuite.sandbox.limits import SandboxLimits
from evalsuite.sandbox.runner import CheckJob, CheckResult, RunResult, run_checks, run_many, run_python, signal_name

__all__ = [
    "CheckJob", "CheckResult", "RunResult", "SandboxLimits", "UNISOLATED_FLAG", "allow_unisolated",
    "current_isolation", "hide_from_programs", "isolation_description", "isolation_level", "isolation_record", "os_isolation_available", "reset_isolation",
    "run_checks", "run_many", "run_python", "signal_name",
]
