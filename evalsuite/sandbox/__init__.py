"""Sandboxed execution of untrusted Python: one subprocess per program, isolated and limited.

    from evalsuite.sandbox import run_python, run_many, SandboxLimits, isolation_level
    result = run_python("print(1)", SandboxLimits(timeout_s=5))
"""

from evalsuite.sandbox.isolation import isolation_description, isolation_level, reset_isolation
from evalsuite.sandbox.limits import SandboxLimits
from evalsuite.sandbox.runner import RunResult, run_many, run_python

__all__ = [
    "RunResult", "SandboxLimits", "isolation_description", "isolation_level", "reset_isolation",
    "run_many", "run_python",
]
