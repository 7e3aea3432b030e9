"""Benchmark data: the one declared-dataset loader (`loader`), the file readers it uses (`local`),
and the bespoke loaders a layout truly needs (`kmmlu`: per-subject Hub configs and file names).
"""

from evalsuite.data.local import DATA_DIR_ENV, resolve_data_dir

__all__ = ["DATA_DIR_ENV", "resolve_data_dir"]
