"""Benchmark data: the one declared-dataset loader (`loader`) and the file readers it uses (`local`)."""

from evalsuite.data.local import DATA_DIR_ENV, resolve_data_dir

__all__ = ["DATA_DIR_ENV", "resolve_data_dir"]
