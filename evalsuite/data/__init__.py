"""Benchmark data: one loader module per dataset, each returning the Hub dataset's columns.

`kmmlu`, `kobest`, `mmlu_pro`, `gsm8k` load from the HF Hub by default or from a local data
directory (`data_dir`, else $EVALSUITE_DATA_DIR) in the upstream layouts; `local` holds the shared
file reading; `identity` names each logged sample (item id, group) for the result logs.
"""

from evalsuite.data.identity import sample_group, sample_item
from evalsuite.data.local import DATA_DIR_ENV, resolve_data_dir

__all__ = ["DATA_DIR_ENV", "resolve_data_dir", "sample_group", "sample_item"]
