"""CPU thread settings of a local model run: `--threads N`, or a note when the CPU is already busy.

torch starts one intra-op thread per core; when other processes keep those cores busy, its threads
wait on each other at every operation and a run is several times slower than with one thread.
"""

from __future__ import annotations

import os

THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
BUSY_SHARE = 0.5  # the CPU is busy when the 1-minute load exceeds this share of the usable cores


def usable_cores() -> int:
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def set_threads(threads: int) -> None:
    """Use `threads` CPU threads in torch (intra-op) and in the libraries and processes it starts."""
    import torch

    for name in THREAD_VARIABLES:
        os.environ[name] = str(threads)
    torch.set_num_threads(threads)


def busy_cpu_note(load: float | None = None, cores: int | None = None) -> str | None:
    """A one-line suggestion of --threads when the CPU is busy with other work, else None."""
    if any(name in os.environ for name in THREAD_VARIABLES):
        return None  # the user already chose
    cores = cores or usable_cores()
    try:
        load = os.getloadavg()[0] if load is None else load
    except OSError:
        return None
    if load <= BUSY_SHARE * cores:
        return None
    suggested = max(1, cores - round(load)) if load < cores else 1
    return (f"note: CPU run on a busy machine (load {load:.1f} on {cores} cores): torch's {cores} threads "
            f"wait on each other; --threads {suggested} (or OMP_NUM_THREADS={suggested}) is often several "
            "times faster")
