"""evalsuite: one command for the benchmarks of the EXAONE 3.0 technical report."""

__version__ = "0.1.0"
